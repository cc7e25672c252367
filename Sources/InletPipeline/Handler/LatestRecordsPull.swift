import Foundation
import InletConnectors

/// One run of the pull-latest-records strategy (seed 004): `pullLatestRecords` page by page,
/// newest first, while pages still hold records the high-water mark has not covered.
///
/// The mark is the newest timestamp emitted plus the ids of the records at exactly that
/// time, so records sharing a timestamp are neither lost nor repeated across pulls and pages:
/// a record is new when it is newer than the mark, or at the mark and not one of its ids.
///
/// Which timestamp counts depends on the event subscribed to: `createdTime` for `created`,
/// `updatedTime` for `updated` (a record whose `updatedTime` equals its `createdTime` was
/// created, not updated: it moves the mark but is no `updated` event), `deletedTime` for
/// `deleted`. The connector returns records newest first by that field.
///
/// The first run (no mark) only sets the mark from the first page: subscribing does not
/// flood the stream with the collection's history. A run stops after `maxPages`; it then
/// returns a ``Resume`` (the next page's cursor and the mark it will reach), and the next run
/// continues from there before the mark moves, so a long backlog is emitted across runs with
/// nothing skipped.
struct LatestRecordsPull {
    typealias Mark = SubscriptionRecord.HighWaterMark

    /// Where an interrupted run continues.
    struct Resume: Codable, Sendable, Hashable {
        /// The cursor of the next page.
        var cursor: String
        /// The mark to set once the run reaches records the old mark covers.
        var mark: Mark
    }

    /// A record to emit.
    struct Found: Sendable {
        var record: JSONValue
        var id: String
        var timestamp: Int64
    }

    struct Outcome: Sendable {
        var events: [Found]
        /// The mark after this run (unchanged while a ``resume`` is pending).
        var mark: Mark?
        var resume: Resume?
        var pages: Int
        var records: Int
        /// Records without a usable id or timestamp (skipped, with the reason).
        var skipped: [String]
    }

    let change: RecordChangeType
    let maxPages: Int
    /// The first run emits the records that exist (as far back as the API lists them), over
    /// as many runs as it takes, instead of only setting the mark.
    var backfill = false

    /// The record field whose time decides newness.
    var timeField: String {
        switch change {
        case .created: "createdTime"
        case .updated: "updatedTime"
        case .deleted: "deletedTime"
        }
    }

    /// Runs the strategy; `fetch` returns the page at a cursor (`nil`: the first page).
    func run(mark: Mark?, resume: Resume?, fetch: (String?) async throws -> RecordPage) async throws -> Outcome {
        var outcome = Outcome(events: [], mark: mark, resume: nil, pages: 0, records: 0, skipped: [])
        var cursor = resume?.cursor
        // The mark this run reaches: the resumed one, or the newest record seen.
        var reached = resume?.mark
        var done = false
        while !done {
            let page = try await fetch(cursor)
            outcome.pages += 1
            outcome.records += page.records.count
            for record in page.records {
                guard let id = Self.id(of: record) else {
                    outcome.skipped.append("a record without an id")
                    continue
                }
                guard let timestamp = Self.milliseconds(record[timeField]) else {
                    outcome.skipped.append("record \(id) has no \(timeField) (an ISO 8601 time or epoch milliseconds)")
                    continue
                }
                reached = Self.advance(reached, timestamp: timestamp, id: id)
                if let mark {
                    // Newest first: everything after an older record is covered by the mark.
                    // Records at exactly its time may still follow (on the next page too).
                    if timestamp < mark.timestamp {
                        done = true
                        continue
                    }
                    if timestamp == mark.timestamp && mark.ids.contains(id) { continue }
                } else if !backfill {
                    continue
                }
                if change == .updated, let created = Self.milliseconds(record["createdTime"]), created == timestamp { continue }
                outcome.events.append(Found(record: record, id: id, timestamp: timestamp))
            }
            // The first run only sets the mark, from the first page (unless it backfills).
            if mark == nil && !backfill { done = true }
            guard !done, let next = page.cursor else { break }
            if outcome.pages >= maxPages {
                outcome.resume = reached.map { Resume(cursor: next, mark: $0) }
                return outcome
            }
            cursor = next
        }
        if let reached {
            outcome.mark = Self.merged(mark, reached)
        } else if mark == nil {
            // Nothing there yet: everything that appears from now on is new.
            outcome.mark = Mark(timestamp: .min, ids: [])
        }
        return outcome
    }

    /// `mark` moved to `timestamp` when that is newer, with `id` added when it is at the mark.
    static func advance(_ mark: Mark?, timestamp: Int64, id: String) -> Mark {
        guard var mark, timestamp <= mark.timestamp else { return Mark(timestamp: timestamp, ids: [id]) }
        if timestamp == mark.timestamp, !mark.ids.contains(id) { mark.ids.append(id) }
        return mark
    }

    /// The newer of two marks; at equal times, the union of their ids.
    static func merged(_ old: Mark?, _ new: Mark) -> Mark {
        guard let old else { return new }
        if old.timestamp > new.timestamp { return old }
        if old.timestamp < new.timestamp { return new }
        return Mark(timestamp: old.timestamp, ids: old.ids + new.ids.filter { !old.ids.contains($0) })
    }

    /// The record's id as events carry it (``RecordEvent/recordId(of:)``); an empty one is none.
    static func id(of record: JSONValue) -> String? {
        RecordEvent.recordId(of: record).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Epoch milliseconds from an ISO 8601 text (fractional seconds allowed) or a number
    /// (seconds below 10^11, milliseconds above).
    static func milliseconds(_ value: JSONValue?) -> Int64? {
        switch value {
        case .string(let text)?:
            if let date = try? Date(text, strategy: .iso8601) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
                return Int64((date.timeIntervalSince1970 * 1000).rounded())
            }
            return nil
        case .integer(let number)?: return number < 100_000_000_000 ? number * 1000 : number
        case .number(let number)?: return number < 100_000_000_000 ? Int64(number * 1000) : Int64(number)
        default: return nil
        }
    }
}
