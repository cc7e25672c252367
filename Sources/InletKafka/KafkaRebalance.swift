/// A change of the partitions a consumer-group member owns.
public enum KafkaRebalance: Sendable, Hashable {
    /// These partitions are now this member's; processing may start.
    case assigned([TopicPartition])
    /// These partitions are no longer this member's; drop state kept for them.
    case revoked([TopicPartition])
}
