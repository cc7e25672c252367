import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A topic read as a table: every key's latest value, loaded from the beginning of the topic
/// and kept up to date while `run()` is running. A `nil` value (tombstone) removes the key.
///
/// Used for the compacted `subscriptions` and `connections` topics, which every worker reads.
/// Values that fail to decode are logged and skipped (the key keeps its previous value).
public final class KafkaTable<Value: Sendable>: Service, Sendable {
    public typealias Decode = @Sendable (Data) throws -> Value

    private struct State {
        var values: [String: Value] = [:]
        var caughtUp = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var failure: KafkaError?
        /// Per partition, the position of the reader: every offset below it is applied or
        /// holds nothing to apply (a transaction marker, a compacted record).
        var positions: [Int32: Int64] = [:]
        /// Each key's origin (and, when republishing, its latest raw copy).
        var log: TableLog
    }

    private let topic: String
    private let configuration: KafkaClientConfiguration
    private let decode: Decode
    private let onChange: (@Sendable (String, Value?) -> Void)?
    private let logger: Logger
    private let state: Mutex<State>

    /// - Parameters:
    ///   - keepsCopies: keep each key's raw latest value so that `copiesDue` can republish it
    ///     (a broker that trims by size, see `TableLog`).
    ///   - onChange: called (on the table's reader task) after each applied change, with the
    ///     key and its new value (`nil`: removed).
    public init(
        topic: String, configuration: KafkaClientConfiguration, logger: Logger, keepsCopies: Bool = false,
        onChange: (@Sendable (String, Value?) -> Void)? = nil, decode: @escaping Decode
    ) {
        self.state = Mutex(State(log: TableLog(keepsCopies: keepsCopies)))
        self.topic = topic
        self.configuration = configuration
        self.decode = decode
        self.onChange = onChange
        self.logger = logger
    }

    // MARK: - Reading the table

    /// The latest value of `key`, if any.
    public subscript(key: String) -> Value? {
        state.withLock { $0.values[key] }
    }

    /// A copy of the whole table.
    public func snapshot() -> [String: Value] {
        state.withLock { $0.values }
    }

    /// The topic this table reads.
    public var topicName: String { topic }

    /// Copies to produce of every key whose latest copy has at least `bytes` bytes or
    /// `messages` messages after it on its partition (only with `keepsCopies`).
    public func copiesDue(afterBytes bytes: Int, afterMessages messages: Int) -> [KafkaRecord] {
        state.withLock { $0.log.copiesDue(topic: topic, afterBytes: bytes, afterMessages: messages) }
    }

    /// Whether the initial load reached the end of the topic as it was at start.
    public var isCaughtUp: Bool { state.withLock { $0.caughtUp } }

