import CoreMetrics
import Prometheus
import Synchronization

/// The process's Prometheus registry behind swift-metrics.
///
/// Inlet's modules record with the swift-metrics API (`Counter`, `Timer`, `Gauge`, `Recorder`);
/// ``bootstrap()`` points that API at this registry once per process, and `/metrics` renders it
/// in Prometheus' text format (``exposition()``). Before the bootstrap (a library user who never
/// calls it), recording costs nothing and goes nowhere.
///
/// Names follow Prometheus' conventions: `inlet_<what>_total` for counters, `_seconds` for
/// durations (histograms), base units; every metric always has the same label names
/// (docs/operations.md lists them).
public enum InletMetrics {
    /// The registry `/metrics` renders.
    public static let registry = PrometheusCollectorRegistry()

    private static let bootstrapped = Mutex(false)

    /// Points swift-metrics at ``registry`` (the first call in a process; later calls do
    /// nothing, so tests and `inlet dev`'s roles may all call it).
    public static func bootstrap() {
        bootstrapped.withLock { done in
            guard !done else { return }
            done = true
            var factory = PrometheusMetricsFactory(registry: registry)
            // Method calls and HTTP requests last from under a millisecond to the 5 s limit.
            factory.defaultDurationHistogramBuckets = [
                .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
                .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
            ]
            MetricsSystem.bootstrap(factory)
        }
    }

    /// Whether ``bootstrap()`` ran in this process.
    public static var isBootstrapped: Bool { bootstrapped.withLock { $0 } }

    /// Every metric in Prometheus' text exposition format (version 0.0.4).
    public static func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }

    /// The content type of ``exposition()``.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
}
