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
        // As in `inlet dev`: the handler also waits for the dispatcher before `records` fills.
        let pipeline = try TestPipeline { $0.embeddedRetention = .embeddedBroker }
        let backlog = BacklogGuard(
            client: pipeline.harness.client,
            watches: [
                .init(topic: pipeline.harness.topics.ingress, partitions: pipeline.harness.topics.partitions, groups: [pipeline.settings.groupId(role: "handler")])
            ],
            limits: .within(.embeddedBroker), refreshInterval: .milliseconds(50), logger: pipeline.harness.logger
        )
        try await pipeline.run(backlog: backlog) { client in
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
                                let answer = try await TestPipeline.post(
                                    base, path, body: body, headers: ["X-GitHub-Event": "issues", "X-Hub-Signature-256": signature]
                                )
                                switch answer.status {
                                case 200..<300:
                                    _ = accepted.value.withLock { $0.insert(String(number)) }
                                case 503:
                                    #expect(answer.retryAfter == "1")
                                    #expect(answer.body.contains("nothing was accepted"))
                                    refused.value.withLock { $0 += 1 }
                                default:
                                    Issue.record("unexpected status \(answer.status): \(answer.body)")
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }

            // Phase 1: nothing consumes. 600 deliveries of ~18 KB each on the topic are twice
            // what the broker keeps of a partition.
            await pipeline.stopHandlers()
            try await send(count: 600, duration: .seconds(60))
            let acceptedWhileStopped = accepted.value.withLock { $0.count }
            #expect(refused.value.withLock { $0 } > 0, "the backlog limit was reached")
            #expect(acceptedWhileStopped < 300, "no more was accepted than the broker keeps unconsumed")

            // Phase 2: the handler runs again (joining its group takes a few seconds) while
            // senders keep going until 200 more were accepted (the bound is generous: the whole
            // suite shares 2 cores, and this is about what is accepted, not how fast).
            pipeline.startHandler()
            try await send(count: 1_000_000, enough: acceptedWhileStopped + 200, duration: .seconds(150))
            let sent = accepted.value.withLock { $0 }
            #expect(sent.count >= acceptedWhileStopped + 200, "work is accepted again once the handler consumes")

            let delivered = { Set(pipeline.events.withLock { $0.map(\.data.recordId) }) }
            try await eventually(timeout: .seconds(90)) { sent.isSubset(of: delivered()) }
            #expect(sent.subtracting(delivered()).isEmpty, "accepted without an event: \(sent.subtracting(delivered()).count)")
            #expect(delivered().subtracting(sent).isEmpty, "an event for a refused webhook: nothing refused was appended")
        }
    }
}
