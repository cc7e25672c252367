import Foundation
import InletKafka
import Logging
import ServiceLifecycle

/// Every worker's view of the `connections` topic.
public final class ConnectionDirectory: Service, Sendable {
    let table: KafkaTable<ConnectionRecord>
    private let republisher: TableRepublisher<ConnectionRecord>?

    /// - Parameter republishing: as for `SubscriptionDirectory`: re-publish connections on a
    ///   broker that trims by size.
    public init(topics: InletTopics, client: KafkaClientConfiguration, logger: Logger, republishing: PartitionRetention? = nil) {
        let table = KafkaTable(topic: topics.connections, configuration: client, logger: logger, keepsCopies: republishing != nil) {
            try ConnectionRecord.decoded(from: $0)
        }
        self.table = table
        republisher = republishing.map {
            TableRepublisher(table: table, client: client, retention: $0, logger: logger)
        }
    }

    public func run() async throws {
        try await table.run(republishing: republisher)
    }

    public func waitUntilLoaded() async throws { try await table.waitUntilCaughtUp() }

    /// Whether the initial load reached the end of the topic.
    public var isLoaded: Bool { table.isCaughtUp }

    /// Waits until every connection written so far is visible here.
    public func sync(timeout: Duration = .seconds(30)) async throws { try await table.sync(timeout: timeout) }

    public subscript(id: String) -> ConnectionRecord? { table[id] }

    public func all() -> [ConnectionRecord] { Array(table.snapshot().values) }
}
