import Foundation
import InletKafka
import Testing

@Suite("Backlog limits against size-based retention")
struct BacklogTests {
    let limits = BacklogLimits(maxBytes: 1000, maxMessages: 100, fairShareFraction: 0.5)

    @Test("appends are refused once the unconsumed backlog would pass the limit, and accepted again after the group commits")
    func partitionLimit() {
        var backlog = PartitionBacklog()
        for offset in 0..<4 {
            #expect(backlog.reserve(key: "sub-\(offset)", bytes: 200, limits: limits) == nil)
            backlog.stored(key: "sub-\(offset)", bytes: 200, offset: Int64(offset))
        }
        #expect(backlog.bytes == 800)
        #expect(backlog.reserve(key: "sub-9", bytes: 250, limits: limits) == .partitionFull(backlogBytes: 800, backlogMessages: 4))
        #expect(backlog.bytes == 800, "a refused append is not counted")
        backlog.consumed(upTo: 2)
        #expect(backlog.bytes == 400)
        #expect(backlog.reserve(key: "sub-9", bytes: 250, limits: limits) == nil)
    }

    @Test("past the fair-share threshold, the key holding most of the backlog is refused while others still get through")
    func fairShare() {
        var backlog = PartitionBacklog()
        for offset in 0..<5 {
            #expect(backlog.reserve(key: "flood", bytes: 100, limits: limits) == nil)
            backlog.stored(key: "flood", bytes: 100, offset: Int64(offset))
        }
        // 500 of 1000 bytes: the threshold (0.5) is reached.
        #expect(backlog.reserve(key: "flood", bytes: 100, limits: limits) == .keyOverShare(keyBytes: 500, backlogBytes: 500))
        #expect(backlog.reserve(key: "quiet", bytes: 100, limits: limits) == nil)
        #expect(backlog.bytes(of: "quiet") == 100)
        #expect(backlog.bytes(of: "flood") == 500)
    }

    @Test("a limit on messages holds even for tiny messages")
    func messageLimit() {
        var backlog = PartitionBacklog()
        let limits = BacklogLimits(maxBytes: 1_000_000, maxMessages: 3)
        for offset in 0..<3 {
            #expect(backlog.reserve(key: "k\(offset)", bytes: 1, limits: limits) == nil)
            backlog.stored(key: "k\(offset)", bytes: 1, offset: Int64(offset))
        }
        #expect(backlog.reserve(key: "k9", bytes: 1, limits: limits) != nil)
    }

    @Test("released reservations and appends consumed before their delivery report leave no trace")
    func releaseAndLateReports() {
        var backlog = PartitionBacklog()
        #expect(backlog.reserve(key: "a", bytes: 300, limits: limits) == nil)
        backlog.released(key: "a", bytes: 300)
        #expect(backlog.bytes == 0 && backlog.messages == 0 && backlog.bytes(of: "a") == 0)

        #expect(backlog.reserve(key: "a", bytes: 300, limits: limits) == nil)
        backlog.consumed(upTo: 10)
        backlog.stored(key: "a", bytes: 300, offset: 7)
        #expect(backlog.bytes == 0, "stored below the committed offset: already consumed")
    }

    @Test("delivery reports out of offset order are kept in order, and a commit frees exactly what it passed")
    func outOfOrderReports() {
        var backlog = PartitionBacklog()
        for key in ["a", "b", "c"] { #expect(backlog.reserve(key: key, bytes: 100, limits: limits) == nil) }
        backlog.stored(key: "c", bytes: 100, offset: 12)
        backlog.stored(key: "a", bytes: 100, offset: 10)
        backlog.stored(key: "b", bytes: 100, offset: 11)
        backlog.consumed(upTo: 12)
        #expect(backlog.bytes == 100)
        #expect(backlog.bytes(of: "c") == 100)
        backlog.consumed(upTo: 11)
        #expect(backlog.bytes == 100, "a commit never moves backwards")
    }

    @Test("the embedded broker's limits keep the backlog at half of what it retains")
    func embeddedLimits() {
        let limits = BacklogLimits.within(.embeddedBroker)
        #expect(limits.maxBytes == 5 * 1024 * 1024 / 2)
        #expect(limits.maxMessages == 50_000)
        let record = KafkaRecord(topic: "t", key: "sub-1", value: Data(count: 1000), headers: [KafkaHeader(name: "h", value: Data("v".utf8))])
        #expect(PartitionRetention.countedBytes(of: record) == 5 + 1000 + 6 + 80)
    }
}
