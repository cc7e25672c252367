import AsyncHTTPClient
import Crypto
import Foundation
import InletConnectors
import InletKafka
import InletPipeline
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// The pipeline as separate `inlet` processes against one broker (hosted by this test), with
/// workers killed by SIGKILL in the middle of the traffic.
@Suite("Multi-process pipeline", .serialized, .enabled(if: RoleProcess.binaryExists, "needs the inlet binary (swift build)"))
struct MultiProcessTests {
    static let subscriptionCount = 100
    static let webhooksPerSubscription = 100
    static let secret = "multi-process-secret-0123456789"
    static let adminToken = "multi-process-admin"

    @Test("1 ingress, 2 handlers, 2 dispatchers; 10,000 webhooks over 100 subscriptions; a handler and a dispatcher SIGKILLed and restarted: none lost, in order, repeats keep their ids")
    func killAndRestart() async throws {
        var logger = Logger(label: "multi-process")
        logger.logLevel = .critical
        let topics = InletTopics(prefix: "mp\(UUID().uuidString.prefix(4)).", partitions: 8)
        let cluster = try EmbeddedKafkaCluster(logger: logger)
        defer { cluster.stop() }
        try cluster.createTopics(topics.allForEmbeddedBroker)
        let stub = StubAPI()
        let root = RoleProcess.binary.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await stub.run() }
            try await stub.waitUntilRunning()
            let environment = [
                "INLET_KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrapServers, "INLET_TOPIC_PREFIX": topics.prefix,
                "INLET_TOPIC_PARTITIONS": String(topics.partitions), "INLET_SECRET_KEY": "multi-process-key",
                "INLET_ADMIN_TOKEN": Self.adminToken, "INLET_API_BASE_OVERRIDE": stub.baseURL ?? "",
                "INLET_WORKSPACE": root.path, "INLET_PROCESSING_GUARANTEE": "at-least-once", "INLET_LOG_LEVEL": "warning",
                "INLET_PUBLIC_URL": "https://hooks.example.com", "INLET_KAFKA_FETCH_WAIT_MAX_MS": "10",
            ]
            let ingress = try RoleProcess("ingress", arguments: ["ingress", "--port", "0", "--embedded-broker"], environment: environment)
            let port = try await ingress.waitForLine(containing: "ingress listening on").split(separator: ":").last.map(String.init) ?? ""
            let base = "http://127.0.0.1:\(port)"
            var handlers = try (0..<2).map { try RoleProcess("handler-\($0)", arguments: ["handler"], environment: environment) }
            var dispatchers = try (0..<2).map { try RoleProcess("dispatcher-\($0)", arguments: ["dispatcher"], environment: environment) }

