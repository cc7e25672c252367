/// What a consumer yields: messages, and changes of its partition assignment in the order
/// they happened relative to the messages.
public enum KafkaConsumerEvent: Sendable, Hashable {
    case message(KafkaMessage)
    case rebalance(KafkaRebalance)
}
