import Crypto
import Foundation
import Synchronization

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
/// of ingress's CPU time under load. This takes 128 bits from the kernel's generator, read 4 KiB
/// at a time from `/dev/urandom` kept open: taking two words per id from
/// `SystemRandomNumberGenerator` made two `getrandom` system calls per id, 3 % of ingress's CPU
/// again.
public enum RandomUUID {
    /// E.g. `"5b0f2a5e-8c1d-4c55-9a43-2f1f7f0e9a10"`.
    public static func make() -> String {
        var (high, low) = pool.withLock { $0.take() }
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

    private static let pool = Mutex(RandomWordPool())

    private static let hexDigits = Array("0123456789abcdef".utf8)
}

/// Random 64-bit words from the kernel's generator, read in bulk and each handed out once.
struct RandomWordPool: ~Copyable {
    private var words = [UInt64](repeating: 0, count: 512)
    private var next = 512

    /// Two words no other call gets.
    mutating func take() -> (UInt64, UInt64) {
        if next + 2 > words.count {
            refill()
            next = 0
        }
        defer { next += 2 }
        return (words[next], words[next + 1])
    }

    private mutating func refill() {
        let filled = words.withUnsafeMutableBytes { buffer -> Bool in
            guard let device = Self.device else { return false }
            var done = 0
            while done < buffer.count {
                let count = read(device, buffer.baseAddress! + done, buffer.count - done)
                if count > 0 {
                    done += count
                } else if count == 0 || errno != EINTR {
                    return false
                }
            }
            return true
        }
        if !filled {
            // No /dev/urandom (a sandbox): the standard library's generator, a word at a time.
            var generator = SystemRandomNumberGenerator()
            for index in words.indices { words[index] = generator.next() }
        }
    }

    /// The kernel's generator, opened once and kept open for the process's life.
    private static let device: Int32? = {
        let descriptor = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        return descriptor >= 0 ? descriptor : nil
    }()
}
