import Crypto

/// Deterministic ids for messages: identical in every process and across releases, so a
/// replayed input re-emits the ids its first run emitted.
public enum MessageDigest {
    /// A 128-bit id: the first 16 bytes of SHA-256 over the given parts, in lower-case hex
    /// (32 characters). Parts are joined with U+001F (unit separator), which cannot occur in
    /// Kafka topic names or in decimal numbers, so distinct inputs never join to equal text.
    public static func id(_ parts: [String]) -> String {
        let digest = SHA256.hash(data: Array(parts.joined(separator: "\u{1F}").utf8))
        return digest.prefix(16).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
