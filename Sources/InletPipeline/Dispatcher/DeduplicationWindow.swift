/// The most recent event ids per subscription, to drop repeats (an at-least-once replay
/// re-emits its original's ids). Bounded twice, oldest forgotten first: at most `capacity` ids
/// per subscription, and at most `totalCapacity` ids over all subscriptions (the globally
/// oldest go first, so many subscriptions cannot grow the memory without bound).
///
/// Costs: `contains` is a hash lookup; `insert` is O(1) amortized (the orders are arrays
/// with a head index, compacted once their dead part outgrows the live one). Memory is about
/// 200 bytes per remembered id (three references to it and its 32-character text).
struct DeduplicationWindow: Sendable {
    /// One subscription's ids, in insertion order from `start`.
    private struct Recent: Sendable {
        /// Each remembered id with the sequence number of its insertion.
        var ids: [String: Int] = [:]
        var order: [String] = []
        var start = 0

        /// Forgets the oldest id. The passed part of `order` is dropped once it is as long as
        /// the rest: a copy of at most as many ids as were forgotten since the last one.
        mutating func removeOldest() {
            ids[order[start]] = nil
            start += 1
            if start * 2 >= order.count {
                order.removeFirst(start)
                start = 0
            }
        }
    }

    /// An insertion, in the global order; stale once its id was evicted or forgotten (then
    /// its subscription no longer maps the id to `sequence`).
    private struct Insertion: Sendable {
        var subscription: String
        var id: String
        var sequence: Int
    }

    let capacity: Int
    let totalCapacity: Int
    private var bySubscription: [String: Recent] = [:]
    /// Every insertion since the last compaction, oldest first from `globalStart`; stale
    /// entries are skipped when reached.
    private var globalOrder: [Insertion] = []
    private var globalStart = 0
    private var nextSequence = 0
    /// Ids remembered over all subscriptions.
    private(set) var count = 0

    /// - Parameters:
    ///   - capacity: ids remembered per subscription.
    ///   - totalCapacity: ids remembered over all subscriptions.
    init(capacity: Int, totalCapacity: Int = 200_000) {
        self.capacity = capacity
        self.totalCapacity = totalCapacity
    }

    func contains(_ id: String, subscription: String) -> Bool {
        bySubscription[subscription]?.ids[id] != nil
    }

    /// Remembers `id` for `subscription` (nothing happens if it is remembered already), then
    /// forgets the subscription's oldest id beyond `capacity` and the globally oldest beyond
    /// `totalCapacity`.
    mutating func insert(_ id: String, subscription: String) {
        guard !contains(id, subscription: subscription) else { return }
        // Taken out of the dictionary while mutated, so its arrays are not copied.
        var recent = bySubscription.removeValue(forKey: subscription) ?? Recent()
        let sequence = nextSequence
        nextSequence += 1
        recent.ids[id] = sequence
        recent.order.append(id)
        count += 1
        if recent.ids.count > capacity {
            recent.removeOldest()
            count -= 1
        }
        if !recent.ids.isEmpty { bySubscription[subscription] = recent }
        globalOrder.append(Insertion(subscription: subscription, id: id, sequence: sequence))
        while count > totalCapacity {
            guard evictGloballyOldest() else { break }
        }
        compactGlobalOrderIfMostlyDead()
    }

    mutating func forget(subscriptions: Set<String>) {
        for subscription in subscriptions {
            guard let recent = bySubscription.removeValue(forKey: subscription) else { continue }
            count -= recent.ids.count
        }
        compactGlobalOrderIfMostlyDead()
    }

    var subscriptions: Set<String> { Set(bySubscription.keys) }

    // MARK: - Global order

    /// Forgets the oldest id still remembered, skipping stale insertions on the way; false if
    /// there was none.
    private mutating func evictGloballyOldest() -> Bool {
        while globalStart < globalOrder.count {
            let oldest = globalOrder[globalStart]
            globalStart += 1
            guard bySubscription[oldest.subscription]?.ids[oldest.id] == oldest.sequence,
                var recent = bySubscription.removeValue(forKey: oldest.subscription)
            else { continue }
            // The globally oldest live id is also the oldest of its subscription: every older
            // insertion of that subscription was passed here already or evicted before.
            assert(recent.order[recent.start] == oldest.id)
            recent.removeOldest()
            count -= 1
            if !recent.ids.isEmpty { bySubscription[oldest.subscription] = recent }
            return true
        }
        return false
    }

    /// Drops the passed and stale insertions once they outnumber the live ones (and 1024), so
    /// the global order stays within about twice `count` and each insertion is copied O(1)
    /// times on average.
    private mutating func compactGlobalOrderIfMostlyDead() {
        let dead = globalOrder.count - count
        guard dead > max(count, 1024) else { return }
        let remembered = bySubscription
        globalOrder = globalOrder[globalStart...].filter { insertion in
            remembered[insertion.subscription]?.ids[insertion.id] == insertion.sequence
        }
        globalStart = 0
    }
}
