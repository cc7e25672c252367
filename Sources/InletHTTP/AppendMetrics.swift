import Metrics
import Synchronization

/// Ingress's appends to the broker (swift-metrics; Prometheus names):
/// - `inlet_broker_append_duration_seconds{topic}`: until the broker acknowledged the record
///   (what every accepted request waits for before its 2xx);
/// - `inlet_broker_append_failures_total{topic}`: appends that failed (the request got 503).
final class AppendMetrics: Sendable {
    static let shared = AppendMetrics()

    private let durations = Mutex<[String: Metrics.Timer]>([:])
    private let failures = Mutex<[String: Counter]>([:])

    func appended(to topic: String, since start: ContinuousClock.Instant) {
        let timer = durations.withLock { timers in
            if let found = timers[topic] { return found }
            let made = Metrics.Timer(label: "inlet_broker_append_duration_seconds", dimensions: [("topic", topic)])
            timers[topic] = made
            return made
        }
        timer.record(duration: ContinuousClock.now - start)
    }

    func failed(to topic: String) {
        let counter = failures.withLock { counters in
            if let found = counters[topic] { return found }
            let made = Counter(label: "inlet_broker_append_failures_total", dimensions: [("topic", topic)])
            counters[topic] = made
            return made
        }
        counter.increment()
    }
}
