import Foundation
import InletKafka
import Logging
import ServiceLifecycle

/// Every worker's view of the `connections` topic.
public final class ConnectionDirectory: Service, Sendable {
    let table: KafkaTable<ConnectionRecord>

    public init(topics: InletTopics, client: KafkaClientConfiguration, logger: Logger) {
        table = KafkaTable(topic: topics.connections, configuration: client, logger: logger) { try ConnectionRecord.decoded(from: $0) }
    }

    public func run() async throws { try await table.run() }

    public func waitUntilLoaded() async throws { try await table.waitUntilCaughtUp() }

    /// Waits until every connection written so far is visible here.
    public func sync(timeout: Duration = .seconds(30)) async throws { try await table.sync(timeout: timeout) }

    public subscript(id: String) -> ConnectionRecord? { table[id] }

    public func all() -> [ConnectionRecord] { Array(table.snapshot().values) }
}
