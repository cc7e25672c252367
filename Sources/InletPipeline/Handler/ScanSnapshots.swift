import Foundation
import InletKafka
import Logging

/// Full-scan snapshots too large for their subscription record, in chunks on the compacted
/// topic `scan-snapshots` (``ScanSnapshotChunk``).
///
/// - A subscription's chunks go to one partition, the default partitioner's choice for its
///   id, so loading them reads one partition (from its start: compaction keeps it to the live
///   chunks and the tombstones of removed ones).
/// - Chunks are keyed by subscription, snapshot and position. They are written as a pull's
///   outputs, so the subscription record naming them (written after the outputs are
///   acknowledged) never names chunks that are not durable; a scan re-run after a crash
///   writes the same keys again.
/// - The chunks of a replaced snapshot get tombstones at the next pull, when the record that
///   no longer names them is durable, and all of them when the subscription is archived.
/// - On the embedded broker, which keeps about 5 MiB per partition whatever was read and
///   compacts nothing, a snapshot may take at most a quarter of that: beyond it the scan
///   fails (subscription `error`) instead of writing chunks the broker would soon drop.
public struct ScanSnapshots: Sendable {
    let topics: InletTopics
    let client: KafkaClientConfiguration
    /// The largest chunk value, in bytes: far below `message.max.bytes`.
    let chunkBytes: Int
    /// The embedded broker's retention, or `nil` on a real cluster.
    let embeddedRetention: PartitionRetention?
    let logger: Logger

    public init(topics: InletTopics, client: KafkaClientConfiguration, maxMessageBytes: Int, embeddedRetention: PartitionRetention?, logger: Logger) {
        self.topics = topics
        self.client = client
        self.chunkBytes = max(1024, min(256 * 1024, maxMessageBytes / 4))
        self.embeddedRetention = embeddedRetention
        self.logger = logger
    }

    /// The most bytes of chunks one snapshot may take: a quarter of what the embedded broker
    /// keeps per partition, else no limit.
    var maxSnapshotBytes: Int? { embeddedRetention.map { $0.maxBytes / 4 } }

    /// The snapshot could not be read back in full.
    public struct Unreadable: Error, CustomStringConvertible {
        let subscriptionId: String
        let reason: String
        public var description: String { "the previous full-scan snapshot of \(subscriptionId) could not be read back: \(reason)" }
    }

    /// The snapshot is larger than the embedded broker can keep.
    public struct TooLargeForEmbeddedBroker: Error, CustomStringConvertible {
        let records: Int
        let bytes: Int
        let limit: Int
        public var description: String {
            "the full-scan snapshot of \(records) records takes about \(bytes) bytes; the embedded broker (inlet dev) keeps about 5 MiB per partition and compacts nothing, so a snapshot there may take at most \(limit) bytes. Run against a Kafka cluster for a collection this large, or use pull-latest-records, custom-pull or webhook events"
        }
    }

    func partition(of subscriptionId: String) -> Int32 {
        KafkaPartitioner.partition(forKey: subscriptionId, partitions: topics.partitions)
    }

    /// The chunks of `snapshot`, each value at most about `chunkBytes`, as records for its
    /// subscription's partition. Throws on the embedded broker when they would not be kept.
    public func records(of snapshot: FullScan.Snapshot, subscriptionId: String, digest: String) throws -> [KafkaRecord] {
        if let limit = maxSnapshotBytes {
            let bytes = FullScan.storedBytes(of: snapshot)
            if bytes > limit { throw TooLargeForEmbeddedBroker(records: snapshot.count, bytes: bytes, limit: limit) }
        }
        // Framing of a chunk besides its entries: the other fields and braces.
        let budget = max(1, chunkBytes - 200 - subscriptionId.utf8.count)
        var groups: [[String: String]] = []
        var current: [String: String] = [:]
        var size = 0
        for (id, value) in snapshot {
            let entry = id.utf8.count * 2 + 22
            if size + entry > budget && !current.isEmpty {
                groups.append(current)
                current = [:]
                size = 0
            }
            current[id] = FullScan.hex(value)
            size += entry
        }
        if !current.isEmpty || groups.isEmpty { groups.append(current) }
        let partition = partition(of: subscriptionId)
        return groups.enumerated().map { index, entries in
            let chunk = ScanSnapshotChunk(subscriptionId: subscriptionId, snapshot: digest, chunk: index, chunks: groups.count, entries: entries)
            return KafkaRecord(topic: topics.scanSnapshots, key: chunk.kafkaKey, value: chunk.encoded(), partition: partition)
        }
    }

