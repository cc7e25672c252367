import Foundation
import InletConnectors
import InletKafka
import Logging
import ServiceLifecycle

/// Every process's view of the `customers` topic.
public final class CustomerDirectory: Service, Sendable {
    private let table: KafkaTable<CustomerRecord>

    public init(topics: InletTopics, client: KafkaClientConfiguration, logger: Logger) {
        table = KafkaTable(topic: topics.customers, configuration: client, logger: logger) { value in
            try CustomerRecord.decoded(from: value)
        }
    }

    public func run() async throws {
        try await table.run()
    }

    /// Waits until every record written so far is visible here.
    public func sync(timeout: Duration = .seconds(30)) async throws { try await table.sync(timeout: timeout) }

    public subscript(id: String) -> CustomerRecord? { table[id] }

    /// Every customer, by id.
    public func all() -> [CustomerRecord] { table.snapshot().values.sorted { $0.id < $1.id } }
}
