import Foundation
import InletConnectors
import InletJSON
import InletKafka
import Logging
import Testing

@testable import InletPipeline

/// Full-scan snapshots too large for their subscription record live in chunks on
/// `scan-snapshots` (docs/architecture.md, "A data collection pull").
@Suite("Full-scan snapshots in chunks", .timeLimit(.minutes(5)))
struct ScanSnapshotTests {
    let helpers = WebhookEndToEndTests()

    static func project(_ number: Int, _ title: String? = nil) -> (id: String, fields: JSONValue) {
        ("project-\(number)", ["title": .string(title ?? "Project \(number)")])
    }

    @Test("a snapshot on the record (the earlier format) is read and, grown too large, moves to scan-snapshots in chunks; a new owner reads them back, so each change comes once and nothing floods; replaced and archived chunks get tombstones; a lost chunk is said, not silent")
    func chunkedSnapshot() async throws {
        // 20,000-byte messages: a subscription record holds at most 18,000 bytes of snapshot,
        // so 1,000 projects (about 33 KB) go to chunks of at most 5,000 bytes.
        let pipeline = try TestPipeline(workspace: try CollectionPullTests.workspace()) { settings in
            settings.client.additionalProperties["message.max.bytes"] = "20000"
        }
        pipeline.stub.projectPageSize.withLock { $0 = 250 }
        pipeline.stub.projects.withLock { $0 = (1...100).map { Self.project($0) } }
        let reader = KafkaSnapshotReader(client: pipeline.harness.client, logger: pipeline.harness.logger)
        let topics = pipeline.harness.topics
        @Sendable func chunked(_ id: String) async throws -> SubscriptionRecord.PullState? {
            try await pipeline.harness.subscriptions.sync()
            return pipeline.harness.subscriptions[id]?.pullState
        }
        /// The last value of every key on scan-snapshots (nil: a tombstone).
        @Sendable func chunkKeys() async throws -> [String: Data?] {
            var last: [String: Data?] = [:]
            for message in try await reader.read(topic: topics.scanSnapshots, partitions: Array(0..<Int32(topics.partitions))) {
                if let key = message.keyString { last[key] = .some(message.value) }
            }
            return last
        }
        try await pipeline.run { client in
            let (_, connection) = try await helpers.admin(client, .post, "/api/v1/connections", ["connectorKey": "tasks-api", "customerId": "acme", "credentials": [:]])
            let request: JSONValue = [
                "connectionId": .string(try #require(connection["id"]?.stringValue)), "collectionKey": "projects", "collectionEvents": ["created", "updated", "deleted"],
            ]
            var (status, answer) = try await helpers.admin(client, .post, "/api/v1/subscriptions", request)
            for _ in 0..<60 where status == .accepted {
                try await Task.sleep(for: .seconds(1))
                (status, answer) = try await helpers.admin(client, .post, "/api/v1/subscriptions", request)
            }
            let ids = try (answer["subscriptions"]?.arrayValue ?? []).map { try #require($0["id"]?.stringValue) }
            try #require(ids.count == 3, "\(answer)")
            // The three share one scan: the member with the smallest id keeps the snapshot, the
            // others none. 100 projects fit on the record, as every snapshot did before chunks existed.
            let leader = try #require(ids.min())
            try await eventually(timeout: .seconds(60)) { try await chunked(leader)?.snapshot?.count == 100 }
            #expect(try await chunked(leader)?.snapshotChunks == nil)
            for id in ids where id != leader {
                try await eventually(timeout: .seconds(60)) { try await chunked(id).map { $0.lastPull?.scannedBy == leader && !$0.hasSnapshot } == true }
            }
            pipeline.stub.projects.withLock { $0 = (1...1000).map { Self.project($0) } }
            var first: [String: SubscriptionRecord.ChunkedSnapshot] = [:]
            for id in [leader] {
                try await eventually(timeout: .seconds(60)) { try await chunked(id)?.snapshotChunks != nil }
                let progress = try #require(try await chunked(id))
                #expect(progress.snapshot == nil, "the snapshot is not on the record")
                let chunks = try #require(progress.snapshotChunks)
                #expect(chunks >= 4)
                first[id] = .init(digest: try #require(progress.snapshotDigest), chunks: chunks)
            }
            let keys = try await chunkKeys()
            for (id, snapshot) in first {
                for index in 0..<snapshot.chunks {
                    let key = ScanSnapshotChunk.key(subscriptionId: id, snapshot: snapshot.digest, chunk: index)
                    let value = try #require(keys[key] ?? nil, "chunk \(key)")
                    #expect(value.count <= 5000)
                    #expect(try ScanSnapshotChunk.decoded(from: value).chunks == snapshot.chunks)
                }
            }
            // Compared with the snapshot on the record: the 900 new projects, once each.
            try await eventually(timeout: .seconds(60)) { pipeline.events.withLock { $0.count } >= 900 }
            try await Task.sleep(for: .seconds(2))
            let grown = pipeline.events.withLock { $0 }
            #expect(grown.count == 900)
            #expect(Set(grown.map(\.data.recordId)) == Set((101...1000).map { "project-\($0)" }))
            #expect(grown.allSatisfy { $0.type.hasSuffix(".created") })
            pipeline.events.withLock { $0.removeAll() }

            // A new owner: it has only the chunks on the broker to compare with.
            await pipeline.stopHandlers()
            pipeline.stub.projects.withLock { projects in
                projects[4] = Self.project(5, "Five, renamed")
                projects.remove(at: 6)
                projects.append(Self.project(1001))
            }
            pipeline.startHandler()
            try await eventually(timeout: .seconds(90)) { pipeline.events.withLock { $0.count } >= 3 }
            try await Task.sleep(for: .seconds(3))
            let seen = pipeline.events.withLock { $0 }.map { "\($0.data.recordId) \($0.type.split(separator: ".").last ?? "")" }
            #expect(seen.sorted() == ["project-1001 created", "project-5 updated", "project-7 deleted"])

            // The scan after the change replaced each snapshot; the pull after it removes the old chunks.
            try await eventually(timeout: .seconds(60)) {
                let keys = try await chunkKeys()
                return first.allSatisfy { id, snapshot in
                    (0..<snapshot.chunks).allSatisfy { keys[ScanSnapshotChunk.key(subscriptionId: id, snapshot: snapshot.digest, chunk: $0)] == .some(nil) }
                }
            }

            // A chunk gone from the broker: the next scan rebuilds the snapshot and says that it did.
            let created = leader
            let current = try #require(try await chunked(created))
            let digest = try #require(current.snapshotDigest)
            try #require(current.snapshotChunks != nil)
            try await pipeline.harness.producer.send(KafkaRecord(
                topic: topics.scanSnapshots, key: ScanSnapshotChunk.key(subscriptionId: created, snapshot: digest, chunk: 0), value: nil,
                partition: KafkaPartitioner.partition(forKey: created, partitions: topics.partitions)))
            try await eventually(timeout: .seconds(60)) {
                try await pipeline.harness.subscriptions.sync()
                return pipeline.harness.subscriptions[created]?.error?.code == "snapshot-lost"
            }
            #expect(pipeline.harness.subscriptions[created]?.status == .degraded)
            try await eventually(timeout: .seconds(60)) {
                try await pipeline.harness.subscriptions.sync()
                return pipeline.harness.subscriptions[created]?.status == .active
            }
            #expect(pipeline.events.withLock { $0.count } == 3, "a rebuilt snapshot floods nothing")

            // Archived: it leaves its chunks to the next leader, which continues from them (no
            // flood, no lost snapshot) and, once it has its own, removes them; then archived alone,
            // none of its chunks is left.
            let (deleted, _) = try await helpers.admin(client, .delete, "/api/v1/subscriptions/\(created)")
            #expect(deleted == .accepted || deleted == .ok || deleted == .noContent)
            let next = try #require(ids.filter { $0 != leader }.min())
            try await eventually(timeout: .seconds(60)) { try await chunked(next)?.snapshotChunks != nil }
            try await eventually(timeout: .seconds(60)) {
                let keys = try await chunkKeys()
                return keys.filter { $0.key.hasPrefix(created + "/") }.allSatisfy { $0.value == nil }
            }
            #expect(pipeline.harness.subscriptions[next]?.error == nil)
            #expect(pipeline.events.withLock { $0.count } == 3, "the next leader compared with the snapshot it was left")
            // The other member first, then the leader, which, last, removes its chunks.
            for id in ids.filter({ $0 != leader }).sorted(by: >) {
                let (gone, _) = try await helpers.admin(client, .delete, "/api/v1/subscriptions/\(id)")
                #expect(gone == .accepted || gone == .ok || gone == .noContent)
            }
            try await eventually(timeout: .seconds(60)) {
                let keys = try await chunkKeys()
                return keys.filter { $0.key.hasPrefix(next + "/") }.allSatisfy { $0.value == nil }
            }
        }
    }

    @Test("chunks cover the snapshot exactly, each within its size, on the subscription's partition; the snapshot's name does not depend on order; the embedded broker refuses what it would not keep")
    func chunking() throws {
        let topics = InletTopics(prefix: "x.", partitions: 8)
        let client = KafkaClientConfiguration(bootstrapServers: ["127.0.0.1:1"])
        let store = ScanSnapshots(topics: topics, client: client, maxMessageBytes: 20_000, embeddedRetention: nil, logger: Logger(label: "test"))
        var snapshot = FullScan.Snapshot()
        for number in 0..<3000 { snapshot["record-\(number)-\(String(repeating: "é", count: number % 7))"] = UInt64(number) &* 0x9E37_79B9_7F4A_7C15 }
        let records = try store.records(of: snapshot, subscriptionId: "sub-1", digest: "00000000000000aa")
        #expect(records.count > 10)
        var seen = FullScan.Snapshot()
        for (index, record) in records.enumerated() {
            let value = try #require(record.value)
            #expect(value.count <= 5000)
            #expect(record.topic == "x.scan-snapshots")
            #expect(record.partition == KafkaPartitioner.partition(forKey: "sub-1", partitions: 8))
            let chunk = try ScanSnapshotChunk.decoded(from: value)
            #expect(record.key == Data("sub-1/00000000000000aa/\(index)".utf8))
            #expect(chunk.chunk == index && chunk.chunks == records.count)
            for (id, digest) in chunk.entries { seen[id] = UInt64(digest, radix: 16) }
        }
        #expect(seen == snapshot)

        let reordered = FullScan.Snapshot(uniqueKeysWithValues: snapshot.sorted { $0.key > $1.key })
        #expect(FullScan.generation(of: reordered) == FullScan.generation(of: snapshot))
        var changed = snapshot
        changed["record-1-é"] = 7
        #expect(FullScan.generation(of: changed) != FullScan.generation(of: snapshot))
        changed = snapshot
        changed["record-3001"] = 0
        #expect(FullScan.generation(of: changed) != FullScan.generation(of: snapshot))

        let tombstones = store.tombstones(of: .init(digest: "00000000000000aa", chunks: records.count), subscriptionId: "sub-1")
        #expect(tombstones.map(\.key) == records.map(\.key))
        #expect(tombstones.allSatisfy { $0.value == nil && $0.partition == records[0].partition })

        let embedded = ScanSnapshots(topics: topics, client: client, maxMessageBytes: 1_000_000, embeddedRetention: .embeddedBroker, logger: Logger(label: "test"))
        var huge = FullScan.Snapshot()
        for number in 0..<50_000 { huge["r\(number)"] = UInt64(number) }
        #expect(throws: ScanSnapshots.TooLargeForEmbeddedBroker.self) { try embedded.records(of: huge, subscriptionId: "sub-1", digest: "00000000000000bb") }
        #expect(try embedded.records(of: snapshot, subscriptionId: "sub-1", digest: "00000000000000cc").count == 1)
    }
}
