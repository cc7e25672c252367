import Foundation
import InletJSON
import InletKafka
import Logging
import Testing

/// `inlet tail` as a user pipes it (`inlet tail inlet.events | jq`): its standard output is a pipe.
@Suite("inlet tail", .enabled(if: RoleProcess.binaryExists, "needs the inlet binary (swift build)"))
struct TailCommandTests {
    @Test("piped, each message arrives while tail still runs; --type and --subscription keep only what matches")
    func pipedAndFiltered() async throws {
        let logger = Logger(label: "tail-test")
        let cluster = try EmbeddedKafkaCluster(logger: logger)
        defer { cluster.stop() }
        let topic = "tail-\(UUID().uuidString.prefix(6))"
        try cluster.createTopics([KafkaTopicSpec(name: topic, partitions: 1)])
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: KafkaClientConfiguration(bootstrapServers: [cluster.bootstrapServers])), logger: logger)
        let events: [(key: String, value: JSONValue)] = [
            ("sub_a", ["type": "inlet.github.issues.created", "data": ["subscriptionId": "sub_a", "type": "created", "recordId": "1"]]),
            ("sub_b", ["type": "inlet.github.issues.updated", "data": ["subscriptionId": "sub_b", "type": "updated", "recordId": "2"]]),
            ("sub_b", ["type": "inlet.github.issues.created", "data": ["subscriptionId": "sub_b", "type": "created", "recordId": "3"]]),
        ]
        _ = try await producer.sendAll(events.map { KafkaRecord(topic: topic, key: $0.key, value: $0.value.serialized()) })
        await producer.shutdown()

        let tail = try RoleProcess("tail", arguments: [
            "tail", topic, "--from-beginning", "--compact", "--type", "created", "--subscription", "sub_b", "--idle-timeout", "20",
        ], environment: ["INLET_KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrapServers])
        let line = try await tail.waitForLine(containing: "\"offset\"", timeout: .seconds(15))
        #expect(tail.isRunning, "the line came through the pipe while tail was still running (flushed, not buffered)")
        let printed = try JSONValue(parsing: Data(line.utf8))
        #expect(printed["value"]?["data"]?["recordId"] == "3")
        // Nothing else matches: after a while the output still holds that one message.
        try await Task.sleep(for: .seconds(3))
        #expect(tail.output.split(separator: "\n").filter { $0.contains("\"offset\"") }.count == 1)
        await tail.stop()
    }
}
