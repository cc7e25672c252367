import Foundation

/// The URL token of one global webhook of one connector (compacted topic `global-webhooks`,
/// key: `<connectorKey>/<key>`).
///
/// The token is random and made once, the first time a process that serves the admin API
/// finds the global webhook without one; it never derives from the secret key, so a URL
/// pasted into an external app's settings survives restarts and key rotation.
public struct GlobalWebhookRecord: TopicMessage {
    /// The connector, e.g. `slack`.
    public var connectorKey: String
    /// The global webhook's key (its folder under `global-webhooks/`), e.g. `events`.
    public var key: String
    /// The secret last path segment of the webhook's URL.
    public var token: String
    /// When the token was made.
    public var createdAt: Date

    public init(connectorKey: String, key: String, token: String, createdAt: Date) {
        self.connectorKey = connectorKey
        self.key = key
        self.token = token
        self.createdAt = createdAt
    }

    public static let topics = ["global-webhooks"]
    public static let schemaFile = "global-webhook-record.schema.json"
    public var kafkaKey: String? { RawRequest.globalKey(connectorKey: connectorKey, globalWebhookKey: key) }

    /// The URL path of this global webhook: `/webhooks/global/<connectorKey>/<key>/<token>`.
    public var path: String { "/webhooks/global/\(connectorKey)/\(key)/\(token)" }
}
