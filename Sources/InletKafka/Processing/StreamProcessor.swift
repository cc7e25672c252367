import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The consume-transform-produce loop every Inlet worker runs.
///
/// Reads a batch from its consumer group, runs the transform on each message in order,
/// then makes outputs and input offsets durable together:
/// - `.atLeastOnce`: produce, await every acknowledgement, commit the input offsets;
/// - `.exactlyOnce`: begin transaction, produce, send offsets with the consumer's group
///   metadata, commit transaction; an abortable error aborts, rewinds and retries the batch;
///   a retriable error retries the call; a fatal error (fencing) ends `run()`.
///
/// A failed batch is rolled back (`StreamTransform.batchAborted()`) and retried from the
/// messages in memory, so the consumer's position never moves backwards; after
/// `maxBatchAttempts` failures `run()` throws without committing, and the next owner of the
/// partitions reads the batch again.
///
/// A rebalance is handled between batches: the batch in progress is finished first.
public final class StreamProcessor: Service, Sendable {
    private let configuration: StreamProcessorConfiguration
    private let transform: any StreamTransform
    private let logger: Logger
    private let statistics = Mutex(StreamProcessorStatistics())

    public init(configuration: StreamProcessorConfiguration, transform: any StreamTransform, logger: Logger) {
        self.configuration = configuration
        self.transform = transform
        self.logger = logger
    }

    /// A snapshot of the counters.
    public var currentStatistics: StreamProcessorStatistics { statistics.withLock { $0 } }

    // MARK: - Running

    /// Runs until the task is cancelled (or graceful shutdown), or a batch fails
    /// `maxBatchAttempts` times, or the producer is fenced.
    public func run() async throws {
        let consumer = try KafkaConsumer(configuration: configuration.consumer, topics: configuration.topics, logger: logger)
        let output: Output
        do {
            output = try await makeOutput()
        } catch {
            await consumer.close()
            throw error
        }
        do {
            try await cancelWhenGracefulShutdown {
                try await self.loop(consumer: consumer, output: output)
            }
        } catch is CancellationError {
        } catch {
            await consumer.close()
            await output.shutdown()
            throw error
        }
        await consumer.close()
        await output.shutdown()
    }

    private func loop(consumer: KafkaConsumer, output: Output) async throws {
        while !Task.isCancelled {
            let events = try await consumer.poll(maxMessages: configuration.maxBatchSize, timeout: .milliseconds(250))
            var batch: [KafkaMessage] = []
            for event in events {
                switch event {
                case .message(let message):
                    batch.append(message)
                case .rebalance(let rebalance):
                    try await process(batch, consumer: consumer, output: output)
                    batch.removeAll()
                    try await handle(rebalance)
                }
            }
            try await process(batch, consumer: consumer, output: output)
        }
    }

    private func handle(_ rebalance: KafkaRebalance) async throws {
        switch rebalance {
        case .assigned(let partitions):
            logger.info("assigned \(partitions.map(\.description).joined(separator: ", "))")
            try await transform.partitionsAssigned(partitions)
        case .revoked(let partitions):
            logger.info("revoked \(partitions.map(\.description).joined(separator: ", "))")
            await transform.partitionsRevoked(partitions)
        }
    }

    // MARK: - One batch

    private func process(_ batch: [KafkaMessage], consumer: KafkaConsumer, output: Output) async throws {
        guard !batch.isEmpty else { return }
        var attempt = 1
        while true {
            do {
                try await attemptBatch(batch, consumer: consumer, output: output)
                await transform.batchCommitted()
                statistics.withLock { $0.batchesCommitted += 1 }
                return
            } catch let error as KafkaError where error.kind == .fatal {
                throw error
            } catch {
                statistics.withLock { $0.batchesRolledBack += 1 }
                await transform.batchAborted()
                guard attempt < configuration.maxBatchAttempts, !Task.isCancelled else { throw error }
                logger.warning("batch of \(batch.count) rolled back (attempt \(attempt)): \(error); retrying")
                try await Task.sleep(for: .milliseconds(100 * (1 << min(attempt, 6))))
                attempt += 1
            }
        }
    }

