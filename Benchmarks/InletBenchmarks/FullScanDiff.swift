// What a full scan costs beyond reading the collection, against a baseline measured in the same
// run: the same pages, served from memory through the same async page loop, only counted.
//
//   swift run -c release InletBenchmarks fullscan [records...]
//
// Per size: the first scan (builds the snapshot: a digest per record without ignored fields),
// a second scan after 1 % of the records changed (the diff), the baseline, and the memory the
// snapshot takes (resident set before and after it is built, so a rough figure); then the
// snapshot as chunks for `scan-snapshots` (encoded as a handler writes them, 256 KiB each, and
// read back into a snapshot as the next scan's owner does, without the broker in between).
import Foundation
import InletConnectors
import InletKafka
import InletPipeline
import Logging

func runFullScanDiff(sizes: [Int] = [25_000, 100_000, 1_000_000], pageSize: Int = 100) async throws {
    print("| records | read the pages (baseline) | first scan (snapshot) | second scan (diff, 1 % changed) | changes found | snapshot memory | chunks: write / read back (bytes) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    let store = ScanSnapshots(
        topics: InletTopics(), client: KafkaClientConfiguration(bootstrapServers: ["127.0.0.1:9"]), maxMessageBytes: 1_000_000, embeddedRetention: nil,
        logger: Logger(label: "bench"))
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
        let snapshot = second?.snapshot ?? [:]
        var chunks: [KafkaRecord] = []
        let writeSeconds = try await measureSeconds { chunks = try store.records(of: snapshot, subscriptionId: "sub-1", digest: "00000000000000aa") }
        var values: [Int: Data?] = [:]
        for (index, chunk) in chunks.enumerated() { values[index] = .some(chunk.value) }
        var loaded: FullScan.Snapshot = [:]
        let loadSeconds = try await measureSeconds {
            loaded = try ScanSnapshots.assemble(values, of: .init(digest: "00000000000000aa", chunks: chunks.count), subscriptionId: "sub-1")
        }
        guard loaded == snapshot else { throw BenchmarkFailure("the snapshot read back from its chunks differs") }
        let chunkBytes = chunks.reduce(0) { $0 + ($1.value?.count ?? 0) }
        print(String(format: "| %d | %.3f s | %.3f s | %.3f s | %d | %.0f MB (%.0f B per record) | %.3f s / %.3f s (%d chunks, %.0f MB) |",
                     size, readSeconds, firstSeconds, secondSeconds, found, Double(snapshotBytes) / 1e6, Double(snapshotBytes) / Double(size),
                     writeSeconds, loadSeconds, chunks.count, Double(chunkBytes) / 1e6))
    }
}

/// The process's resident set size in bytes (Linux `/proc/self/statm`), 0 where unknown.
private func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
