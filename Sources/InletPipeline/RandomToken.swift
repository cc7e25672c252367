import Crypto
import Foundation

/// Unguessable identifiers and URL tokens: random bytes from the system's secure generator as
/// base64url without padding.
public enum RandomToken {
    /// `count` random bytes as base64url, e.g. 24 bytes → 32 characters.
    public static func make(bytes count: Int) -> String {
        let key = SymmetricKey(size: SymmetricKeySize(bitCount: count * 8))
        return key.withUnsafeBytes { Data($0) }.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

/// Random (version 4) UUIDs as lower-case text, for request and command ids.
///
/// Foundation's `UUID()` opens and reads `/dev/urandom` on every call on Linux, which was 3 %
/// of ingress's CPU time under load; this takes 128 bits from `SystemRandomNumberGenerator`
/// (the `getrandom` system call) and formats them directly.
public enum RandomUUID {
    /// E.g. `"5b0f2a5e-8c1d-4c55-9a43-2f1f7f0e9a10"`.
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        var high = generator.next()
        var low = generator.next()
        high = (high & ~0xF000) | 0x4000 // version 4
        low = (low & ~(0xC000 << 48)) | (0x8000 << 48) // variant 10xx
        return String(unsafeUninitializedCapacity: 36) { text in
            var count = 0
            for (index, word) in [(0, high), (16, low)] {
                for nibble in 0..<16 {
                    let position = index + nibble
                    if position == 8 || position == 12 || position == 16 || position == 20 {
                        text[count] = UInt8(ascii: "-")
                        count += 1
                    }
                    text[count] = hexDigits[Int((word >> UInt64(60 - nibble * 4)) & 0xF)]
                    count += 1
                }
            }
            return count
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
