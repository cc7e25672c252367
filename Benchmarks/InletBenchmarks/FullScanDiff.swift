// What a full scan costs beyond reading the collection, against a baseline measured in the same
// run: the same pages, served from memory through the same async page loop, only counted.
//
//   swift run -c release InletBenchmarks fullscan [records...]
//
// Per size: the first scan (builds the snapshot: a digest per record without ignored fields),
// a second scan after 1 % of the records changed (the diff), the baseline, and the memory the
// snapshot takes (resident set before and after it is built, so a rough figure).
import Foundation
import InletConnectors
import InletPipeline

func runFullScanDiff(sizes: [Int] = [25_000, 100_000, 1_000_000], pageSize: Int = 100) async throws {
    print("| records | read the pages (baseline) | first scan (snapshot) | second scan (diff, 1 % changed) | changes found | snapshot memory |")
    print("| --- | --- | --- | --- | --- | --- |")
    for size in sizes {
        var records = (0..<size).map { index -> JSONValue in
            ["id": .string("rec-\(index)"), "name": .string("Record \(index)"),
             "fields": ["title": .string("Title \(index)"), "viewCount": .integer(Int64(index % 97)), "owner": .string("user-\(index % 1000)")]]
        }
        @Sendable func pages(_ records: [JSONValue]) -> (String?) async throws -> RecordPage {
            { cursor in
                let page = Int(cursor ?? "0") ?? 0
                let slice = Array(records[min(records.count, page * pageSize)..<min(records.count, (page + 1) * pageSize)])
                return RecordPage(records: slice, cursor: (page + 1) * pageSize < records.count ? String(page + 1) : nil)
            }
        }
        let scan = FullScan(ignoredFields: ["viewCount"], maxPages: size / pageSize + 1)
        var counted = 0
        let readSeconds = try await measureSeconds {
            let fetch = pages(records)
            var cursor: String?
            repeat {
                let page = try await fetch(cursor)
                counted += page.records.count
                cursor = page.cursor
            } while cursor != nil
        }
        guard counted == size else { throw BenchmarkFailure("read \(counted) of \(size) records") }
        let before = residentBytes()
        var first: FullScan.Outcome?
        let firstSeconds = try await measureSeconds { first = try await scan.run(previous: nil, wanted: .updated, fetch: pages(records)) }
        let snapshotBytes = residentBytes() - before
        for index in stride(from: 0, to: size, by: 100) {
            records[index] = ["id": .string("rec-\(index)"), "name": .string("Renamed \(index)"), "fields": ["title": .string("Renamed \(index)")]]
        }
        var second: FullScan.Outcome?
        let secondSeconds = try await measureSeconds { second = try await scan.run(previous: first?.snapshot, wanted: .updated, fetch: pages(records)) }
        let found = second?.changes.count ?? 0
        guard found == size / 100 else { throw BenchmarkFailure("found \(found) changes, expected \(size / 100)") }
        print(String(format: "| %d | %.3f s | %.3f s | %.3f s | %d | %.0f MB (%.0f B per record) |",
                     size, readSeconds, firstSeconds, secondSeconds, found, Double(snapshotBytes) / 1e6, Double(snapshotBytes) / Double(size)))
    }
}

/// The process's resident set size in bytes (Linux `/proc/self/statm`), 0 where unknown.
private func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
