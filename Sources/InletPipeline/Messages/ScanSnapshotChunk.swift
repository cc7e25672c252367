import Foundation
import InletJSON

/// One chunk of a full scan's snapshot (compacted topic `scan-snapshots`, key
/// `<subscriptionId>/<snapshot>/<chunk>`), for snapshots too large for the subscription record.
///
/// A full scan compares each record's digest with the previous scan's snapshot (record id →
/// digest). A small snapshot is kept on the subscription record (`pullState.snapshot`); a
/// larger one is written here in chunks, each far below `message.max.bytes`, and the
/// subscription record names it (`pullState.snapshotDigest`, `pullState.snapshotChunks`). The
/// chunks are written before the subscription record that names them, so a record never names
/// chunks that are not durable; the chunks of a replaced snapshot are removed (tombstones)
/// once the record naming the new one is durable.
public struct ScanSnapshotChunk: TopicMessage {
    /// The full-scan subscription.
    public var subscriptionId: String
    /// Which snapshot this chunk belongs to: 16 hex digits naming its content
    /// (`pullState.snapshotDigest` of the subscription record).
    public var snapshot: String
    /// This chunk's position, from 0.
    public var chunk: Int
    /// How many chunks the snapshot has.
    public var chunks: Int
    /// Record id → 16 hex digits of the record's digest without its ignored fields.
    public var entries: [String: String]

    public init(subscriptionId: String, snapshot: String, chunk: Int, chunks: Int, entries: [String: String]) {
        self.subscriptionId = subscriptionId
        self.snapshot = snapshot
        self.chunk = chunk
        self.chunks = chunks
        self.entries = entries
    }

    public static let topics = ["scan-snapshots"]
    public static let schemaFile = "scan-snapshot-chunk.schema.json"
    public var kafkaKey: String? { Self.key(subscriptionId: subscriptionId, snapshot: snapshot, chunk: chunk) }

    /// The Kafka key of a chunk.
    public static func key(subscriptionId: String, snapshot: String, chunk: Int) -> String { "\(subscriptionId)/\(snapshot)/\(chunk)" }
}

extension ScanSnapshotChunk: JSONValueMessage {
    var messageValue: JSONValue {
        .object([
            "subscriptionId": .string(subscriptionId), "snapshot": .string(snapshot), "chunk": .integer(Int64(chunk)),
            "chunks": .integer(Int64(chunks)), "entries": .object(entries.mapValues(JSONValue.string)),
        ])
    }

    init(message fields: MessageFields) throws(MessageCodecError) {
        subscriptionId = try fields.string("subscriptionId")
        snapshot = try fields.string("snapshot")
        chunk = try fields.int("chunk")
        chunks = try fields.int("chunks")
        let members = try fields.object("entries")
        var entries: [String: String] = [:]
        entries.reserveCapacity(members.members.count)
        for (id, value) in members.members {
            guard case .string(let digest) = value else { throw members.error(id, "expected a string") }
            entries[id] = digest
        }
        self.entries = entries
    }
}
