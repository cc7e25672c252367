import Crypto
import Foundation
import InletConnectors

/// The full-scan strategy (seed 004's default): `list` page by page, each record reduced to a
/// digest, compared with the previous scan's snapshot (record id → digest).
///
/// - A digest is the first 8 bytes of SHA-256 over the record's canonical JSON (sorted keys)
///   without its ignored fields, so a field that changes on every read (a signed download
///   URL, a view counter) causes no `updated` event. An ignored field is a dotted path into
///   the record's `fields` (`viewCount`, `links.downloadUrl`), or into the record itself when it
///   has no `fields` object.
/// - `created`: ids new since the snapshot; `updated`: ids whose digest changed; `deleted`:
///   ids gone (the event's record is `{id}`: the snapshot keeps digests, not records).
/// - The first scan only builds the snapshot. A scan that fails midway changes nothing: the
///   caller keeps the old snapshot.
public struct FullScan: Sendable {
    public struct Change: Sendable {
        public var type: RecordChangeType
        public var record: JSONValue
        public var id: String
        /// The digest the change is about (the new one; the old one for a deletion): with the id
        /// it names the change, so a scan repeated after a crash repeats its event ids.
        public var digest: UInt64
    }

    /// Record id → digest. Held as numbers in memory (8 bytes, no allocation per value); stored
    /// as 16 hex digits on the subscription record (``stored(_:)``, ``snapshot(from:)``).
    public typealias Snapshot = [String: UInt64]

    public struct Outcome: Sendable {
        public var changes: [Change]
        /// With `listAll`: every record, as `created` (a backfill for a member new to a group).
        public var listed: [Change] = []
        public var snapshot: Snapshot
        public var pages: Int
        public var records: Int
        /// Records without an id (skipped).
        public var skipped: Int
    }

    /// Thrown when the collection has more pages than one scan may read.
    public struct TooManyPages: Error, CustomStringConvertible {
        let pages: Int
        public var description: String {
            "the collection has more than \(pages) pages; a full scan reads at most that many in one pull: use pull-latest-records, custom-pull or webhook events for a collection this large"
        }
    }

    let ignoredFields: [String]
    /// `ignoredFields` as a tree, made once per scan.
    let omissions: [String: JSONWriter.Omission]
    let maxPages: Int
    /// The first scan reports every record as `created` (to a `created` subscription).
    var backfill = false

    public init(ignoredFields: [String], maxPages: Int, backfill: Bool = false) {
        self.ignoredFields = ignoredFields
        self.omissions = JSONWriter.Omission.paths(ignoredFields.filter { !$0.isEmpty })
        self.maxPages = maxPages
        self.backfill = backfill
    }

    /// Scans with `fetch` (the page at a cursor; `nil`: the first page) against `previous`
    /// (`nil`: the first scan, which emits nothing). Only changes of `wanted` are returned.
    public func run(previous: Snapshot?, wanted: RecordChangeType, fetch: (String?) async throws -> RecordPage) async throws -> Outcome {
        try await run(previous: previous, wanted: [wanted], fetch: fetch)
    }

    /// One scan for several kinds of change (the subscriptions of a ``ScanGroup``): the
    /// changes of every type in `wanted`, in the order the pages list them, deletions last.
    public func run(
        previous: Snapshot?, wanted: Set<RecordChangeType>, listAll: Bool = false, fetch: (String?) async throws -> RecordPage
    ) async throws -> Outcome {
        let (created, updated, deleted) = (wanted.contains(.created), wanted.contains(.updated), wanted.contains(.deleted))
        var outcome = Outcome(changes: [], snapshot: [:], pages: 0, records: 0, skipped: 0)
        outcome.snapshot.reserveCapacity(previous?.count ?? 0)
        var cursor: String?
        var writer = JSONWriter(capacity: 1024)
        repeat {
            guard outcome.pages < maxPages else { throw TooManyPages(pages: maxPages) }
            let page = try await fetch(cursor)
            outcome.pages += 1
            outcome.records += page.records.count
            for record in page.records {
                guard let id = LatestRecordsPull.id(of: record) else {
                    outcome.skipped += 1
                    continue
                }
                let digest = Self.digest(of: record, omitting: omissions, with: &writer)
                outcome.snapshot[id] = digest
                if listAll { outcome.listed.append(Change(type: .created, record: record, id: id, digest: digest)) }
                guard let previous else {
                    if backfill && created { outcome.changes.append(Change(type: .created, record: record, id: id, digest: digest)) }
                    continue
                }
                switch previous[id] {
                case nil where created:
                    outcome.changes.append(Change(type: .created, record: record, id: id, digest: digest))
                case let old? where old != digest && updated:
                    outcome.changes.append(Change(type: .updated, record: record, id: id, digest: digest))
                default:
                    break
                }
            }
            cursor = page.cursor
        } while cursor != nil
        if let previous, deleted {
            for (id, digest) in previous.sorted(by: { $0.key < $1.key }) where outcome.snapshot[id] == nil {
                outcome.changes.append(Change(type: .deleted, record: ["id": .string(id)], id: id, digest: digest))
            }
        }
        return outcome
    }

