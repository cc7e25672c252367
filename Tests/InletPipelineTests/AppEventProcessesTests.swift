import AsyncHTTPClient
import Foundation
import InletConnectors
import InletKafka
import InletPipeline
import Logging
import NIOCore
import Testing

/// App events through separate `inlet ingress` and `inlet handler` processes (not only
/// `inlet dev`), on the workspace `./deploy/dev` runs: the app key and a customer token.
@Suite("App events with separate role processes", .serialized, .enabled(if: RoleProcess.binaryExists, "needs the inlet binary (swift build)"))
struct AppEventProcessesTests {
    @Test("ingress and handler processes: a batch of two customers with the app key and an event with a customer token become CloudEvents keyed by customer")
    func separateRoles() async throws {
        let logger = {
            var logger = Logger(label: "app-event-processes")
            logger.logLevel = .critical
            return logger
        }()
        let topics = InletTopics(prefix: "ap\(UUID().uuidString.prefix(4)).", partitions: 4)
        let cluster = try EmbeddedKafkaCluster(logger: logger)
        defer { cluster.stop() }
        try cluster.createTopics(topics.allForEmbeddedBroker)
        let root = RoleProcess.binary.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let environment = [
            "INLET_KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrapServers, "INLET_TOPIC_PREFIX": topics.prefix,
            "INLET_TOPIC_PARTITIONS": String(topics.partitions), "INLET_SECRET_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            "INLET_ADMIN_TOKEN": "processes-admin", "INLET_APP_KEY": "processes-app-key",
            "INLET_WORKSPACE": root.appendingPathComponent("deploy/example-workspace").path, "INLET_PROCESSING_GUARANTEE": "at-least-once",
            "INLET_LOG_LEVEL": "warning", "INLET_KAFKA_FETCH_WAIT_MAX_MS": "10", "INLET_EMBEDDED_BROKER": "1",
        ]
        let ingress = try RoleProcess("ingress", arguments: ["ingress", "--port", "0"], environment: environment)
        let handler = try RoleProcess("handler", arguments: ["handler"], environment: environment)
        defer {
            ingress.kill()
            handler.kill()
        }
        let port = try await ingress.waitForLine(containing: "ingress listening on").split(separator: ":").last.map(String.init) ?? ""
        let base = "http://127.0.0.1:\(port)"

        // As a client should: a 503 (ingress still loading its tables, or busy) is sent again
        // after its Retry-After, with the same Idempotency-Key.
        func post(_ path: String, bearer: String, _ body: String) async throws -> (UInt, String) {
            let key = UUID().uuidString
            let deadline = ContinuousClock.now + .seconds(90)
            while true {
                var request = HTTPClientRequest(url: base + path)
                request.method = .POST
                request.headers.add(name: "Authorization", value: "Bearer \(bearer)")
                request.headers.add(name: "Content-Type", value: "application/json")
                request.headers.add(name: "Idempotency-Key", value: key)
                request.body = .bytes(ByteBuffer(string: body))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
                let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
                guard response.status.code == 503, ContinuousClock.now < deadline else { return (response.status.code, text) }
                try await Task.sleep(for: .seconds(Int(response.headers.first(name: "Retry-After") ?? "1") ?? 1))
            }
        }
        let batch = #"[{"eventId":"e-1","orderId":"o-1","customerId":"acme","total":1},{"eventId":"e-2","orderId":"o-2","customerId":"globex","total":2}]"#
        let (accepted, answer) = try await post("/app-events/order-created", bearer: "processes-app-key", batch)
        #expect(accepted == 200, "\(answer)")
        let (created, customer) = try await post("/api/v1/customers", bearer: "processes-admin", #"{"id":"initech"}"#)
        #expect(created == 201, "\(customer)")
        let (issued, tokenAnswer) = try await post("/api/v1/customers/initech/token", bearer: "processes-admin", "{}")
        #expect(issued == 201)
        let token = try #require(try JSONValue(parsing: tokenAnswer)["token"]?.stringValue)
        let (byToken, tokenResult) = try await post("/app-events/order-created", bearer: token, #"{"eventId":"e-3","orderId":"o-3","total":3}"#)
        #expect(byToken == 200, "\(tokenResult)")

        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(client: KafkaClientConfiguration(bootstrapServers: [cluster.bootstrapServers]), groupId: "verify-\(UUID())"),
            topics: [topics.appEvents], logger: logger
        )
        var keys: [String] = []
        let deadline = ContinuousClock.now + .seconds(120)
        while keys.count < 3 && ContinuousClock.now < deadline {
            for case .message(let message) in try await consumer.poll(timeout: .milliseconds(200)) {
                let event = try NormalizedEvent.decoded(from: message.value ?? Data())
                #expect(event.type == "app-event.order-created")
                #expect(event.subject == message.keyString)
                keys.append(message.keyString ?? "")
            }
        }
        await consumer.close()
        #expect(keys.sorted() == ["acme", "globex", "initech"])
        await ingress.stop()
        await handler.stop()
    }
}
