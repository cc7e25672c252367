/// The most recent event ids per subscription, to drop repeats (an at-least-once replay
/// re-emits its original's ids). Bounded: at most `capacity` ids per subscription, oldest
/// forgotten first.
struct DeduplicationWindow: Sendable {
    private struct Recent: Sendable {
        var ids: Set<String> = []
        var order: [String] = []
        var start = 0
    }

    let capacity: Int
    private var bySubscription: [String: Recent] = [:]

    init(capacity: Int) {
        self.capacity = capacity
    }

    func contains(_ id: String, subscription: String) -> Bool {
        bySubscription[subscription]?.ids.contains(id) ?? false
    }

    mutating func insert(_ id: String, subscription: String) {
        var recent = bySubscription[subscription, default: Recent()]
        guard recent.ids.insert(id).inserted else { return }
        recent.order.append(id)
        if recent.order.count - recent.start > capacity {
            recent.ids.remove(recent.order[recent.start])
            recent.start += 1
            if recent.start > capacity {
                recent.order.removeFirst(recent.start)
                recent.start = 0
            }
        }
        bySubscription[subscription] = recent
    }

    mutating func forget(subscriptions: Set<String>) {
        for subscription in subscriptions { bySubscription[subscription] = nil }
    }

    var subscriptions: Set<String> { Set(bySubscription.keys) }
}