    /// The first 8 bytes of SHA-256 over `record` without `ignoring`.
    public static func digest(of record: JSONValue, ignoring paths: [String]) -> UInt64 {
        digest(of: record, omitting: JSONWriter.Omission.paths(paths.filter { !$0.isEmpty }))
    }

    /// The first 8 bytes of SHA-256 over the canonical JSON of `record` without the ignored
    /// fields `omissions` names: inside the record's `fields` object when it has one, else in
    /// the record itself. Written without them rather than copied and edited: the copies were
    /// most of a scan's time.
    static func digest(of record: JSONValue, omitting omissions: [String: JSONWriter.Omission]) -> UInt64 {
        var writer = JSONWriter()
        return digest(of: record, omitting: omissions, with: &writer)
    }

    /// As above, written with `writer` (emptied first; a scan reuses one for every record).
    static func digest(of record: JSONValue, omitting omissions: [String: JSONWriter.Omission], with writer: inout JSONWriter) -> UInt64 {
        writer.removeAll()
        if omissions.isEmpty {
            writer.write(record)
        } else if case .object(let members) = record, case .object = members["fields"] {
            writer.write(record, omitting: ["fields": .members(omissions)])
        } else {
            writer.write(record, omitting: omissions)
        }
        return SHA256.hash(data: writer.bytes).prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// 64 bits naming a snapshot's content, whatever the order of its entries: each entry
    /// (FNV-1a of the id, mixed with its digest) is mixed and summed, and the sum mixed with
    /// the count. Names the snapshot's chunks and the changes found against it, and is the
    /// same in every process (unlike Swift's seeded `Hasher`).
    public static func generation(of snapshot: Snapshot) -> UInt64 {
        var sum: UInt64 = 0
        for (id, digest) in snapshot {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in id.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            sum &+= mix(hash ^ digest)
        }
        return mix(sum ^ mix(UInt64(snapshot.count)))
    }

    /// SplitMix64's finalizer.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// About how many bytes the snapshot takes as JSON on the subscription record (each entry
    /// `"id":"16 hex digits",`), without encoding it.
    public static func storedBytes(of snapshot: Snapshot) -> Int {
        snapshot.keys.reduce(2) { $0 + $1.utf8.count + 22 }
    }

    /// A digest as it is stored: 16 lower-case hex digits (written into the string's own
    /// buffer: a scan of a million records stores a million of them).
    public static func hex(_ digest: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { buffer in
            for position in 0..<16 {
                buffer[position] = hexDigits[Int((digest >> UInt64(60 - 4 * position)) & 0xF)]
            }
            return 16
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// The snapshot as stored on the subscription record.
    public static func stored(_ snapshot: Snapshot) -> [String: String] { snapshot.mapValues(hex) }

    /// A stored snapshot read back; entries that are not 16 hex digits are left out (their
    /// records then count as new in the next scan).
    public static func snapshot(from stored: [String: String]) -> Snapshot { stored.compactMapValues { UInt64($0, radix: 16) } }
}

extension FullScan {
    /// The snapshot no longer fits on the subscription record (a Kafka message).
    struct SnapshotTooLarge: Error, CustomStringConvertible {
        let records: Int
        let bytes: Int
        let limit: Int
        var description: String {
            "the full-scan snapshot of \(records) records takes \(bytes) bytes, beyond what a subscription record may hold (90 % of message.max.bytes, \(limit)); use pull-latest-records, custom-pull or webhook events for a collection this large"
        }
    }
}
