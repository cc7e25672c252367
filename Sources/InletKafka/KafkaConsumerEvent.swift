/// What a consumer yields: messages, and changes of its partition assignment in the order
/// they happened relative to the messages.
public enum KafkaConsumerEvent: Sendable, Hashable {
    case message(KafkaMessage)
    case rebalance(KafkaRebalance)
    /// The consumer reached the end of a partition: `offset` is the partition's end (the
    /// offset the next message will get) at that moment. Only consumers configured with
    /// `reportEndOfPartition` yield it, once each time they catch up with a partition.
    case endOfPartition(TopicPartition)
}
