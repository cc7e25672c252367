import Foundation
import InletConnectors
import InletJSON
@testable import InletPipeline
import Testing

/// The full-scan diff: digests without ignored fields, and which change each subscription sees.
@Suite("Full scan: snapshot and diff")
struct FullScanTests {
    static func page(_ records: [JSONValue]) -> (String?) -> RecordPage {
        { _ in RecordPage(records: records, cursor: nil) }
    }

    @Test("ignored fields are dotted paths into the record's fields (or the record itself without fields); other changes change the digest")
    func digestIgnoresFields() {
        let record: JSONValue = ["id": "p1", "fields": ["title": "A", "viewCount": 3, "links": ["downloadUrl": "https://x/1?sig=a", "web": "https://x"]]]
        let ignored = ["viewCount", "links.downloadUrl"]
        let viewed: JSONValue = ["id": "p1", "fields": ["title": "A", "viewCount": 9, "links": ["downloadUrl": "https://x/1?sig=b", "web": "https://x"]]]
        let renamed: JSONValue = ["id": "p1", "fields": ["title": "B", "viewCount": 3, "links": ["downloadUrl": "https://x/1?sig=a", "web": "https://x"]]]
        #expect(FullScan.digest(of: record, ignoring: ignored) == FullScan.digest(of: viewed, ignoring: ignored))
        #expect(FullScan.digest(of: record, ignoring: ignored) != FullScan.digest(of: renamed, ignoring: ignored))
        #expect(FullScan.digest(of: record, ignoring: []) != FullScan.digest(of: viewed, ignoring: []))
        let flat: JSONValue = ["id": "p1", "title": "A", "viewCount": 3]
        #expect(FullScan.digest(of: flat, ignoring: ["viewCount"]) == FullScan.digest(of: ["id": "p1", "title": "A", "viewCount": 4], ignoring: ["viewCount"]))
        #expect(FullScan.hex(FullScan.digest(of: record, ignoring: [])).count == 16)
        #expect(FullScan.snapshot(from: FullScan.stored(["a": 1, "b": .max])) == ["a": 1, "b": .max])
    }

    /// Digests of snapshots stored by earlier versions must not change, or every record would
    /// look updated after an upgrade: they were SHA-256 over a copy of the record with the
    /// ignored fields removed, written as canonical JSON. The digest is now written without
    /// copying; this is the earlier way, kept as the reference.
    static func digestAsBefore(_ record: JSONValue, ignoring paths: [String]) -> UInt64 {
        func removing(_ path: [String], from value: JSONValue) -> JSONValue {
            guard let first = path.first, case .object(var members) = value else { return value }
            if path.count == 1 {
                members[first] = nil
            } else if let child = members[first] {
                members[first] = removing(Array(path.dropFirst()), from: child)
            }
            return .object(members)
        }
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
        return UInt64(FullScan.hex(FullScan.digest(of: reduced, ignoring: [])), radix: 16)!
    }

    @Test("digests are those of earlier versions, for every shape of record and ignored path")
    func digestsUnchanged() {
        let records: [JSONValue] = [
            ["id": "p1", "fields": ["title": "A", "viewCount": 3, "links": ["downloadUrl": "https://x/1?sig=a", "web": "https://x"], "tags": [["viewCount": 1]]]],
            ["id": "p2", "title": "flat", "viewCount": 3, "links": ["downloadUrl": "u"], "fields": "not an object"],
            ["id": 7, "fields": ["links": "a string, not an object", "nested": ["a": ["b": ["c": 1, "d": 2]]]]],
            ["id": "p4", "fields": [:], "é": ["a\u{308}": 1, "b": .null, "ü": 2.5]],
            ["id": "p5", "fields": ["viewCount": ["deep": 1], "x": .bool(true)]],
        ]
        let ignoredSets: [[String]] = [
            [], ["viewCount"], ["links.downloadUrl"], ["viewCount", "links.downloadUrl"], ["links", "links.downloadUrl"], ["links.downloadUrl", "links"],
            ["nested.a.b.c", "nested.a.b.d"], ["nested.a"], ["a..b", "", "viewCount.deep"], ["fields"], ["é.ü", "tags.viewCount"],
        ]
        for record in records {
            for ignored in ignoredSets {
                #expect(FullScan.digest(of: record, ignoring: ignored) == Self.digestAsBefore(record, ignoring: ignored), "\(record) without \(ignored)")
            }
        }
    }

