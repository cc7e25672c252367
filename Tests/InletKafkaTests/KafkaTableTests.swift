import Foundation
import InletKafka
import Synchronization
import Testing

@Suite("Table reader")
struct KafkaTableTests {
    @Test("the table converges to the latest value per key after updates and tombstones, and keeps following")
    func converges() async throws {
        let test = try TestCluster()
        defer { test.cluster.stop() }
        let topic = try test.topic("table", partitions: 3)
        let producer = try KafkaProducer(configuration: test.producerConfiguration, logger: test.logger)
        // History before the table starts: versions 0...4 of 20 keys, then keys 0..<5 deleted.
        for version in 0..<5 {
            try await producer.sendAll((0..<20).map { KafkaRecord(topic: topic, key: "key-\($0)", value: Data("v\(version)".utf8)) })
        }
        try await producer.sendAll((0..<5).map { KafkaRecord(topic: topic, key: "key-\($0)", value: nil) })
        try await producer.send(KafkaRecord(topic: topic, key: "key-19", value: Data("not-a-number".utf8)))

        let changes = Mutex(0)
        let table = KafkaTable<String>(
            topic: topic, configuration: test.client, logger: test.logger,
            onChange: { _, _ in changes.withLock { $0 += 1 } },
            decode: { data in
                let text = String(decoding: data, as: UTF8.self)
                guard text.hasPrefix("v") else { throw CocoaError(.coderReadCorrupt) }
                return text
            }
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await table.run() }
            try await table.waitUntilCaughtUp()
            let loaded = table.snapshot()
            #expect(loaded.count == 15)
            #expect(loaded["key-0"] == nil)
            #expect(loaded["key-7"] == "v4")
            #expect(loaded["key-19"] == "v4", "an undecodable value keeps the previous one")

            // Live updates after the initial load.
            try await producer.send(KafkaRecord(topic: topic, key: "key-7", value: nil))
            try await producer.send(KafkaRecord(topic: topic, key: "key-new", value: Data("v9".utf8)))
            try await eventually("live updates applied") { table["key-7"] == nil && table["key-new"] == "v9" }
            #expect(table.snapshot().count == 15)
            tasks.cancelAll()
        }
        let expectedChanges = 20 * 5 + 5 + 2
        #expect(changes.withLock { $0 } == expectedChanges)
        await producer.shutdown()
    }

    @Test("an empty topic is caught up at once")
    func emptyTopic() async throws {
        let test = try TestCluster()
        defer { test.cluster.stop() }
        let topic = try test.topic("empty", partitions: 2)
        let table = KafkaTable<Data>(topic: topic, configuration: test.client, logger: test.logger) { $0 }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await table.run() }
            try await table.waitUntilCaughtUp()
            #expect(table.snapshot().isEmpty)
            tasks.cancelAll()
        }
    }

    @Test("sync returns once everything written before it is applied, with a partition left empty")
    func syncSeesEarlierWrites() async throws {
        let test = try TestCluster()
        defer { test.cluster.stop() }
        let topic = try test.topic("table-sync", partitions: 3)
        let producer = try KafkaProducer(configuration: test.producerConfiguration, logger: test.logger)
        let first = (0..<10).map { KafkaRecord(topic: topic, key: "key-\($0)", value: Data("a".utf8), partition: Int32($0 % 2)) }
        try await producer.sendAll(first)
        let table = KafkaTable<String>(topic: topic, configuration: test.client, logger: test.logger) { String(decoding: $0, as: UTF8.self) }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await table.run() }
            try await table.waitUntilCaughtUp()
            #expect(table.snapshot().count == 10)

            let second = (0..<10).map { KafkaRecord(topic: topic, key: "key-\($0)", value: Data("b".utf8), partition: Int32($0 % 2)) }
            try await producer.sendAll(second)
            try await table.sync(timeout: .seconds(30))
            #expect(table.snapshot() == Dictionary(uniqueKeysWithValues: (0..<10).map { ("key-\($0)", "b") }))
            tasks.cancelAll()
        }
        await producer.shutdown()
    }

    @Test("a missing topic fails with an error that says to create it")
    func missingTopic() async throws {
        let test = try TestCluster()
        defer { test.cluster.stop() }
        let table = KafkaTable<Data>(topic: "no-such-topic-\(UUID())", configuration: test.client, logger: test.logger) { $0 }
        let error = await #expect(throws: KafkaError.self) { try await table.run() }
        #expect(error?.message.contains("does not exist") == true)
    }
}

