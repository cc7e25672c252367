import Foundation
import HTTPTypes
import HummingbirdTesting
import InletConnectors
import InletJSON
import InletKafka
import InletPipeline
import NIOCore
import Testing

/// Per-customer app event subscriptions (seed 002, issue 11 item 4): a type's
/// `subscriptionRequest` runs once per customer, the first time the type is used for them.
@Suite("App event subscriptions per customer", .timeLimit(.minutes(5)))
struct AppEventSubscriptionTests {
    let helpers = WebhookEndToEndTests()

    @Test("concurrent first events of a customer call the subscription request once; the customer's webhook URI sends events as that customer; the API creates, lists and deletes (the unsubscribe request runs); a refused request is a 502 with the answer")
    func oncePerCustomer() async throws {
        let pipeline = try TestPipeline(workspace: try TestPipeline.fixtureWorkspace("app-events"), appKey: IngressHarness.appKey)
        try await pipeline.run { client in
            let (created, _) = try await helpers.admin(client, .post, "/api/v1/customers", ["id": "ann", "name": "Ann's Shop"])
            #expect(created == .created)
            // Five first events of ann at once.
            let headers: HTTPFields = {
                var headers = AppEventIngressTests.auth
                headers[HTTPField.Name("X-Inlet-Customer-Id")!] = "ann"
                return headers
            }()
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for number in 1...5 {
                    group.addTask {
                        try await client.execute(uri: "/app-events/plan-changed", method: .post, headers: headers, body: ByteBuffer(string: #"{"account":"ann","plan":"p\#(number)"}"#)) { $0.status }
                    }
                }
                for try await status in group { #expect(status == .ok) }
            }
            try await eventually(timeout: .seconds(60)) { pipeline.stub.received("POST", "/app-api/customers/ann/webhooks").count >= 1 }
            let events = try await pipeline.harness.read(pipeline.harness.topics.appEvents, count: 5)
            #expect(events.count == 5)
            #expect(pipeline.stub.received("POST", "/app-api/customers/ann/webhooks").count == 1, "the request runs once for ann")
            let request = try #require(pipeline.stub.received("POST", "/app-api/customers/ann/webhooks").first)
            #expect(request.headers["x-customer-name"] == "Ann's Shop")
            let webhookUri = try #require(request.body?["url"]?.stringValue)
            #expect(webhookUri.hasPrefix("https://hooks.example.com/app-events/plan-changed/"))

            // Asked through the API too: the same subscription, no second request.
            let (again, subscription) = try await helpers.admin(client, .post, "/api/v1/subscriptions", ["customerId": "ann", "appEventKey": "plan-changed"])
            #expect(again == .ok)
            #expect(subscription["status"] == "active")
            #expect(subscription["webhookUrl"]?.stringValue == webhookUri)
            #expect(subscription["subscribe"]?["status"] == 201)
            #expect(subscription["webhookToken"] == nil)
            #expect(pipeline.stub.received("POST", "/app-api/customers/ann/webhooks").count == 1)

            // Your app posts ann's next event to ann's URI: no key needed, ann is its customer.
            let path = String(webhookUri.dropFirst("https://hooks.example.com".count))
            try await client.execute(uri: path, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"account":"ann","plan":"enterprise"}"#)) { response in
                #expect(response.status == .ok)
            }
            let six = try await pipeline.harness.read(pipeline.harness.topics.appEvents, count: 6)
            let last = try NormalizedEvent.decoded(from: six.last?.value ?? Data())
            #expect(last.subject == "ann" && last.data.record["plan"] == "enterprise")

            // Created through the API before any event: the request runs then.
            let (bobCreated, bob) = try await helpers.admin(client, .post, "/api/v1/subscriptions", ["customerId": "bob", "appEventKey": "plan-changed"])
            #expect(bobCreated == .created, "\(bob)")
            #expect(pipeline.stub.received("POST", "/app-api/customers/bob/webhooks").count == 1)
            let (_, list) = try await helpers.admin(client, .get, "/api/v1/app-event-subscriptions")
            #expect(Set(list["appEventSubscriptions"]?.arrayValue?.compactMap { $0["customerId"]?.stringValue } ?? []) == ["ann", "bob"])

            // Your app refuses: 502 with its answer; the subscription is in error.
            let (refused, problem) = try await helpers.admin(client, .post, "/api/v1/subscriptions", ["customerId": "refuses", "appEventKey": "plan-changed"])
            #expect(refused == .badGateway, "\(problem)")
            #expect(problem["appEventSubscription"]?["status"] == "error")
            #expect(problem["appEventSubscription"]?["subscribe"]?["status"] == 404)

            // Produced directly, keyed by the type, customers by formula: cara's own lane makes
            // the request, once for her two events.
            let direct = AppEventMessage(type: "plan-changed", payload: [["account": "cara", "plan": "a"], ["account": "cara", "plan": "b"]], receivedAt: Date())
            try await pipeline.harness.producer.send(KafkaRecord(topic: pipeline.harness.topics.ingressAppEvents, key: direct.kafkaKey, value: direct.encoded()))
            try await eventually(timeout: .seconds(60)) { pipeline.stub.received("POST", "/app-api/customers/cara/webhooks").count >= 1 }
            _ = try await pipeline.harness.read(pipeline.harness.topics.appEvents, count: 8)
            try await Task.sleep(for: .seconds(1))
            #expect(pipeline.stub.received("POST", "/app-api/customers/cara/webhooks").count == 1)

            // Your app refuses to unsubscribe: 502, and the subscription stays (in error), still receiving.
            let (_, keeps) = try await helpers.admin(client, .post, "/api/v1/subscriptions", ["customerId": "keeps", "appEventKey": "plan-changed"])
            let (notDeleted, kept) = try await helpers.admin(client, .delete, "/api/v1/app-event-subscriptions/\(try #require(keeps["id"]?.stringValue))")
            #expect(notDeleted == .badGateway, "\(kept)")
            #expect(kept["appEventSubscription"]?["status"] == "error")
            #expect(kept["appEventSubscription"]?["webhookUrl"] == keeps["webhookUrl"])

            // Deleted: the unsubscribe request runs, and ann's URI no longer takes events.
            let id = try #require(subscription["id"]?.stringValue)
            let (deleted, archived) = try await helpers.admin(client, .delete, "/api/v1/app-event-subscriptions/\(id)")
            #expect(deleted == .ok)
            #expect(archived["status"] == "archived")
            #expect(pipeline.stub.received("DELETE", "/app-api/customers/ann/webhooks").count == 1)
            // The archived record keeps no token of the dead URI.
            let topic = pipeline.harness.topics.appEventSubscriptions
            let written = try await pipeline.harness.read(topic, count: Int(try await pipeline.harness.messageCount(topic)))
            let annRecord = try #require(written.last { $0.keyString == AppEventSubscriptionRecord.key(customerId: "ann", appEventKey: "plan-changed") })
            let stored = try AppEventSubscriptionRecord.decoded(from: try #require(annRecord.value))
            #expect(stored.status == .archived && stored.webhookToken.isEmpty)
            try await client.execute(uri: path, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"account":"ann","plan":"free"}"#)) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
