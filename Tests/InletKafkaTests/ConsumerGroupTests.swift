import Foundation
import InletKafka
import Synchronization
import Testing

@Suite("Consumer groups")
struct ConsumerGroupTests {
    /// Reads into a shared list until cancelled, recording the member's assignment.
    final class Member: Sendable {
        let name: String
        let consumer: KafkaConsumer
        let received = Mutex<[KafkaMessage]>([])
        let assignment = Mutex<Set<TopicPartition>>([])
        let rebalances = Mutex<[KafkaRebalance]>([])

        init(name: String, test: TestCluster, group: String, topic: String) throws {
            self.name = name
            consumer = try KafkaConsumer(configuration: test.consumerConfiguration(group: group), topics: [topic], logger: test.logger)
        }

        func run() async {
            while !Task.isCancelled {
                guard let events = try? await consumer.poll(maxMessages: 100, timeout: .milliseconds(100)) else { return }
                var batch: [KafkaMessage] = []
                for event in events {
                    switch event {
                    case .message(let message): batch.append(message)
                    case .rebalance(let rebalance):
                        rebalances.withLock { $0.append(rebalance) }
                        switch rebalance {
                        case .assigned(let partitions): assignment.withLock { $0 = Set(partitions.map(\.withoutOffset)) }
                        case .revoked: assignment.withLock { $0 = [] }
                        }
                    case .endOfPartition:
                        break
                    }
                }
                received.withLock { $0 += batch }
                try? await consumer.commit(StreamProcessorOffsets.next(of: batch))
            }
        }
    }

    @Test("two members split the partitions and a third joining rebalances without losing a message")
    func splitAndRebalance() async throws {
        let test = try TestCluster()
        defer { test.cluster.stop() }
        let topic = try test.topic("group", partitions: 6)
        let group = "group-\(topic)"
        let producer = try KafkaProducer(configuration: test.producerConfiguration, logger: test.logger)

        let a = try Member(name: "a", test: test, group: group, topic: topic)
        let b = try Member(name: "b", test: test, group: group, topic: topic)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await a.run() }
            tasks.addTask { await b.run() }
            try await eventually("a and b own three partitions each") {
                a.assignment.withLock { $0.count } == 3 && b.assignment.withLock { $0.count } == 3
            }
            #expect(a.assignment.withLock { $0 }.isDisjoint(with: b.assignment.withLock { $0 }))

            try await producer.sendAll((0..<300).map { KafkaRecord(topic: topic, key: "k\($0)", value: Data("\($0)".utf8)) })
            // A consumer joins its group as soon as it exists, so the third is created only now.
            let c = try Member(name: "c", test: test, group: group, topic: topic)
            tasks.addTask { await c.run() }
            // A join makes a and b give up and rejoin. On a loaded machine (the whole suite runs
            // at once) a member can miss its 6 s session meanwhile and the group goes round
            // again: CI once needed more than 30 s to settle.
            try await eventually("c joins and gets two partitions", timeout: .seconds(90)) { c.assignment.withLock { $0.count } == 2 }
            try await producer.sendAll((300..<600).map { KafkaRecord(topic: topic, key: "k\($0)", value: Data("\($0)".utf8)) })

            let members = [a, b, c]
            try await eventually("all 600 messages consumed", timeout: .seconds(90)) {
                Set(members.flatMap { $0.received.withLock { $0 } }.compactMap(\.value)).count == 600
            }
            // On a loaded machine a member may still be between revocation and its new
            // assignment when the last message arrives: the split settles shortly after.
            try await eventually("every member owns two partitions", timeout: .seconds(90)) { members.allSatisfy { $0.assignment.withLock { $0.count } == 2 } }
            #expect(a.rebalances.withLock { $0 }.contains { if case .revoked = $0 { true } else { false } })
            tasks.cancelAll()
            try await tasks.waitForAll()
            for member in members { await member.consumer.close() }
        }
        await producer.shutdown()
    }
}

/// Offsets to commit after a batch: per partition, the last offset + 1.
enum StreamProcessorOffsets {
    static func next(of batch: [KafkaMessage]) -> [TopicPartition] {
        var next: [TopicPartition: Int64] = [:]
        for message in batch {
            next[message.nextPosition.withoutOffset] = max(next[message.nextPosition.withoutOffset] ?? 0, message.offset + 1)
        }
        return next.map { TopicPartition(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value) }
    }
}
