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
    let maxPages: Int
    /// The first scan reports every record as `created` (to a `created` subscription).
    var backfill = false

    public init(ignoredFields: [String], maxPages: Int, backfill: Bool = false) {
        self.ignoredFields = ignoredFields
        self.maxPages = maxPages
        self.backfill = backfill
    }

    /// Scans with `fetch` (the page at a cursor; `nil`: the first page) against `previous`
    /// (`nil`: the first scan, which emits nothing). Only changes of `wanted` are returned.
    public func run(previous: Snapshot?, wanted: RecordChangeType, fetch: (String?) async throws -> RecordPage) async throws -> Outcome {
        var outcome = Outcome(changes: [], snapshot: [:], pages: 0, records: 0, skipped: 0)
        var cursor: String?
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
                let digest = Self.digest(of: record, ignoring: ignoredFields)
                outcome.snapshot[id] = digest
                guard let previous else {
                    if backfill && wanted == .created { outcome.changes.append(Change(type: .created, record: record, id: id, digest: digest)) }
                    continue
                }
                switch previous[id] {
                case nil where wanted == .created:
                    outcome.changes.append(Change(type: .created, record: record, id: id, digest: digest))
                case let old? where old != digest && wanted == .updated:
                    outcome.changes.append(Change(type: .updated, record: record, id: id, digest: digest))
                default:
                    break
                }
            }
            cursor = page.cursor
        } while cursor != nil
        if let previous, wanted == .deleted {
            for (id, digest) in previous.sorted(by: { $0.key < $1.key }) where outcome.snapshot[id] == nil {
                outcome.changes.append(Change(type: .deleted, record: ["id": .string(id)], id: id, digest: digest))
            }
        }
        return outcome
    }

    /// The first 8 bytes of SHA-256 over `record` without `ignoring`.
    public static func digest(of record: JSONValue, ignoring paths: [String]) -> UInt64 {
        var reduced = record
        for path in paths where !path.isEmpty {
            let components = path.split(separator: ".").map(String.init)
            if case .object(var members) = reduced, let fields = members["fields"], fields.objectValue != nil {
                members["fields"] = removing(components, from: fields)
                reduced = .object(members)
            } else {
                reduced = removing(components, from: reduced)
            }
        }
        var writer = JSONWriter()
        writer.write(reduced)
        return SHA256.hash(data: writer.bytes).prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// A digest as it is stored: 16 lower-case hex digits.
    public static func hex(_ digest: UInt64) -> String {
        let text = String(digest, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }

    /// The snapshot as stored on the subscription record.
    public static func stored(_ snapshot: Snapshot) -> [String: String] { snapshot.mapValues(hex) }

    /// A stored snapshot read back; entries that are not 16 hex digits are left out (their
    /// records then count as new in the next scan).
    public static func snapshot(from stored: [String: String]) -> Snapshot { stored.compactMapValues { UInt64($0, radix: 16) } }

    private static func removing(_ path: [String], from value: JSONValue) -> JSONValue {
        guard let first = path.first, case .object(var members) = value else { return value }
        if path.count == 1 {
            members[first] = nil
        } else if let child = members[first] {
            members[first] = removing(Array(path.dropFirst()), from: child)
        }
        return .object(members)
    }
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
