import Metrics
import Synchronization

/// Normalized events the dispatcher emitted, counted once their batch is committed:
/// `inlet_events_total{connector,type}` (`type`: `created`, `updated`, `deleted`, or `event`
/// for a connector event without a record change).
final class EventMetrics: Sendable {
    struct Key: Hashable {
        var connector: String
        var type: String
    }

    private let counters = Mutex<[Key: Counter]>([:])

    func committed(_ tally: [Key: Int]) {
        for (key, count) in tally {
            let counter = counters.withLock { counters in
                if let found = counters[key] { return found }
                let made = Counter(label: "inlet_events_total", dimensions: [("connector", key.connector), ("type", key.type)])
                counters[key] = made
                return made
            }
            counter.increment(by: count)
        }
    }
}
