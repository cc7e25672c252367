import Foundation

/// A message read from a topic.
public struct KafkaMessage: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: Data?
    /// The payload, or `nil` for a tombstone.
    public var value: Data?
    public var headers: [KafkaHeader]
    /// Milliseconds since the epoch, as set by the producer or broker; `nil` if unknown.
    public var timestampMilliseconds: Int64?

    public init(
        topic: String, partition: Int32, offset: Int64, key: Data?, value: Data?,
        headers: [KafkaHeader] = [], timestampMilliseconds: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMilliseconds = timestampMilliseconds
    }

    /// The key decoded as UTF-8.
    public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }

    /// Where this message sits, with the offset to commit once it has been processed.
    public var nextPosition: TopicPartition {
        TopicPartition(topic: topic, partition: partition, offset: offset + 1)
    }
}