    /// Waits until the initial load reached the end of the topic as it was when `run()`
    /// started. Returns at once when already there.
    public func waitUntilCaughtUp() async throws {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if state.caughtUp || state.failure != nil { return true }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    /// Waits until everything written to the topic before this call has been applied
    /// (read-your-writes across processes: e.g. a handler taking over partitions waits for
    /// the previous owner's last subscription writes). Throws `.timeout` after `timeout`.
    public func sync(timeout: Duration = .seconds(30)) async throws {
        let targets = try await ends()?.targets ?? [:]
        let deadline = ContinuousClock.now + timeout
        while true {
            let reached = state.withLock { PartitionCatchUp(targets: targets, positions: $0.positions).isCaughtUp }
            if reached { return }
            if let failure = state.withLock({ $0.failure }) { throw failure }
            guard ContinuousClock.now < deadline else {
                throw KafkaError(kind: .timeout, message: "table \(topic) did not reach the end of the topic within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The topic's partition count and, per non-empty partition, its end offset now;
    /// `nil` when the topic does not exist.
    private func ends() async throws -> (partitionCount: Int, targets: [Int32: Int64])? {
        let probe = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(client: configuration, groupId: "inlet-table-probe"), topics: [], logger: logger
        )
        do {
            guard let count = try await probe.client.partitionCount(topic: topic) else {
                await probe.close()
                return nil
            }
            var targets: [Int32: Int64] = [:]
            for partition in 0..<Int32(count) {
                let high = try await probe.client.watermarks(topic: topic, partition: partition).high
                if high > 0 { targets[partition] = high }
            }
            await probe.close()
            return (count, targets)
        } catch {
            await probe.close()
            throw error
        }
    }

    // MARK: - Service

    /// Loads the topic, then follows it until the task is cancelled or graceful shutdown.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await self.follow() }
            release(failure: KafkaError(kind: .shutdown, message: "table \(topic) stopped"))
        } catch is CancellationError {
            release(failure: KafkaError(kind: .shutdown, message: "table \(topic) stopped"))
        } catch {
            release(failure: error as? KafkaError ?? KafkaError(kind: .consumer, message: "\(error)"))
            throw error
        }
    }

    /// Wakes everyone waiting for the initial load, with `failure` unless it completed.
    private func release(failure: KafkaError) {
        let waiters = state.withLock { state in
            if !state.caughtUp { state.failure = failure }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    private func follow() async throws {
        // End-of-partition events finish partitions whose last offsets are compacted away.
        var consumerConfiguration = KafkaConsumerConfiguration(
            client: configuration, groupId: "inlet-table-\(UUID().uuidString)", offsetReset: .earliest,
            reportEndOfPartition: true
        )
        consumerConfiguration.fetchWaitMilliseconds = configuration.tableFetchWaitMilliseconds
        guard let (partitionCount, targets) = try await ends() else {
            throw KafkaError(kind: .admin, message: "topic '\(topic)' does not exist; create it first (`inlet topics create`)")
        }
        // The initial load is done once every partition reaches its end at start; the
        // positions it gathers are what `sync` compares against later ends.
        var progress = PartitionCatchUp(targets: targets)

        let partitions = (0..<Int32(partitionCount)).map { TopicPartition(topic: topic, partition: $0) }
        let consumer = try KafkaConsumer(assigning: partitions, configuration: consumerConfiguration, logger: logger)
        var loaded = progress.isCaughtUp
        if loaded { markCaughtUp() }
        while !Task.isCancelled {
            let events: [KafkaConsumerEvent]
            do {
                events = try await consumer.poll(maxMessages: 1000, timeout: .milliseconds(200))
            } catch {
                await consumer.close()
                throw error
            }
            for event in events {
                switch event {
                case .message(let message):
                    apply(message)
                    progress.delivered(partition: message.partition, offset: message.offset)
                case .endOfPartition(let end):
                    if let offset = end.offset { progress.reachedEnd(partition: end.partition, offset: offset) }
                case .rebalance:
                    break
                }
            }
            // Asked after every poll, empty ones included: the poll that consumes a trailing
            // transaction marker returns nothing, yet moves the position past it.
            for position in consumer.positions(partitions) {
                progress.position(partition: position.partition, offset: position.offset)
            }
            let positions = progress.positions
            state.withLock { $0.positions = positions }
            if !loaded && progress.isCaughtUp {
                loaded = true
                markCaughtUp()
            }
        }
        await consumer.close()
    }

    private func apply(_ message: KafkaMessage) {
        guard let key = message.keyString else {
            logger.warning("table \(topic): message without key at \(message.partition)@\(message.offset) ignored")
            return
        }
        let verdict = state.withLock {
            $0.log.read(key: key, value: message.value, headers: message.headers, partition: message.partition, offset: message.offset)
        }
        guard verdict == .apply else { return }
        let newValue: Value?
        if let data = message.value {
            do {
                newValue = try decode(data)
            } catch {
                logger.warning("table \(topic): value of '\(key)' at \(message.partition)@\(message.offset) not decodable: \(error)")
                return
            }
        } else {
            newValue = nil
        }
        state.withLock { $0.values[key] = newValue }
        onChange?(key, newValue)
    }

    private func markCaughtUp() {
        let waiters = state.withLock { state in
            state.caughtUp = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }
}
