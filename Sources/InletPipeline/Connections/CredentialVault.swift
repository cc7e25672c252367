import Crypto
import Foundation
import InletConnectors

/// Seals and opens secrets at rest with AES-256-GCM: connection credentials and connector
/// parameters, subscription state (`INLET_SECRET_KEY`, or the ring `INLET_SECRET_KEYS`), so
/// no topic holds them in clear text.
///
/// **Key rotation.** A vault holds a ring of keys: the first seals, every one opens (each
/// sealed value names its key by fingerprint). Rotate by starting every role with
/// `INLET_SECRET_KEYS=<new>,<old>`; values are sealed again with the new key when their record
/// is next written (subscriptions: with every change of state); keep the old key in the ring
/// until nothing sealed with it is left.
///
/// **Binding.** Values are sealed bound to their record (``SealBinding``, AES-GCM associated
/// data): a sealed value copied into another record does not open there.
public struct CredentialVault: Sendable {
    private let key: SymmetricKey
    /// Every key that opens, by fingerprint (the sealing key among them).
    private let ring: [String: SymmetricKey]
    /// A short fingerprint of the sealing key, stored with each sealed value so the right key
    /// of the ring opens it and a missing key is reported as such instead of as corrupt data.
    public let keyId: String
    /// Whether records are written in the sealed form (`INLET_RECORD_SEALING`, default
    /// `sealed`): subscription state and connector parameters sealed, credentials bound to
    /// their connection. `false` (`compatible`) writes what versions before it read, for the
    /// duration of a rolling upgrade from them; values are read in either form regardless.
    public var sealsRecords = true

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
        keyId = Self.fingerprint(bytes)
        ring = [keyId: key]
    }

    /// A vault that seals with the first of `secrets` and opens with any of them
    /// (`INLET_SECRET_KEYS`). `strict`: every entry must be a key (32 bytes, base64 or hex).
    ///
    /// - Throws: ``VaultError`` naming the entry that is not a key, or when there is none.
    public init(ring secrets: [String], strict: Bool) throws {
        let entries = secrets.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        guard let first = entries.first else { throw VaultError(message: "INLET_SECRET_KEYS holds no key; give one or more keys separated by commas, the sealing key first") }
        var ring: [String: SymmetricKey] = [:]
        for (position, entry) in entries.enumerated() {
            if strict, !Self.isKey(entry) {
                throw VaultError(message: "entry \(position + 1) of INLET_SECRET_KEYS is not 32 random bytes as base64 (44 characters) or 64 hex digits; make a key with `openssl rand -base64 32`")
            }
            let vault = CredentialVault(secret: entry)
            ring[vault.keyId] = vault.key
        }
        let sealing = CredentialVault(secret: first)
        key = sealing.key
        keyId = sealing.keyId
        self.ring = ring
    }

    /// The fingerprints of the keys that open, the sealing key's first.
    public var keyIds: [String] { [keyId] + ring.keys.filter { $0 != keyId }.sorted() }

    private static func fingerprint(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).prefix(4).map { String(format: "%02x", $0) }.joined()
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

    /// ``derivedKey(purpose:)`` for every key of the ring, by fingerprint (to verify what an
    /// older key of the ring signed).
    public func derivedKeys(purpose: String) -> [(keyId: String, key: SymmetricKey)] {
        keyIds.compactMap { id in
            ring[id].map { (id, HKDF<SHA256>.deriveKey(inputKeyMaterial: $0, info: Array(purpose.utf8), outputByteCount: 32)) }
        }
    }

    /// Seals `value` for `binding` (bound: it opens only for the same record and field).
    public func seal(_ value: JSONValue, for binding: SealBinding) throws -> EncryptedCredentials {
        var sealed = try seal(value, authenticating: Data(binding.associatedData.utf8))
        sealed.bound = true
        return sealed
    }

    /// Opens a value of `binding`: bound values with the binding; credentials sealed before
    /// bindings existed without. Every other kind was bound from the start, so an unbound
    /// value there (credentials copied in) is refused.
    public func open(_ sealed: EncryptedCredentials, for binding: SealBinding) throws -> JSONValue {
        if sealed.bound == true {
            return try open(sealed, authenticating: Data(binding.associatedData.utf8), what: binding.description)
        }
        guard case .connectionCredentials = binding else {
            throw VaultError(message: "\(binding.description) is not bound to its record: it was copied from elsewhere and is not opened")
        }
        return try open(sealed, authenticating: Data(), what: binding.description)
    }

    /// Whether `sealed` should be sealed again when its record is next written: sealed with
    /// another key of the ring, or not bound to its record.
    public func needsResealing(_ sealed: EncryptedCredentials) -> Bool {
        sealed.keyId != keyId || sealed.bound != true
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
        let candidates: [SymmetricKey]
        if let sealedKey = sealed.keyId {
            guard let known = ring[sealedKey] else {
                throw VaultError(message: "\(what) were sealed with key \(sealedKey), which is not among this process's keys (\(keyIds.joined(separator: ", "))); start every role with the same INLET_SECRET_KEY, or list the old key in INLET_SECRET_KEYS after the new one while rotating")
            }
            candidates = [known]
        } else {
            candidates = keyIds.compactMap { ring[$0] }
        }
        var failure: (any Error)?
        for candidate in candidates {
            do {
                let box = try AES.GCM.SealedBox(combined: sealed.sealed)
                return try JSONValue(parsing: try AES.GCM.open(box, using: candidate, authenticating: associatedData))
            } catch {
                failure = error
            }
        }
        throw VaultError(message: "\(what) could not be decrypted (\(failure.map { "\($0)" } ?? "no key")); is INLET_SECRET_KEY the one they were stored with\(associatedData.isEmpty ? "" : ", and were they not copied from another record")?")
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

/// Opens a sealed value of a binding: `CredentialVault.open(_:for:)`, or a caller's memo of it
/// (the handler opens each value once per batch).
public typealias SealedValueOpener = (EncryptedCredentials, SealBinding) throws -> JSONValue

/// The record and field a sealed value belongs to: its AES-GCM associated data, so a value
/// copied into another record (or another field) does not open.
public enum SealBinding: Sendable, Hashable, CustomStringConvertible {
    case connectionCredentials(connectionId: String)
    case connectionParameters(connectionId: String)
    case subscriptionState(subscriptionId: String)
    case subscriptionParameters(subscriptionId: String)

    var associatedData: String {
        switch self {
        case .connectionCredentials(let id): "inlet/v2\u{0}connection.credentials\u{0}\(id)"
        case .connectionParameters(let id): "inlet/v2\u{0}connection.connectorParameters\u{0}\(id)"
        case .subscriptionState(let id): "inlet/v2\u{0}subscription.state\u{0}\(id)"
        case .subscriptionParameters(let id): "inlet/v2\u{0}subscription.parameters\u{0}\(id)"
        }
    }

    public var description: String {
        switch self {
        case .connectionCredentials(let id): "the credentials of connection \(id)"
        case .connectionParameters(let id): "the connector parameters of connection \(id)"
        case .subscriptionState(let id): "the state of subscription \(id)"
        case .subscriptionParameters(let id): "the parameters of subscription \(id)"
        }
    }
}
