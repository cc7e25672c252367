import Foundation
import InletConnectors
import InletKafka
import Logging
import ServiceLifecycle

/// Every process's view of the `app-event-subscriptions` topic.
public final class AppEventSubscriptionDirectory: Service, Sendable {
    private let table: KafkaTable<AppEventSubscriptionRecord>

    public init(topics: InletTopics, client: KafkaClientConfiguration, logger: Logger) {
        table = KafkaTable(topic: topics.appEventSubscriptions, configuration: client, logger: logger) { value in
            try AppEventSubscriptionRecord.decoded(from: value)
        }
    }

    public func run() async throws {
        try await table.run()
    }

    /// Waits until every record written so far is visible here.
    public func sync(timeout: Duration = .seconds(30)) async throws { try await table.sync(timeout: timeout) }

    /// The subscription of `customerId` to `appEventKey`, if any (archived ones included).
    public func subscription(customerId: String, appEventKey: String) -> AppEventSubscriptionRecord? {
        table[AppEventSubscriptionRecord.key(customerId: customerId, appEventKey: appEventKey)]
    }

    /// The subscription with this id, if any.
    public subscript(id: String) -> AppEventSubscriptionRecord? {
        table.snapshot().values.first { $0.id == id }
    }

    /// The live subscription whose webhook URI has this token, if any.
    public func subscription(token: String) -> AppEventSubscriptionRecord? {
        table.snapshot().values.first { $0.status != .archived && !$0.webhookToken.isEmpty && ConstantTime.equal(Array($0.webhookToken.utf8), Array(token.utf8)) }
    }

    /// Every subscription, by customer and type.
    public func all() -> [AppEventSubscriptionRecord] {
        table.snapshot().values.sorted { ($0.customerId, $0.appEventKey) < ($1.customerId, $1.appEventKey) }
    }
}
