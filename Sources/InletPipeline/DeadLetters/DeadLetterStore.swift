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
        let messages = try await KafkaSnapshotReader(client: client, logger: logger)
            .read(topic: topics.dlq, partitions: Array(0..<Int32(topics.partitions)), timeout: .seconds(120))
        return messages.compactMap { message in
            guard let value = message.value else { return nil }
            do {
                return try DeadLetter.decoded(from: value)
            } catch {
                logger.warning("dlq message \(message.partition)@\(message.offset) is not a dead letter: \(error)")
                return nil
            }
        }
    }

    /// The message to produce to replay `letter`: its original topic, key, headers and value,
    /// byte for byte, plus `inlet-replayed-from: <dead letter id>`.
    public static func replayRecord(for letter: DeadLetter) -> KafkaRecord {
        var headers = letter.original.headers.map { KafkaHeader(name: $0.key, value: $0.value) }
        headers.append(KafkaHeader(name: replayHeader, string: letter.id))
        return KafkaRecord(topic: letter.original.topic, key: letter.original.key, value: letter.original.value, headers: headers)
    }
}
