import CRdKafka
import Dispatch
import Foundation
import Logging
import Synchronization

/// A consumer-group member.
///
/// Reading is pull-based: `poll(maxMessages:)` (or iterating `events`) fetches what is
/// available, so a slow processor never makes the consumer buffer without bound. Rebalance
/// callbacks run inside the poll, and the resulting `KafkaRebalance` is returned in order
/// with the messages. Offsets are never committed automatically: call `commit` once the
/// outputs of a message are safe.
///
/// Cost: one serial dispatch queue per consumer, on which polls block (never a task).
public final class KafkaConsumer: Sendable {
    let client: RDKafkaClient
    private let pollQueue = DispatchQueue(label: "inlet.kafka.consumer-poll")
    private let closed = Mutex(false)
    private let logger: Logger

    /// Creates a consumer and subscribes it to `topics` (none: it only answers metadata
    /// questions such as `watermarks`).
    ///
    /// With `defersRevocation`, revoked partitions stay this member's until
    /// `releaseRevokedPartitions()` is called, and `poll` returns right after a revocation: the
    /// caller finishes and commits what it took from them first, so no new owner reads them
    /// while it still works on them. The group's rebalance waits for the release (bounded by
    /// `max.poll.interval.ms`).
    public init(configuration: KafkaConsumerConfiguration, topics: [String], logger: Logger, defersRevocation: Bool = false) throws {
        client = try RDKafkaClient(
            role: .consumer, properties: configuration.librdkafkaProperties, logger: logger, rebalance: true, defersRevocation: defersRevocation
        )
        self.logger = logger
        rd_kafka_poll_set_consumer(client.handle)
        if topics.isEmpty { return }
        let error = TopicPartitionList.with(topics.map { TopicPartition(topic: $0, partition: Int32(RD_KAFKA_PARTITION_UA)) }) { list in
            rd_kafka_subscribe(client.handle, list)
        }
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            client.destroy()
            throw KafkaError(kind: .consumer, error: error, context: "subscribe to \(topics.joined(separator: ", "))")
        }
    }

    /// Creates a consumer that reads the given partitions without joining a group
    /// (tables, reading back the tail of a topic). Offsets in `partitions` say where to
    /// start; a partition without an offset starts at the beginning.
    public init(assigning partitions: [TopicPartition], configuration: KafkaConsumerConfiguration, logger: Logger) throws {
        client = try RDKafkaClient(role: .consumer, properties: configuration.librdkafkaProperties, logger: logger)
        self.logger = logger
        rd_kafka_poll_set_consumer(client.handle)
        let error = TopicPartitionList.with(partitions, defaultOffset: Int64(RD_KAFKA_OFFSET_BEGINNING)) { list in
            rd_kafka_assign(client.handle, list)
        }
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            client.destroy()
            throw KafkaError(kind: .consumer, error: error, context: "assign \(partitions)")
        }
    }

    // MARK: - Reading

    /// Waits until at least one message or rebalance is available (or `timeout` passes, or
    /// the task is cancelled), then returns up to `maxMessages` messages available without
    /// further waiting, with rebalances (and end-of-partition events, when configured) in
    /// order. Returns `[]` on timeout or cancellation.
    public func poll(maxMessages: Int = 500, timeout: Duration = .milliseconds(500)) async throws -> [KafkaConsumerEvent] {
        let cancelled = CancellationFlag()
        let timeoutMilliseconds = Int(timeout.wholeMilliseconds)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                pollQueue.async { [self] in
                    continuation.resume(with: Result { try pollBlocking(maxMessages: maxMessages, timeoutMilliseconds: timeoutMilliseconds, cancelled: cancelled) })
                }
            }
        } onCancel: {
            cancelled.set()
        }
    }

    private func pollBlocking(maxMessages: Int, timeoutMilliseconds: Int, cancelled: CancellationFlag) throws -> [KafkaConsumerEvent] {
        if closed.withLock({ $0 }) { throw KafkaError(kind: .shutdown, message: "the consumer is closed") }
        var events: [KafkaConsumerEvent] = []
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeoutMilliseconds) * 1_000_000
        var waitMilliseconds = Int32(min(50, timeoutMilliseconds))
        while events.count < maxMessages {
            // A deferred revocation must be released before anything else is read.
            if client.callbacks.isRevocationPending { break }
            let message = rd_kafka_consumer_poll(client.handle, waitMilliseconds)
            let rebalances = client.callbacks.takeRebalances()
            events += rebalances.map(KafkaConsumerEvent.rebalance)
            if client.callbacks.isRevocationPending {
                // The rebalance callback ran inside this poll. With the eager protocol every
                // partition is revoked, so a message returned with it is not ours to process:
                // left uncommitted, the next owner reads it.
                if let message { rd_kafka_message_destroy(message) }
                break
            }
            if let message {
                defer { rd_kafka_message_destroy(message) }
                let error = message.pointee.err
                if error == RD_KAFKA_RESP_ERR_NO_ERROR {
                    events.append(.message(MessageReader.read(message)))
                } else if error == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                    let raw = message.pointee
                    let topic = raw.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
                    events.append(.endOfPartition(TopicPartition(topic: topic, partition: raw.partition, offset: raw.offset)))
                } else if let fatal = client.fatalError() {
                    throw fatal
                } else if error == RD_KAFKA_RESP_ERR__MAX_POLL_EXCEEDED {
                    logger.error(
                        "consumer: \(KafkaError.text(of: error.rawValue)); this member left its group and its partitions go to others. Processing between polls took longer than max.poll.interval.ms: lower the batch size or duration, or raise the interval"
                    )
                } else {
                    logger.debug("consumer: \(KafkaError.text(of: error.rawValue))")
                }
            }
            if !events.isEmpty {
                waitMilliseconds = 0
                if message == nil { break }
            } else if cancelled.isSet || DispatchTime.now().uptimeNanoseconds >= deadline {
                break
            }
        }
        return events
    }

    /// Messages and rebalances, as an `AsyncSequence` that ends when the task is cancelled
    /// or the consumer is closed.
    public var events: KafkaConsumerEvents { KafkaConsumerEvents(consumer: self) }

    // MARK: - Offsets

    /// Commits `offsets` (each the offset of the next message to read) for the group and
    /// waits for the broker's answer.
    public func commit(_ offsets: [TopicPartition]) async throws {
        guard !offsets.isEmpty else { return }
        let error = await client.blocking { [client] in
            TopicPartitionList.with(offsets) { list in rd_kafka_commit(client.handle, list, 0) }
        }
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(kind: .offsetCommit, error: error, context: "commit \(offsets.map(\.description).joined(separator: ", "))")
        }
    }

    /// The group's committed offsets for `partitions` (`offset` nil when none).
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) async throws -> [TopicPartition] {
        let milliseconds = Int32(timeout.components.seconds * 1000)
        return try await client.blocking { [client] () -> Result<[TopicPartition], KafkaError> in
            TopicPartitionList.with(partitions) { list in
                let error = rd_kafka_committed(client.handle, list, milliseconds)
                guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    return .failure(KafkaError(kind: .offsetCommit, error: error, context: "read committed offsets"))
                }
                return .success(TopicPartitionList.read(list))
            }
        }.get()
    }

    /// Moves the read position of assigned partitions (e.g. back to the start of a batch
    /// whose transaction was aborted). Messages already fetched past it are discarded.
    public func seek(_ positions: [TopicPartition], timeout: Duration = .seconds(10)) async throws {
        guard !positions.isEmpty else { return }
        let milliseconds = Int32(timeout.components.seconds * 1000)
        let error = await client.blocking { [client] () -> KafkaError? in
            TopicPartitionList.with(positions) { list in
                if let error = rd_kafka_seek_partitions(client.handle, list, milliseconds) {
                    return KafkaError(consuming: error, context: "seek")
                }
                for index in 0..<Int(list.pointee.cnt) where list.pointee.elems[index].err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    let element = list.pointee.elems[index]
                    return KafkaError(kind: .consumer, error: element.err, context: "seek \(String(cString: element.topic))[\(element.partition)]")
                }
                return nil
            }
        }
        if let error { throw error }
    }

    /// The consumer's current position in `partitions`: per partition, the offset of the next
    /// message `poll` will return (`offset` nil when not known yet, e.g. before the first
    /// message). Unlike "last message + 1", it moves past transaction markers the consumer
    /// read. Answered locally, without asking the broker; all offsets nil once closed.
    public func positions(_ partitions: [TopicPartition]) -> [TopicPartition] {
        let unknown = partitions.map(\.withoutOffset)
        // Holding the lock keeps `close()` from destroying the handle during the call.
        return closed.withLock { closed -> [TopicPartition] in
            if closed { return unknown }
            return TopicPartitionList.with(unknown) { list in
                guard rd_kafka_position(client.handle, list) == RD_KAFKA_RESP_ERR_NO_ERROR else { return unknown }
                return TopicPartitionList.read(list)
            }
        }
    }

    /// Stops fetching `partitions` (assigned ones; others are ignored). Messages already
    /// returned by `poll` stay the caller's; `resume` fetches again from the position after
    /// the last message returned, so nothing is skipped or repeated.
    public func pause(_ partitions: [TopicPartition]) {
        toggle(partitions) { handle, list in rd_kafka_pause_partitions(handle, list) }
    }

    /// Fetches `partitions` again after `pause`.
    public func resume(_ partitions: [TopicPartition]) {
        toggle(partitions) { handle, list in rd_kafka_resume_partitions(handle, list) }
    }

    private func toggle(_ partitions: [TopicPartition], _ call: (OpaquePointer, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> rd_kafka_resp_err_t) {
        guard !partitions.isEmpty else { return }
        // Holding the lock keeps `close()` from destroying the handle during the call.
        closed.withLock { closed in
            guard !closed else { return }
            TopicPartitionList.with(partitions.map(\.withoutOffset)) { list in _ = call(client.handle, list) }
        }
    }

    /// Completes a deferred revocation (see `init(configuration:topics:logger:defersRevocation:)`):
    /// the revoked partitions are given up and the group's rebalance goes on.
    public func releaseRevokedPartitions() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            pollQueue.async { [self] in
                if !closed.withLock({ $0 }) { client.releaseRevokedPartitions() }
                continuation.resume()
            }
        }
    }

    /// The low and high watermarks of a partition as last seen in this consumer's fetch
    /// responses (no request to the broker); `nil` before it fetched the partition.
    public func cachedWatermarks(topic: String, partition: Int32) -> (low: Int64, high: Int64)? {
        client.cachedWatermarks(topic: topic, partition: partition)
    }

    /// The low and high watermark offsets of a partition, asked of the broker
    /// (high: the offset the next message will get). `high - committed` is the lag.
    public func watermarks(topic: String, partition: Int32) async throws -> (low: Int64, high: Int64) {
        try await client.watermarks(topic: topic, partition: partition)
    }

    /// The group metadata a transactional producer needs to commit this consumer's offsets
    /// inside a transaction (KIP-447).
    public func groupMetadata() throws -> KafkaConsumerGroupMetadata {
        guard let metadata = rd_kafka_consumer_group_metadata(client.handle) else {
            throw KafkaError(kind: .consumer, message: "this consumer is not a group member; group metadata is unavailable")
        }
        return KafkaConsumerGroupMetadata(pointer: metadata)
    }

    // MARK: - Closing

    /// Leaves the group (revoking partitions) and destroys the client. Uncommitted offsets
    /// are not committed: the next owner re-reads those messages.
    public func close() async {
        let wasClosed = closed.withLock { closed in
            defer { closed = true }
            return closed
        }
        guard !wasClosed else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            pollQueue.async { [client] in
                // Nobody is left to release a revocation: closing releases at once.
                client.callbacks.stopDeferringRevocations()
                client.releaseRevokedPartitions()
                rd_kafka_consumer_close(client.handle)
                client.destroy()
                continuation.resume()
            }
        }
    }
}

/// Opaque group metadata of a consumer, passed to
/// `KafkaTransactionalProducer.sendOffsets(_:groupMetadata:)`.
///
/// `@unchecked Sendable`: the wrapped `rd_kafka_consumer_group_metadata_t` is an immutable
/// value object after creation; it is only read (by librdkafka) and freed in `deinit`.
public final class KafkaConsumerGroupMetadata: @unchecked Sendable {
    let pointer: OpaquePointer

    init(pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        rd_kafka_consumer_group_metadata_destroy(pointer)
    }
}

/// `KafkaConsumer.events` as an `AsyncSequence`.
public struct KafkaConsumerEvents: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerEvent
    let consumer: KafkaConsumer

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: KafkaConsumer
        var buffer: [KafkaConsumerEvent] = []

        public mutating func next() async throws -> KafkaConsumerEvent? {
            while buffer.isEmpty {
                if Task.isCancelled { return nil }
                do {
                    buffer = try await consumer.poll()
                } catch let error as KafkaError where error.kind == .shutdown {
                    return nil
                }
            }
            return buffer.removeFirst()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer) }
}
