/// Decides when a reader has caught up with partitions: read each one up to a target end
/// offset (typically the partition's high watermark when reading started).
///
/// "The last delivered message has offset `end - 1`" is not a usable rule, because not every
/// offset below the end belongs to a message the consumer returns:
/// - a transaction's commit or abort marker takes an offset of its own and is never
///   delivered, so on a topic written with exactly-once the offset just below the end is
///   usually a marker;
/// - under `read_committed`, records of aborted transactions are skipped;
/// - compaction removes records, leaving gaps anywhere, the end included.
///
/// What does reach the end is the consumer's position (the next offset it will read, which
/// librdkafka moves past markers it consumed) and the partition-EOF event (the fetch reached
/// the end the broker reported, whatever lies below it). This type combines those
/// observations; it is a plain value so that the rule can be tested with offset gaps that
/// the embedded broker never produces.
///
/// Positions only move forward: a partition once caught up stays caught up.
public struct PartitionCatchUp: Sendable, Hashable {
    /// Per partition, the offset to reach. A partition without a target (or with a target of
    /// 0 or less) counts as caught up.
    public private(set) var targets: [Int32: Int64]
    /// Per partition, the furthest known position: every offset below it has been read or
    /// does not hold a deliverable message.
    public private(set) var positions: [Int32: Int64]

    /// Starts tracking `targets`, with already known `positions` (e.g. what a table applied
    /// so far, to check against newer targets).
    public init(targets: [Int32: Int64], positions: [Int32: Int64] = [:]) {
        self.targets = targets
        self.positions = positions.filter { $0.value >= 0 }
    }

    /// Notes that the message at `offset` of `partition` was delivered: the position is at
    /// least `offset + 1`.
    public mutating func delivered(partition: Int32, offset: Int64) {
        advance(partition, to: offset + 1)
    }

    /// Notes the consumer's position in `partition` (the offset of the next message it will
    /// return, as `KafkaConsumer.positions` reports it). `nil` (not known yet) is ignored.
    public mutating func position(partition: Int32, offset: Int64?) {
        guard let offset else { return }
        advance(partition, to: offset)
    }

    /// Notes a partition-EOF event: the consumer's fetch reached `offset`, the end of
    /// `partition` at that moment. It counts as the position `offset`, so an end below the
    /// target (which should not happen, as the target was the end earlier) does not finish
    /// the partition.
    public mutating func reachedEnd(partition: Int32, offset: Int64) {
        advance(partition, to: offset)
    }

    /// Whether `partition` has been read up to its target.
    public func hasCaughtUp(partition: Int32) -> Bool {
        guard let target = targets[partition], target > 0 else { return true }
        return positions[partition, default: 0] >= target
    }

    /// Whether every partition has been read up to its target.
    public var isCaughtUp: Bool {
        targets.keys.allSatisfy { hasCaughtUp(partition: $0) }
    }

    /// The partitions not yet read up to their target, in ascending order.
    public var remaining: [Int32] {
        targets.keys.filter { !hasCaughtUp(partition: $0) }.sorted()
    }

    private mutating func advance(_ partition: Int32, to position: Int64) {
        guard position >= 0 else { return }
        if position > positions[partition, default: 0] { positions[partition] = position }
    }
}
