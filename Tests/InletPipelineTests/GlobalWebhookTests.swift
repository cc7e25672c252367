import AsyncHTTPClient
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InletConnectors
import InletHTTP
import InletKafka
import InletPipeline
import NIOCore
import Testing

/// Global webhooks end to end (seed 003) with connectors/slack: one URL for the whole
/// connector, the global `handle` run by the handler's global group, its payloads routed by
/// selector to every matching subscription and turned into records by the event's `handle`.
@Suite("Global webhooks", .timeLimit(.minutes(5)))
struct GlobalWebhookTests {
    let helpers = WebhookEndToEndTests()

    @Test("Slack's url_verification challenge is answered through ingress, Kafka, the global handle and replies; a wrong token is 404")
    func challenge() async throws {
        let pipeline = try TestPipeline()
        try await pipeline.run { client in
            let url = try await globalWebhookURL(client)
            #expect(url.hasPrefix("https://hooks.example.com/webhooks/global/slack/events/"))
            let path = String(url.dropFirst("https://hooks.example.com".count))

            // Until the global handler's group holds its partitions (seconds on a machine loaded
            // by the parallel suites), a request is stored and acknowledged without the challenge
            // once the reply wait ends; Slack's "Retry" button sends it again, as this loop does.
            let verification = #"{"type":"url_verification","token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#
            var (status, body) = try await post(client, path, verification)
            let deadline = ContinuousClock.now + .seconds(90)
            while status == .ok, (try? JSONValue(parsing: body))?["challenge"] == nil, ContinuousClock.now < deadline {
                (status, body) = try await post(client, path, verification)
            }
            #expect(status == .ok)
            #expect(try JSONValue(parsing: body)["challenge"] == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")

            // Another event type: handle gives no response, and the sender gets the plain
            // acknowledgement from the handler at once instead of waiting for the reply timeout.
            let started = ContinuousClock.now
            let (plain, acknowledgement) = try await post(client, path, #"{"type":"app_rate_limited","team_id":"T1"}"#)
            #expect(plain == .ok)
            #expect(try JSONValue(parsing: acknowledgement)["status"] == "accepted")
            #expect(ContinuousClock.now - started < .seconds(5), "answered by the handler, not by the 5 s reply timeout")

            let (unknown, problem) = try await post(client, "/webhooks/global/slack/events/not-the-token", "{}")
            #expect(unknown == .notFound)
            #expect(problem.contains("global-webhooks"))
        }
    }

    @Test("one global request reaches every subscription whose selector matches, of several customers, and no other; a sender's retry is no second event; a deleted subscription stops receiving")
    func fanOut() async throws {
        let pipeline = try TestPipeline()
        try await pipeline.run { client in
            let url = try await globalWebhookURL(client)
            let path = String(url.dropFirst("https://hooks.example.com".count))
            let acme = try await subscribe(client, customer: "acme", team: "T1")
            let globex = try await subscribe(client, customer: "globex", team: "T1")
            let initech = try await subscribe(client, customer: "initech", team: "T2")

            let (status, _) = try await post(client, path, message(team: "T1", ts: "1700000000.000100", text: "hello T1"))
            #expect(status == .ok)
            // Slack retries with the same event_id: the retry is a new request at a new offset,
            // but its records keep their ids (spec deliveryId) and are dropped as repeats.
            let (retried, _) = try await post(client, path, message(team: "T1", ts: "1700000000.000100", text: "hello T1"), headers: ["X-Slack-Retry-Num": "1"])
            #expect(retried == .ok)
            try await waitFor(pipeline, count: 2)
            var events = pipeline.events.withLock { $0 }
            #expect(Set(events.map(\.data.subscriptionId)) == [acme, globex])
            #expect(Set(events.map(\.data.customerId)) == ["acme", "globex"])
            #expect(events.allSatisfy { $0.data.recordId == "C1:1700000000.000100" && $0.data.type == .created })
            #expect(Set(events.map(\.id)).count == 2, "each subscription's record has its own id")

            let (deleted, _) = try await helpers.admin(client, .delete, "/api/v1/subscriptions/\(globex)")
            #expect(deleted == .ok || deleted == .noContent || deleted == .accepted)
            _ = try await post(client, path, message(team: "T1", ts: "1700000001.000200", text: "only acme now"))
            _ = try await post(client, path, message(team: "T2", ts: "1700000002.000300", text: "hello T2"))
            try await waitFor(pipeline, count: 4)
            // Anything routed late would arrive within this time.
            try await Task.sleep(for: .seconds(1))
            events = pipeline.events.withLock { $0 }
            #expect(events.count == 4)
            #expect(events.filter { $0.data.recordId == "C1:1700000001.000200" }.map(\.data.subscriptionId) == [acme])
            #expect(events.filter { $0.data.recordId == "C1:1700000002.000300" }.map(\.data.subscriptionId) == [initech])
            #expect(!events.contains { $0.data.subscriptionId == globex && $0.data.recordId != "C1:1700000000.000100" })
        }
    }

    @Test("the workspace's connector parameters reach the global handle: with Slack's signing secret set, a signed request is routed and a forged one is dead-lettered; bad parameters are 422")
    func signedGlobalRequests() async throws {
        let pipeline = try TestPipeline()
        let secret = "8f742231b10e8888abcd99yyyzzz85a5"
        try await pipeline.run { client in
            let (invalid, problem) = try await helpers.admin(client, .put, "/api/v1/connectors/slack/parameters", ["signingSecret": 42])
            #expect(invalid == .unprocessableContent, "\(problem)")
            let (unknown, _) = try await helpers.admin(client, .put, "/api/v1/connectors/nope/parameters", [:])
            #expect(unknown == .notFound)
            let (set, answer) = try await helpers.admin(client, .put, "/api/v1/connectors/slack/parameters", ["signingSecret": .string(secret)])
            #expect(set == .ok, "\(answer)")
            #expect(answer["signingSecret"] == nil, "the parameters are never repeated")

            let url = try await globalWebhookURL(client)
            let path = String(url.dropFirst("https://hooks.example.com".count))
            let subscription = try await subscribe(client, customer: "acme", team: "T1")

            let forged = message(team: "T1", ts: "1700000010.000100", text: "forged")
            let (forgedStatus, _) = try await post(client, path, forged, headers: ["X-Slack-Request-Timestamp": "\(Int(Date().timeIntervalSince1970))", "X-Slack-Signature": "v0=00"])
            #expect(forgedStatus == .ok, "stored; the handler refuses it")
            let signed = message(team: "T1", ts: "1700000011.000100", text: "signed")
            let timestamp = "\(Int(Date().timeIntervalSince1970))"
            let signature = "v0=" + HMAC<SHA256>.authenticationCode(for: Array("v0:\(timestamp):\(signed)".utf8), using: SymmetricKey(data: Array(secret.utf8)))
                .map { String(format: "%02x", $0) }.joined()
            let (signedStatus, _) = try await post(client, path, signed, headers: ["X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature])
            #expect(signedStatus == .ok)
            try await waitFor(pipeline, count: 1)
            try await Task.sleep(for: .seconds(1))
            let events = pipeline.events.withLock { $0 }
            #expect(events.map(\.data.recordId) == ["C1:1700000011.000100"])
            #expect(events.map(\.data.subscriptionId) == [subscription])
        }
    }

    // MARK: - Helpers

    private func globalWebhookURL(_ client: any TestClientProtocol) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let (status, listed) = try await helpers.admin(client, .get, "/api/v1/global-webhooks")
            if status == .ok, let entry = listed["globalWebhooks"]?.arrayValue?.first(where: { $0["connectorKey"] == "slack" && $0["key"] == "events" }) {
                #expect(entry["name"] == "Slack Events API")
                return try #require(entry["url"]?.stringValue)
            }
            guard ContinuousClock.now < deadline else { throw TestFailure("GET /api/v1/global-webhooks answered \(status): \(listed)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    private func subscribe(_ client: any TestClientProtocol, customer: String, team: String) async throws -> String {
        let (created, connection) = try await helpers.admin(client, .post, "/api/v1/connections", [
            "connectorKey": "slack", "customerId": .string(customer), "credentials": ["access_token": "xoxb-test"],
        ])
        #expect(created == .created)
        let connectionId = try #require(connection["id"]?.stringValue)
        let subscription = try await helpers.subscribed(client, [
            "connectionId": .string(connectionId), "eventKey": "message-posted", "parameters": ["teamId": .string(team)],
        ])
        #expect(subscription["status"] == "active")
        return try #require(subscription["id"]?.stringValue)
    }

    private func message(team: String, ts: String, text: String) -> String {
        #"{"type":"event_callback","team_id":"\#(team)","event_id":"Ev\#(ts)","event_time":1700000000,"event":{"type":"message","channel":"C1","user":"U1","text":"\#(text)","ts":"\#(ts)"}}"#
    }

    private func post(_ client: any TestClientProtocol, _ path: String, _ body: String, headers: [String: String] = [:]) async throws -> (HTTPResponse.Status, String) {
        var fields: HTTPFields = [.contentType: "application/json"]
        for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
        return try await client.execute(uri: path, method: .post, headers: fields, body: ByteBuffer(string: body)) {
            ($0.status, String(buffer: $0.body))
        }
    }

    private func waitFor(_ pipeline: TestPipeline, count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while pipeline.events.withLock({ $0.count }) < count {
            guard ContinuousClock.now < deadline else {
                throw TestFailure("expected \(count) events, got \(pipeline.events.withLock { $0.map { ($0.data.subscriptionId, $0.data.recordId) } })")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// A test precondition that did not come true in time.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite("Routed global events, applied once")
struct RoutedGlobalEventMarkTests {
    @Test("a copy routed again after a crash (same global position, new ingress offset) counts as applied; later positions do not")
    func globalSourceMark() {
        var subscription = MessageSamples.subscription
        let first = RecordEvent.Source(topic: "inlet.ingress.global", partition: 3, offset: 100, index: 0)
        let second = RecordEvent.Source(topic: "inlet.ingress.global", partition: 3, offset: 100, index: 1)
        #expect(!subscription.hasApplied(globalSource: first))
        subscription.markApplied(globalSource: first)
        #expect(subscription.hasApplied(globalSource: first))
        #expect(!subscription.hasApplied(globalSource: second), "the next event of the same request")
        subscription.markApplied(globalSource: second)
        #expect(subscription.hasApplied(globalSource: first) && subscription.hasApplied(globalSource: second))
        #expect(!subscription.hasApplied(globalSource: .init(topic: "inlet.ingress.global", partition: 3, offset: 101, index: 0)))
        #expect(subscription.hasApplied(globalSource: .init(topic: "inlet.ingress.global", partition: 3, offset: 99, index: 7)))
        #expect(!subscription.hasApplied(globalSource: .init(topic: "inlet.ingress.global", partition: 4, offset: 1, index: 0)), "another partition has its own mark")
        subscription.markApplied(globalSource: first)
        #expect(subscription.hasApplied(globalSource: second), "marking an older position never moves the mark back")
        // The marks are plain appliedOffsets entries, valid against the schema's key pattern.
        #expect(subscription.appliedOffsets.keys.allSatisfy { $0.range(of: #"^.+:[0-9]+$"#, options: .regularExpression) != nil })
    }
}
