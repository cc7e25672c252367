import Foundation

/// How much a broker keeps of each partition when it trims by size rather than by time:
/// the oldest message sets go once a partition holds more than `maxBytes` or more than
/// `maxMessageSets`, whether or not any consumer group has read them.
///
/// A real cluster keeps data for `retention.ms` and compacts tables; only the embedded broker
/// (librdkafka's mock cluster) trims like this, so only there does a slow consumer lose data
/// to retention within seconds.
public struct PartitionRetention: Sendable, Hashable {
    /// Bytes kept per partition before the oldest message set is dropped.
    public var maxBytes: Int
    /// Message sets (produce batches) kept per partition before the oldest is dropped.
    public var maxMessageSets: Int

    public init(maxBytes: Int, maxMessageSets: Int) {
        self.maxBytes = maxBytes
        self.maxMessageSets = maxMessageSets
    }

    /// librdkafka 2.0.2's mock cluster: 5 MiB or 100,000 message sets per partition.
    public static let embeddedBroker = PartitionRetention(maxBytes: 5 * 1024 * 1024, maxMessageSets: 100_000)

    /// Bytes a message is counted as: its key, value and headers plus the record and batch
    /// framing around it (an upper bound: a batch of one message has about 70 bytes of
    /// framing, and each further record in the batch less).
    public static func countedBytes(of record: KafkaRecord) -> Int {
        countedBytes(keyBytes: record.key?.count ?? 0, value: record.value, headers: record.headers)
    }

    /// `countedBytes(of:)` for a message's parts.
    public static func countedBytes(keyBytes: Int, value: Data?, headers: [KafkaHeader]) -> Int {
        keyBytes + (value?.count ?? 0) + headers.reduce(0) { $0 + $1.name.utf8.count + ($1.value?.count ?? 0) + 4 } + 80
    }
}

/// When appends to a partition are refused, in terms of its backlog: what was appended and
/// not yet consumed by the slowest consumer group that reads it.
public struct BacklogLimits: Sendable, Hashable {
    /// Every append is refused once the backlog would exceed this many bytes.
    public var maxBytes: Int
    /// Every append is refused once the backlog would exceed this many messages.
    public var maxMessages: Int
    /// Once the backlog would exceed `fairShareFraction × maxBytes`, a key (subscription)
    /// holding more than half of the backlog is refused, so the key that causes the backlog is
    /// turned away before the others on its partition.
    public var fairShareFraction: Double

    public init(maxBytes: Int, maxMessages: Int, fairShareFraction: Double = 0.5) {
        self.maxBytes = maxBytes
        self.maxMessages = maxMessages
        self.fairShareFraction = fairShareFraction
    }

    /// Limits that keep the backlog at `margin` of what `retention` keeps, so the oldest
    /// unconsumed message is never the one trimmed (messages are counted, not message sets:
    /// a message set holds at least one message, so this errs on the safe side).
    public static func within(_ retention: PartitionRetention, margin: Double = 0.5) -> BacklogLimits {
        BacklogLimits(maxBytes: Int(Double(retention.maxBytes) * margin), maxMessages: Int(Double(retention.maxMessageSets) * margin))
    }
}
