import Foundation
import InletConnectors

/// An instruction to the handler that owns a subscription (topic `commands`, key:
/// subscription id — same partition as the subscription's `ingress` input), or, for
/// `refresh-credentials`, a connection (key: connection id).
///
/// The admin API issues `subscribe`, `unsubscribe` and `refresh`; the handler's scheduler may
/// issue `refresh`, `pull` and `expire` to itself so scheduled work is ordered with webhooks
/// and recorded in Kafka. A handler whose method found a connection's credentials expired
/// issues `refresh-credentials` to the handler that owns the connection's partition, so one
/// replica refreshes them (``CredentialRefreshes``).
public struct Command: TopicMessage {
    /// What the handler should do.
    public enum CommandType: String, Codable, Sendable, Hashable, CaseIterable {
        /// Create the subscription (``subscription`` is required) and run the connector's
        /// `subscribe` (or `getEventSelector` for global-webhook events).
        case subscribe
        /// Run `unsubscribe` and archive the subscription.
        case unsubscribe
        /// Run `refresh` now (also scheduled by `nextRefreshTimestamp`).
        case refresh
        /// Run the pull strategy now (`pull-latest-records`, `custom-pull` or `full-scan`).
        case pull
        /// Remove a subscription archived longer than the archive retention: a tombstone on
        /// `subscriptions` (issued by the owning handler's scheduler). A handler that predates
        /// this type dead-letters it (`decode-error`); the owner asks again later.
        case expire
        /// Write the subscription again, sealed with the current sealing key (issued by the
        /// owning handler's scheduler after a key rotation). A handler that predates this type
        /// dead-letters it (`decode-error`); the record keeps its older sealing until the next
        /// owner asks again.
        case reseal
        /// Refresh a connection's credentials with the connector's `refresh-credentials` and
        /// store them on the connection, unless they changed since the sender saw them
        /// (``credentialsDigest``). Served by the credential refresher group, ignored by the
        /// handler loops (one that predates this type dead-letters it as `decode-error`).
        case refreshCredentials = "refresh-credentials"
    }

    /// What a `subscribe` command creates. The handler is the only writer of `subscriptions`,
    /// so the admin API hands it everything the new ``SubscriptionRecord`` needs.
    public struct NewSubscription: Codable, Sendable, Hashable {
        /// The connection (credentials) the subscription uses.
        public var connectionId: String
        /// The customer (tenant) the subscription belongs to.
        public var customerId: String
        /// The connector, e.g. `"github"`.
        public var connectorKey: String
        /// The event, collection event or app event subscribed to.
        public var target: SubscriptionTarget
        /// The subscription's configuration (`parameters` match the event's `parametersSchema`).
        public var config: SubscriptionRecord.Config
        /// How often to pull updates (pull strategies); the connector's default when absent.
        public var pullUpdatesIntervalSeconds: Int?
        /// How often to run a full scan; the connector's default when absent.
        public var fullSyncIntervalSeconds: Int?
        /// The secret in the subscription's webhook URL, chosen by the admin API so that a
        /// replayed subscribe command registers the same URL with the external app.
        public var webhookToken: String

        public init(
            connectionId: String,
            customerId: String,
            connectorKey: String,
            target: SubscriptionTarget,
            config: SubscriptionRecord.Config,
            pullUpdatesIntervalSeconds: Int? = nil,
            fullSyncIntervalSeconds: Int? = nil,
            webhookToken: String
        ) {
            self.webhookToken = webhookToken
            self.connectionId = connectionId
            self.customerId = customerId
            self.connectorKey = connectorKey
            self.target = target
            self.config = config
            self.pullUpdatesIntervalSeconds = pullUpdatesIntervalSeconds
            self.fullSyncIntervalSeconds = fullSyncIntervalSeconds
        }
    }

