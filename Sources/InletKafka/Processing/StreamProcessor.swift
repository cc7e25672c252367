import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The consume-transform-produce loop every Inlet worker runs.
///
/// Reads a batch from its consumer group, runs the transform on its messages, then makes
/// outputs and input offsets durable together:
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
/// Within a batch, messages run in *lanes*, one per partition number: each lane in input
/// order, the lanes concurrently, so a worker uses every core and a slow method call holds up
/// only its own partition. Outputs are produced lane by lane in input order, so everything
/// keyed alike (one subscription) keeps its order. A lane whose next input is deferred
/// (`RetryLater`) waits out the delay while the other lanes go on.
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
    private let metrics: StreamMetrics
    private let membership = Mutex(Membership())

    /// Whether the loop runs and is in its group, for readiness.
    private struct Membership {
        var running = false
        var joined = false
        var lastPoll: ContinuousClock.Instant?
    }

    public init(configuration: StreamProcessorConfiguration, transform: any StreamTransform, logger: Logger) {
        self.configuration = configuration
        self.transform = transform
        self.logger = logger
        self.metrics = StreamMetrics(group: configuration.consumer.groupId)
    }

    /// Why this loop is not ready, or `nil` when it is: it runs, the group has given it its
    /// share of the partitions (which may be none when there are more members than
    /// partitions), and it polled Kafka within max(60 s, `max.poll.interval.ms`).
    public var readinessProblem: String? {
        let state = membership.withLock { $0 }
        let group = configuration.consumer.groupId
        guard state.running else { return "consumer group \(group): the loop is not running" }
        guard state.joined else { return "consumer group \(group): no partitions assigned yet (joining the group)" }
        // A single slow input (a long full scan) may keep the loop from polling for a while;
        // past max.poll.interval.ms the group has dropped it anyway.
        let quiet = max(Duration.seconds(60), .milliseconds(configuration.consumer.maxPollIntervalMilliseconds))
        if let last = state.lastPoll, ContinuousClock.now - last > quiet {
            return "consumer group \(group): no poll for \(ContinuousClock.now - last) (a batch is stuck, or the broker is unreachable)"
        }
        return nil
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
        membership.withLock { $0 = Membership(running: true) }
        defer { membership.withLock { $0.running = false } }
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
        // Lanes whose next input was deferred, and until when.
        var deferred: [Int32: ContinuousClock.Instant] = [:]
        while !Task.isCancelled && !isStopping {
            let now = ContinuousClock.now
            let due = deferred.filter { $0.value <= now }.keys
            if !due.isEmpty {
                consumer.resume(inputPartitions(numbered: due))
                due.forEach { deferred[$0] = nil }
            }
            let processable = pending.filter { deferred[$0.partition] == nil }.count
            // Nothing to do before the earliest deferral ends: wait for it in the poll.
            let wait = processable > 0 ? .zero : min(.milliseconds(250), deferred.values.min().map { $0 - now } ?? .milliseconds(250))
            // Deferred lanes are paused (nothing more is fetched for them), so what they hold
            // does not shrink the batches of the others.
            let events = try await consumer.poll(maxMessages: max(1, configuration.maxBatchSize - processable), timeout: wait)
            membership.withLock { $0.lastPoll = .now }
            for event in events {
                switch event {
                case .message(let message):
                    await checkContinuity(of: message, detector: &continuity, consumer: consumer)
                    pending.append(message)
                case .rebalance(.assigned(let partitions)):
                    logger.info("assigned \(partitions.map(\.description).joined(separator: ", "))")
                    try await prepare(partitions)
                    membership.withLock { $0.joined = true }
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
                    metrics.forget(revoked)
                    // A deferral ends with the ownership (a new assignment starts unpaused).
                    let lanesLeft = Set(pending.map(\.partition))
                    for lane in deferred.keys where !lanesLeft.contains(lane) {
                        consumer.resume(inputPartitions(numbered: [lane]))
                        deferred[lane] = nil
                    }
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
                let outcome = try await process(pending, skipping: Set(deferred.keys), failures: &failures, consumer: consumer, output: output)
                if !outcome.processed.isEmpty {
                    pending = pending.enumerated().filter { !outcome.processed.contains($0.offset) }.map(\.element)
                }
                for (lane, retry) in outcome.deferrals {
                    // Inputs before it are committed; this one is given again after the delay
                    // (kept short enough for the next poll to come in time).
                    statistics.withLock { $0.retriesLater += 1 }
                    logger.info("input deferred (partition \(lane)): \(retry)")
                    deferred[lane] = .now + min(retry.delay, batchDuration)
                    consumer.pause(inputPartitions(numbered: [lane]))
                }
            }
        }
    }

    /// The input partitions with these numbers, on every input topic.
    private func inputPartitions(numbered numbers: some Sequence<Int32>) -> [TopicPartition] {
        numbers.flatMap { number in configuration.topics.map { TopicPartition(topic: $0, partition: number) } }
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
        metrics.messagesLost(Int(lost))
        logger.error(
            "\(lost) messages of \(partition) (offsets \(gap.offsets.lowerBound)..<\(gap.offsets.lowerBound + lost)) were removed by the broker's retention before this consumer group read them; they are lost",
            metadata: ["kafka.topic": "\(message.topic)", "kafka.partition": "\(message.partition)", "inlet.lost": "\(lost)"]
        )
    }

    // MARK: - One batch

    /// What a batch took from `pending`: the positions it processed (and committed), and the
    /// lanes whose next input was deferred.
    struct BatchOutcome {
        var processed: Set<Int> = []
        var deferrals: [(lane: Int32, retry: RetryLater)] = []
    }

    /// Processes a batch taken from `pending` (as many messages as fit in the batch duration,
    /// lanes in `skipping` left out) and commits it. A failed batch is rolled back and takes
    /// nothing: the loop polls (keeping the group membership), waits, and cuts the batch
    /// again, up to `maxBatchAttempts` times in a row.
    private func process(
        _ pending: [KafkaMessage], skipping: Set<Int32>, failures: inout Int, consumer: KafkaConsumer, output: Output
    ) async throws -> BatchOutcome {
        do {
            guard let outcome = try await attemptBatch(pending, skipping: skipping, consumer: consumer, output: output) else { return BatchOutcome() }
            await transform.batchCommitted()
            statistics.withLock { $0.batchesCommitted += 1 }
            failures = 0
            return outcome
        } catch let error as KafkaError where error.kind == .fatal {
            throw error
        } catch {
            statistics.withLock { $0.batchesRolledBack += 1 }
            metrics.batchRolledBack()
            await transform.batchAborted()
            failures += 1
            guard failures < configuration.maxBatchAttempts, !Task.isCancelled else { throw error }
            logger.warning("batch rolled back (attempt \(failures)): \(error); retrying")
            try await Task.sleep(for: min(.milliseconds(100 * (1 << min(failures, 6))), batchDuration))
            return BatchOutcome()
        }
    }

    /// The positions in `pending` a batch may take, by lane (partition number), lanes in order
    /// of first appearance: everything before the first isolated message, or that message
    /// alone when it comes first. Lanes in `skipping` are left out whole.
    static func lanes(of pending: [KafkaMessage], skipping: Set<Int32>, isolates: (KafkaMessage) -> Bool) -> [(lane: Int32, positions: [Int])] {
        var lanes: [(lane: Int32, positions: [Int])] = []
        var laneIndex: [Int32: Int] = [:]
        for (position, message) in pending.enumerated() {
            // A skipped lane is left out whole, its isolated messages too.
            guard !skipping.contains(message.partition) else { continue }
            if isolates(message) {
                if lanes.isEmpty { return [(message.partition, [position])] }
                break
            }
            if let index = laneIndex[message.partition] {
                lanes[index].positions.append(position)
            } else {
                laneIndex[message.partition] = lanes.count
                lanes.append((message.partition, [position]))
            }
        }
        return lanes
    }

    /// The outputs of all lanes of a batch on watched topics, and whether they would fill a
    /// downstream partition.
    private final class DownstreamTally: Sendable {
        private let additions = Mutex((tally: BacklogGuard.Additions(), full: false))

        func add(_ outputs: [KafkaRecord], to backlog: BacklogGuard) {
            additions.withLock { state in
                backlog.add(outputs, to: &state.tally)
                if backlog.wouldFill(with: state.tally) { state.full = true }
            }
        }

        var isFull: Bool { additions.withLock { $0.full } }
    }

    /// What one lane did: how many of its messages it processed, their outputs, and the
    /// deferral of the message after them, if any.
    private struct LaneResult: Sendable {
        var count = 0
        var records: [KafkaRecord] = []
        var retry: RetryLater?
    }

    /// Runs the transform over the lanes concurrently, each as long as the batch duration
    /// allows, and makes the outputs and offsets durable; `nil` when there is nothing to take.
    private func attemptBatch(_ pending: [KafkaMessage], skipping: Set<Int32>, consumer: KafkaConsumer, output: Output) async throws -> BatchOutcome? {
        let lanes = Self.lanes(of: pending, skipping: skipping, isolates: transform.isolates)
        guard !lanes.isEmpty else { return nil }
        let started = ContinuousClock.now
        let deadline = started + batchDuration
        // On a broker that trims by size: end the batch before its own outputs could fill a
        // downstream partition (all lanes together).
        let downstream = DownstreamTally()
        let results = try await withThrowingTaskGroup(of: (Int, LaneResult).self) { group in
            for (index, lane) in lanes.enumerated() {
                let messages = lane.positions.map { pending[$0] }
                group.addTask(executorPreference: self.configuration.laneExecutor) {
                    var result = LaneResult()
                    for message in messages {
                        do {
                            let outputs = try await self.transform.process(message)
                            if let backlog = self.configuration.outputBacklog { downstream.add(outputs, to: backlog) }
                            result.records += outputs
                            result.count += 1
                        } catch let deferral as RetryLater {
                            result.retry = deferral
                            break
                        }
                        if ContinuousClock.now >= deadline || self.isStopping || downstream.isFull { break }
                    }
                    return (index, result)
                }
            }
            var results = [LaneResult](repeating: LaneResult(), count: lanes.count)
            for try await (index, result) in group { results[index] = result }
            return results
        }
        var outcome = BatchOutcome()
        var records: [KafkaRecord] = []
        var left = 0
        for (lane, result) in zip(lanes, results) {
            outcome.processed.formUnion(lane.positions.prefix(result.count))
            records += result.records
            if let retry = result.retry { outcome.deferrals.append((lane.lane, retry)) }
            left += lane.positions.count - result.count - (result.retry == nil ? 0 : 1)
        }
        let batch = outcome.processed.sorted().map { pending[$0] }
        if left > 0 {
            logger.info("batch stopped after \(batch.count) messages and \(ContinuousClock.now - started); \(left) wait for the next batch")
        }
        let offsets = Self.nextOffsets(of: batch)
        statistics.withLock {
            $0.messagesIn += batch.count
            $0.recordsOut += records.count
        }
        let processed = ContinuousClock.now
        var steps = ""
        switch output {
        case .plain(let producer):
            countOutputs(records, reports: try await producer.sendAll(records))
            let produced = ContinuousClock.now
            let final = try await transform.finalRecords()
            records += final
            countOutputs(final, reports: try await producer.sendAll(final))
            statistics.withLock { $0.recordsOut += final.count }
            let finished = ContinuousClock.now
            defer { steps = " (outputs \(produced - processed), final \(finished - produced), offsets \(ContinuousClock.now - finished))" }
            if !offsets.isEmpty {
                try await configuration.beforeCommit?(offsets)
                do {
                    try await consumer.commit(offsets)
                } catch {
                    // Outputs are safe; the inputs will be re-delivered to the next owner and
                    // recognised as repeats.
                    statistics.withLock { $0.failedCommits += 1 }
                    logger.warning("offset commit failed: \(error)")
                }
            }
        case .transactional(let producer):
            records += try await runTransaction(producer: producer, consumer: consumer, records: records, offsets: offsets)
        }
        metrics.batchCommitted(messages: batch.count, outputs: records, since: started)
        for next in offsets {
            if let offset = next.offset, let high = consumer.cachedWatermarks(topic: next.topic, partition: next.partition)?.high {
                metrics.lag(next.withoutOffset, next: offset, highWatermark: high)
            }
        }
        logger.debug(
            "\(configuration.consumer.groupId): batch of \(batch.count) messages in \(lanes.count) lanes: processed in \(processed - started), committed in \(ContinuousClock.now - processed)\(steps)"
        )
        return outcome
    }

    /// Runs the batch's transaction; returns the transform's final records it also produced.
    private func runTransaction(
        producer: KafkaTransactionalProducer, consumer: KafkaConsumer, records: [KafkaRecord],
        offsets: [TopicPartition]
    ) async throws -> [KafkaRecord] {
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
            return final
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

    /// Lets the transform prepare for newly assigned partitions (catch up with its tables),
    /// retrying with a growing pause (1 s to 10 s) while it fails: a broker hiccup then
    /// delays the loop instead of ending it.
    private func prepare(_ partitions: [TopicPartition]) async throws {
        var pause = Duration.seconds(1)
        while true {
            do {
                return try await transform.partitionsAssigned(partitions)
            } catch let error as CancellationError {
                throw error
            } catch {
                if isStopping || Task.isCancelled { throw error }
                logger.warning("\(configuration.consumer.groupId): preparing for partitions \(partitions.map(\.description).joined(separator: ", ")) failed, trying again in \(pause): \(error)")
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(10))
            }
        }
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
            let producer = try KafkaProducer(configuration: configuration.producer, logger: logger)
            await producer.prepare(topics: configuration.outputTopics)
            return .plain(producer)
        case .exactlyOnce:
            let id = Self.transactionalId(
                prefix: configuration.transactionalIdPrefix, groupId: configuration.consumer.groupId, instanceId: configuration.instanceId
            )
            if configuration.instanceId?.isEmpty ?? true, Self.firstRandomTransactionalId() {
                logger.warning(
                    "no instance id (inlet: --instance-id or INLET_INSTANCE_ID): transactional ids get a random suffix (\(id)), so a restarted instance cannot fence a crashed predecessor, whose open transaction then blocks read_committed readers until the transaction timeout"
                )
            }
            let producer = try await KafkaTransactionalProducer(configuration: configuration.producer, transactionalId: id, logger: logger)
            await producer.prepare(topics: configuration.outputTopics)
            return .transactional(producer)
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
