import CRdKafka
import Foundation
import Logging

/// A producer whose sends, together with the consumer offsets they answer, commit or abort
/// atomically (Kafka transactions, KIP-98 and KIP-447).
///
/// Call sequence per batch: `beginTransaction()`, `sendAll(_:)`, `sendOffsets(_:groupMetadata:)`,
/// `commitTransaction()`; on `.transactionAbortable` call `abortTransaction()` and rewind
/// the consumer; on `.fatal` (fenced by a newer instance with the same transactional id)
/// the producer is unusable and must be recreated.
///
/// Note: librdkafka's embedded mock cluster accepts these calls but neither isolates aborted
/// data nor stores offsets sent with a transaction; see docs/delivery-guarantees.md.
public final class KafkaTransactionalProducer: Sendable {
    private let producer: KafkaProducer
    public let transactionalId: String
    private let timeoutMilliseconds: Int32

    /// Creates the producer and runs `initTransactions` (fencing older instances with the
    /// same `transactionalId`).
    public init(configuration: KafkaProducerConfiguration, transactionalId: String, timeout: Duration = .seconds(30), logger: Logger) async throws {
        var properties = configuration.librdkafkaProperties
        properties.append(("transactional.id", transactionalId))
        producer = try KafkaProducer(properties: properties, logger: logger)
        self.transactionalId = transactionalId
        timeoutMilliseconds = Int32(timeout.components.seconds * 1000)
        let timeoutMilliseconds = timeoutMilliseconds
        let error = await producer.client.blocking { [client = producer.client] () -> KafkaError? in
            rd_kafka_init_transactions(client.handle, timeoutMilliseconds).map { KafkaError(consuming: $0, context: "init transactions for '\(transactionalId)'") }
        }
        if let error {
            await producer.shutdown()
            throw error
        }
    }

    /// Reads the metadata of `topics` ahead of the first message (`KafkaProducer.prepare`).
    @discardableResult
    public func prepare(topics: [String]) async -> [String] {
        await producer.prepare(topics: topics)
    }

    /// Starts a transaction. Everything sent until commit/abort belongs to it.
    public func beginTransaction() throws {
        if let error = rd_kafka_begin_transaction(producer.client.handle) {
            throw KafkaError(consuming: error, context: "begin transaction")
        }
    }

    /// Sends records inside the current transaction and waits for their delivery reports.
    @discardableResult
    public func sendAll(_ records: [KafkaRecord]) async throws -> [KafkaDeliveryReport] {
        do {
            return try await producer.sendAll(records)
        } catch let error as KafkaError {
            if let fatal = producer.client.fatalError() { throw fatal }
            throw KafkaError(kind: .transactionAbortable, code: error.code, message: error.message)
        }
    }

    /// Adds the consumer's next offsets to the transaction, so they commit with the outputs.
    public func sendOffsets(_ offsets: [TopicPartition], groupMetadata: KafkaConsumerGroupMetadata) async throws {
        let timeout = timeoutMilliseconds
        let error = await producer.client.blocking { [client = producer.client] () -> KafkaError? in
            TopicPartitionList.with(offsets) { list in
                rd_kafka_send_offsets_to_transaction(client.handle, list, groupMetadata.pointer, timeout)
                    .map { KafkaError(consuming: $0, context: "send offsets to transaction") }
            }
        }
        if let error { throw error }
    }

    /// Commits the transaction (flushing outstanding messages first).
    public func commitTransaction() async throws {
        let timeout = timeoutMilliseconds
        let error = await producer.client.blocking { [client = producer.client] () -> KafkaError? in
            rd_kafka_commit_transaction(client.handle, timeout).map { KafkaError(consuming: $0, context: "commit transaction") }
        }
        if let error { throw error }
    }

    /// Aborts the transaction: its messages are marked aborted and its offsets dropped.
    public func abortTransaction() async throws {
        let timeout = timeoutMilliseconds
        let error = await producer.client.blocking { [client = producer.client] () -> KafkaError? in
            rd_kafka_abort_transaction(client.handle, timeout).map { KafkaError(consuming: $0, context: "abort transaction") }
        }
        if let error { throw error }
    }

    /// Stops the producer. An open transaction is aborted by the broker after its timeout.
    public func shutdown() async {
        await producer.shutdown()
    }
}
