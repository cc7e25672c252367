import Foundation
import HummingbirdTesting
import InletConnectors
import InletKafka
import InletPipeline
import Synchronization
import Testing

/// Connector methods that wait on a slow API: batches end on time, so the worker keeps
/// polling and keeps its partitions, and a rebalance never lets two handlers work on the
/// same input.
@Suite("Slow APIs and rebalances", .serialized)
struct SlowAPITests {
    /// A Graph change notification for message `id`.
    static func notification(_ id: String, clientState: String) -> String {
        #"{"value":[{"subscriptionId":"graph-sub-1","clientState":"\#(clientState)","changeType":"created","resourceData":{"id":"\#(id)"}}]}"#
    }

    /// Creates `subscriptions` Graph subscriptions (their handshakes are answered by
    /// ingress) and queues `count` notifications for each, taking turns (ingress answers each
    /// once stored, without waiting for `handle`); returns the message ids per subscription.
    func queueNotifications(_ pipeline: TestPipeline, client: any TestClientProtocol, count: Int, subscriptions: Int = 1) async throws -> [String: [String]] {
        let port = try #require(client.port)
        pipeline.stub.validateNotificationsAt.withLock { $0 = "http://127.0.0.1:\(port)" }
        var targets: [(id: String, path: String, clientState: String)] = []
        for _ in 0..<subscriptions {
            let subscription = try await WebhookEndToEndTests().createSubscription(client, connector: "msgraph", eventKey: "message-received", parameters: [:])
            targets.append((
                try #require(subscription["id"]?.stringValue),
                String(try #require(subscription["webhookUrl"]?.stringValue).dropFirst("https://hooks.example.com".count)),
                try await clientState(pipeline, subscription)
            ))
        }
        var ids: [String: [String]] = [:]
        for number in 1...count {
            for (index, target) in targets.enumerated() {
                let id = "s\(index)-m\(number)"
                let answer = try await TestPipeline.post(
                    "http://127.0.0.1:\(port)", target.path, body: Self.notification(id, clientState: target.clientState), headers: [:]
                )
                #expect((200..<300).contains(answer.status), "\(answer.body)")
                ids[target.id, default: []].append(id)
            }
        }
        return ids
    }

    /// Each message's event once, in order per subscription, and its API call made once.
    func expectEachOnceInOrder(_ pipeline: TestPipeline, _ ids: [String: [String]]) {
        let events = pipeline.events.withLock { $0 }
        for (subscription, expected) in ids {
            #expect(events.filter { $0.data.subscriptionId == subscription }.map(\.data.recordId) == expected, "each message once, in order")
        }
        let calls = pipeline.stub.received("GET", "/me/messages/")
        for id in ids.values.joined() {
            #expect(calls.filter { $0.path == "/me/messages/\(id)" }.count == 1, "\(id) was handled once, by one handler")
        }
    }

    @Test("with max.poll.interval.ms at 10 s, a 1 s-per-call API and 30 queued webhooks, batches end on time: no rebalance, every event once, in order")
    func slowAPIKeepsMembership() async throws {
        let pipeline = try TestPipeline { settings in
            settings.maxPollInterval = .seconds(10)
        }
        pipeline.stub.messageDelay.withLock { $0 = .seconds(1) }
        try await pipeline.run(replies: false) { client in
            let ids = try await queueNotifications(pipeline, client: client, count: 30)
            try await eventually(timeout: .seconds(120)) { pipeline.events.withLock { $0.count } >= 30 }
            #expect(pipeline.handlerStatistics.map(\.revocations) == [0], "the handler never left its group")
            expectEachOnceInOrder(pipeline, ids)
        }
    }

    @Test("a second handler joining while the first waits on a slow API: no input is handled twice, order is kept")
    func rebalanceDuringSlowHandle() async throws {
        let pipeline = try TestPipeline { settings in
            // Batches of 5 calls of 0.6 s: fetched messages wait in the consumer when the
            // rebalance comes, and handling them takes longer than the group's rebalance.
            settings.maxBatchSize = 5
        }
        pipeline.stub.messageDelay.withLock { $0 = .milliseconds(600) }
        try await pipeline.run(replies: false) { client in
            // Six subscriptions, so that some move to the second handler whatever the assignment.
            let ids = try await queueNotifications(pipeline, client: client, count: 4, subscriptions: 6)
            // The first handler is working through the queue; a second one joins the group.
            try await eventually(timeout: .seconds(30)) { !pipeline.stub.received("GET", "/me/messages/").isEmpty }
            pipeline.startHandler()
            try await eventually(timeout: .seconds(120)) { pipeline.events.withLock { $0.count } >= 24 }
            #expect((pipeline.handlerStatistics.first?.revocations ?? 0) >= 1, "the first handler gave up partitions to the second")
            expectEachOnceInOrder(pipeline, ids)
        }
    }
}