    @Test("the first scan only builds the snapshot; later scans report created, updated or deleted, each to its own subscription")
    func diff() async throws {
        let scan = FullScan(ignoredFields: [], maxPages: 10)
        let before: [JSONValue] = [["id": "a", "n": 1], ["id": "b", "n": 1], ["id": "c", "n": 1]]
        let first = try await scan.run(previous: nil, wanted: .created, fetch: Self.page(before))
        #expect(first.changes.isEmpty)
        #expect(first.snapshot.count == 3)
        let after: [JSONValue] = [["id": "a", "n": 2], ["id": "b", "n": 1], ["id": "d", "n": 1]]
        let created = try await scan.run(previous: first.snapshot, wanted: .created, fetch: Self.page(after))
        let updated = try await scan.run(previous: first.snapshot, wanted: .updated, fetch: Self.page(after))
        let deleted = try await scan.run(previous: first.snapshot, wanted: .deleted, fetch: Self.page(after))
        #expect(created.changes.map(\.id) == ["d"])
        #expect(updated.changes.map(\.id) == ["a"])
        #expect(deleted.changes.map(\.id) == ["c"])
        #expect(deleted.changes.first?.record == ["id": "c"])
        #expect(created.snapshot == updated.snapshot)
    }

    @Test("a backfill reports every record as created on the first scan, to the created subscription only")
    func backfill() async throws {
        let records: [JSONValue] = [["id": "a"], ["id": "b"]]
        let created = try await FullScan(ignoredFields: [], maxPages: 10, backfill: true).run(previous: nil, wanted: .created, fetch: Self.page(records))
        let updated = try await FullScan(ignoredFields: [], maxPages: 10, backfill: true).run(previous: nil, wanted: .updated, fetch: Self.page(records))
        #expect(created.changes.map(\.id) == ["a", "b"])
        #expect(updated.changes.isEmpty)
    }

    @Test("a collection with more pages than one scan may read is refused, with what to do instead")
    func tooManyPages() async throws {
        let scan = FullScan(ignoredFields: [], maxPages: 3)
        await #expect(throws: FullScan.TooManyPages.self) {
            _ = try await scan.run(previous: nil, wanted: .created) { cursor in
                RecordPage(records: [["id": .string(cursor ?? "0")]], cursor: String((Int(cursor ?? "0") ?? 0) + 1))
            }
        }
    }

    @Test("a scan group's leader is its live member with the smallest id; a record without a group (an earlier version's) scans alone; the freshest snapshot is the last scanner's")
    func scanGroupLeader() throws {
        func member(_ id: String, _ change: RecordChangeType, _ status: SubscriptionRecord.Status, group: String? = "scan_g", scannedAt: Double? = nil) -> SubscriptionRecord {
            var config = SubscriptionRecord.Config()
            config.scanGroup = group
            var record = SubscriptionRecord(
                id: id, status: status, connectionId: "con_1", customerId: "acme", connectorKey: "tasks-api",
                target: .collection(collectionKey: "projects", collectionEvent: change), config: config, webhookToken: "",
                createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0))
            if let scannedAt { record.pullState = .init(lastFullSyncAt: Date(timeIntervalSince1970: scannedAt)); record.pullState?.snapshot = [:] }
            return record
        }
        var a = member("sub_a", .created, .archived, scannedAt: 30)
        a.archivedAt = Date(timeIntervalSince1970: 40)
        let b = member("sub_b", .updated, .active, scannedAt: 10)
        let c = member("sub_c", .deleted, .degraded)
        let other = member("sub_0", .created, .active, group: "scan_other")
        let all = [a, b, c, other]
        #expect(ScanGroup.members(of: c, among: all).map(\.id) == ["sub_a", "sub_b", "sub_c"])
        #expect(ScanGroup.leader(of: ScanGroup.members(of: c, among: all))?.id == "sub_b", "the archived one does not lead")
        #expect(ScanGroup.freshestSnapshot(among: ScanGroup.members(of: c, among: all))?.id == "sub_a", "the deleted leader's snapshot is the newest")
        // Deleted before any of today's members existed: an earlier group of the same name, never continued.
        var b2 = b
        b2.createdAt = Date(timeIntervalSince1970: 50)
        var c2 = c
        c2.createdAt = Date(timeIntervalSince1970: 60)
        #expect(ScanGroup.freshestSnapshot(among: ScanGroup.members(of: c2, among: [a, b2, c2]))?.id == "sub_b")
        #expect(ScanGroup.freshestSnapshot(among: ScanGroup.members(of: c2, among: [a, c2])) == nil)
        // Written before groups existed: no group, alone.
        let old = member("sub_old", .created, .active, group: nil)
        #expect(ScanGroup.members(of: old, among: all + [old]).map(\.id) == ["sub_old"])
        // Such a record, as an earlier version wrote it (no scanGroup member), reads as having none.
        var encoded = try #require(JSONValue(parsing: member("sub_b", .updated, .active).encoded()).objectValue)
        var config = try #require(encoded["config"]?.objectValue)
        config["scanGroup"] = nil
        encoded["config"] = .object(config)
        let decoded = try SubscriptionRecord.decoded(from: Data(JSONValue.object(encoded).jsonText.utf8))
        #expect(decoded.config.scanGroup == nil)
        #expect(ScanGroup.leader(of: ScanGroup.members(of: decoded, among: all))?.id == "sub_b")
    }
}
