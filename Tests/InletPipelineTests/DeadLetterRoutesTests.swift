import Foundation
import HTTPTypes
import HummingbirdTesting
import InletJSON
import InletKafka
import InletPipeline
import Testing

/// `/api/v1/dead-letters`: listing what failed, filtered, and replaying it over HTTP.
@Suite("Dead letters over the admin API", .timeLimit(.minutes(5)))
struct DeadLetterRoutesTests {
    let helpers = WebhookEndToEndTests()

    /// A GitHub subscription, and a webhook for it with a wrong signature (its `handle` refuses
    /// it: a dead letter); the subscription's id.
    static func forgedWebhook(_ client: any TestClientProtocol, helpers: WebhookEndToEndTests, title: String) async throws -> String {
        let subscription = try await helpers.createSubscription(
            client, parameters: ["owner": "octo", "repo": "hello", "secret": .string(WebhookEndToEndTests.secret)])
        let path = String(try #require(subscription["webhookUrl"]?.stringValue).dropFirst("https://hooks.example.com".count))
        let base = "http://127.0.0.1:\(try #require(client.port))"
        let forged = WebhookEndToEndTests.issueDelivery(action: "opened", number: 1, title: title)
        #expect(try await TestPipeline.post(base, path, body: forged, headers: ["X-GitHub-Event": "issues", "X-Hub-Signature-256": "sha256=00"]).status == 200)
        return try #require(subscription["id"]?.stringValue)
    }

    @Test("a forged webhook's dead letter is listed with its reason and never its body; filters narrow; replaying it by id sends the original again, whose new dead letter names the first; bad requests are 4xx problems")
    func listAndReplay() async throws {
        let pipeline = try TestPipeline()
        try await pipeline.run(replies: false) { client in
            let subscriptionId = try await Self.forgedWebhook(client, helpers: helpers, title: "secret-looking body")

            var listed: JSONValue = nil
            try await eventually(timeout: .seconds(60)) {
                let (status, body) = try await helpers.admin(client, .get, "/api/v1/dead-letters?subscriptionId=\(subscriptionId)")
                listed = body
                return status == .ok && body["total"] == 1
            }
            let first = try #require(listed["deadLetters"]?[0])
            let firstId = try #require(first["id"]?.stringValue)
            let code = try #require(first["reason"]?["code"]?.stringValue)
            #expect(first["stage"] == "handler")
            #expect(first["subscriptionId"]?.stringValue == subscriptionId)
            #expect(first["original"]?["topic"]?.stringValue == pipeline.harness.topics.ingress)
            #expect(first["replayOf"] == .null)
            #expect(!listed.jsonText.contains("secret-looking body"), "the original's body is never listed")
            #expect(Set(first["original"]?.objectValue?.keys ?? [:].keys) == ["topic", "partition", "offset", "key", "valueBytes"], "position and size, no value or headers")
            #expect(try await helpers.admin(client, .get, "/api/v1/dead-letters?reason=no-such-reason").1["total"] == 0)
            #expect(try await helpers.admin(client, .get, "/api/v1/dead-letters?reason=\(code)&stage=handler").1["total"] == 1)
            #expect(try await helpers.admin(client, .get, "/api/v1/dead-letters?stage=nowhere").0 == .unprocessableContent)
            #expect(try await helpers.admin(client, .get, "/api/v1/dead-letters?limit=0").0 == .unprocessableContent)

            // Replayed by id: the same forged request fails again, as a dead letter naming the first.
            let (replayed, answer) = try await helpers.admin(client, .post, "/api/v1/dead-letters/\(firstId)/replay")
            #expect(replayed == .ok)
            #expect(answer["replayed"]?[0]?["id"]?.stringValue == firstId)
            #expect(answer["failed"] == [])
            try await eventually(timeout: .seconds(60)) {
                try await helpers.admin(client, .get, "/api/v1/dead-letters?subscriptionId=\(subscriptionId)").1["total"] == 2
            }
            let newest = try #require(try await helpers.admin(client, .get, "/api/v1/dead-letters?subscriptionId=\(subscriptionId)&limit=1").1["deadLetters"]?.arrayValue)
            #expect(newest.count == 1)
            #expect(newest.first?["replayOf"]?.stringValue == firstId)
            #expect(pipeline.events.withLock { $0 }.isEmpty, "a forged webhook never becomes an event")

            // By filter: each failure once, as its latest dead letter.
            let (byReason, again) = try await helpers.admin(client, .post, "/api/v1/dead-letters/replay", ["reason": .string(code)])
            #expect(byReason == .ok)
            #expect(again["replayed"]?.arrayValue?.count == 1)
            #expect(again["replayed"]?[0]?["id"] == newest.first?["id"])
            #expect(try await helpers.admin(client, .post, "/api/v1/dead-letters/replay", [:]).0 == .unprocessableContent)
            #expect(try await helpers.admin(client, .post, "/api/v1/dead-letters/replay", ["ids": [], "reason": .string(code)]).0 == .unprocessableContent)

            // A dead letter aimed at a table (forged by anyone who can write the dlq topic) is
            // never replayed there.
            let topics = pipeline.harness.topics
            let forgedLetter = DeadLetter.bounded(
                failedAt: Date(), stage: .handler, reason: .init(code: "handle-error", message: "forged"),
                original: .init(topic: topics.subscriptions, partition: 0, offset: 0, key: "sub_victim", value: Data(#"{"id":"sub_victim"}"#.utf8)),
                subscriptionId: "sub_victim")
            _ = try await pipeline.harness.producer.send(KafkaRecord(topic: topics.dlq, key: "sub_victim", value: forgedLetter.encoded()))
            try await eventually(timeout: .seconds(30)) {
                try await helpers.admin(client, .get, "/api/v1/dead-letters?subscriptionId=sub_victim").1["total"] == 1
            }
            let (refusal, refused) = try await helpers.admin(client, .post, "/api/v1/dead-letters/\(forgedLetter.id)/replay")
            #expect(refusal == .ok)
            #expect(refused["replayed"] == [])
            #expect(refused["failed"]?[0]?["error"]?.stringValue?.contains("not one a stage reads") == true, "\(refused)")
            #expect(pipeline.harness.subscriptions["sub_victim"] == nil)
            #expect(try await helpers.admin(client, .post, "/api/v1/dead-letters/dl-nope/replay").0 == .notFound)
        }
    }
}
