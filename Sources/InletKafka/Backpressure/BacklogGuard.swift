import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Refuses appends before a partition's unconsumed backlog could reach what the broker keeps,
/// so that a broker which trims by size (the embedded one) never drops a message nobody has
/// read yet. Overload is then answered (the caller turns a refusal into 503 + `Retry-After`)
/// instead of being absorbed and lost.
///
/// The backlog of a partition is what this process appended there (measured from its own
/// appends and delivery reports) minus what the slowest of the watched consumer groups has
/// committed; `run()` asks the broker for the groups' committed offsets every
/// `refreshInterval`. Appends by other processes to the same partitions are not seen: run
/// one ingress per embedded broker, which is how `inlet dev` and `inlet broker` are meant.
public final class BacklogGuard: Service, Sendable {
    /// A topic whose appends are limited, and the groups whose progress frees room.
    public struct Watch: Sendable, Hashable {
        public var topic: String
        public var partitions: Int
        /// Consumer groups that must read every message (the slowest one counts).
        public var groups: [String]

        public init(topic: String, partitions: Int, groups: [String]) {
            self.topic = topic
            self.partitions = partitions
            self.groups = groups
        }
    }

    /// An append counted against a partition until it is stored or released.
    public struct Reservation: Sendable {
        let topic: String
        let partition: Int32
        let key: String
        let bytes: Int
    }

    /// An append the backlog has no room for; nothing was appended.
    public struct Refused: Error, Sendable, CustomStringConvertible {
        public var topic: String
        public var partition: Int32
        public var refusal: PartitionBacklog.Refusal
        public var limits: BacklogLimits

        public var description: String {
            switch refusal {
            case .partitionFull(let bytes, let messages):
                return "partition \(partition) of \(topic) holds \(bytes) bytes in \(messages) messages not yet processed "
                    + "(limit \(limits.maxBytes) bytes or \(limits.maxMessages) messages)"
            case .keyOverShare(let keyBytes, let backlogBytes):
                return "this key holds \(keyBytes) of the \(backlogBytes) bytes not yet processed on partition \(partition) of \(topic); "
                    + "its appends wait until the backlog shrinks so others on the partition still get through"
            case .unknownBacklog(let consumed, let until):
                return "partition \(partition) of \(topic) still holds messages from before this process started "
                    + "(consumed up to \(consumed.map(String.init) ?? "none"), appended up to \(until))"
            }
        }
    }

    private let client: KafkaClientConfiguration
    private let watches: [String: Watch]
    private let limits: BacklogLimits
    private let refreshInterval: Duration
    private let logger: Logger
    private let backlogs: Mutex<[String: [PartitionBacklog]]>
    /// Whether `run()` has measured the partitions' ends at start.
    private let initialized = Mutex(false)

    public init(client: KafkaClientConfiguration, watches: [Watch], limits: BacklogLimits, refreshInterval: Duration = .milliseconds(100), logger: Logger) {
        self.client = client
        self.watches = Dictionary(watches.map { ($0.topic, $0) }, uniquingKeysWith: { first, _ in first })
        self.limits = limits
        self.refreshInterval = refreshInterval
        self.logger = logger
        backlogs = Mutex(Dictionary(watches.map { ($0.topic, Array(repeating: PartitionBacklog(), count: $0.partitions)) }, uniquingKeysWith: { first, _ in first }))
    }

    // MARK: - Appending

    /// Counts `record` against its partition's backlog, or throws `Refused`. `nil` for topics
    /// that are not watched. The record must be keyed (or have an explicit partition).
    public func reserve(_ record: KafkaRecord) throws(Refused) -> Reservation? {
        guard let watch = watches[record.topic] else { return nil }
        let key = record.key.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let partition = record.partition ?? KafkaPartitioner.partition(forKey: key, partitions: watch.partitions)
        let bytes = PartitionRetention.countedBytes(of: record)
        guard initialized.withLock({ $0 }) else {
            throw Refused(topic: record.topic, partition: partition, refusal: .unknownBacklog(consumedOffset: nil, until: 0), limits: limits)
        }
        let refusal = backlogs.withLock { backlogs -> PartitionBacklog.Refusal? in
            backlogs[record.topic]![Int(partition)].reserve(key: key, bytes: bytes, limits: limits)
        }
        if let refusal { throw Refused(topic: record.topic, partition: partition, refusal: refusal, limits: limits) }
        return Reservation(topic: record.topic, partition: partition, key: key, bytes: bytes)
    }

    /// The reserved append was stored at `report`.
    public func stored(_ reservation: Reservation, at report: KafkaDeliveryReport) {
        backlogs.withLock { backlogs in
            if report.partition == reservation.partition {
                backlogs[reservation.topic]![Int(reservation.partition)].stored(key: reservation.key, bytes: reservation.bytes, offset: report.offset)
            } else {
                // Another partitioner than ours placed it: count it where it went.
                backlogs[reservation.topic]![Int(reservation.partition)].released(key: reservation.key, bytes: reservation.bytes)
                guard Int(report.partition) < backlogs[reservation.topic]!.count else { return }
                backlogs[reservation.topic]![Int(report.partition)].appended(key: reservation.key, bytes: reservation.bytes, offset: report.offset)
            }
        }
    }

    /// The reserved append was not stored.
    public func released(_ reservation: Reservation) {
        backlogs.withLock { $0[reservation.topic]![Int(reservation.partition)].released(key: reservation.key, bytes: reservation.bytes) }
    }

