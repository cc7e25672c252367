import Foundation
import Hummingbird
import HummingbirdTesting
import InletConnectors
import InletHTTP
import InletKafka
import InletObservability
import InletPipeline
import Logging
import Testing

/// Embedded broker + topics + subscriptions table + ingress, for one test.
struct IngressHarness {
    let cluster: EmbeddedKafkaCluster
    let topics: InletTopics
    let client: KafkaClientConfiguration
    let producer: KafkaProducer
    let subscriptions: SubscriptionDirectory
    let logger: Logger

    init() throws {
        var logger = Logger(label: "inlet.test")
        logger.logLevel = ProcessInfo.processInfo.environment["INLET_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        self.logger = logger
        cluster = try EmbeddedKafkaCluster(logger: logger)
        topics = InletTopics(prefix: "t\(UUID().uuidString.prefix(6)).", partitions: 2)
        try cluster.createTopics(topics.all)
        var client = KafkaClientConfiguration(bootstrapServers: [cluster.bootstrapServers])
        client.consumerFetchWaitMilliseconds = 10
        self.client = client
        producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(1), deliveryTimeoutMilliseconds: 3000), logger: logger
        )
        subscriptions = SubscriptionDirectory(topics: topics, client: client, logger: logger)
    }

    static let appKey = "app-key-for-tests"

    /// Ingress alone; app events with the app-events fixture workspace and ``appKey``.
    func server(maxBodyBytes: Int = 1 << 20, appEventBatch: Int = 1000) throws -> IngressServer {
        var configuration = IngressConfiguration(port: 0, maxBodyBytes: maxBodyBytes, appKey: Self.appKey)
        configuration.maxAppEventBatch = appEventBatch
        return IngressServer(
            configuration: configuration, topics: topics, producer: producer, subscriptions: subscriptions,
            workspace: try TestPipeline.fixtureWorkspace("app-events"), logger: logger
        )
    }

    func addSubscription(id: String, token: String) async throws {
        let record = SubscriptionRecord(
            id: id, status: .active, connectionId: "conn-1", customerId: "cust-1", connectorKey: "github",
            target: .event(eventKey: "issue-created"), webhookToken: token, createdAt: Date(), updatedAt: Date()
        )
        try await producer.send(KafkaRecord(topic: topics.subscriptions, key: id, value: record.encoded()))
    }

    func read(_ topic: String, count: Int) async throws -> [KafkaMessage] {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(client: client, groupId: "reader-\(UUID())"), topics: [topic], logger: logger
        )
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while messages.count < count && ContinuousClock.now < deadline {
            for case .message(let message) in try await consumer.poll(timeout: .milliseconds(200)) { messages.append(message) }
        }
        await consumer.close()
        return messages
    }

    /// Messages ever appended to `topic` (sum of its partitions' high watermarks).
    func messageCount(_ topic: String) async throws -> Int64 {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(client: client, groupId: "probe-\(UUID())"), topics: [], logger: logger
        )
        var total: Int64 = 0
        for partition in 0..<Int32(topics.partitions) {
            total += try await consumer.watermarks(topic: topic, partition: partition).high
        }
        await consumer.close()
        return total
    }

    func stop() async {
        await producer.shutdown()
        cluster.stop()
    }
}

@Suite("HTTP ingress")
struct IngressTests {
    @Test("a webhook for a known token is appended raw to inlet.ingress, keyed by subscription, before the 200")
    func webhookAppended() async throws {
        let harness = try IngressHarness()
        try await harness.addSubscription(id: "sub-1", token: "tok-secret")
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await harness.subscriptions.run() }
            try await harness.subscriptions.waitUntilLoaded()
            try await eventually { harness.subscriptions.subscription(forToken: "tok-secret") != nil }

