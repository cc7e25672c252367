import Foundation
import InletKafka
import Logging

/// Reads and replays the `dlq` topic (`inlet dlq`).
public struct DeadLetterStore: Sendable {
    /// Header set on a replayed message: the id of the dead letter it came from.
    public static let replayHeader = "inlet-replayed-from"

    let topics: InletTopics
    let client: KafkaClientConfiguration
    let logger: Logger

    public init(topics: InletTopics, client: KafkaClientConfiguration, logger: Logger) {
        self.topics = topics
        self.client = client
        self.logger = logger
    }

    /// Every dead letter currently in the topic, oldest first per partition. Values that do
    /// not decode are skipped with a warning.
    public func all() async throws -> [DeadLetter] {
        let configuration = KafkaConsumerConfiguration(client: client, groupId: "inlet-dlq-reader")
        let probe = try KafkaConsumer(configuration: configuration, topics: [], logger: logger)
        var ends: [Int32: Int64] = [:]
        var starts: [TopicPartition] = []
        for partition in 0..<Int32(topics.partitions) {
            let (low, high) = try await probe.watermarks(topic: topics.dlq, partition: partition)
            if high > low {
                ends[partition] = high
                starts.append(TopicPartition(topic: topics.dlq, partition: partition, offset: low))
            }
        }
        await probe.close()
        guard !starts.isEmpty else { return [] }
        let reader = try KafkaConsumer(assigning: starts, configuration: configuration, logger: logger)
        var letters: [DeadLetter] = []
        let deadline = ContinuousClock.now + .seconds(120)
        while !ends.isEmpty && ContinuousClock.now < deadline {
            for case .message(let message) in try await reader.poll(maxMessages: 1000, timeout: .milliseconds(200)) {
                if let end = ends[message.partition], message.offset + 1 >= end { ends[message.partition] = nil }
                guard let value = message.value else { continue }
                do {
                    letters.append(try DeadLetter.decoded(from: value))
                } catch {
                    logger.warning("dlq message \(message.partition)@\(message.offset) is not a dead letter: \(error)")
                }
            }
        }
        await reader.close()
        return letters
    }

    /// The message to produce to replay `letter`: its original topic, key, headers and value,
    /// byte for byte, plus `inlet-replayed-from: <dead letter id>`.
    public static func replayRecord(for letter: DeadLetter) -> KafkaRecord {
        var headers = letter.original.headers.map { KafkaHeader(name: $0.key, value: $0.value) }
        headers.append(KafkaHeader(name: replayHeader, string: letter.id))
        return KafkaRecord(topic: letter.original.topic, key: letter.original.key, value: letter.original.value, headers: headers)
    }
}
