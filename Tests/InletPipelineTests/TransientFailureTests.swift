import Foundation
import HummingbirdTesting
import InletConnectors
import InletKafka
import InletPipeline
import Testing

/// API failures that may pass (unreachable, 5xx, 429) are retried with the subscription
/// `degraded`; failures that will not pass go to the DLQ; a failed unsubscribe never archives.
@Suite("Transient and permanent API failures", .serialized)
struct TransientFailureTests {
    func graphSubscription(_ pipeline: TestPipeline, _ client: any TestClientProtocol) async throws -> (id: String, path: String, clientState: String) {
        let port = try #require(client.port)
        pipeline.stub.validateNotificationsAt.withLock { $0 = "http://127.0.0.1:\(port)" }
        let subscription = try await WebhookEndToEndTests().createSubscription(client, connector: "msgraph", eventKey: "message-received", parameters: [:])
        return (
            try #require(subscription["id"]?.stringValue),
            String(try #require(subscription["webhookUrl"]?.stringValue).dropFirst("https://hooks.example.com".count)),
            try await clientState(pipeline, subscription)
        )
    }

    func notify(_ client: any TestClientProtocol, _ target: (id: String, path: String, clientState: String), _ messageId: String) async throws {
        let answer = try await TestPipeline.post(
            "http://127.0.0.1:\(try #require(client.port))", target.path,
            body: SlowAPITests.notification(messageId, clientState: target.clientState), headers: [:]
        )
        #expect((200..<300).contains(answer.status))
    }

    @Test("a webhook whose API call answers 503 twice is retried: the subscription is degraded meanwhile, active after, one event each, in order, no dead letter")
    func transientWebhook() async throws {
        let pipeline = try TestPipeline()
        pipeline.stub.failures.withLock { $0["GET /me/messages/m-1"] = [503, 503] }
        try await pipeline.run(replies: false) { client in
            let target = try await graphSubscription(pipeline, client)
            try await notify(client, target, "m-1")
            try await notify(client, target, "m-2")
            try await eventually(timeout: .seconds(20)) { pipeline.harness.subscriptions[target.id]?.status == .degraded }
            #expect(pipeline.harness.subscriptions[target.id]?.error?.message.contains("HTTP 503") == true)
            try await eventually(timeout: .seconds(30)) { pipeline.events.withLock { $0.count } >= 2 }
            #expect(pipeline.events.withLock { $0.map(\.data.recordId) } == ["m-1", "m-2"])
            try await eventually(timeout: .seconds(10)) { pipeline.harness.subscriptions[target.id]?.status == .active }
            #expect(pipeline.harness.subscriptions[target.id]?.error == nil)
            #expect(pipeline.stub.received("GET", "/me/messages/").filter { $0.path == "/me/messages/m-1" }.count == 3)
            #expect(try await pipeline.harness.messageCount(pipeline.harness.topics.dlq) == 0)
        }
    }

    @Test("a permanent API failure (400) sends the webhook to the DLQ at once and the next one goes through")
    func permanentWebhook() async throws {
        let pipeline = try TestPipeline()
        pipeline.stub.failures.withLock { $0["GET /me/messages/m-1"] = [400] }
        try await pipeline.run(replies: false) { client in
            let target = try await graphSubscription(pipeline, client)
            try await notify(client, target, "m-1")
            try await notify(client, target, "m-2")
            try await eventually(timeout: .seconds(30)) { pipeline.events.withLock { $0.count } >= 1 }
            let letters = try await pipeline.harness.read(pipeline.harness.topics.dlq, count: 1)
            let letter = try DeadLetter.decoded(from: try #require(letters.first?.value))
            #expect(letter.reason.message.contains("400"))
            #expect(pipeline.events.withLock { $0.map(\.data.recordId) } == ["m-2"])
            #expect(pipeline.harness.subscriptions[target.id]?.status == .active)
        }
    }

    @Test("subscribe answered 503 runs again and the subscription becomes active")
    func transientSubscribe() async throws {
        let pipeline = try TestPipeline()
        pipeline.stub.failures.withLock { $0["POST /subscriptions"] = [503] }
        try await pipeline.run(replies: false) { client in
            let target = try await graphSubscription(pipeline, client)
            #expect(pipeline.harness.subscriptions[target.id]?.status == .active)
            #expect(pipeline.stub.received("POST", "/subscriptions").count == 2)
        }
    }

    @Test("a failed unsubscribe leaves the subscription in error with the reason, never archived; DELETE again archives it")
    func failedUnsubscribe() async throws {
        let pipeline = try TestPipeline()
        pipeline.stub.failures.withLock { $0["DELETE /subscriptions/graph-sub-1"] = [400] }
        try await pipeline.run(replies: false) { client in
            let target = try await graphSubscription(pipeline, client)
            _ = try await WebhookEndToEndTests().admin(client, .delete, "/api/v1/subscriptions/\(target.id)")
            try await eventually(timeout: .seconds(20)) { pipeline.harness.subscriptions[target.id]?.status == .error }
            #expect(pipeline.harness.subscriptions[target.id]?.error?.message.contains("DELETE the subscription again") == true)
            _ = try await WebhookEndToEndTests().admin(client, .delete, "/api/v1/subscriptions/\(target.id)")
            try await eventually(timeout: .seconds(20)) { pipeline.harness.subscriptions[target.id]?.status == .archived }
            #expect(pipeline.stub.received("DELETE", "/subscriptions/graph-sub-1").count == 2)
        }
    }

    @Test("once a subscription's API has failed for the whole retry period, its failing inputs go to the DLQ (the next one after a single try) and a success makes it active again")
    func breaker() async throws {
        let pipeline = try TestPipeline { $0.maxRetryDuration = .seconds(3) }
        pipeline.stub.failures.withLock {
            $0["GET /me/messages/m-1"] = Array(repeating: 503, count: 100)
            $0["GET /me/messages/m-2"] = Array(repeating: 503, count: 100)
        }
        try await pipeline.run(replies: false) { client in
            let target = try await graphSubscription(pipeline, client)
            for id in ["m-1", "m-2", "m-3"] { try await notify(client, target, id) }
            try await eventually(timeout: .seconds(60)) { pipeline.events.withLock { $0.count } >= 1 }
            #expect(pipeline.events.withLock { $0.map(\.data.recordId) } == ["m-3"])
            let letters = try await pipeline.harness.read(pipeline.harness.topics.dlq, count: 2)
            let codes = try letters.map { try DeadLetter.decoded(from: $0.value ?? Data()).reason.code.rawValue }
            #expect(codes == ["retries-exhausted", "retries-exhausted"])
            let calls = pipeline.stub.received("GET", "/me/messages/")
            #expect(calls.filter { $0.path == "/me/messages/m-2" }.count == 1, "tried once: the breaker was open")
            #expect(calls.filter { $0.path == "/me/messages/m-1" }.count > 1, "retried during the retry period")
            try await eventually(timeout: .seconds(10)) { pipeline.harness.subscriptions[target.id]?.status == .active }
        }
    }
}

/// The Graph subscription's `clientState`, from its state in the subscriptions table (the admin
/// API never shows state).
func clientState(_ pipeline: TestPipeline, _ subscription: JSONValue) async throws -> String {
    let id = try #require(subscription["id"]?.stringValue)
    try await pipeline.harness.subscriptions.sync()
    return try #require(pipeline.harness.subscriptions[id]?.openedState(pipeline.vault)?["clientState"]?.stringValue)
}
