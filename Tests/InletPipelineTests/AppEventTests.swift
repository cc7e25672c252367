import Foundation
import HTTPTypes
import HummingbirdTesting
import InletConnectors
import InletJSON
import InletKafka
import InletPipeline
import NIOCore
import Testing

/// App events (seed 002) at ingress: the app key, known types, the customer of each event,
/// batches with per-element results.
@Suite("App events at ingress")
struct AppEventIngressTests {
    static let auth: HTTPFields = [.contentType: "application/json", .authorization: "Bearer \(IngressHarness.appKey)"]

    @Test("without the app key, or with another, 401; an unknown type is 404 naming the known ones")
    func authenticationAndTypes() async throws {
        let harness = try IngressHarness()
        try await harness.server().application().test(.live) { client in
            let body = ByteBuffer(string: #"{"eventId":"e-1","orderId":"o-1","customerId":"acme","total":1}"#)
            try await client.execute(uri: "/app-events/order-created", method: .post, headers: [.contentType: "application/json"], body: body) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("INLET_APP_KEY"))
            }
            try await client.execute(uri: "/app-events/order-created", method: .post, headers: [.authorization: "Bearer guess"], body: body) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/app-events/order-shipped", method: .post, headers: Self.auth, body: body) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("order-created, page-viewed, plan-changed, seat-added"))
            }
            try await client.execute(uri: "/app-events/order-created", method: .post, headers: Self.auth, body: ByteBuffer(string: "not json")) { response in
                #expect(response.status == .badRequest)
            }
        }
        await harness.stop()
    }

    @Test("a batch of three customers (by formula) is stored as one message per customer, in order; a GET sends its query as the event")
    func batchByCustomer() async throws {
        let harness = try IngressHarness()
        try await harness.server().application().test(.live) { client in
            let batch = #"[{"eventId":"e-1","orderId":"o-1","customerId":"ann","total":1},{"eventId":"e-2","orderId":"o-2","customerId":"bob","total":2},"#
                + #"{"eventId":"e-3","orderId":"o-3","customerId":"ann","total":3},{"eventId":"e-4","orderId":"o-4","customerId":"cat","total":4}]"#
            try await client.execute(uri: "/app-events/order-created", method: .post, headers: Self.auth, body: ByteBuffer(string: batch)) { response in
                #expect(response.status == .ok)
                let answer = try JSONValue(parsing: Data(buffer: response.body))
                #expect(answer["events"] == 4)
            }
            try await client.execute(uri: "/app-events/page-viewed?path=/pricing", method: .get, headers: [.authorization: "Bearer \(IngressHarness.appKey)", .init("X-Inlet-Customer-Id")!: "dan"]) { response in
                #expect(response.status == .ok)
            }
        }
        let messages = try await harness.read(harness.topics.ingressAppEvents, count: 4)
        let stored = try messages.map { try AppEventMessage.decoded(from: $0.value ?? Data()) }
        #expect(Set(messages.compactMap(\.keyString)) == ["ann", "bob", "cat", "dan"])
        let ann = try #require(stored.first { $0.customerId == "ann" })
        #expect(ann.events.map { $0["orderId"] } == ["o-1", "o-3"])
        #expect(stored.first { $0.customerId == "dan" }?.payload == ["path": "/pricing"])
        await harness.stop()
    }

    @Test("a batch with an invalid and an unowned element: 207 naming both, the others stored, the two in the DLQ; a single event without customer is 422; a batch over the cap is 413")
    func partialBatch() async throws {
        let harness = try IngressHarness()
        try await harness.server(appEventBatch: 3).application().test(.live) { client in
            let batch = #"[{"eventId":"e-1","orderId":"o-1","customerId":"ann","total":1},{"eventId":"e-2","orderId":"o-2","customerId":"bob","total":-5},"#
                + #"{"eventId":"e-3","orderId":"o-3","total":3}]"#
            try await client.execute(uri: "/app-events/order-created", method: .post, headers: Self.auth, body: ByteBuffer(string: batch)) { response in
                #expect(response.status.code == 207)
                let answer = try JSONValue(parsing: Data(buffer: response.body))
                #expect(answer["accepted"] == 1)
                let results = answer["results"]?.arrayValue ?? []
                #expect(results.map { $0["status"] } == ["accepted", "rejected", "rejected"])
                #expect(results[1]["code"] == "schema-invalid")
                #expect(results[1]["errors"]?.arrayValue?.first?["path"] == "/total")
                #expect(results[2]["code"] == "no-customer")
            }
            try await client.execute(uri: "/app-events/order-created", method: .post, headers: Self.auth,
                                     body: ByteBuffer(string: #"{"eventId":"e-9","orderId":"o-9","total":9}"#)) { response in
                #expect(response.status == .unprocessableContent)
                #expect(String(buffer: response.body).contains("no customer"))
            }
            let four = "[" + Array(repeating: #"{"eventId":"e","orderId":"o","customerId":"x","total":1}"#, count: 4).joined(separator: ",") + "]"
            try await client.execute(uri: "/app-events/order-created", method: .post, headers: Self.auth, body: ByteBuffer(string: four)) { response in
                #expect(response.status == .contentTooLarge)
            }
        }
        let stored = try await harness.read(harness.topics.ingressAppEvents, count: 1)
        #expect(stored.count == 1)
        let letters = try await harness.read(harness.topics.dlq, count: 2).map { try DeadLetter.decoded(from: $0.value ?? Data()) }
        #expect(Set(letters.map(\.reason.code.rawValue)) == ["schema-invalid", "no-customer"])
        let replayed = try AppEventMessage.decoded(from: letters.first { $0.reason.code == "schema-invalid" }?.original.value ?? Data())
        #expect(replayed.payload["orderId"] == "o-2", "the dead letter holds just the rejected event")
        await harness.stop()
    }
}

/// App events through the handler role's `app-events` group to `inlet.app-events`.
@Suite("App events through the pipeline", .timeLimit(.minutes(5)))
struct AppEventPipelineTests {
    @Test("HTTP batch and direct Kafka produce: CloudEvents app-event.<type>, subject and key the customer, in order per customer, ids from idFormula; a bad direct message goes to the DLQ")
    func pipeline() async throws {
        let pipeline = try TestPipeline(workspace: try TestPipeline.fixtureWorkspace("app-events"), appKey: IngressHarness.appKey)
        try await pipeline.run { client in
            let batch = #"[{"eventId":"e-1","orderId":"o-1","customerId":"ann","total":1},{"eventId":"e-2","orderId":"o-2","customerId":"bob","total":2},"#
                + #"{"eventId":"e-3","orderId":"o-3","customerId":"ann","total":3}]"#
            try await client.execute(uri: "/app-events/order-created", method: .post, headers: AppEventIngressTests.auth, body: ByteBuffer(string: batch)) { response in
                #expect(response.status == .ok)
            }
            // Produced by your app directly, without a customer: the type's formula finds it.
            let direct = AppEventMessage(type: "seat-added", payload: ["account": ["id": "acc_9"], "seats": 2], receivedAt: Date())
            try await pipeline.harness.producer.send(KafkaRecord(topic: pipeline.harness.topics.ingressAppEvents, key: direct.kafkaKey, value: direct.encoded()))
            let unknown = AppEventMessage(type: "order-shipped", customerId: "ann", payload: ["x": 1], receivedAt: Date())
            try await pipeline.harness.producer.send(KafkaRecord(topic: pipeline.harness.topics.ingressAppEvents, key: "ann", value: unknown.encoded()))

            let events = try await pipeline.harness.read(pipeline.harness.topics.appEvents, count: 4)
            let normalized = try events.map { try NormalizedEvent.decoded(from: $0.value ?? Data()) }
            #expect(normalized.filter { $0.subject == "ann" }.map { $0.data.record["orderId"] } == ["o-1", "o-3"])
            #expect(Set(normalized.map(\.type)) == ["app-event.order-created", "app-event.seat-added"])
            #expect(events.first { $0.keyString == "acc_9" } != nil)
            #expect(normalized.first { $0.subject == "bob" }?.data.recordId == "e-2")
            let letters = try await pipeline.harness.read(pipeline.harness.topics.dlq, count: 1).map { try DeadLetter.decoded(from: $0.value ?? Data()) }
            #expect(letters.first?.reason.code == "unknown-app-event-type")

            // Your app sends the batch again (a retry) with one new event: only that one comes.
            let again = batch.dropLast() + #",{"eventId":"e-4","orderId":"o-4","customerId":"bob","total":4}]"#
            try await client.execute(uri: "/app-events/order-created", method: .post, headers: AppEventIngressTests.auth, body: ByteBuffer(string: String(again))) { response in
                #expect(response.status == .ok)
            }
            let all = try await pipeline.harness.read(pipeline.harness.topics.appEvents, count: 5)
            let orders = try all.map { try NormalizedEvent.decoded(from: $0.value ?? Data()) }.compactMap { $0.data.record["orderId"]?.stringValue }
            #expect(orders.sorted() == ["o-1", "o-2", "o-3", "o-4"], "the repeats of e-1..e-3 are dropped")
        }
    }
}
