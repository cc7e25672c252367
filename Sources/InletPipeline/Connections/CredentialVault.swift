import Crypto
import Foundation
import InletConnectors

/// Seals and opens connection credentials with AES-256-GCM (`INLET_SECRET_KEY`), so the
/// `connections` topic never holds a credential in clear text.
public struct CredentialVault: Sendable {
    private let key: SymmetricKey
    /// A short fingerprint of the key, stored with each sealed value so a wrong key is
    /// reported as such instead of as corrupt data.
    public let keyId: String

    /// - Parameter secret: 32 bytes as base64 or 64 hex digits; any other text is stretched
    ///   with SHA-256 (development and tests only: the roles use ``init(strictSecret:)``).
    public init(secret: String) {
        // As every version before the strict form: a stored credential keeps opening.
        let bytes: [UInt8]
        if let data = Data(base64Encoded: secret), data.count == 32 {
            bytes = Array(data)
        } else if secret.count == 64, let data = Self.hex(secret) {
            bytes = data
        } else {
            bytes = Array(SHA256.hash(data: Array(secret.utf8)))
        }
        key = SymmetricKey(data: bytes)
        keyId = SHA256.hash(data: bytes).prefix(4).map { String(format: "%02x", $0) }.joined()
    }

    /// A vault whose key must be 32 bytes, as base64 or 64 hex digits, as every role outside
    /// `inlet dev` requires: a passphrase stretched with SHA-256 is far weaker than its length
    /// suggests.
    ///
    /// - Throws: ``VaultError`` saying how to make a key.
    public init(strictSecret secret: String) throws {
        let trimmed = secret.trimmingCharacters(in: .whitespacesAndNewlines)
        guard Self.keyBytes(trimmed) != nil else {
            throw VaultError(message: "INLET_SECRET_KEY must be 32 random bytes, as base64 (44 characters) or 64 hex digits; make one with `openssl rand -base64 32`. A passphrase key already in use can be kept for now with INLET_SECRET_KEY_LEGACY_PASSPHRASE=1 (credentials sealed with it stay readable only with it)")
        }
        self.init(secret: trimmed)
    }

    /// Whether `secret` is a key ``init(strictSecret:)`` accepts.
    public static func isKey(_ secret: String) -> Bool { keyBytes(secret) != nil }

    /// The key in `secret` when it is 32 bytes as base64 or hex.
    static func keyBytes(_ secret: String) -> [UInt8]? {
        // A key read from a file (`kubectl create secret --from-file`) ends with a newline.
        let text = secret.trimmingCharacters(in: .whitespacesAndNewlines)
        let bytes: [UInt8]
        if let data = Data(base64Encoded: text), data.count == 32 {
            bytes = Array(data)
        } else if text.count == 64, text.allSatisfy(\.isHexDigit), let data = Self.hex(text) {
            bytes = data
        } else {
            return nil
        }
        // 32 equal bytes (all zeros, say) are a placeholder, not a key.
        return Set(bytes).count > 1 ? bytes : nil
    }

    /// A vault with a random key (development: credentials do not survive a restart).
    public static func ephemeral() -> CredentialVault {
        CredentialVault(secret: SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() })
    }

    /// A key for another purpose (HKDF-SHA256 of the secret key with `purpose` as info), so one
    /// `INLET_SECRET_KEY` can serve several uses without reusing the key itself.
    public func derivedKey(purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Array(purpose.utf8), outputByteCount: 32)
    }

    public func seal(_ credentials: JSONValue) throws -> EncryptedCredentials {
        try seal(credentials, authenticating: Data())
    }

    public func open(_ sealed: EncryptedCredentials) throws -> JSONValue {
        try open(sealed, authenticating: Data(), what: "credentials")
    }

    /// Seals `value` bound to `binding` (AES-GCM associated data, e.g. the record it belongs
    /// to): it opens only with the same binding, so a sealed value copied into another record
    /// does not open.
    public func seal(_ value: JSONValue, boundTo binding: String) throws -> EncryptedCredentials {
        try seal(value, authenticating: Data(binding.utf8))
    }

    /// Opens a value sealed with `seal(_:boundTo:)` and the same binding.
    public func open(_ sealed: EncryptedCredentials, boundTo binding: String) throws -> JSONValue {
        try open(sealed, authenticating: Data(binding.utf8), what: "the values sealed for \(binding)")
    }

    /// AES-GCM with `associatedData` (empty: none, which is what GCM computes without it, so
    /// credentials sealed before bindings existed still open).
    private func seal(_ value: JSONValue, authenticating associatedData: Data) throws -> EncryptedCredentials {
        let box = try AES.GCM.seal(value.serialized(), using: key, authenticating: associatedData)
        guard let combined = box.combined else { throw VaultError(message: "AES-GCM produced no combined representation") }
        return EncryptedCredentials(keyId: keyId, sealed: combined)
    }

    private func open(_ sealed: EncryptedCredentials, authenticating associatedData: Data, what: String) throws -> JSONValue {
        if let sealedKey = sealed.keyId, sealedKey != keyId {
            throw VaultError(message: "\(what) were sealed with key \(sealedKey) but INLET_SECRET_KEY is key \(keyId); start every role with the same INLET_SECRET_KEY")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.sealed)
            return try JSONValue(parsing: try AES.GCM.open(box, using: key, authenticating: associatedData))
        } catch {
            throw VaultError(message: "\(what) could not be decrypted (\(error)); is INLET_SECRET_KEY the one they were stored with\(associatedData.isEmpty ? "" : ", and were they not copied from another record")?")
        }
    }

    private static func hex(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}

public struct VaultError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
