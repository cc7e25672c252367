import Foundation
import InletConnectors
import InletJSON
@testable import InletPipeline
import Testing

/// The high-water mark rules of pull-latest-records, against pages served from memory.
@Suite("pull-latest-records: the high-water mark")
struct LatestRecordsPullTests {
    /// Pages of `size` over `records` (already newest first); cursors are page numbers.
    final class Pages: @unchecked Sendable {
        // @unchecked: only used from one task at a time within a test.
        var records: [JSONValue]
        let size: Int
        var fetched: [String?] = []

        init(_ records: [JSONValue], size: Int = 2) {
            self.records = records
            self.size = size
        }

        func fetch(_ cursor: String?) -> RecordPage {
            fetched.append(cursor)
            let page = Int(cursor ?? "0") ?? 0
            let slice = Array(records.dropFirst(page * size).prefix(size))
            let more = (page + 1) * size < records.count
            return RecordPage(records: slice, cursor: more ? String(page + 1) : nil)
        }
    }

    static func record(_ id: String, created: String, updated: String? = nil) -> JSONValue {
        ["id": .string(id), "createdTime": .string(created), "updatedTime": .string(updated ?? created)]
    }

    @Test("the first run only sets the mark, from the first page; the next emits what is newer, page by page, and stops at the mark")
    func firstRunSetsTheMark() async throws {
        let pull = LatestRecordsPull(change: .created, maxPages: 10)
        let pages = Pages([Self.record("3", created: "2026-11-27T10:03:00Z"), Self.record("2", created: "2026-11-27T10:02:00Z"),
                           Self.record("1", created: "2026-11-27T10:01:00Z")])
        let first = try await pull.run(mark: nil, resume: nil) { pages.fetch($0) }
        #expect(first.events.isEmpty)
        #expect(first.pages == 1)
        #expect(first.mark?.ids == ["3"])

        pages.records.insert(contentsOf: [Self.record("6", created: "2026-11-27T10:06:00Z"), Self.record("5", created: "2026-11-27T10:05:00Z"),
                                          Self.record("4", created: "2026-11-27T10:04:00Z")], at: 0)
        pages.fetched = []
        let second = try await pull.run(mark: first.mark, resume: nil) { pages.fetch($0) }
        #expect(second.events.map(\.id) == ["6", "5", "4"])
        #expect(pages.fetched == [nil, "1", "2"], "past record 3 (the mark) only until a strictly older one: records at the mark's time may follow")
        #expect(second.mark?.ids == ["6"])

        let third = try await pull.run(mark: second.mark, resume: nil) { pages.fetch($0) }
        #expect(third.events.isEmpty, "nothing new, nothing repeated")
    }

    @Test("records at exactly the mark's time: the ones already emitted are not repeated, the ones not yet seen are emitted")
    func equalTimestamps() async throws {
        let pull = LatestRecordsPull(change: .created, maxPages: 10)
        let same = "2026-11-27T10:00:00.500Z"
        let pages = Pages([Self.record("a", created: same)])
        let first = try await pull.run(mark: nil, resume: nil) { pages.fetch($0) }
        #expect(first.mark == .init(timestamp: 1_795_773_600_500, ids: ["a"]))
        // Two more arrive with the very same time (the API lists them before "a").
        pages.records.insert(contentsOf: [Self.record("c", created: same), Self.record("b", created: same)], at: 0)
        let second = try await pull.run(mark: first.mark, resume: nil) { pages.fetch($0) }
        #expect(second.events.map(\.id) == ["c", "b"])
        #expect(Set(second.mark?.ids ?? []) == ["a", "b", "c"])
        let third = try await pull.run(mark: second.mark, resume: nil) { pages.fetch($0) }
        #expect(third.events.isEmpty)
    }

    @Test("updated: a record whose updatedTime is its createdTime was created, not updated")
    func updatedSkipsCreations() async throws {
        let pull = LatestRecordsPull(change: .updated, maxPages: 10)
        let pages = Pages([Self.record("1", created: "2026-11-27T09:00:00Z", updated: "2026-11-27T10:00:00Z")])
        let first = try await pull.run(mark: nil, resume: nil) { pages.fetch($0) }
        pages.records.insert(contentsOf: [Self.record("2", created: "2026-11-27T10:02:00Z"),
                                          Self.record("1", created: "2026-11-27T09:00:00Z", updated: "2026-11-27T10:01:00Z")], at: 0)
        let second = try await pull.run(mark: first.mark, resume: nil) { pages.fetch($0) }
        #expect(second.events.map(\.id) == ["1"])
        #expect(second.mark?.ids == ["2"], "the creation still moves the mark")
    }

