import Logging
import ServiceLifecycle

/// Keeps every key of a table topic on a broker that trims by size and does not compact
/// (the embedded broker): now and then it writes a copy of each key whose latest copy has
/// grown old, before the broker can trim it, so that a process started later still reads
/// every key. Copies carry their original's offset; readers ignore stale ones (`TableLog`).
///
/// Capacity: the live data of a partition must fit in `republishAfter` of its retention
/// (with the default 0.75 and the embedded broker's 5 MiB, about 3.75 MiB per partition).
public struct TableRepublisher<Value: Sendable>: Service {
    let table: KafkaTable<Value>
    let producer: KafkaProducerConfiguration
    let retention: PartitionRetention
    let republishAfter: Double
    let interval: Duration
    let logger: Logger

    /// - Parameter table: a table created with `keepsCopies: true`.
    public init(
        table: KafkaTable<Value>, client: KafkaClientConfiguration, retention: PartitionRetention, republishAfter: Double = 0.75,
        interval: Duration = .seconds(1), logger: Logger
    ) {
        self.table = table
        self.producer = KafkaProducerConfiguration(client: client, linger: .milliseconds(5))
        self.retention = retention
        self.republishAfter = republishAfter
        self.interval = interval
        self.logger = logger
    }

    /// Republishes what is due every `interval`, once the table has loaded, until cancelled.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await republishUntilCancelled() }
        } catch is CancellationError {
        } catch let error as KafkaError where error.kind == .shutdown {
        } catch {
            logger.error("re-publishing \(table.topicName) stopped: \(error); records older than the broker keeps will be lost")
            throw error
        }
    }

    private func republishUntilCancelled() async throws {
        try await table.waitUntilCaughtUp()
        let producer = try KafkaProducer(configuration: self.producer, logger: logger)
        while !Task.isCancelled {
            // A failed round is logged and tried again on the next one.
            _ = try? await republishDue(with: producer)
            guard (try? await Task.sleep(for: interval)) != nil else { break }
        }
        await producer.shutdown()
    }

    /// Writes the copies now due and waits until the table has read them back (so they are
    /// not due again on the next round). Returns how many were written.
    @discardableResult
    public func republishDue(with producer: KafkaProducer) async throws -> Int {
        let due = table.copiesDue(
            afterBytes: Int(Double(retention.maxBytes) * republishAfter), afterMessages: Int(Double(retention.maxMessageSets) * republishAfter)
        )
        guard !due.isEmpty else { return 0 }
        do {
            try await producer.sendAll(due)
            try await table.sync()
            logger.info("re-published \(due.count) records of \(table.topicName) before the embedded broker's retention could drop them")
        } catch {
            logger.error("could not re-publish \(due.count) records of \(table.topicName): \(error); retrying")
            throw error
        }
        return due.count
    }
}

extension KafkaTable {
    /// Follows the topic, and with a `republisher` also re-publishes its keys, until cancelled.
    public func run(republishing republisher: TableRepublisher<Value>?) async throws {
        guard let republisher else { return try await run() }
        try await withThrowingDiscardingTaskGroup { tasks in
            tasks.addTask { try await self.run() }
            tasks.addTask { try await republisher.run() }
        }
    }
}
