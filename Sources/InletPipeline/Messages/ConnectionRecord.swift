import Foundation
import InletConnectors

/// A connection: one customer's authenticated link to an external app through a connector
/// (topic `connections`, compacted, key: connection id; a `null` value is a tombstone).
///
/// Credentials are never stored in the clear: ``credentials`` holds them sealed with
/// AES-256-GCM under the key from `INLET_SECRET_KEY`.
public struct ConnectionRecord: TopicMessage {
    /// The connection id (also the Kafka key).
    public var id: String
    /// The connector, e.g. `"github"`.
    public var connectorKey: String
    /// The customer (tenant) the connection belongs to.
    public var customerId: String
    /// A display name, e.g. `"Acme's GitHub"`.
    public var name: String?
    /// The sealed credentials (tokens, API keys) passed to the connector's auth mapping.
    public var credentials: EncryptedCredentials
    /// Values for the connector's `parametersSchema` (connector.yml), in clear text: written
    /// only by versions before sealed records, or with `INLET_RECORD_SEALING=compatible`.
    /// Read them with ``openedConnectorParameters(_:)``.
    public var connectorParameters: JSONValue?
    /// The connector parameters, sealed and bound to this connection (they may hold secrets,
    /// e.g. an OAuth client secret).
    public var sealedConnectorParameters: EncryptedCredentials?
    /// When the connection was created.
    public var createdAt: Date
    /// When this record was last written.
    public var updatedAt: Date
    /// When the connection was archived (its subscriptions stop).
    public var archivedAt: Date?

    public init(
        id: String,
        connectorKey: String,
        customerId: String,
        name: String? = nil,
        credentials: EncryptedCredentials,
        connectorParameters: JSONValue? = nil,
        createdAt: Date,
        updatedAt: Date,
        archivedAt: Date? = nil
    ) {
        self.id = id
        self.connectorKey = connectorKey
        self.customerId = customerId
        self.name = name
        self.credentials = credentials
        self.connectorParameters = connectorParameters
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.archivedAt = archivedAt
    }

    /// A new connection with its credentials and connector parameters sealed by `vault` (in
    /// the form `vault.sealsRecords` asks for).
    public static func sealing(
        id: String, connectorKey: String, customerId: String, name: String?, credentials: JSONValue, connectorParameters: JSONValue?,
        vault: CredentialVault, at now: Date
    ) throws -> ConnectionRecord {
        var record = ConnectionRecord(
            id: id, connectorKey: connectorKey, customerId: customerId, name: name,
            credentials: try sealedCredentials(credentials, connectionId: id, vault: vault),
            createdAt: now, updatedAt: now)
        if let connectorParameters {
            if vault.sealsRecords {
                record.sealedConnectorParameters = try vault.seal(connectorParameters, for: .connectionParameters(connectionId: id))
            } else {
                record.connectorParameters = connectorParameters
            }
        }
        return record
    }

    /// `credentials` sealed for connection `connectionId`: bound to it, or unbound as the
    /// previous version wrote them when `vault.sealsRecords` is off.
    public static func sealedCredentials(_ credentials: JSONValue, connectionId: String, vault: CredentialVault) throws -> EncryptedCredentials {
        vault.sealsRecords ? try vault.seal(credentials, for: .connectionCredentials(connectionId: connectionId)) : try vault.seal(credentials)
    }

    /// The credentials, opened.
    public func openedCredentials(_ vault: CredentialVault) throws -> JSONValue {
        try vault.open(credentials, for: .connectionCredentials(connectionId: id))
    }

    /// The connector parameters, opened when sealed (else as written in clear text).
    public func openedConnectorParameters(_ vault: CredentialVault) throws -> JSONValue? {
        try openedConnectorParameters(open: vault.open(_:for:))
    }

    /// The connector parameters, opened by `open` when sealed (else as written in clear text).
    public func openedConnectorParameters(open: SealedValueOpener) throws -> JSONValue? {
        guard let sealedConnectorParameters else { return connectorParameters }
        return try open(sealedConnectorParameters, .connectionParameters(connectionId: id))
    }

    public static let topics = ["connections"]
    public static let schemaFile = "connection-record.schema.json"

    public var kafkaKey: String? { id }

    /// The record value that deletes a connection from the compacted topic (`nil`).
    public static let tombstoneValue: Data? = nil

    /// Reads a `connections` record value: `nil` for a tombstone, else the decoded record.
    public static func tableEntry(from value: Data?) throws(MessageCodecError) -> ConnectionRecord? {
        guard let value, !MessageCodec.isTombstone(value) else { return nil }
        return try decoded(from: value)
    }
}

/// Credentials sealed with an AEAD cipher.
///
/// JSON: `{"algorithm": "AES-256-GCM", "keyId": "2026-01", "sealed": "<base64>"}` where
/// `sealed` is the AES-GCM combined form: 12-byte nonce, ciphertext, 16-byte tag.
public struct EncryptedCredentials: Codable, Sendable, Hashable {
    /// The sealing algorithm.
    public enum Algorithm: String, Codable, Sendable, Hashable, CaseIterable {
        case aes256GCM = "AES-256-GCM"
    }

    /// The algorithm; always `AES-256-GCM` today.
    public var algorithm: Algorithm
    /// Which secret key sealed the credentials (for key rotation); absent for the single
    /// key from `INLET_SECRET_KEY`.
    public var keyId: String?
    /// nonce ‖ ciphertext ‖ tag (JSON: base64).
    public var sealed: Data
    /// Whether the value is bound to its record (``SealBinding`` as AES-GCM associated data);
    /// absent in values sealed before bindings existed, which open without one.
    public var bound: Bool?

    public init(algorithm: Algorithm = .aes256GCM, keyId: String? = nil, sealed: Data, bound: Bool? = nil) {
        self.algorithm = algorithm
        self.keyId = keyId
        self.sealed = sealed
        self.bound = bound
    }
}
