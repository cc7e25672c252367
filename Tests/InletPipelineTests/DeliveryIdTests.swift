import Foundation
import HummingbirdTesting
import InletConnectors
import InletKafka
import InletPipeline
import Testing

/// A sender that retries (a timeout after the broker's ack, a 503 after a message that was
/// stored after all) sends the same delivery again: with the event spec's `deliveryId`, its
/// events keep their ids and the repeat is dropped.
@Suite("Delivery ids")
struct DeliveryIdTests {
    @Test("a GitHub delivery sent twice (same X-GitHub-Delivery) becomes one event; another delivery id is another event")
    func redeliveryIsDropped() async throws {
        let pipeline = try TestPipeline()
        try await pipeline.run(replies: false) { client in
            let subscription = try await WebhookEndToEndTests().createSubscription(
                client, parameters: ["owner": "octo", "repo": "hello", "secret": .string(WebhookEndToEndTests.secret)]
            )
            let id = try #require(subscription["id"]?.stringValue)
            let path = String(try #require(subscription["webhookUrl"]?.stringValue).dropFirst("https://hooks.example.com".count))
            let base = "http://127.0.0.1:\(try #require(client.port))"
            func send(_ number: Int, delivery: String) async throws {
                let body = WebhookEndToEndTests.issueDelivery(action: "opened", number: number, title: "Issue \(number)")
                let answer = try await TestPipeline.post(base, path, body: body, headers: [
                    "X-GitHub-Event": "issues", "X-Hub-Signature-256": WebhookEndToEndTests.signature(body), "X-GitHub-Delivery": delivery,
                ])
                #expect(answer.status == 200)
            }
            try await send(1, delivery: "d-1")
            try await send(1, delivery: "d-1")
            try await send(2, delivery: "d-2")
            try await eventually(timeout: .seconds(30)) { pipeline.events.withLock { $0.count } >= 2 }
            // The repeat comes before the second delivery on the same partition: once "2" is
            // out, the repeat was handled (and dropped) too.
            let events = pipeline.events.withLock { $0 }
            #expect(events.map(\.data.recordId) == ["1", "2"])
            #expect(events.first?.id == RecordEvent.deterministicId(subscriptionId: id, deliveryId: "d-1", index: 0, recordId: "1"))
        }
    }
}
