extension Duration {
    /// The duration in whole milliseconds (rounded down), as librdkafka's timeouts take it.
    var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// The duration in milliseconds with up to three decimals (`0.5`), rounded to the nearest
    /// microsecond, as librdkafka's `linger.ms` takes it; a negative duration is `0`.
    var fractionalMilliseconds: String {
        let (seconds, attoseconds) = max(self, .zero).components
        let microseconds = seconds * 1_000_000 + (attoseconds + 500_000_000_000) / 1_000_000_000_000
        let whole = microseconds / 1000, fraction = microseconds % 1000
        guard fraction != 0 else { return String(whole) }
        var decimals = String(fraction)
        decimals = String(repeating: "0", count: 3 - decimals.count) + decimals
        while decimals.hasSuffix("0") { decimals.removeLast() }
        return "\(whole).\(decimals)"
    }
}