@Suite("Tables on a broker that trims by size")
struct TableRepublishingTests {
    func read(_ log: inout TableLog, _ key: String, _ value: String?, at offset: Int64, origin: Int64? = nil) -> TableLog.Verdict {
        let headers = origin.map { [KafkaHeader(name: TableLog.originHeader, string: String($0))] } ?? []
        return log.read(key: key, value: value.map { Data($0.utf8) }, headers: headers, partition: 0, offset: offset)
    }

    @Test("a copy that raced with a newer write is ignored, a copy of the current value changes nothing, and a late reader takes copies in any order")
    func originRule() {
        var early = TableLog(keepsCopies: false)
        #expect(read(&early, "sub-1", "v1", at: 10) == .apply)
        #expect(read(&early, "sub-1", "v2", at: 50) == .apply)
        #expect(read(&early, "sub-1", "v1", at: 60, origin: 10) == .stale, "a copy of v1 written after v2")
        #expect(read(&early, "sub-1", "v2", at: 90, origin: 50) == .copy)

        // A reader that starts after offsets 10 and 50 were trimmed sees only the copies.
        var late = TableLog(keepsCopies: false)
        #expect(read(&late, "sub-1", "v1", at: 60, origin: 10) == .apply)
        #expect(read(&late, "sub-1", "v2", at: 90, origin: 50) == .apply, "the copy of the newer write wins")
    }

    @Test("a copied tombstone keeps a stale copy from bringing a deleted key back")
    func tombstones() {
        var late = TableLog(keepsCopies: false)
        #expect(read(&late, "conn-1", nil, at: 40, origin: 20) == .apply)
        #expect(read(&late, "conn-1", "v1", at: 30 + 20, origin: 10) == .stale)
    }

    @Test("copies are due once enough bytes or messages follow a key's latest copy, on the partition of the original")
    func copiesDue() {
        var log = TableLog(keepsCopies: true)
        _ = log.read(key: "a", value: Data(count: 100), headers: [], partition: 3, offset: 7)
        #expect(log.copiesDue(topic: "t", afterBytes: 1000, afterMessages: 100).isEmpty)
        for offset in 8..<18 { _ = log.read(key: "b", value: Data(count: 100), headers: [], partition: 3, offset: Int64(offset)) }
        let due = log.copiesDue(topic: "t", afterBytes: 1000, afterMessages: 100)
        #expect(due.map { $0.key.map { String(decoding: $0, as: UTF8.self) } } == ["a"], "b's latest copy is recent")
        #expect(due.first?.partition == 3)
        #expect(due.first?.headers == [KafkaHeader(name: TableLog.originHeader, string: "7")])
        #expect(due.first?.value == Data(count: 100))
        #expect(log.copiesDue(topic: "t", afterBytes: .max, afterMessages: 5).map { $0.key.map { String(decoding: $0, as: UTF8.self) } } == ["a"])
    }

    @Test("a key written once survives twice the broker's retention of later writes, and a reader started afterwards finds it")
    func survivesTrimming() async throws {
        let test = try TestCluster()
        defer { test.cluster.stop() }
        let topic = try test.topic("table", partitions: 1)
        let producer = try KafkaProducer(configuration: test.producerConfiguration, logger: test.logger)
        try await producer.send(KafkaRecord(topic: topic, key: "sub-1", value: Data("first".utf8)))
        let table = KafkaTable<String>(topic: topic, configuration: test.client, logger: test.logger, keepsCopies: true) { String(decoding: $0, as: UTF8.self) }
        let republisher = TableRepublisher(table: table, client: test.client, retention: .embeddedBroker, interval: .milliseconds(50), logger: test.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await table.run(republishing: republisher) }
            try await table.waitUntilCaughtUp()
            // 11 MB of updates to one other key, in slices the republisher keeps up with.
            for slice in 0..<110 {
                try await producer.sendAll((0..<10).map { KafkaRecord(topic: topic, key: "busy", value: Data(repeating: UInt8(slice % 256), count: 10_000 + $0)) })
                try await Task.sleep(for: .milliseconds(10))
            }
            tasks.cancelAll()
        }
        let probe = try KafkaConsumer(configuration: test.consumerConfiguration(group: "probe"), topics: [], logger: test.logger)
        let low = try await probe.watermarks(topic: topic, partition: 0).low
        await probe.close()
        #expect(low > 0, "the broker trimmed the first write")

        let later = KafkaTable<String>(topic: topic, configuration: test.client, logger: test.logger) { String(decoding: $0, as: UTF8.self) }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await later.run() }
            try await later.waitUntilCaughtUp()
            #expect(later["sub-1"] == "first")
            #expect(later["busy"]?.count == 10_009)
            tasks.cancelAll()
        }
        await producer.shutdown()
    }
}
