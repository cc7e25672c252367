@testable import InletPipeline
import Testing

@Suite("Dispatcher de-duplication window")
struct DeduplicationWindowTests {
    @Test("a subscription keeps its most recent ids up to the per-subscription capacity")
    func perSubscriptionBound() {
        var window = DeduplicationWindow(capacity: 3, totalCapacity: 100)
        for index in 0..<5 { window.insert("e\(index)", subscription: "s") }
        window.insert("other", subscription: "t")

        #expect(!window.contains("e0", subscription: "s"))
        #expect(!window.contains("e1", subscription: "s"))
        #expect((2..<5).allSatisfy { window.contains("e\($0)", subscription: "s") })
        #expect(window.contains("other", subscription: "t"))
        #expect(!window.contains("e4", subscription: "t"))
        #expect(window.count == 4)
    }

    @Test("over the total capacity, the globally oldest ids are forgotten first, whatever their subscription")
    func totalBoundAcrossSubscriptions() {
        var window = DeduplicationWindow(capacity: 10, totalCapacity: 50)
        // 100 subscriptions with 2 ids each, interleaved: round 0 is older than round 1.
        for round in 0..<2 {
            for subscription in 0..<100 { window.insert("e\(round)", subscription: "s\(subscription)") }
        }

        #expect(window.count == 50)
        // Only the last 50 insertions are left: round 1 of subscriptions 50..<100.
        for subscription in 0..<100 {
            #expect(!window.contains("e0", subscription: "s\(subscription)"))
            #expect(window.contains("e1", subscription: "s\(subscription)") == (subscription >= 50))
        }
        // Subscriptions left without ids are not kept.
        #expect(window.subscriptions == Set((50..<100).map { "s\($0)" }))
    }

    @Test("the total bound stays exact over many evictions (the global order is compacted on the way)")
    func totalBoundOverTime() {
        var window = DeduplicationWindow(capacity: 5, totalCapacity: 1_000)
        for index in 0..<20_000 { window.insert("e\(index)", subscription: "s\(index % 700)") }

        #expect(window.count == 1_000)
        #expect(window.contains("e19999", subscription: "s\(19_999 % 700)"))
        #expect(window.contains("e19000", subscription: "s\(19_000 % 700)"))
        #expect(!window.contains("e18999", subscription: "s\(18_999 % 700)"))
    }

    @Test("inserting an id the subscription remembers changes nothing, not even its age")
    func reinsertIsNoOp() {
        var window = DeduplicationWindow(capacity: 10, totalCapacity: 3)
        window.insert("a", subscription: "s")
        window.insert("b", subscription: "s")
        window.insert("a", subscription: "s")
        #expect(window.count == 2)

        window.insert("c", subscription: "s")
        window.insert("d", subscription: "s")
        // "a" is still the oldest: its repeat did not refresh it.
        #expect(!window.contains("a", subscription: "s"))
        #expect(["b", "c", "d"].allSatisfy { window.contains($0, subscription: "s") })
        #expect(window.count == 3)
    }

    @Test("the same id in two subscriptions is remembered twice")
    func idsAreScopedBySubscription() {
        var window = DeduplicationWindow(capacity: 10, totalCapacity: 10)
        window.insert("a", subscription: "s")
        window.insert("a", subscription: "t")
        #expect(window.contains("a", subscription: "s"))
        #expect(window.contains("a", subscription: "t"))
        #expect(window.count == 2)
    }

    @Test("forgotten subscriptions free their share of the total, and their stale ids in the global order evict nothing")
    func forgetKeepsTheGlobalOrderConsistent() {
        var window = DeduplicationWindow(capacity: 10, totalCapacity: 4)
        window.insert("a", subscription: "s")
        window.insert("b", subscription: "s")
        window.insert("x", subscription: "t")
        window.forget(subscriptions: ["s", "unknown"])
        #expect(window.count == 1)
        #expect(!window.contains("a", subscription: "s"))
        #expect(window.subscriptions == ["t"])

        // "s" comes back with one of its old ids: the stale entries of "a" and "b" at the
        // head of the global order must not evict the new copy of "a".
        window.insert("a", subscription: "s")
        window.insert("y", subscription: "t")
        window.insert("z", subscription: "t")
        #expect(window.count == 4)
        window.insert("w", subscription: "t")
        // Over the total by one: the oldest live id ("x") goes, not the new "a".
        #expect(window.count == 4)
        #expect(!window.contains("x", subscription: "t"))
        #expect(window.contains("a", subscription: "s"))
        #expect(["y", "z", "w"].allSatisfy { window.contains($0, subscription: "t") })
    }

    @Test("an id evicted per subscription and inserted again is not evicted early by its old entry")
    func reinsertAfterPerSubscriptionEviction() {
        var window = DeduplicationWindow(capacity: 2, totalCapacity: 4)
        window.insert("a", subscription: "s")
        window.insert("b", subscription: "s")
        window.insert("c", subscription: "s")  // evicts "a" from s
        window.insert("a", subscription: "s")  // evicts "b"; "a" is new again
        #expect(window.contains("a", subscription: "s"))
        #expect(window.contains("c", subscription: "s"))

        window.insert("x", subscription: "t")
        window.insert("y", subscription: "u")
        window.insert("z", subscription: "v")  // 5 live: the oldest live, "c", goes
        #expect(window.count == 4)
        #expect(!window.contains("c", subscription: "s"))
        #expect(window.contains("a", subscription: "s"))
        #expect(window.contains("x", subscription: "t") && window.contains("y", subscription: "u") && window.contains("z", subscription: "v"))
    }

    @Test("forgetting every subscription after many insertions leaves an empty window that still works")
    func forgetAllThenReuse() {
        var window = DeduplicationWindow(capacity: 3, totalCapacity: 100)
        for index in 0..<5_000 { window.insert("e\(index)", subscription: "s\(index % 50)") }
        window.forget(subscriptions: window.subscriptions)
        #expect(window.count == 0)
        #expect(window.subscriptions.isEmpty)

        for index in 0..<150 { window.insert("n\(index)", subscription: "s\(index % 3)") }
        #expect(window.count == 9)
        #expect(window.contains("n149", subscription: "s2"))
        #expect(!window.contains("n0", subscription: "s0"))
    }
}
