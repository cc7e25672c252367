import Foundation
import InletConnectors

/// An instruction to the handler that owns a subscription (topic `commands`, key:
/// subscription id — same partition as the subscription's `ingress` input).
///
/// The admin API issues `subscribe`, `unsubscribe` and `refresh`; the handler's scheduler may
/// issue `refresh`, `pull` and `expire` to itself so scheduled work is ordered with webhooks
/// and recorded in Kafka.
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
    /// The subscription the command is for (also the Kafka key).
    public var subscriptionId: String
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
        dueAt: Int64? = nil
    ) {
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

    public var kafkaKey: String? { subscriptionId }
}