    private func attemptBatch(_ batch: [KafkaMessage], consumer: KafkaConsumer, output: Output) async throws {
        var records: [KafkaRecord] = []
        for message in batch {
            records += try await transform.process(message)
        }
        let offsets = Self.nextOffsets(of: batch)
        statistics.withLock {
            $0.messagesIn += batch.count
            $0.recordsOut += records.count
        }
        switch output {
        case .plain(let producer):
            try await producer.sendAll(records)
            let final = try await transform.finalRecords()
            try await producer.sendAll(final)
            statistics.withLock { $0.recordsOut += final.count }
            try await configuration.beforeCommit?(offsets)
            do {
                try await consumer.commit(offsets)
            } catch {
                // Outputs are safe; the inputs will be re-delivered to the next owner and
                // recognised as repeats.
                statistics.withLock { $0.failedCommits += 1 }
                logger.warning("offset commit failed: \(error)")
            }
        case .transactional(let producer):
            try await runTransaction(producer: producer, consumer: consumer, records: records, offsets: offsets)
        }
    }

    private func runTransaction(
        producer: KafkaTransactionalProducer, consumer: KafkaConsumer, records: [KafkaRecord],
        offsets: [TopicPartition]
    ) async throws {
        do {
            try producer.beginTransaction()
            statistics.withLock { $0.transactionsBegun += 1 }
            try await producer.sendAll(records)
            let final = try await transform.finalRecords()
            try await producer.sendAll(final)
            statistics.withLock { $0.recordsOut += final.count }
            let metadata = try consumer.groupMetadata()
            try await retrying { try await producer.sendOffsets(offsets, groupMetadata: metadata) }
            statistics.withLock { $0.transactionOffsetsSent += 1 }
            try await configuration.beforeCommit?(offsets)
            try await retrying { try await producer.commitTransaction() }
            statistics.withLock { $0.transactionsCommitted += 1 }
        } catch let error as KafkaError where error.kind == .fatal {
            throw error
        } catch {
            logger.warning("transaction aborted: \(error)")
            try await retrying { try await producer.abortTransaction() }
            statistics.withLock { $0.transactionsAborted += 1 }
            throw error
        }
    }

    /// Repeats a transactional call while it fails with a retriable error (at most 5 times).
    private func retrying(_ call: () async throws -> Void) async throws {
        var attempt = 1
        while true {
            do {
                return try await call()
            } catch let error as KafkaError where error.kind == .transactionRetriable && attempt < 5 {
                statistics.withLock { $0.retriedCalls += 1 }
                logger.info("retrying after retriable error: \(error)")
                try await Task.sleep(for: .milliseconds(50 * attempt))
                attempt += 1
            }
        }
    }

    // MARK: - Offsets

    static func nextOffsets(of batch: [KafkaMessage]) -> [TopicPartition] {
        var next: [TopicPartition: Int64] = [:]
        for message in batch {
            let key = TopicPartition(topic: message.topic, partition: message.partition)
            next[key] = max(next[key] ?? 0, message.offset + 1)
        }
        return next.map { TopicPartition(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value) }
            .sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }

    // MARK: - Output

    private enum Output: Sendable {
        case plain(KafkaProducer)
        case transactional(KafkaTransactionalProducer)

        func shutdown() async {
            switch self {
            case .plain(let producer): await producer.shutdown()
            case .transactional(let producer): await producer.shutdown()
            }
        }
    }

    private func makeOutput() async throws -> Output {
        switch configuration.guarantee {
        case .atLeastOnce:
            return .plain(try KafkaProducer(configuration: configuration.producer, logger: logger))
        case .exactlyOnce:
            let id = "\(configuration.transactionalIdPrefix)-\(configuration.consumer.groupId)-\(UUID().uuidString.prefix(8))"
            return .transactional(try await KafkaTransactionalProducer(configuration: configuration.producer, transactionalId: id, logger: logger))
        }
    }
}
