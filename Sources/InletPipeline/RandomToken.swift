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
