import Foundation
import HTTPTypes
import HummingbirdTesting
import InletConnectors
import InletJSON
import InletPipeline
import NIOCore
import Testing

/// A connector written from the connector-builder pages works as printed (seed 000's event spec,
/// seed 001's `subscribe`, `unsubscribe` and `handle`, no `auth/`), and one subscription request
/// registers one external hook however often it is sent.
@Suite("The seeds' examples and identical subscription requests", .timeLimit(.minutes(5)))
struct SeedExampleTests {
    let helpers = WebhookEndToEndTests()

    static func workspace() throws -> Workspace { try TestPipeline.fixtureWorkspace("seed-examples") }

    @Test("seed 000/001's examples: subscribe registers the hook at baseUri, a webhook body without handle is the record, the example handle reads body.record, unsubscribe deletes the hook")
    func seedExamplesDeliver() async throws {
        let pipeline = try TestPipeline(workspace: try Self.workspace())
        try await pipeline.run { client in
            let connectionId = try await connection(client)
            let parameters: JSONValue = ["projectId": "p1", "path": "/projects/p1/webhooks"]
            let created = try await helpers.subscribed(client, ["connectionId": .string(connectionId), "eventKey": "task-created", "parameters": parameters])
            #expect(created["status"] == "active")
            let createdURL = try #require(created["webhookUrl"]?.stringValue)
            let registration = try #require(pipeline.stub.received("POST", "/projects/p1/webhooks").first)
            #expect(registration.body?["webhookUri"]?.stringValue == createdURL)
            #expect(registration.body?["<some_key>"] == "<some_value>")

            let updated = try await helpers.subscribed(client, ["connectionId": .string(connectionId), "eventKey": "task-updated", "parameters": parameters])
            let updatedURL = try #require(updated["webhookUrl"]?.stringValue)

            #expect(try await post(client, createdURL, #"{"id":"t1","title":"Write the docs","status":"open"}"#) == .ok)
            #expect(try await post(client, updatedURL, #"{"record":{"id":"t2","title":"Ship it","status":"done"}}"#) == .ok)
            // A body that is no record, to an event without handle: dead-lettered with the reason.
            #expect(try await post(client, createdURL, #"[1,2]"#) == .ok)
            try await eventually(timeout: .seconds(60)) { pipeline.events.withLock { $0.count } >= 2 }
            let events = pipeline.events.withLock { $0 }.sorted { $0.data.recordId < $1.data.recordId }
            #expect(events.map(\.data.recordId) == ["t1", "t2"])
            #expect(events.map(\.type) == ["tasks.task-created.created", "tasks.task-updated.created"])
            #expect(events.first?.data.record["title"] == "Write the docs")
            let store = DeadLetterStore(topics: pipeline.harness.topics, client: pipeline.harness.client, logger: pipeline.harness.logger)
            try await eventually(timeout: .seconds(30)) { try await store.all().contains { $0.reason.message.contains("the webhook body is not a record") } }

            let id = try #require(created["id"]?.stringValue)
            let (deleted, _) = try await helpers.admin(client, .delete, "/api/v1/subscriptions/\(id)")
            #expect(deleted == .ok)
            #expect(pipeline.stub.received("DELETE", "/projects/p1/webhooks/wh-1").count == 1)
        }
    }

    @Test("the same subscription request twice, in another key order, or twice at once, is one subscription and one hook; other parameters are another; a deleted one is subscribed anew")
    func identicalRequestsShareOneSubscription() async throws {
        let pipeline = try TestPipeline(workspace: try Self.workspace())
        try await pipeline.run { client in
            let connectionId = try await connection(client)
            func request(_ parameters: JSONValue) -> JSONValue {
                ["connectionId": .string(connectionId), "eventKey": "task-created", "parameters": parameters]
            }
            let first = try await helpers.subscribed(client, request(["projectId": "p1", "path": "/projects/p1/webhooks"]))
            let id = try #require(first["id"]?.stringValue)

            let (again, repeated) = try await helpers.admin(client, .post, "/api/v1/subscriptions", request(["path": "/projects/p1/webhooks", "projectId": "p1"]))
            #expect(again == .ok, "an identical live subscription is the answer: \(repeated)")
            #expect(repeated["id"]?.stringValue == id)
            #expect(repeated["webhookUrl"] == first["webhookUrl"])
            #expect(pipeline.stub.received("POST", "/projects/p1/webhooks").count == 1)

            // Two at once, as two replicas would receive them: both answer the one subscription.
            async let left = helpers.subscribed(client, request(["projectId": "p2", "path": "/projects/p2/webhooks"]), existing: true)
            async let right = helpers.subscribed(client, request(["projectId": "p2", "path": "/projects/p2/webhooks"]), existing: true)
            let (one, other) = try await (left, right)
            #expect(one["id"] == other["id"])
            #expect(one["id"]?.stringValue != id)
            #expect(pipeline.stub.received("POST", "/projects/p2/webhooks").count == 1)

            let (deleted, _) = try await helpers.admin(client, .delete, "/api/v1/subscriptions/\(id)")
            #expect(deleted == .ok)
            let revived = try await helpers.subscribed(client, request(["projectId": "p1", "path": "/projects/p1/webhooks"]))
            #expect(revived["id"]?.stringValue == id)
            #expect(revived["status"] == "active")
            #expect(pipeline.stub.received("POST", "/projects/p1/webhooks").count == 2)
        }
    }

    private func connection(_ client: any TestClientProtocol) async throws -> String {
        let (created, connection) = try await helpers.admin(client, .post, "/api/v1/connections", [
            "connectorKey": "tasks", "customerId": "acme", "credentials": [:],
        ])
        #expect(created == .created, "\(connection)")
        return try #require(connection["id"]?.stringValue)
    }

    private func post(_ client: any TestClientProtocol, _ url: String, _ body: String) async throws -> HTTPResponse.Status {
        let path = String(url.dropFirst("https://hooks.example.com".count))
        return try await client.execute(uri: path, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body)) { $0.status }
    }

    @Test("a subscription id derives from the whole request: key order does not count, parameters and settings do")
    func idsFromRequests() {
        let target = SubscriptionTarget.collection(collectionKey: "tasks", collectionEvent: .created)
        func id(_ parameters: JSONValue, backfill: Bool? = nil, interval: Int? = nil) -> String {
            SubscriptionRecord.id(connectionId: "con_1", target: target, config: .init(parameters: parameters, backfill: backfill),
                                  pullUpdatesIntervalSeconds: interval, fullSyncIntervalSeconds: nil)
        }
        #expect(id(["a": 1, "b": 2]) == id(["b": 2, "a": 1]))
        #expect(id(["a": 1]) == SubscriptionRecord.id(connectionId: "con_1", target: target, parameters: ["a": 1]))
        #expect(id(["a": 1]) != id(["a": 2]))
        #expect(id(["a": 1]) != id(["a": 1], backfill: true))
        #expect(id(["a": 1]) != id(["a": 1], interval: 60))
        #expect(id(["a": 1]).hasPrefix("sub_") && id(["a": 1]).count == 28)
    }
}
