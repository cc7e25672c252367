import Foundation

/// A message to produce.
public struct KafkaRecord: Sendable, Hashable {
    public var topic: String
    public var key: Data?
    /// The payload; `nil` produces a tombstone (deletes the key on a compacted topic).
    public var value: Data?
    public var headers: [KafkaHeader]
    /// An explicit partition, or `nil` to let the partitioner hash the key.
    public var partition: Int32?

    public init(topic: String, key: Data? = nil, value: Data?, headers: [KafkaHeader] = [], partition: Int32? = nil) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.partition = partition
    }

    public init(topic: String, key: String?, value: Data?, headers: [KafkaHeader] = [], partition: Int32? = nil) {
        self.init(topic: topic, key: key.map { Data($0.utf8) }, value: value, headers: headers, partition: partition)
    }
}

/// Where a produced message was stored, once the broker acknowledged it.
public struct KafkaDeliveryReport: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
}