    @Test("a run stopped by its page limit resumes at the next page and only then moves the mark; nothing is skipped or repeated")
    func pageLimitResumes() async throws {
        let pull = LatestRecordsPull(change: .created, maxPages: 2)
        let pages = Pages([Self.record("0", created: "2026-11-27T10:00:00Z")])
        let first = try await pull.run(mark: nil, resume: nil) { pages.fetch($0) }
        let backlog = (1...7).reversed().map { Self.record(String($0), created: String(format: "2026-11-27T10:%02d:00Z", $0)) }
        pages.records.insert(contentsOf: backlog, at: 0)

        let second = try await pull.run(mark: first.mark, resume: nil) { pages.fetch($0) }
        #expect(second.events.map(\.id) == ["7", "6", "5", "4"])
        let resume = try #require(second.resume)
        #expect(resume.cursor == "2")
        #expect(second.mark == first.mark, "the mark waits until the backlog is through")

        let third = try await pull.run(mark: second.mark, resume: resume) { pages.fetch($0) }
        #expect(third.events.map(\.id) == ["3", "2", "1"])
        #expect(third.resume == nil)
        #expect(third.mark?.ids == ["7"])
    }

    @Test("records without an id or a usable time are skipped and reported; times may be epoch seconds or milliseconds")
    func skipsUnusableRecords() async throws {
        let pull = LatestRecordsPull(change: .created, maxPages: 10)
        let pages = Pages([["id": "old", "createdTime": 1_764_237_600]], size: 10)
        let first = try await pull.run(mark: nil, resume: nil) { pages.fetch($0) }
        #expect(first.mark?.timestamp == 1_764_237_600_000)
        pages.records.insert(contentsOf: [["id": "new", "createdTime": 1_764_237_700_000], ["createdTime": 1_764_237_650_000],
                                          ["id": "bad", "createdTime": "yesterday"]], at: 0)
        let second = try await pull.run(mark: first.mark, resume: nil) { pages.fetch($0) }
        #expect(second.events.map(\.id) == ["new"])
        #expect(second.skipped.count == 2)
        #expect(second.skipped.contains { $0.contains("bad") })
    }

    @Test("a backfill emits every record that exists on its first run, across runs when long, then continues from the mark")
    func backfill() async throws {
        let pull = LatestRecordsPull(change: .created, maxPages: 2, backfill: true)
        let pages = Pages((1...5).reversed().map { Self.record(String($0), created: String(format: "2026-11-27T10:%02d:00Z", $0)) })
        let first = try await pull.run(mark: nil, resume: nil) { pages.fetch($0) }
        #expect(first.events.map(\.id) == ["5", "4", "3", "2"])
        #expect(first.mark == nil)
        let second = try await pull.run(mark: first.mark, resume: first.resume) { pages.fetch($0) }
        #expect(second.events.map(\.id) == ["1"])
        #expect(second.mark?.ids == ["5"])
        let third = try await pull.run(mark: second.mark, resume: second.resume) { pages.fetch($0) }
        #expect(third.events.isEmpty)
    }

    @Test("a first pull that finds nothing still sets a mark: the first records that appear afterwards are emitted")
    func emptyFirstPull() async throws {
        let pull = LatestRecordsPull(change: .deleted, maxPages: 10)
        let pages = Pages([])
        let first = try await pull.run(mark: nil, resume: nil) { pages.fetch($0) }
        #expect(first.mark != nil)
        pages.records = [["id": "x", "deletedTime": "2026-11-27T10:00:00Z"]]
        let second = try await pull.run(mark: first.mark, resume: nil) { pages.fetch($0) }
        #expect(second.events.map(\.id) == ["x"])
    }

    @Test("records at the mark's time on the next page are still read: only a strictly older record ends the run")
    func tiesAcrossPages() async throws {
        let pull = LatestRecordsPull(change: .created, maxPages: 10)
        let same = "2026-11-27T10:00:00Z"
        let mark = try #require(try await pull.run(mark: nil, resume: nil) { _ in RecordPage(records: [Self.record("a", created: same)], cursor: nil) }.mark)
        // The API now lists a and b (same second) on two pages of one.
        let pages = Pages([Self.record("a", created: same), Self.record("b", created: same), Self.record("z", created: "2026-11-27T09:00:00Z")], size: 1)
        let next = try await pull.run(mark: mark, resume: nil) { pages.fetch($0) }
        #expect(next.events.map(\.id) == ["b"])
        #expect(Set(next.mark?.ids ?? []) == ["a", "b"])
    }
}
