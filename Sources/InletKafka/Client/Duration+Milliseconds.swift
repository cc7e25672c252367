extension Duration {
    /// The duration in whole milliseconds (rounded down), as librdkafka's timeouts take it.
    var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
