import Metrics
import Synchronization

/// Connector method calls (swift-metrics; Prometheus names):
/// - `inlet_method_calls_total{connector,method,outcome}`: `ok`, or the error's code
///   (`timeout` and `memory-limit` are JavaScript stopped by its limits; `api-error`,
///   `handle-error`, `malformed-result`, ...);
/// - `inlet_method_duration_seconds{connector,method}`: every call's duration.
final class MethodMetrics: Sendable {
    private struct Key: Hashable {
        var connector: String
        var method: String
        var outcome: String?
    }

    private let counters = Mutex<[Key: Counter]>([:])
    private let timers = Mutex<[Key: Metrics.Timer]>([:])

    func record(connector: String, method: String, outcome: String, since start: ContinuousClock.Instant) {
        let counter = counters.withLock { counters in
            let key = Key(connector: connector, method: method, outcome: outcome)
            if let found = counters[key] { return found }
            let made = Counter(label: "inlet_method_calls_total", dimensions: [("connector", connector), ("method", method), ("outcome", outcome)])
            counters[key] = made
            return made
        }
        let timer = timers.withLock { timers in
            let key = Key(connector: connector, method: method)
            if let found = timers[key] { return found }
            let made = Metrics.Timer(label: "inlet_method_duration_seconds", dimensions: [("connector", connector), ("method", method)])
            timers[key] = made
            return made
        }
        counter.increment()
        timer.record(duration: ContinuousClock.now - start)
    }
}
