import Logging

/// Reads what partitions of a topic hold *now* — from a start offset up to the end offset
/// at the time of the call — without joining a group (the dead-letter listing, the
/// dispatcher reading back the tail of its output).
public struct KafkaSnapshotReader: Sendable {
    let client: KafkaClientConfiguration
    let logger: Logger

    public init(client: KafkaClientConfiguration, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The messages of `partitions` of `topic`, each partition read from
    /// `start(low, high)` (clamped to its retained range) up to its current end, in offset
    /// order per partition. Gives up after `timeout`, returning what it read.
    public func read(
        topic: String, partitions: [Int32], timeout: Duration = .seconds(60),
        start: (_ low: Int64, _ high: Int64) -> Int64 = { low, _ in low }
    ) async throws -> [KafkaMessage] {
        try await readReportingCompleteness(topic: topic, partitions: partitions, timeout: timeout, start: start).messages
    }

    /// A read that did not reach the end of every partition within its time.
    public struct Incomplete: Error, CustomStringConvertible {
        public let topic: String
        public let partitions: [Int32]
        public var description: String { "reading \(topic) did not reach the end of partitions \(partitions) in time; try again" }
    }

    /// Like `read`, but throws ``Incomplete`` instead of returning part of what was asked for.
    public func readAll(
        topic: String, partitions: [Int32], timeout: Duration = .seconds(60),
        start: (_ low: Int64, _ high: Int64) -> Int64 = { low, _ in low }
    ) async throws -> [KafkaMessage] {
        let (messages, remaining) = try await readReportingCompleteness(topic: topic, partitions: partitions, timeout: timeout, start: start)
        if !remaining.isEmpty { throw Incomplete(topic: topic, partitions: remaining) }
        return messages
    }

    /// The current end offset (high watermark) of a partition.
    public func endOffset(topic: String, partition: Int32) async throws -> Int64 {
        let configuration = KafkaConsumerConfiguration(client: client, groupId: "inlet-snapshot-reader", reportEndOfPartition: true)
        let probe = try KafkaConsumer(configuration: configuration, topics: [], logger: logger)
        do {
            let (_, high) = try await probe.watermarks(topic: topic, partition: partition)
            await probe.close()
            return high
        } catch {
            await probe.close()
            throw error
        }
    }

    private func readReportingCompleteness(
        topic: String, partitions: [Int32], timeout: Duration, start: (_ low: Int64, _ high: Int64) -> Int64
    ) async throws -> (messages: [KafkaMessage], remaining: [Int32]) {
        // End-of-partition events finish partitions whose last offsets are transaction
        // markers or compacted away, which no message ever reaches.
        let configuration = KafkaConsumerConfiguration(client: client, groupId: "inlet-snapshot-reader", reportEndOfPartition: true)
        let probe = try KafkaConsumer(configuration: configuration, topics: [], logger: logger)
        var ends: [Int32: Int64] = [:]
        var starts: [TopicPartition] = []
        do {
            for partition in partitions {
                let (low, high) = try await probe.watermarks(topic: topic, partition: partition)
                let first = min(max(low, start(low, high)), high)
                if high > first {
                    ends[partition] = high
                    starts.append(TopicPartition(topic: topic, partition: partition, offset: first))
                }
            }
        } catch {
            await probe.close()
            throw error
        }
        await probe.close()
        guard !starts.isEmpty else { return ([], []) }
        let reader = try KafkaConsumer(assigning: starts, configuration: configuration, logger: logger)
        var progress = PartitionCatchUp(targets: ends)
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now + timeout
        do {
            while !progress.isCaughtUp && ContinuousClock.now < deadline {
                for event in try await reader.poll(maxMessages: 5000, timeout: .milliseconds(200)) {
                    switch event {
                    case .message(let message):
                        guard let end = ends[message.partition], !progress.hasCaughtUp(partition: message.partition) else { continue }
                        if message.offset < end { messages.append(message) }
                        progress.delivered(partition: message.partition, offset: message.offset)
                    case .endOfPartition(let end):
                        if let offset = end.offset { progress.reachedEnd(partition: end.partition, offset: offset) }
                    case .rebalance:
                        break
                    }
                }
                // The poll that consumes a trailing transaction marker returns nothing, yet
                // moves the position past it.
                for position in reader.positions(starts) {
                    progress.position(partition: position.partition, offset: position.offset)
                }
            }
        } catch {
            await reader.close()
            throw error
        }
        await reader.close()
        let remaining = progress.remaining
        if !remaining.isEmpty { logger.warning("snapshot of \(topic) incomplete after \(timeout): partitions \(remaining) not read to the end") }
        return (messages, remaining.sorted())
    }
}
