import Metrics
import Synchronization

/// What one consume-transform-produce loop reports (swift-metrics; Prometheus names), labelled
/// with its consumer group:
/// - `inlet_stream_messages_total`: input messages processed and committed;
/// - `inlet_stream_records_total{topic}`: output records produced, by topic (records, events,
///   dead letters, subscription records);
/// - `inlet_stream_batches_total{outcome}`: batches `committed` or `rolled_back`;
/// - `inlet_stream_batch_duration_seconds`: from the batch's first message to its commit;
/// - `inlet_consumer_lag{topic,partition}`: messages on the partition after the batch's last
///   (from the consumer's cached high watermark); 0 once the partition is revoked;
/// - `inlet_stream_messages_lost_total`: messages trimmed by retention before they were read.
final class StreamMetrics: Sendable {
    private let group: String
    private let messages: Counter
    private let committed: Counter
    private let rolledBack: Counter
    private let lost: Counter
    private let duration: Metrics.Timer
    private let outputs = Mutex<[String: Counter]>([:])
    private let lags = Mutex<[TopicPartition: Gauge]>([:])

    init(group: String) {
        self.group = group
        messages = Counter(label: "inlet_stream_messages_total", dimensions: [("group", group)])
        committed = Counter(label: "inlet_stream_batches_total", dimensions: [("group", group), ("outcome", "committed")])
        rolledBack = Counter(label: "inlet_stream_batches_total", dimensions: [("group", group), ("outcome", "rolled_back")])
        lost = Counter(label: "inlet_stream_messages_lost_total", dimensions: [("group", group)])
        duration = Metrics.Timer(label: "inlet_stream_batch_duration_seconds", dimensions: [("group", group)])
    }

    func batchCommitted(messages count: Int, outputs records: [KafkaRecord], since started: ContinuousClock.Instant) {
        messages.increment(by: count)
        committed.increment()
        duration.record(duration: ContinuousClock.now - started)
        var byTopic: [String: Int] = [:]
        for record in records { byTopic[record.topic, default: 0] += 1 }
        for (topic, count) in byTopic { output(topic).increment(by: count) }
    }

    func batchRolledBack() { rolledBack.increment() }

    func messagesLost(_ count: Int) { lost.increment(by: count) }

    /// The lag of `partition` after `offset` (the next offset to read), when the high watermark is known.
    func lag(_ partition: TopicPartition, next offset: Int64, highWatermark: Int64) {
        let gauge = lags.withLock { lags in
            if let found = lags[partition] { return found }
            let made = Gauge(label: "inlet_consumer_lag", dimensions: [("group", group), ("topic", partition.topic), ("partition", String(partition.partition))])
            lags[partition] = made
            return made
        }
        gauge.record(max(0, highWatermark - offset))
    }

    /// Partitions this loop no longer owns: their lag is its new owner's to report.
    func forget(_ partitions: Set<TopicPartition>) {
        let gone = lags.withLock { lags in partitions.compactMap { lags.removeValue(forKey: $0) } }
        for gauge in gone { gauge.record(0) }
    }

    private func output(_ topic: String) -> Counter {
        outputs.withLock { outputs in
            if let found = outputs[topic] { return found }
            let made = Counter(label: "inlet_stream_records_total", dimensions: [("group", group), ("topic", topic)])
            outputs[topic] = made
            return made
        }
    }
}
