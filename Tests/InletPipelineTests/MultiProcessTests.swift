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
    static let subscriptionCount = 200
    static let webhooksPerSubscription = 100
    static let secret = "multi-process-secret-0123456789"
    static let adminToken = "multi-process-admin"

    @Test("1 ingress, 2 handlers, 2 dispatchers; 20,000 webhooks over 200 subscriptions; ingress, then a handler and a dispatcher SIGKILLed at random points and restarted: none lost, in order, repeats keep their ids")
    func killAndRestart() async throws {
        let logger = {
            var logger = Logger(label: "multi-process")
            logger.logLevel = .critical
            return logger
        }()
        let topics = InletTopics(prefix: "mp\(UUID().uuidString.prefix(4)).", partitions: 8)
        let cluster = try EmbeddedKafkaCluster(logger: logger)
        defer { cluster.stop() }
        try cluster.createTopics(topics.allForEmbeddedBroker)
        let stub = StubAPI()
        let root = RoleProcess.binary.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let total = Self.subscriptionCount * Self.webhooksPerSubscription
        // Random kill points (printed with the results).
        let ingressKillAt = Int.random(in: (total * 2 / 10)...(total * 4 / 10))
        let workerKillAt = Int.random(in: (total * 5 / 10)...(total * 7 / 10))

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await stub.run() }
            try await stub.waitUntilRunning()
            let roles = RoleProcessGroup(
                bootstrapServers: cluster.bootstrapServers, topics: topics, apiBaseOverride: stub.baseURL, workspace: root, adminToken: Self.adminToken)
            let (ingress, base) = try await roles.startIngress("ingress")
            let handlers = try (0..<2).map { try roles.start("handler-\($0)", ["handler"]) }
            let dispatchers = try (0..<2).map { try roles.start("dispatcher-\($0)", ["dispatcher"]) }
            let client = Client(http: HTTPClient.shared, base: Shared(base))
            // Events are counted while they are produced: the broker keeps only ~5 MiB per partition.
            let events = Shared<[NormalizedEvent]>([])
            tasks.addTask { try await Self.readEvents(cluster: cluster, topics: topics, logger: logger, into: events) }
            do {
                let connection = try await client.admin(.POST, "/api/v1/connections", [
                    "connectorKey": "github", "customerId": "acme", "credentials": ["access_token": "t"],
                ])
                let connectionId = try #require(connection["id"]?.stringValue)
                let subscriptions = try await withThrowingTaskGroup(of: [(Int, String, String)].self) { creators in
                    for creator in 0..<10 {
                        creators.addTask {
                            var made: [(Int, String, String)] = []
                            for index in stride(from: creator, to: Self.subscriptionCount, by: 10) {
                                let (id, path) = try await client.subscribe(connectionId: connectionId, index: index)
                                made.append((index, id, path))
                            }
                            return made
                        }
                    }
                    return try await creators.reduce(into: []) { $0 += $1 }.sorted { $0.0 < $1.0 }.map { (id: $0.1, path: $0.2) }
                }

                // 20 senders, each owning 10 subscriptions and sending their webhooks in order;
                // a webhook is sent again (same X-GitHub-Delivery) until it is answered 200.
                let accepted = Shared<[String: [Int]]>([:])
                let sent = Shared(0)
                let resent = Shared(0)
                try await withThrowingTaskGroup(of: Void.self) { senders in
                    for sender in 0..<20 {
                        let owned = Array(subscriptions[(sender * 10)..<(sender * 10 + 10)])
                        senders.addTask {
                            for sequence in 0..<Self.webhooksPerSubscription {
                                for subscription in owned {
                                    let body = Self.delivery(sequence: sequence)
                                    let attempts = try await client.deliver(
                                        subscription.path, body: body, signature: Self.signature(body), delivery: "\(subscription.id)-\(sequence)"
                                    )
                                    accepted.value.withLock { $0[subscription.id, default: []].append(sequence) }
                                    sent.value.withLock { $0 += 1 }
                                    if attempts > 1 { resent.value.withLock { $0 += attempts - 1 } }
                                }
                            }
                        }
                    }
                    senders.addTask {
                        while sent.value.withLock({ $0 }) < ingressKillAt { try await Task.sleep(for: .milliseconds(10)) }
                        ingress.kill()
                        try await Task.sleep(for: .milliseconds(500))
                        let (_, newBase) = try await roles.startIngress("ingress-b")
                        client.base.value.withLock { $0 = newBase }
                        while sent.value.withLock({ $0 }) < workerKillAt { try await Task.sleep(for: .milliseconds(10)) }
                        handlers[0].kill()
                        dispatchers[0].kill()
                        _ = try roles.start("handler-0b", ["handler"])
                        _ = try roles.start("dispatcher-0b", ["dispatcher"])
                    }
                    try await senders.waitForAll()
                }

                let acceptedBySubscription = accepted.value.withLock { $0 }
                let acceptedCount = acceptedBySubscription.values.map(\.count).reduce(0, +)
                let distinct = { Set(events.value.withLock { $0.map { "\($0.data.subscriptionId)/\($0.data.recordId)" } }).count }
                let deadline = ContinuousClock.now + .seconds(300)
                while distinct() < acceptedCount && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(200)) }
                // Late repeats still in flight.
                try await Task.sleep(for: .seconds(2))

                var firstIds: [String: [Int: String]] = [:]
                var order: [String: [Int]] = [:]
                var repeats = 0
                var repeatsWithOtherId = 0
                for event in events.value.withLock({ $0 }) {
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
                let lost = acceptedBySubscription.reduce(0) { total, entry in
                    total + entry.value.filter { firstIds[entry.key]?[$0] == nil }.count
                }
                let outOfOrder = order.values.filter { $0 != $0.sorted() }.count
                print(
                    "multi-process: ingress killed at \(ingressKillAt), handler and dispatcher at \(workerKillAt); sent \(total), accepted \(acceptedCount) "
                        + "(\(resent.value.withLock { $0 }) re-sends after errors or 503), delivered \(delivered), repeats with the original id \(repeats - repeatsWithOtherId), "
                        + "repeats with a new id \(repeatsWithOtherId), lost \(lost), subscriptions out of order \(outOfOrder)"
                )
                #expect(acceptedCount == total, "every webhook was accepted in the end")
                #expect(lost == 0, "every accepted webhook yields its event")
                #expect(outOfOrder == 0, "events are in order per subscription")
                #expect(repeatsWithOtherId == 0, "a repeat carries its original's id")
            } catch {
                await roles.stopAll()
                throw error
            }
            await roles.stopAll()
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

    /// Reads `events` from the beginning into `events` until cancelled.
    static func readEvents(cluster: EmbeddedKafkaCluster, topics: InletTopics, logger: Logger, into events: Shared<[NormalizedEvent]>) async throws {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(client: KafkaClientConfiguration(bootstrapServers: [cluster.bootstrapServers]), groupId: "verify-\(UUID())"),
            topics: [topics.events], logger: logger
        )
        while !Task.isCancelled {
            for case .message(let message) in (try? await consumer.poll(maxMessages: 2000, timeout: .milliseconds(200))) ?? [] {
                guard let value = message.value, let event = try? NormalizedEvent.decoded(from: value) else { continue }
                events.value.withLock { $0.append(event) }
            }
        }
        await consumer.close()
    }

    /// A small HTTP client for the admin API and webhooks, following ingress restarts.
    struct Client: Sendable {
        let http: HTTPClient
        let base: Shared<String>

        func admin(_ method: HTTPMethod, _ path: String, _ body: JSONValue?) async throws -> JSONValue {
            var request = HTTPClientRequest(url: base.value.withLock { $0 } + path)
            request.method = method
            request.headers.add(name: "Authorization", value: "Bearer \(MultiProcessTests.adminToken)")
            request.headers.add(name: "Content-Type", value: "application/json")
            if let body { request.body = .bytes(ByteBuffer(data: body.serialized())) }
            let response = try await http.execute(request, timeout: .seconds(60))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            return (try? JSONValue(parsing: Data(buffer: bytes))) ?? .null
        }

        /// Creates subscription `index` and waits until the handler made it active.
        func subscribe(connectionId: String, index: Int) async throws -> (id: String, path: String) {
            var created = try await admin(.POST, "/api/v1/subscriptions", [
                "connectionId": .string(connectionId), "eventKey": "issues",
                "parameters": ["owner": "octo", "repo": .string("repo-\(index)"), "secret": .string(MultiProcessTests.secret)],
            ])
            let id = try #require(created["id"]?.stringValue, "subscription \(index): \(created)")
            // 202 on a slow machine: poll the subscription until the handler made it active.
            let deadline = ContinuousClock.now + .seconds(120)
            while created["status"] != "active" && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                created = try await admin(.GET, "/api/v1/subscriptions/\(id)", nil)
            }
            let url = try #require(created["webhookUrl"]?.stringValue, "subscription \(index): \(created)")
            return (id, String(url.dropFirst("https://hooks.example.com".count)))
        }

        /// Posts a delivery until it is answered 200 (as a sender that retries would: after a
        /// connection error, a timeout or a 503, with the same delivery id); returns the attempts.
        func deliver(_ path: String, body: String, signature: String, delivery: String) async throws -> Int {
            let deadline = ContinuousClock.now + .seconds(180)
            var attempts = 0
            while true {
                attempts += 1
                var request = HTTPClientRequest(url: base.value.withLock { $0 } + path)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.headers.add(name: "X-GitHub-Event", value: "issues")
                request.headers.add(name: "X-GitHub-Delivery", value: delivery)
                request.headers.add(name: "X-Hub-Signature-256", value: signature)
                request.body = .bytes(ByteBuffer(string: body))
                do {
                    let response = try await http.execute(request, timeout: .seconds(10))
                    _ = try await response.body.collect(upTo: 1 << 16)
                    if response.status.code == 200 { return attempts }
                } catch {
                    // The ingress process is gone or restarting: try again.
                }
                guard ContinuousClock.now < deadline else { throw DeliveryNotAccepted(delivery: delivery) }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}

/// A delivery was not accepted within its deadline.
struct DeliveryNotAccepted: Error, CustomStringConvertible {
    let delivery: String
    var description: String { "delivery \(delivery) was not accepted within 180 s" }
}

/// A value shared between tasks.
final class Shared<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ initial: Value) { value = Mutex(initial) }
}
