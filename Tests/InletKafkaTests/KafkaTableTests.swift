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

    @Test("a missing topic fails with an error that says to create it")
    func missingTopic() async throws {
        let test = try TestCluster()
        defer { test.cluster.stop() }
        let table = KafkaTable<Data>(topic: "no-such-topic-\(UUID())", configuration: test.client, logger: test.logger) { $0 }
        let error = await #expect(throws: KafkaError.self) { try await table.run() }
        #expect(error?.message.contains("does not exist") == true)
    }
}
