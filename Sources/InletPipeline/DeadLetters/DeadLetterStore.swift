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
    /// byte for byte, plus `inlet-replayed-from: <dead letter id>`. A value left out of the
    /// dead letter (too large) is read from its topic; throws `DeadLetterStore.OriginalGone`
    /// when the topic no longer holds it.
    public func replayRecord(for letter: DeadLetter) async throws -> KafkaRecord {
        // A dead letter names its own target: only the stages' inputs may be written to, so a
        // forged letter cannot make a replay write a table (subscriptions, connections, ...).
        guard Self.replayableTopics(topics).contains(letter.original.topic) else { throw NotReplayable(letter: letter) }
        var record = Self.replayRecord(for: letter)
        if letter.original.valueOmitted == true { record.value = try await originalValue(of: letter) }
        return record
    }

    /// `letters` without those replayed already whose replay failed again: a dead letter whose
    /// original carries `inlet-replayed-from: <id>` supersedes the dead letter `<id>`, so
    /// replaying a chosen set sends each failure once, as its latest dead letter.
    public static func latestFailures(_ letters: [DeadLetter]) -> [DeadLetter] {
        let superseded = Set(letters.flatMap { letter in
            letter.original.headers.filter { $0.key == replayHeader }.compactMap(\.text)
        })
        return letters.filter { !superseded.contains($0.id) }
    }

    /// `replayRecord(for:)` from the dead letter alone (its value as embedded).
    public static func replayRecord(for letter: DeadLetter) -> KafkaRecord {
        var headers = letter.original.headers.map { KafkaHeader(name: $0.key, value: $0.value) }
        headers.append(KafkaHeader(name: replayHeader, string: letter.id))
        return KafkaRecord(topic: letter.original.topic, key: letter.original.key, value: letter.original.value, headers: headers)
    }

    /// The topics a replay may write: what the stages read (ingress, commands, records).
    public static func replayableTopics(_ topics: InletTopics) -> Set<String> {
        [topics.ingress, topics.commands, topics.ingressGlobal, topics.ingressAppEvents, topics.records]
    }

    /// A dead letter whose original is on a topic no stage reads: not replayed.
    public struct NotReplayable: Error, CustomStringConvertible {
        public var letter: DeadLetter
        public var description: String {
            "dead letter \(letter.id): its original's topic \(letter.original.topic) is not one a stage reads; it is not replayed (was the dead letter written by Inlet?)"
        }
    }

    /// The original of a dead letter is no longer on its topic (retention removed it).
    public struct OriginalGone: Error, CustomStringConvertible {
        public var letter: DeadLetter
        public var description: String {
            "dead letter \(letter.id): its original, \(letter.original.topic)[\(letter.original.partition)]@\(letter.original.offset) "
                + "(\(letter.original.valueBytes ?? 0) bytes, too large to keep in the dead letter), is no longer on the topic; it cannot be replayed"
        }
    }

    private func originalValue(of letter: DeadLetter) async throws -> Data {
        let original = letter.original
        let position = TopicPartition(topic: original.topic, partition: Int32(original.partition), offset: original.offset)
        let configuration = KafkaConsumerConfiguration(client: client, groupId: "inlet-dlq-replay")
        let reader = try KafkaConsumer(assigning: [position], configuration: configuration, logger: logger)
        defer { Task { await reader.close() } }
        let (low, high) = try await reader.watermarks(topic: original.topic, partition: position.partition)
        guard low <= original.offset, original.offset < high else { throw OriginalGone(letter: letter) }
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            for case .message(let message) in try await reader.poll(maxMessages: 1, timeout: .milliseconds(200)) {
                guard message.offset == original.offset, let value = message.value else { throw OriginalGone(letter: letter) }
                return value
            }
        }
        throw OriginalGone(letter: letter)
    }
}
