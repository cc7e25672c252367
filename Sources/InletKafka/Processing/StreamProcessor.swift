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
/// A batch stops taking messages once it has run for `maxBatchDuration`; what was fetched
/// and not processed waits for the next batch, with a poll in between, so slow connector
/// methods never keep the worker from polling for longer than `max.poll.interval.ms`.
///
/// Rebalances happen only between batches: partitions are revoked only after every batch
/// taken from them has been committed (the consumer defers the revocation until this loop
/// releases it), and what was fetched for them but not processed is left to the next owner.
///
/// A consumer whose next message was trimmed by the broker's retention before it was read
/// logs an error with the count lost and counts it in `messagesLost`.
public final class StreamProcessor: Service, Sendable {
    private let configuration: StreamProcessorConfiguration
    private let transform: any StreamTransform
    private let logger: Logger
    private let statistics = Mutex(StreamProcessorStatistics())
    /// Set on graceful shutdown: finish the batch in progress, take no more.
    private let stopping = Mutex(false)

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
        let consumer = try KafkaConsumer(
            configuration: configuration.consumer, topics: configuration.topics, logger: logger, defersRevocation: true
        )
        let output: Output
        do {
            output = try await makeOutput()
        } catch {
            await consumer.close()
            throw error
        }
        do {
            try await runUntilStopped(consumer: consumer, output: output)
        } catch is CancellationError {
        } catch {
            await consumer.close()
            await output.shutdown()
            throw error
        }
        await consumer.close()
        await output.shutdown()
    }

    /// Runs the loop until cancelled; on graceful shutdown (SIGTERM) the batch in progress
    /// stops taking messages and is committed, and the loop ends — or, past
    /// `shutdownDeadline`, is cancelled (its batch is then not committed and the next owner
    /// reads it again).
    private func runUntilStopped(consumer: KafkaConsumer, output: Output) async throws {
        stopping.withLock { $0 = false }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                try await self.loop(consumer: consumer, output: output)
            }
            tasks.addTask {
                try await withGracefulShutdownHandler {
                    try await Task.sleep(for: .seconds(365 * 24 * 3600))
                } onGracefulShutdown: {
                    self.stopping.withLock { $0 = true }
                }
            }
            tasks.addTask { [configuration] in
                // After graceful shutdown began, give the batch in progress until the deadline.
                while !self.isStopping { try await Task.sleep(for: .milliseconds(50)) }
                try await Task.sleep(for: configuration.shutdownDeadline)
                throw CancellationError()
            }
            try await tasks.next()
            tasks.cancelAll()
        }
    }

    private var isStopping: Bool { stopping.withLock { $0 } }

    /// How long one batch may take messages for: `maxBatchDuration`, at most a third of
    /// `max.poll.interval.ms` so that the commit and the next poll fit too, and at most half
    /// the session timeout — the embedded broker waits only that long (less a second) for
    /// members to rejoin a rebalance, and a member learns of it only at its next poll.
    var batchDuration: Duration {
        min(
            configuration.maxBatchDuration, .milliseconds(configuration.consumer.maxPollIntervalMilliseconds / 3),
            .milliseconds(configuration.consumer.sessionTimeoutMilliseconds / 2)
        )
    }

    private func loop(consumer: KafkaConsumer, output: Output) async throws {
        var pending: [KafkaMessage] = []
        var continuity = RetentionLossDetector()
        var failures = 0
        var waitingSince: ContinuousClock.Instant?
        while !Task.isCancelled && !isStopping {
            let events = try await consumer.poll(
                maxMessages: max(1, configuration.maxBatchSize - pending.count),
                timeout: pending.isEmpty ? .milliseconds(250) : .zero
            )
            for event in events {
                switch event {
                case .message(let message):
                    await checkContinuity(of: message, detector: &continuity, consumer: consumer)
                    pending.append(message)
                case .rebalance(.assigned(let partitions)):
                    logger.info("assigned \(partitions.map(\.description).joined(separator: ", "))")
                    try await transform.partitionsAssigned(partitions)
                    for committed in (try? await consumer.committed(partitions)) ?? [] {
                        continuity.start(committed, at: committed.offset)
                    }
                case .rebalance(.revoked(let partitions)):
                    logger.info("revoked \(partitions.map(\.description).joined(separator: ", "))")
                    statistics.withLock { $0.revocations += 1 }
                    // Every batch taken so far is committed; what was fetched and not
                    // processed is the next owner's to read.
                    let revoked = Set(partitions.map(\.withoutOffset))
                    pending.removeAll { revoked.contains(TopicPartition(topic: $0.topic, partition: $0.partition)) }
                    revoked.forEach { continuity.stop($0) }
                    await transform.partitionsRevoked(partitions)
                    await consumer.releaseRevokedPartitions()
                case .endOfPartition:
                    break
                }
            }
            if !pending.isEmpty, let full = configuration.outputBacklog?.fullPartition() {
                // Downstream lags: processing more would push its input past what the broker
                // keeps. Keep polling (group membership) and wait.
                if waitingSince == nil {
                    waitingSince = .now
                    logger.warning("waiting: \(full) holds as much unconsumed output as the broker can keep; the next stage must catch up")
                }
                statistics.withLock { $0.downstreamWaits += 1 }
                try await Task.sleep(for: .milliseconds(200))
                continue
            }
            if let since = waitingSince {
                logger.info("downstream caught up after \(ContinuousClock.now - since)")
                waitingSince = nil
            }
            if !pending.isEmpty && !isStopping {
                let (processed, retry) = try await process(pending, failures: &failures, consumer: consumer, output: output)
                pending.removeFirst(processed)
                if let retry {
                    // Inputs before it are committed; this one is given again after the delay
                    // (kept short enough for the next poll to come in time).
                    statistics.withLock { $0.retriesLater += 1 }
                    logger.info("input deferred: \(retry)")
                    try await Task.sleep(for: min(retry.delay, batchDuration))
                }
            }
        }
    }

    /// Counts and reports messages trimmed by retention before this consumer read them.
    private func checkContinuity(of message: KafkaMessage, detector: inout RetentionLossDetector, consumer: KafkaConsumer) async {
        let partition = TopicPartition(topic: message.topic, partition: message.partition)
        guard let gap = detector.read(partition, offset: message.offset) else { return }
        let low: Int64
        if let cached = consumer.cachedWatermarks(topic: message.topic, partition: message.partition) {
            low = cached.low
        } else if let asked = try? await consumer.watermarks(topic: message.topic, partition: message.partition) {
            low = asked.low
        } else {
            return
        }
        let lost = RetentionLossDetector.lost(in: gap, lowWatermark: low)
        guard lost > 0 else { return }
        statistics.withLock { $0.messagesLost += Int(lost) }
        logger.error(
            "\(lost) messages of \(partition) (offsets \(gap.offsets.lowerBound)..<\(gap.offsets.lowerBound + lost)) were removed by the broker's retention before this consumer group read them; they are lost",
            metadata: ["kafka.topic": "\(message.topic)", "kafka.partition": "\(message.partition)", "inlet.lost": "\(lost)"]
        )
    }

    // MARK: - One batch

    /// Processes a batch taken from the front of `pending` (as many messages as fit in the
    /// batch duration, at least one, unless the first is deferred) and commits it; returns how
    /// many messages it took, and the deferral of the message after them, if any. A failed
    /// batch is rolled back and taken 0 messages: the loop polls (keeping the group
    /// membership), waits, and cuts the batch again, up to `maxBatchAttempts` times in a row.
    private func process(_ pending: [KafkaMessage], failures: inout Int, consumer: KafkaConsumer, output: Output) async throws -> (Int, RetryLater?) {
        do {
            let (count, retry) = try await attemptBatch(pending, consumer: consumer, output: output)
            await transform.batchCommitted()
            statistics.withLock { $0.batchesCommitted += 1 }
            failures = 0
            return (count, retry)
        } catch let error as KafkaError where error.kind == .fatal {
            throw error
        } catch {
            statistics.withLock { $0.batchesRolledBack += 1 }
            await transform.batchAborted()
            failures += 1
            guard failures < configuration.maxBatchAttempts, !Task.isCancelled else { throw error }
            logger.warning("batch rolled back (attempt \(failures)): \(error); retrying")
            try await Task.sleep(for: min(.milliseconds(100 * (1 << min(failures, 6))), batchDuration))
            return (0, nil)
        }
    }

    /// Runs the transform over as many messages as fit in the batch duration (an isolated
    /// message alone) and makes the outputs and offsets durable. Stops before a message the
    /// transform defers (`RetryLater`).
    private func attemptBatch(_ pending: [KafkaMessage], consumer: KafkaConsumer, output: Output) async throws -> (Int, RetryLater?) {
        var records: [KafkaRecord] = []
        var retry: RetryLater?
        var downstream = BacklogGuard.Additions()
        let deadline = ContinuousClock.now + batchDuration
        var index = 0
        while index < pending.count {
            let isolated = transform.isolates(pending[index])
            if isolated && index > 0 { break }
            do {
                let outputs = try await transform.process(pending[index])
                configuration.outputBacklog?.add(outputs, to: &downstream)
                records += outputs
            } catch let deferral as RetryLater {
                retry = deferral
                break
            }
            index += 1
            if isolated || ContinuousClock.now >= deadline || isStopping { break }
            // On a broker that trims by size: end the batch before its own outputs could fill
            // a downstream partition.
            if let backlog = configuration.outputBacklog, backlog.wouldFill(with: downstream) { break }
        }
        let batch = pending[..<index]
        if index < pending.count && retry == nil && !transform.isolates(pending[index]) {
            logger.info("batch stopped after \(index) messages and \(batchDuration); \(pending.count - index) wait for the next batch")
        }
        let offsets = Self.nextOffsets(of: batch)
        statistics.withLock {
            $0.messagesIn += batch.count
            $0.recordsOut += records.count
        }
        switch output {
        case .plain(let producer):
            countOutputs(records, reports: try await producer.sendAll(records))
            let final = try await transform.finalRecords()
            countOutputs(final, reports: try await producer.sendAll(final))
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
        return (index, retry)
    }

    private func runTransaction(
        producer: KafkaTransactionalProducer, consumer: KafkaConsumer, records: [KafkaRecord],
        offsets: [TopicPartition]
    ) async throws {
        do {
            try producer.beginTransaction()
            statistics.withLock { $0.transactionsBegun += 1 }
            countOutputs(records, reports: try await producer.sendAll(records))
            let final = try await transform.finalRecords()
            countOutputs(final, reports: try await producer.sendAll(final))
            statistics.withLock { $0.recordsOut += final.count }
            if !offsets.isEmpty {
                let metadata = try consumer.groupMetadata()
                try await retrying { try await producer.sendOffsets(offsets, groupMetadata: metadata) }
                statistics.withLock { $0.transactionOffsetsSent += 1 }
            }
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

    /// Counts outputs on watched topics against the downstream backlog.
    private func countOutputs(_ records: [KafkaRecord], reports: [KafkaDeliveryReport]) {
        guard let backlog = configuration.outputBacklog else { return }
        for (record, report) in zip(records, reports) { backlog.count(record, storedAt: report) }
    }

    // MARK: - Offsets

    static func nextOffsets(of batch: some Collection<KafkaMessage>) -> [TopicPartition] {
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
            let id = Self.transactionalId(
                prefix: configuration.transactionalIdPrefix, groupId: configuration.consumer.groupId, instanceId: configuration.instanceId
            )
            if configuration.instanceId?.isEmpty ?? true, Self.firstRandomTransactionalId() {
                logger.warning(
                    "no instance id (inlet: --instance-id or INLET_INSTANCE_ID): transactional ids get a random suffix (\(id)), so a restarted instance cannot fence a crashed predecessor, whose open transaction then blocks read_committed readers until the transaction timeout"
                )
            }
            return .transactional(try await KafkaTransactionalProducer(configuration: configuration.producer, transactionalId: id, logger: logger))
        }
    }

    /// The transactional id of a loop: `<prefix>-<groupId>-<instanceId>`, the same across
    /// restarts so the restarted instance fences its predecessor; without an instance id (nil
    /// or empty), a random 8-character suffix unique to this run.
    static func transactionalId(prefix: String, groupId: String, instanceId: String?) -> String {
        let suffix = instanceId.flatMap { $0.isEmpty ? nil : $0 } ?? String(UUID().uuidString.prefix(8))
        return "\(prefix)-\(groupId)-\(suffix)"
    }

    /// Whether a loop of this process already took a random transactional id (the warning
    /// about it is logged once per process, not per loop).
    private static let tookRandomTransactionalId = Mutex(false)

    /// True for the first caller in this process only.
    private static func firstRandomTransactionalId() -> Bool {
        tookRandomTransactionalId.withLock { took in
            defer { took = true }
            return !took
        }
    }
}