    /// Counts an append made without asking (a worker's own output, which it cannot take
    /// back), so that `fullPartition()` sees it.
    public func count(_ record: KafkaRecord, storedAt report: KafkaDeliveryReport) {
        guard watches[report.topic] != nil else { return }
        let key = record.key.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let bytes = PartitionRetention.countedBytes(of: record)
        backlogs.withLock { backlogs in
            guard Int(report.partition) < backlogs[report.topic]!.count else { return }
            backlogs[report.topic]![Int(report.partition)].appended(key: key, bytes: bytes, offset: report.offset)
        }
    }

    /// A watched partition whose backlog is at or past the limits, if any. Until `run()` has
    /// measured where the partitions ended at start, every partition counts as full.
    public func fullPartition() -> TopicPartition? {
        guard initialized.withLock({ $0 }) else { return watches.keys.sorted().first.map { TopicPartition(topic: $0, partition: 0) } }
        return backlogs.withLock { backlogs in
            for (topic, partitions) in backlogs {
                if let index = partitions.firstIndex(where: { $0.isFull(limits) }) { return TopicPartition(topic: topic, partition: Int32(index)) }
            }
            return nil
        }
    }

    /// Outputs of a batch in progress on watched partitions, not yet counted in the backlog.
    public struct Additions: Sendable {
        fileprivate var slots: [TopicPartition: (bytes: Int, messages: Int)] = [:]

        public init() {}
    }

    /// Adds the watched ones of `records` to `additions` (each record measured once).
    public func add(_ records: some Sequence<KafkaRecord>, to additions: inout Additions) {
        for record in records {
            guard let watch = watches[record.topic] else { continue }
            let key = record.key.map { String(decoding: $0, as: UTF8.self) } ?? ""
            let partition = record.partition ?? KafkaPartitioner.partition(forKey: key, partitions: watch.partitions)
            let slot = TopicPartition(topic: record.topic, partition: partition)
            additions.slots[slot, default: (0, 0)].bytes += PartitionRetention.countedBytes(of: record)
            additions.slots[slot, default: (0, 0)].messages += 1
        }
    }

    /// Whether appending `additions` would take a watched partition to or past the limits:
    /// a batch ends before its outputs could be trimmed unread.
    public func wouldFill(with additions: Additions) -> Bool {
        guard !additions.slots.isEmpty else { return false }
        return backlogs.withLock { backlogs in
            additions.slots.contains { slot, added in
                guard let backlog = backlogs[slot.topic]?[Int(slot.partition)] else { return false }
                return backlog.bytes + added.bytes >= limits.maxBytes || backlog.messages + added.messages >= limits.maxMessages
            }
        }
    }

    /// Bytes not yet consumed on `partition` of `topic` (reserved or stored).
    public func backlogBytes(topic: String, partition: Int32) -> Int {
        backlogs.withLock { $0[topic]?[Int(partition)].bytes ?? 0 }
    }

    // MARK: - Following the consumer groups

    /// Follows the watched groups' committed offsets until cancelled or graceful shutdown.
    public func run() async throws {
        var probes: [String: KafkaConsumer] = [:]
        for group in Set(watches.values.flatMap(\.groups)) {
            probes[group] = try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: client, groupId: group), topics: [], logger: logger)
        }
        let all = probes
        // What the partitions held before this process started was appended by someone else
        // and is not measured: until the groups pass it, it counts as a full backlog.
        if let probe = all.values.first {
            for watch in watches.values {
                for partition in 0..<Int32(watch.partitions) {
                    // Until it is known, the partition counts as full (`initialized`).
                    var end: Int64?
                    while end == nil && !Task.isCancelled {
                        do {
                            end = try await probe.watermarks(topic: watch.topic, partition: partition).high
                        } catch {
                            logger.warning("backlog guard: end of \(watch.topic)[\(partition)] unknown: \(error); asking again")
                            try? await Task.sleep(for: .milliseconds(500))
                        }
                    }
                    if let end, end > 0 { backlogs.withLock { $0[watch.topic]![Int(partition)].started(atEnd: end) } }
                }
            }
        }
        initialized.withLock { $0 = true }
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                for watch in self.watches.values {
                    await self.refresh(watch, probes: all)
                }
                try await Task.sleep(for: self.refreshInterval)
            }
        }
        for probe in all.values { await probe.close() }
    }

    /// Moves each partition's consumed offset to the slowest group's committed offset; a
    /// partition on which any group has committed nothing yet keeps everything.
    private func refresh(_ watch: Watch, probes: [String: KafkaConsumer]) async {
        let partitions = (0..<Int32(watch.partitions)).map { TopicPartition(topic: watch.topic, partition: $0) }
        var slowest: [Int32: Int64] = [:]
        var unread: Set<Int32> = []
        for group in watch.groups {
            guard let probe = probes[group] else { continue }
            do {
                for committed in try await probe.committed(partitions, timeout: .seconds(5)) {
                    if let offset = committed.offset, offset >= 0 {
                        slowest[committed.partition] = min(slowest[committed.partition] ?? .max, offset)
                    } else {
                        unread.insert(committed.partition)
                    }
                }
            } catch {
                logger.debug("backlog guard: committed offsets of group \(group) unavailable: \(error)")
                return
            }
        }
        let bytes = backlogs.withLock { backlogs in
            for (partition, offset) in slowest where !unread.contains(partition) && Int(partition) < backlogs[watch.topic]!.count {
                backlogs[watch.topic]![Int(partition)].consumed(upTo: offset)
            }
            return backlogs[watch.topic]!.map(\.bytes)
        }
        // `inlet_embedded_broker_backlog_bytes{topic,partition}`: what the embedded broker holds
        // unconsumed (ingress refuses with 503 once a partition nears what it keeps).
        for (partition, value) in bytes.enumerated() {
            Gauge(label: "inlet_embedded_broker_backlog_bytes", dimensions: [("topic", watch.topic), ("partition", String(partition))]).record(value)
        }
    }
}
