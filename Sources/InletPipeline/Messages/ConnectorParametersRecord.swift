import Foundation

/// The connector parameters configured for the workspace (compacted topic
/// `connector-parameters`, key: connector key), sealed like credentials.
///
/// A global webhook's `handle` has no connection and gets these as `parameters` (Slack's
/// signing secret); methods run for a connection get the connection's `connectorParameters`
/// merged over them. Written by `PUT /api/v1/connectors/<key>/parameters`.
public struct ConnectorParametersRecord: TopicMessage {
    /// The connector, e.g. `slack`.
    public var connectorKey: String
    /// The parameters (an object matching connector.yml's `parametersSchema`), sealed with
    /// AES-256-GCM under `INLET_SECRET_KEY` and bound to this connector: a sealed value copied
    /// into another connector's record does not open.
    public var parameters: EncryptedCredentials
    /// When they were last set.
    public var updatedAt: Date

    public init(connectorKey: String, parameters: EncryptedCredentials, updatedAt: Date) {
        self.connectorKey = connectorKey
        self.parameters = parameters
        self.updatedAt = updatedAt
    }

    public static let topics = ["connector-parameters"]
    public static let schemaFile = "connector-parameters-record.schema.json"
    public var kafkaKey: String? { connectorKey }

    /// What the sealed parameters are bound to (AES-GCM associated data).
    public static func binding(connectorKey: String) -> String { "connector-parameters/\(connectorKey)" }
}