    /// A unique id for this command (a UUID string); the handler skips a command id it has
    /// already applied.
    public var commandId: String
    /// What to do.
    public var type: CommandType
    /// The subscription the command is for (also the Kafka key). Empty for
    /// `refresh-credentials`, which is for a connection; left out of the JSON then.
    public var subscriptionId: String
    /// For `refresh-credentials`: the connection (also the Kafka key).
    public var connectionId: String?
    /// For `refresh-credentials`: ``CredentialRefreshes/digest(of:connectionId:)`` of the
    /// credentials the API refused. Credentials that no longer match it were refreshed (or
    /// replaced) already.
    public var credentialsDigest: String?
    /// When the command was issued.
    public var issuedAt: Date
    /// The admin API request waiting for the outcome; the handler answers on `replies`
    /// with this key.
    public var requestId: String?
    /// For `subscribe`: the subscription to create. Absent for other types.
    public var subscription: NewSubscription?
    /// For a scheduled `refresh` or `pull`: the `nextRefreshTimestamp` / `nextPullEventsTimestamp`
    /// (epoch milliseconds, 0 for none) it was issued for. The handler runs it only while the
    /// subscription is still due at that time, so a command issued twice (a new owner after a
    /// rebalance, a retried send) runs once. Absent: asked for now (admin API), always runs.
    public var dueAt: Int64?

    public init(
        commandId: String = RandomUUID.make(),
        type: CommandType,
        subscriptionId: String,
        issuedAt: Date,
        requestId: String? = nil,
        subscription: NewSubscription? = nil,
        dueAt: Int64? = nil,
        connectionId: String? = nil,
        credentialsDigest: String? = nil
    ) {
        self.connectionId = connectionId
        self.credentialsDigest = credentialsDigest
        self.dueAt = dueAt
        self.commandId = commandId
        self.type = type
        self.subscriptionId = subscriptionId
        self.issuedAt = issuedAt
        self.requestId = requestId
        self.subscription = subscription
    }

    public static let topics = ["commands"]
    public static let schemaFile = "command.schema.json"

    public var kafkaKey: String? { type == .refreshCredentials ? connectionId : subscriptionId }

    /// A `refresh-credentials` command for `connectionId`, whose credentials were refused when
    /// they had `digest`.
    public static func refreshCredentials(of connectionId: String, digest: String, issuedAt: Date = Date()) -> Command {
        Command(type: .refreshCredentials, subscriptionId: "", issuedAt: issuedAt, connectionId: connectionId, credentialsDigest: digest)
    }

    private enum CodingKeys: String, CodingKey {
        case commandId, type, subscriptionId, issuedAt, requestId, subscription, dueAt, connectionId, credentialsDigest
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        commandId = try container.decode(String.self, forKey: .commandId)
        type = try container.decode(CommandType.self, forKey: .type)
        issuedAt = try container.decode(Date.self, forKey: .issuedAt)
        requestId = try container.decodeIfPresent(String.self, forKey: .requestId)
        subscription = try container.decodeIfPresent(NewSubscription.self, forKey: .subscription)
        dueAt = try container.decodeIfPresent(Int64.self, forKey: .dueAt)
        connectionId = try container.decodeIfPresent(String.self, forKey: .connectionId)
        credentialsDigest = try container.decodeIfPresent(String.self, forKey: .credentialsDigest)
        // Every command but refresh-credentials names its subscription.
        if type == .refreshCredentials {
            subscriptionId = try container.decodeIfPresent(String.self, forKey: .subscriptionId) ?? ""
            guard connectionId != nil, credentialsDigest != nil else {
                throw DecodingError.dataCorrupted(.init(codingPath: [CodingKeys.connectionId], debugDescription: "a refresh-credentials command names connectionId and credentialsDigest"))
            }
        } else {
            subscriptionId = try container.decode(String.self, forKey: .subscriptionId)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(commandId, forKey: .commandId)
        try container.encode(type, forKey: .type)
        if !subscriptionId.isEmpty { try container.encode(subscriptionId, forKey: .subscriptionId) }
        try container.encode(issuedAt, forKey: .issuedAt)
        try container.encodeIfPresent(requestId, forKey: .requestId)
        try container.encodeIfPresent(subscription, forKey: .subscription)
        try container.encodeIfPresent(dueAt, forKey: .dueAt)
        try container.encodeIfPresent(connectionId, forKey: .connectionId)
        try container.encodeIfPresent(credentialsDigest, forKey: .credentialsDigest)
    }
}