            let body = #"{"action":"opened","issue":{"id":1}}"#
            let answered = try await harness.server().application().test(.live) { client in
                try await client.execute(
                    uri: "/webhooks/tok-secret?x=1&x=2&y=", method: .post,
                    headers: [.contentType: "application/json", .init("X-Hub-Signature-256")!: "sha256=abc"],
                    body: ByteBuffer(string: body)
                ) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType] == "application/json")
                    let answer = try JSONValue(parsing: Data(buffer: response.body))
                    #expect(answer["status"] == "accepted")
                    return String(buffer: response.body)
                }
            }
            let messages = try await harness.read(harness.topics.ingress, count: 1)
            try #require(messages.count == 1)
            #expect(messages[0].keyString == "sub-1")
            #expect(messages[0].value == Data(body.utf8), "the value is the body itself")
            #expect(messages[0].headers.map(\.name) == [RawRequestRecordFormat.metadataHeader], "the rest is in one header")
            let raw = try RawRequest.decoded(from: messages[0])
            #expect(answered == #"{"requestId":"\#(raw.requestId)","status":"accepted"}"#, "the answer names the stored request")
            #expect(raw.subscriptionId == "sub-1")
            #expect(raw.method == "POST")
            #expect(raw.body == Data(body.utf8), "the body is kept byte for byte")
            #expect(raw.rawQuery == "x=1&x=2&y=")
            #expect(raw.query["x"] == ["1", "2"])
            #expect(raw.headers["x-hub-signature-256"] == "sha256=abc")
            #expect(raw.contentType == "application/json")
            tasks.cancelAll()
        }
        await harness.stop()
    }

    @Test("an unknown token gets 404 with a problem body and nothing reaches a topic")
    func unknownToken() async throws {
        let harness = try IngressHarness()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await harness.subscriptions.run() }
            try await harness.subscriptions.waitUntilLoaded()
            try await harness.server().application().test(.live) { client in
                try await client.execute(uri: "/webhooks/nope", method: .post, body: ByteBuffer(string: "{}")) { response in
                    #expect(response.status == .notFound)
                    #expect(response.headers[.contentType] == "application/problem+json")
                    let problem = try JSONValue(parsing: Data(buffer: response.body))
                    #expect(problem["status"] == 404)
                    #expect(problem["detail"]?.stringValue?.isEmpty == false)
                }
            }
            tasks.cancelAll()
        }
        #expect(try await harness.messageCount(harness.topics.ingress) == 0)
        await harness.stop()
    }

    @Test("until its subscriptions are loaded, ingress answers webhooks and /health/ready with 503 + Retry-After (saying what it waits for), never 404; /health stays 200; another role's check of the process counts too")
    func notReadyUntilLoaded() async throws {
        let harness = try IngressHarness()
        try await harness.addSubscription(id: "sub-1", token: "tok-early")
        let readiness = Readiness()
        let handlerJoined = Shared(false)
        readiness.add(.condition("handler loop", waiting: "no partitions assigned yet") { handlerJoined.value.withLock { $0 } })
        try await harness.server().application(readiness: readiness).test(.live) { client in
            try await client.execute(uri: "/webhooks/tok-early", method: .post, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
                #expect(response.headers[.contentType] == "application/problem+json")
            }
            try await client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
                let problem = try JSONValue(parsing: Data(buffer: response.body))
                #expect(problem["waitingFor"] == ["handler loop: no partitions assigned yet", "subscriptions table: loading from Kafka"])
            }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            #expect(try await harness.messageCount(harness.topics.ingress) == 0, "nothing was appended")

            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await harness.subscriptions.run() }
                try await harness.subscriptions.waitUntilLoaded()
                try await eventually { harness.subscriptions.subscription(forToken: "tok-early") != nil }
                try await client.execute(uri: "/health/ready", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    let waiting = try JSONValue(parsing: Data(buffer: response.body))["waitingFor"]
                    #expect(waiting == ["handler loop: no partitions assigned yet"])
                }
                handlerJoined.value.withLock { $0 = true }
                try await client.execute(uri: "/health/ready", method: .get) { #expect($0.status == .ok) }
                try await client.execute(uri: "/webhooks/tok-early", method: .post, body: ByteBuffer(string: "{}")) { #expect($0.status == .ok) }
                try await client.execute(uri: "/webhooks/nope", method: .post, body: ByteBuffer(string: "{}")) { #expect($0.status == .notFound) }
                tasks.cancelAll()
            }
        }
        await harness.stop()
    }

    @Test("a body over the limit gets 413")
    func tooLarge() async throws {
        let harness = try IngressHarness()
        try await harness.addSubscription(id: "sub-1", token: "tok")
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await harness.subscriptions.run() }
            try await eventually { harness.subscriptions.subscription(forToken: "tok") != nil }
            try await harness.server(maxBodyBytes: 1000).application().test(.live) { client in
                try await client.execute(uri: "/webhooks/tok", method: .post, body: ByteBuffer(repeating: 0x41, count: 5000)) { response in
                    #expect(response.status == .contentTooLarge)
                }
            }
            #expect(try await harness.messageCount(harness.topics.ingress) == 0)
            tasks.cancelAll()
        }
        await harness.stop()
    }

    @Test("when the broker is down the request gets 503 with Retry-After")
    func brokerDown() async throws {
        let harness = try IngressHarness()
        try harness.cluster.setBroker(1, up: false)
        try await harness.server().application().test(.live) { client in
            try await client.execute(
                uri: "/app-events/order-created", method: .post,
                headers: [.contentType: "application/json", .authorization: "Bearer \(IngressHarness.appKey)", .init("X-Inlet-Customer-Id")!: "acme"],
                body: ByteBuffer(string: #"{"eventId":"e-1","orderId":"o-1","customerId":"acme","total":1}"#)
            ) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] != nil)
            }
        }
        await harness.stop()
    }
}

/// Waits until `condition` holds (checking every 20 ms), failing after `timeout`.
func eventually(timeout: Duration = .seconds(30), sourceLocation: SourceLocation = #_sourceLocation, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("condition not met within \(timeout)", sourceLocation: sourceLocation)
}
