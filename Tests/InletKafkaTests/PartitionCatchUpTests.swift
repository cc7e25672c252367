import InletKafka
import Testing

/// The embedded broker writes neither transaction markers nor compacted gaps, so the
/// "caught up" rule is driven here with the offsets a real cluster produces.
@Suite("Catching up with partition ends")
struct PartitionCatchUpTests {
    @Test("a transaction marker at the end is passed by the position or the end-of-partition event, not by the last message")
    func transactionMarkerAtEnd() {
        // Messages at 0...4, the commit marker at 5, end 6.
        var byMessages = PartitionCatchUp(targets: [0: 6])
        for offset: Int64 in 0...4 { byMessages.delivered(partition: 0, offset: offset) }
        #expect(!byMessages.isCaughtUp, "the last message + 1 stops short of the marker")
        #expect(byMessages.remaining == [0])

        var byPosition = byMessages
        byPosition.position(partition: 0, offset: 6)
        #expect(byPosition.isCaughtUp)

        var byEnd = byMessages
        byEnd.reachedEnd(partition: 0, offset: 6)
        #expect(byEnd.isCaughtUp)
        #expect(byEnd.remaining.isEmpty)
    }

    @Test("gaps left by compaction in the middle do not matter, and a gap at the end is closed by the end-of-partition event")
    func compactionGaps() {
        // Offsets 2, 3 and 7...9 compacted away; end 10.
        var progress = PartitionCatchUp(targets: [0: 10])
        for offset: Int64 in [0, 1, 4, 5, 6] { progress.delivered(partition: 0, offset: offset) }
        #expect(!progress.isCaughtUp)
        #expect(progress.positions[0] == 7)
        progress.reachedEnd(partition: 0, offset: 10)
        #expect(progress.isCaughtUp)

        // Only the middle compacted: the last message reaches the end by itself.
        var middleOnly = PartitionCatchUp(targets: [0: 10])
        for offset: Int64 in [0, 1, 4, 5, 6, 7, 8, 9] { middleOnly.delivered(partition: 0, offset: offset) }
        #expect(middleOnly.isCaughtUp)
    }

    @Test("empty partitions, with a target of 0 or none at all, are caught up at once")
    func emptyPartitions() {
        #expect(PartitionCatchUp(targets: [:]).isCaughtUp)
        let progress = PartitionCatchUp(targets: [0: 0, 1: 0])
        #expect(progress.isCaughtUp)
        #expect(progress.remaining.isEmpty)
        #expect(progress.hasCaughtUp(partition: 5), "a partition without a target has nothing to read")
    }

    @Test("an end-of-partition event below the target does not finish the partition")
    func endBelowTarget() {
        var progress = PartitionCatchUp(targets: [0: 8])
        progress.reachedEnd(partition: 0, offset: 5)
        #expect(!progress.isCaughtUp)
        #expect(progress.remaining == [0])
        progress.reachedEnd(partition: 0, offset: 8)
        #expect(progress.isCaughtUp)
    }

    @Test("with several partitions, remaining names the ones that lag")
    func severalPartitions() {
        var progress = PartitionCatchUp(targets: [0: 3, 1: 5, 2: 2, 3: 0])
        progress.delivered(partition: 0, offset: 2)
        progress.position(partition: 2, offset: 2)
        progress.delivered(partition: 1, offset: 3)
        #expect(!progress.isCaughtUp)
        #expect(progress.remaining == [1])
        #expect(progress.hasCaughtUp(partition: 0))
        #expect(!progress.hasCaughtUp(partition: 1))
        progress.position(partition: 1, offset: 5)
        #expect(progress.isCaughtUp)
    }

    @Test("an unknown position is ignored and positions never move back")
    func unknownAndStalePositions() {
        var progress = PartitionCatchUp(targets: [0: 4])
        progress.position(partition: 0, offset: nil)
        #expect(progress.positions[0] == nil)
        progress.delivered(partition: 0, offset: 2)
        progress.position(partition: 0, offset: nil)
        progress.position(partition: 0, offset: 1)
        #expect(progress.positions[0] == 3)
        progress.position(partition: 0, offset: 4)
        progress.delivered(partition: 0, offset: 0)
        #expect(progress.isCaughtUp, "a partition once caught up stays caught up")
    }

    @Test("known positions carried over are checked against new targets")
    func carriedPositions() {
        let applied: [Int32: Int64] = [0: 6, 1: 2]
        #expect(PartitionCatchUp(targets: [0: 6, 1: 2], positions: applied).isCaughtUp)
        #expect(PartitionCatchUp(targets: [0: 7, 1: 2], positions: applied).remaining == [0])
    }
}
