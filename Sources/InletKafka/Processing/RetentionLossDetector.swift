/// Notices when a consumer's next message was trimmed by retention before it was read.
///
/// It remembers, per partition, the offset the consumer should read next (the group's
/// committed offset on assignment, then each message's offset + 1). A message further on
/// means a gap. A gap alone proves nothing: on a real cluster transaction markers and
/// compaction leave offsets that are never delivered. Only the part of the gap below the
/// partition's low watermark (its first retained offset) was lost, so that is what `lost`
/// counts.
struct RetentionLossDetector: Sendable {
    /// A run of offsets the consumer skipped.
    struct Gap: Sendable, Hashable {
        var partition: TopicPartition
        var offsets: Range<Int64>
    }

    private var expected: [TopicPartition: Int64] = [:]

    /// The consumer starts reading `partition` at `offset` (`nil`: unknown, e.g. no commit yet).
    mutating func start(_ partition: TopicPartition, at offset: Int64?) {
        expected[partition.withoutOffset] = offset.flatMap { $0 >= 0 ? $0 : nil }
    }

    /// The consumer no longer reads `partition`.
    mutating func stop(_ partition: TopicPartition) {
        expected[partition.withoutOffset] = nil
    }

    /// Records that the message at `offset` was read; returns the offsets skipped before it.
    mutating func read(_ partition: TopicPartition, offset: Int64) -> Gap? {
        let key = partition.withoutOffset
        defer { expected[key] = offset + 1 }
        guard let next = expected[key], offset > next else { return nil }
        return Gap(partition: key, offsets: next..<offset)
    }

    /// How many offsets of `gap` lie below `lowWatermark`, i.e. were trimmed unread.
    static func lost(in gap: Gap, lowWatermark: Int64) -> Int64 {
        max(0, min(lowWatermark, gap.offsets.upperBound) - gap.offsets.lowerBound)
    }
}
