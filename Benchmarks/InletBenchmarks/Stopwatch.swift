// Timing helpers shared by the benchmarks: elapsed time as Double seconds, per-call cost and
// nearest-rank percentiles of latency samples.

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    /// The duration in milliseconds.
    var milliseconds: Double { seconds * 1e3 }
}

/// Seconds `body` takes on the continuous clock.
func measureSeconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    return (ContinuousClock.now - start).seconds
}

/// Latency samples in milliseconds, summarized by nearest-rank percentiles.
struct LatencySummary {
    let sorted: [Double]

    init(_ samples: [Double]) { sorted = samples.sorted() }

    var count: Int { sorted.count }
    var max: Double { sorted.last ?? .nan }

    /// The nearest-rank percentile `p` (0...100); NaN without samples.
    func percentile(_ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[Swift.max(0, Swift.min(sorted.count - 1, rank - 1))]
    }
}
