/// A partition of a topic, optionally with an offset (what a commit, seek or assignment
/// names).
public struct TopicPartition: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    /// For commits: the offset of the next message to read (last processed + 1).
    public var offset: Int64?

    public init(topic: String, partition: Int32, offset: Int64? = nil) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    public var description: String {
        offset.map { "\(topic)[\(partition)]@\($0)" } ?? "\(topic)[\(partition)]"
    }

    /// The same partition without an offset (for use as a dictionary key).
    public var withoutOffset: TopicPartition { TopicPartition(topic: topic, partition: partition) }
}