    /// Where chunks written for `subscriptionId` from now on will be: the end of its partition.
    func startOffset(of subscriptionId: String) async throws -> Int64 {
        try await KafkaSnapshotReader(client: client, logger: logger).endOffset(topic: topics.scanSnapshots, partition: partition(of: subscriptionId))
    }

    /// Tombstones for the chunks of a snapshot no longer named by its subscription.
    func tombstones(of snapshot: SubscriptionRecord.ChunkedSnapshot, subscriptionId: String) -> [KafkaRecord] {
        let partition = partition(of: subscriptionId)
        return (0..<snapshot.chunks).map { index in
            KafkaRecord(topic: topics.scanSnapshots, key: ScanSnapshotChunk.key(subscriptionId: subscriptionId, snapshot: snapshot.digest, chunk: index), value: nil, partition: partition)
        }
    }

    /// Reads a chunked snapshot back: the last value of each of its chunk keys in its
    /// subscription's partition. Throws ``Unreadable`` when a chunk is missing (on the
    /// embedded broker: trimmed by its retention) or belongs to another snapshot.
    ///
    /// Reads from `offset` (where the chunks were written; `nil`: the partition's start) to the
    /// end; a read that does not get there in time throws `KafkaSnapshotReader.Incomplete`
    /// (the pull fails and is tried again later), so a slow read never passes for a lost chunk.
    func load(_ snapshot: SubscriptionRecord.ChunkedSnapshot, subscriptionId: String, from offset: Int64? = nil) async throws -> FullScan.Snapshot {
        let reader = KafkaSnapshotReader(client: client, logger: logger)
        let messages = try await reader.readAll(topic: topics.scanSnapshots, partitions: [partition(of: subscriptionId)], timeout: .seconds(300)) { low, _ in
            max(low, offset ?? low)
        }
        let prefix = "\(subscriptionId)/\(snapshot.digest)/"
        var latest: [Int: Data?] = [:]
        for message in messages {
            guard let key = message.keyString, key.hasPrefix(prefix), let index = Int(key.dropFirst(prefix.count)), index < snapshot.chunks else { continue }
            latest[index] = message.value
        }
        return try Self.assemble(latest, of: snapshot, subscriptionId: subscriptionId)
    }

    /// The snapshot from the last value of each of its chunks by position (`nil`: a
    /// tombstone). Throws ``Unreadable`` for a chunk missing or of another snapshot.
    public static func assemble(_ chunks: [Int: Data?], of snapshot: SubscriptionRecord.ChunkedSnapshot, subscriptionId: String) throws -> FullScan.Snapshot {
        var entries = FullScan.Snapshot()
        for index in 0..<snapshot.chunks {
            guard case let value?? = chunks[index] else {
                throw Unreadable(subscriptionId: subscriptionId, reason: "chunk \(index) of \(snapshot.chunks) of snapshot \(snapshot.digest) is not on scan-snapshots")
            }
            let chunk: ScanSnapshotChunk
            do {
                chunk = try ScanSnapshotChunk.decoded(from: value)
            } catch {
                throw Unreadable(subscriptionId: subscriptionId, reason: "chunk \(index): \(error)")
            }
            guard chunk.snapshot == snapshot.digest, chunk.chunks == snapshot.chunks, chunk.chunk == index else {
                throw Unreadable(subscriptionId: subscriptionId, reason: "chunk \(index) names snapshot \(chunk.snapshot), chunk \(chunk.chunk) of \(chunk.chunks)")
            }
            if entries.isEmpty { entries.reserveCapacity(chunk.entries.count * snapshot.chunks) }
            for (id, digest) in chunk.entries {
                guard let value = UInt64(digest, radix: 16) else { continue }
                entries[id] = value
            }
        }
        return entries
    }
}
