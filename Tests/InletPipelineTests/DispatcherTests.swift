import Foundation
import InletConnectors
import InletKafka
import InletPipeline
import Logging
import Testing

@Suite("Dispatcher")
struct DispatcherTests {
    static func workspace() throws -> Workspace {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/workspaces/good")
        return try #require(WorkspaceLoader().load(from: root).workspace)
    }

    func recordEvent(_ index: Int, subscription: String = "sub-1", record: JSONValue? = nil, type: RecordChangeType? = nil) -> RecordEvent {
        RecordEvent(
            subscriptionId: subscription, customerId: "cust-1", connectorKey: "github", target: .event(eventKey: "issue-created"),
            type: type, record: record ?? ["id": .string("issue-\(index)"), "title": .string("Bug \(index)")],
            source: .init(topic: "inlet.ingress", partition: 0, offset: Int64(index), index: 0), occurredAt: Date()
        )
    }

    /// Runs a dispatcher until `condition` holds for what it emitted.
    func runDispatcher(_ harness: IngressHarness, until condition: @escaping @Sendable () async throws -> Bool) async throws {
        let service = DispatcherService(
            settings: WorkerSettings(topics: harness.topics, client: harness.client), routing: EventRouting(topics: harness.topics),
            workspace: try Self.workspace(), logger: harness.logger
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await service.run() }
            try await eventually(condition)
            tasks.cancelAll()
        }
    }

    @Test("each record event becomes one CloudEvent with its id; repeats are dropped; invalid records go to the DLQ")
    func normalizesDedupesAndRejects() async throws {
        let harness = try IngressHarness()
        let events = (0..<20).map { recordEvent($0) }
        var inputs = events.map { KafkaRecord(topic: harness.topics.records, key: $0.subscriptionId, value: $0.encoded()) }
        inputs += events.prefix(5).map { KafkaRecord(topic: harness.topics.records, key: $0.subscriptionId, value: $0.encoded()) }
        let invalid = recordEvent(99, record: ["id": "issue-99", "title": 42])
        inputs.append(KafkaRecord(topic: harness.topics.records, key: invalid.subscriptionId, value: invalid.encoded()))
        try await harness.producer.sendAll(inputs)

        try await runDispatcher(harness) {
            let events = try await harness.messageCount(harness.topics.events)
            let letters = try await harness.messageCount(harness.topics.dlq)
            return events >= 20 && letters >= 1
        }
        let emitted = try await harness.read(harness.topics.events, count: 20)
        let normalized = try emitted.map { try NormalizedEvent.decoded(from: $0.value ?? Data()) }
        #expect(normalized.map(\.id) == events.map(\.id), "one event per record event, in order, with its deterministic id")
        #expect(normalized.first?.type == "github.issue-created.created")
        #expect(normalized.first?.data.recordId == "issue-0")
        #expect(emitted.first?.headers.first(named: "ce_id") == events.first?.id)
        #expect(try await harness.messageCount(harness.topics.events) == 20, "the five repeats were dropped")

        let letters = try await harness.read(harness.topics.dlq, count: 1)
        let letter = try DeadLetter.decoded(from: letters.first?.value ?? Data())
        #expect(letter.reason.code == "schema-invalid")
        #expect(letter.stage == .dispatcher)
        await harness.stop()
    }

    @Test("a restarted dispatcher rebuilds its window from the output and does not emit repeats again")
    func windowSurvivesRestart() async throws {
        let harness = try IngressHarness()
        let events = (0..<10).map { recordEvent($0, type: .updated) }
        try await harness.producer.sendAll(events.map { KafkaRecord(topic: harness.topics.records, key: $0.subscriptionId, value: $0.encoded()) })
        try await runDispatcher(harness) { try await harness.messageCount(harness.topics.events) >= 10 }

        // The same record events again (a replay upstream), then one new one.
        let fresh = recordEvent(10, type: .updated)
        try await harness.producer.sendAll(
            (events + [fresh]).map { KafkaRecord(topic: harness.topics.records, key: $0.subscriptionId, value: $0.encoded()) }
        )
        try await runDispatcher(harness) { try await harness.messageCount(harness.topics.events) >= 11 }
        let emitted = try await harness.read(harness.topics.events, count: 11)
        #expect(Set(emitted.compactMap { $0.headers.first(named: "ce_id") }).count == 11)
        #expect(try await harness.messageCount(harness.topics.events) == 11)
        let last = try NormalizedEvent.decoded(from: emitted.last?.value ?? Data())
        #expect(last.data.type == .updated)
        await harness.stop()
    }

    @Test("a dead letter keeps the input byte for byte, and its replay record reproduces it on the original topic")
    func deadLetterReplay() async throws {
        let harness = try IngressHarness()
        let garbage = Data("not a record event".utf8)
        try await harness.producer.send(KafkaRecord(
            topic: harness.topics.records, key: "sub-9", value: garbage, headers: [KafkaHeader(name: "trace", string: "t-1")]
        ))
        try await runDispatcher(harness) { try await harness.messageCount(harness.topics.dlq) >= 1 }
        let store = DeadLetterStore(topics: harness.topics, client: harness.client, logger: harness.logger)
        let letters = try await store.all()
        try #require(letters.count == 1)
        #expect(letters[0].reason.code == "decode-error")
        let replay = DeadLetterStore.replayRecord(for: letters[0])
        #expect(replay.topic == harness.topics.records)
        #expect(replay.key == Data("sub-9".utf8))
        #expect(replay.value == garbage)
        #expect(replay.headers.first(named: "trace") == "t-1")
        #expect(replay.headers.first(named: DeadLetterStore.replayHeader) == letters[0].id)
        await harness.stop()
    }
}
