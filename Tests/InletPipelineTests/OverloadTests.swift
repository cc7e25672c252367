import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InletConnectors
import InletHTTP
import InletKafka
import InletPipeline
import Logging
import NIOCore
import Synchronization
import Testing

/// Overload against the embedded broker, which trims each partition to about 5 MiB whether
/// or not it was consumed: ingress must refuse (503 + Retry-After) rather than accept what
/// would be trimmed before the handler reads it.
@Suite("Overload on the embedded broker", .serialized)
struct OverloadTests {
    /// A signed GitHub `issues` delivery of about 13.5 KB, numbered so its event can be found.
    static func delivery(_ number: Int) -> (body: String, signature: String) {
        let body = WebhookEndToEndTests.issueDelivery(action: "opened", number: number, title: "Issue \(number) " + String(repeating: "x", count: 13_000))
        return (body, WebhookEndToEndTests.signature(body))
    }

    func stopHandler(_ handler: Shared<Task<Void, any Error>?>) async throws {
        let task = handler.value.withLock { task in
            defer { task = nil }
            return task
        }
        task?.cancel()
        _ = await task?.result
    }

    @Test("with the handler stopped and then slower than the senders, every webhook answered 2xx becomes its event; the rest get 503 + Retry-After")
    func everyAcceptedWebhookHasItsEvent() async throws {
        let harness = try IngressHarness()
        let stub = StubAPI()
        let workspace = try WebhookEndToEndTests.workspace()
        let vault = CredentialVault(secret: "overload-test-key")
        let connections = ConnectionDirectory(topics: harness.topics, client: harness.client, logger: harness.logger)
        let scripts = ScriptEngine(configuration: .init(timeLimit: .seconds(5)), logger: harness.logger)
        defer { scripts.shutdown() }
        let settings = WorkerSettings(topics: harness.topics, client: harness.client)
        let backlog = BacklogGuard(
            client: harness.client,
            watches: [.init(topic: harness.topics.ingress, partitions: harness.topics.partitions, groups: [settings.groupId(role: "handler")])],
            limits: .within(.embeddedBroker), refreshInterval: .milliseconds(50), logger: harness.logger
        )
        let delivered = Shared<Set<String>>([])
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await stub.run() }
            try await stub.waitUntilRunning()
            let runtime = ConnectorRuntime(workspace: workspace, scripts: scripts, logger: harness.logger, apiBaseOverride: stub.baseURL)
            @Sendable func startHandler() -> Task<Void, any Error> {
                let handler = HandlerService(
                    settings: settings, publicURL: "https://hooks.example.com", runtime: runtime, subscriptions: harness.subscriptions,
                    connections: connections, vault: vault, logger: harness.logger
                )
                return Task { try await handler.run() }
            }
            let dispatcher = DispatcherService(settings: settings, routing: EventRouting(topics: harness.topics), workspace: workspace, logger: harness.logger)
            tasks.addTask { try await harness.subscriptions.run() }
            tasks.addTask { try await connections.run() }
            tasks.addTask { try await dispatcher.run() }
            tasks.addTask { try await backlog.run() }
            // Counts events live: the broker trims the events topic too, so reading it from
            // the beginning afterwards would undercount.
            tasks.addTask {
                let consumer = try KafkaConsumer(
                    configuration: KafkaConsumerConfiguration(client: harness.client, groupId: "events-\(UUID())"), topics: [harness.topics.events],
                    logger: harness.logger
                )
                while !Task.isCancelled {
                    for case .message(let message) in try await consumer.poll(timeout: .milliseconds(100)) {
                        guard let value = message.value, let event = try? NormalizedEvent.decoded(from: value) else { continue }
                        let id = event.data.recordId
                        _ = delivered.value.withLock { $0.insert(id) }
                    }
                }
                await consumer.close()
            }
            let handler = Shared<Task<Void, any Error>?>(startHandler())
            let server = IngressServer(
                configuration: IngressConfiguration(port: 0), topics: harness.topics, producer: harness.producer, subscriptions: harness.subscriptions,
                admin: AdminSetup(
                    configuration: AdminConfiguration(token: WebhookEndToEndTests.adminToken, publicURL: "https://hooks.example.com", waitTimeout: .seconds(30)),
                    workspace: workspace, connections: connections, vault: vault
                ),
                backlog: backlog, logger: harness.logger
            )
            try await server.application().test(.live) { client in
                let subscription = try await WebhookEndToEndTests().createSubscription(
                    client, parameters: ["owner": "octo", "repo": "hello", "secret": .string(WebhookEndToEndTests.secret)]
                )
                let path = String(try #require(subscription["webhookUrl"]?.stringValue).dropFirst("https://hooks.example.com".count))
                let base = "http://127.0.0.1:\(try #require(client.port))"
                let accepted = Shared<Set<String>>([])
                let refused = Shared(0)
                let next = Shared(0)

                /// `senders` concurrent senders post numbered deliveries until `count` were sent,
                /// `enough` were accepted, or `duration` passed.
                @Sendable func send(count: Int, enough: Int = .max, duration: Duration, senders: Int = 16) async throws {
                    let deadline = ContinuousClock.now + duration
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for _ in 0..<senders {
                            group.addTask {
                                while ContinuousClock.now < deadline && accepted.value.withLock({ $0.count }) < enough {
                                    let number = next.value.withLock { value -> Int? in
                                        guard value < count else { return nil }
                                        value += 1
                                        return value
                                    }
                                    guard let number else { return }
                                    let (body, signature) = Self.delivery(number)
                                    var request = HTTPClientRequest(url: base + path)
                                    request.method = .POST
                                    request.headers.add(name: "Content-Type", value: "application/json")
                                    request.headers.add(name: "X-GitHub-Event", value: "issues")
                                    request.headers.add(name: "X-Hub-Signature-256", value: signature)
                                    request.body = .bytes(ByteBuffer(string: body))
                                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                                    let answer = try await response.body.collect(upTo: 1 << 16)
                                    switch response.status.code {
                                    case 200..<300:
                                        _ = accepted.value.withLock { $0.insert(String(number)) }
                                    case 503:
                                        #expect(response.headers.first(name: "Retry-After") == "1")
                                        #expect(response.headers.first(name: "Content-Type") == "application/problem+json")
                                        #expect(String(buffer: answer).contains("nothing was accepted"))
                                        refused.value.withLock { $0 += 1 }
                                    default:
                                        Issue.record("unexpected status \(response.status.code): \(String(buffer: answer))")
                                    }
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                }

                // Phase 1: nothing consumes. 600 deliveries of ~18 KB each on the topic are twice
                // what the broker keeps of a partition.
                try await stopHandler(handler)
                try await send(count: 600, duration: .seconds(60))
                let acceptedWhileStopped = accepted.value.withLock { $0.count }
                #expect(refused.value.withLock { $0 } > 0, "the backlog limit was reached")
                #expect(acceptedWhileStopped < 300, "no more was accepted than the broker keeps unconsumed")

                // Phase 2: the handler runs again (joining its group takes a few seconds) while
                // senders keep going until 200 more were accepted.
                handler.value.withLock { $0 = startHandler() }
                try await send(count: 1_000_000, enough: acceptedWhileStopped + 200, duration: .seconds(60))
                let sent = accepted.value.withLock { $0 }
                #expect(sent.count >= acceptedWhileStopped + 200, "work is accepted again once the handler consumes")

                try await eventually(timeout: .seconds(90)) {
                    delivered.value.withLock { sent.isSubset(of: $0) }
                }
                let events = delivered.value.withLock { $0 }
                #expect(sent.subtracting(events).isEmpty, "accepted without an event: \(sent.subtracting(events).count)")
                #expect(events.subtracting(sent).isEmpty, "an event for a refused webhook: nothing refused was appended")
                try await stopHandler(handler)
            }
            tasks.cancelAll()
        }
        await harness.stop()
    }
}
