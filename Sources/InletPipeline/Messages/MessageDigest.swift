import Crypto

/// Deterministic ids for messages: identical in every process and across releases, so a
/// replayed input re-emits the ids its first run emitted.
public enum MessageDigest {
    /// A 128-bit id: the first 16 bytes of SHA-256 over the given parts, in lower-case hex
    /// (32 characters). Parts are joined with U+001F (unit separator), which cannot occur in
    /// Kafka topic names or in decimal numbers, so distinct inputs never join to equal text.
    public static func id(_ parts: [String]) -> String {
        var hasher = SHA256()
        for (index, part) in parts.enumerated() {
            if index > 0 { hasher.update(data: separator) }
            var part = part
            part.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        }
        let digest = hasher.finalize()
        return String(unsafeUninitializedCapacity: 32) { text in
            for (offset, byte) in digest.prefix(16).enumerated() {
                text[2 * offset] = hexDigits[Int(byte >> 4)]
                text[2 * offset + 1] = hexDigits[Int(byte & 0xF)]
            }
            return 32
        }
    }

    private static let separator: [UInt8] = [0x1F]
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