            let client = Client(http: HTTPClient.shared, base: base)
            var processes = [ingress] + handlers + dispatchers
            do {
                // 100 subscriptions, one connection.
                let connection = try await client.admin(.POST, "/api/v1/connections", [
                    "connectorKey": "github", "customerId": "acme", "credentials": ["access_token": "t"],
                ])
                let connectionId = try #require(connection["id"]?.stringValue)
                var subscriptions: [(id: String, path: String)] = []
                for index in 0..<Self.subscriptionCount {
                    var created = try await client.admin(.POST, "/api/v1/subscriptions", [
                        "connectionId": .string(connectionId), "eventKey": "issues",
                        "parameters": ["owner": "octo", "repo": .string("repo-\(index)"), "secret": .string(Self.secret)],
                    ])
                    let id = try #require(created["id"]?.stringValue, "subscription \(index): \(created)")
                    // 202 on a slow machine: poll the subscription until the handler made it active.
                    let deadline = ContinuousClock.now + .seconds(120)
                    while created["status"] != "active" && ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(100))
                        created = try await client.admin(.GET, "/api/v1/subscriptions/\(id)", nil)
                    }
                    let url = try #require(created["webhookUrl"]?.stringValue, "subscription \(index): \(created)")
                    subscriptions.append((id, String(url.dropFirst("https://hooks.example.com".count))))
                }

                // 20 senders, each owning 5 subscriptions and sending their webhooks in order.
                let accepted = Shared<[String: [Int]]>([:])
                let sent = Shared(0)
                let killed = Shared(false)
                let victims = (handlers[0], dispatchers[0])
                try await withThrowingTaskGroup(of: Void.self) { senders in
                    for sender in 0..<20 {
                        let owned = Array(subscriptions[(sender * 5)..<(sender * 5 + 5)])
                        senders.addTask {
                            for sequence in 0..<Self.webhooksPerSubscription {
                                for subscription in owned {
                                    let body = Self.delivery(sequence: sequence)
                                    let status = try await client.webhook(subscription.path, body: body, signature: Self.signature(body))
                                    if status == 200 { accepted.value.withLock { $0[subscription.id, default: []].append(sequence) } }
                                    sent.value.withLock { $0 += 1 }
                                }
                            }
                        }
                    }
                    // Midway: kill one handler and one dispatcher, then start replacements.
                    senders.addTask {
                        while sent.value.withLock({ $0 }) < Self.subscriptionCount * Self.webhooksPerSubscription / 2 { try await Task.sleep(for: .milliseconds(20)) }
                        victims.0.kill()
                        victims.1.kill()
                        killed.value.withLock { $0 = true }
                    }
                    try await senders.waitForAll()
                }
                #expect(killed.value.withLock { $0 })
                handlers[0] = try RoleProcess("handler-0b", arguments: ["handler"], environment: environment)
                dispatchers[0] = try RoleProcess("dispatcher-0b", arguments: ["dispatcher"], environment: environment)
                processes += [handlers[0], dispatchers[0]]

                let acceptedCount = accepted.value.withLock { $0.values.map(\.count).reduce(0, +) }
                // Read every normalized event until each accepted webhook has one.
                let events = try await Self.readEvents(cluster: cluster, topics: topics, logger: logger, until: acceptedCount)
                var firstIds: [String: [Int: String]] = [:]
                var order: [String: [Int]] = [:]
                var repeats = 0
                var repeatsWithOtherId = 0
                for event in events {
                    guard let sequence = event.data.record["fields"]?["number"]?.integerValue.map(Int.init) else { continue }
                    let subscription = event.data.subscriptionId
                    if let original = firstIds[subscription]?[sequence] {
                        repeats += 1
                        if original != event.id { repeatsWithOtherId += 1 }
                    } else {
                        firstIds[subscription, default: [:]][sequence] = event.id
                        order[subscription, default: []].append(sequence)
                    }
                }
                let delivered = firstIds.values.map(\.count).reduce(0, +)
                let acceptedBySubscription = accepted.value.withLock { $0 }
                let lost = acceptedBySubscription.reduce(0) { total, entry in
                    total + entry.value.filter { firstIds[entry.key]?[$0] == nil }.count
                }
                let outOfOrder = order.values.filter { $0 != $0.sorted() }.count
                print("multi-process: sent \(sent.value.withLock { $0 }), accepted \(acceptedCount), delivered \(delivered), events read \(events.count), distinct ids \(Set(events.map(\.id)).count), repeats \(repeats), repeats with another id \(repeatsWithOtherId), lost \(lost), subscriptions out of order \(outOfOrder)")
                #expect(acceptedCount == Self.subscriptionCount * Self.webhooksPerSubscription, "ingress accepted every webhook")
                #expect(lost == 0, "every accepted webhook yields its event")
                #expect(outOfOrder == 0, "events are in order per subscription")
                #expect(repeatsWithOtherId == 0, "a repeat carries its original's id")
            } catch {
                for process in processes { await process.stop() }
                throw error
            }
            for process in processes { await process.stop() }
            tasks.cancelAll()
        }
    }

    static func delivery(sequence: Int) -> String {
        #"{"action":"edited","issue":{"number":\#(sequence),"title":"change \#(sequence)","state":"open","html_url":"https://github.com/octo/r/issues/\#(sequence)","user":{"login":"octocat"},"labels":[],"assignees":[],"created_at":"2026-11-25T10:00:00Z","updated_at":"2026-11-25T10:00:00Z"}}"#
    }

    static func signature(_ body: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// Reads `events` from the beginning until `count` distinct (subscription, record) pairs
    /// arrived or no new event came for a while.
    static func readEvents(cluster: EmbeddedKafkaCluster, topics: InletTopics, logger: Logger, until count: Int) async throws -> [NormalizedEvent] {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(client: KafkaClientConfiguration(bootstrapServers: [cluster.bootstrapServers]), groupId: "verify-\(UUID())"),
            topics: [topics.events], logger: logger
        )
        var events: [NormalizedEvent] = []
        var distinct = Set<String>()
        var lastProgress = ContinuousClock.now
        let deadline = ContinuousClock.now + .seconds(600)
        while distinct.count < count && ContinuousClock.now < deadline && ContinuousClock.now - lastProgress < .seconds(120) {
            for case .message(let message) in try await consumer.poll(maxMessages: 2000, timeout: .milliseconds(500)) {
                guard let value = message.value, let event = try? NormalizedEvent.decoded(from: value) else { continue }
                events.append(event)
                distinct.insert("\(event.data.subscriptionId)/\(event.data.recordId)")
                lastProgress = .now
            }
        }
        // Anything still in flight (late repeats).
        for case .message(let message) in try await consumer.poll(maxMessages: 5000, timeout: .seconds(2)) {
            if let value = message.value, let event = try? NormalizedEvent.decoded(from: value) { events.append(event) }
        }
        await consumer.close()
        return events
    }

    /// A small HTTP client for the admin API and webhooks.
    struct Client: Sendable {
        let http: HTTPClient
        let base: String

        func admin(_ method: HTTPMethod, _ path: String, _ body: JSONValue?) async throws -> JSONValue {
            var request = HTTPClientRequest(url: base + path)
            request.method = method
            request.headers.add(name: "Authorization", value: "Bearer \(MultiProcessTests.adminToken)")
            request.headers.add(name: "Content-Type", value: "application/json")
            if let body { request.body = .bytes(ByteBuffer(data: body.serialized())) }
            let response = try await http.execute(request, timeout: .seconds(60))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            return (try? JSONValue(parsing: Data(buffer: bytes))) ?? .null
        }

        func webhook(_ path: String, body: String, signature: String) async throws -> UInt {
            var request = HTTPClientRequest(url: base + path)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "X-GitHub-Event", value: "issues")
            request.headers.add(name: "X-Hub-Signature-256", value: signature)
            request.body = .bytes(ByteBuffer(string: body))
            let response = try await http.execute(request, timeout: .seconds(60))
            _ = try await response.body.collect(upTo: 1 << 16)
            return response.status.code
        }
    }
}

/// A value shared between tasks.
final class Shared<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ initial: Value) { value = Mutex(initial) }
}
