import Foundation
import HTTPTypes
import HummingbirdTesting
import InletJSON
import InletKafka
import InletPipeline
import Testing

/// Deleted (archived) subscriptions leave the subscriptions table after the archive retention.
@Suite("Archived subscription expiry", .timeLimit(.minutes(5)))
struct SubscriptionExpiryTests {
    let helpers = WebhookEndToEndTests()

    @Test("an archived subscription is removed (a tombstone) once the archive retention has passed; a live one stays; the same request subscribes anew afterwards")
    func archivedSubscriptionsExpire() async throws {
        let pipeline = try TestPipeline(settings: { $0.archiveRetention = .seconds(1) })
        try await pipeline.run(replies: false) { client in
            let secret: JSONValue = .string(WebhookEndToEndTests.secret)
            let parameters: JSONValue = ["owner": "octo", "repo": "hello", "secret": secret]
            let deleted = try await helpers.createSubscription(client, parameters: parameters)
            let deletedId = try #require(deleted["id"]?.stringValue)
            let connectionId = try #require(deleted["connectionId"]?.stringValue)
            let live = try await helpers.subscribed(client, [
                "connectionId": .string(connectionId), "eventKey": "issues", "parameters": ["owner": "octo", "repo": "other", "secret": secret],
            ])
            let liveId = try #require(live["id"]?.stringValue)

            #expect(try await helpers.admin(client, .delete, "/api/v1/subscriptions/\(deletedId)").1["status"] == "archived")
            try await eventually(timeout: .seconds(30)) {
                try await helpers.admin(client, .get, "/api/v1/subscriptions/\(deletedId)").0 == .notFound
            }
            try await eventually(timeout: .seconds(30)) { pipeline.harness.subscriptions[deletedId] == nil }
            #expect(!(try await helpers.admin(client, .get, "/api/v1/subscriptions").1["subscriptions"]?.arrayValue ?? []).contains { $0["id"]?.stringValue == deletedId })
            #expect(try await helpers.admin(client, .get, "/api/v1/subscriptions/\(liveId)").1["status"] == "active")

            // The same request again: the same id, subscribed from a fresh record.
            let again = try await helpers.subscribed(client, ["connectionId": .string(connectionId), "eventKey": "issues", "parameters": parameters])
            #expect(again["id"]?.stringValue == deletedId)
            #expect(again["status"] == "active")
        }
    }

    @Test("an expire command checks again when it runs: a live subscription, and an archived one within its retention, are left as they are")
    func expireChecksAgain() async throws {
        let pipeline = try TestPipeline()
        try await pipeline.run(replies: false) { client in
            let secret: JSONValue = .string(WebhookEndToEndTests.secret)
            let live = try await helpers.createSubscription(client, parameters: ["owner": "octo", "repo": "live", "secret": secret])
            let liveId = try #require(live["id"]?.stringValue)
            let archived = try await helpers.subscribed(client, [
                "connectionId": .string(try #require(live["connectionId"]?.stringValue)), "eventKey": "issues",
                "parameters": ["owner": "octo", "repo": "archived", "secret": secret],
            ])
            let archivedId = try #require(archived["id"]?.stringValue)
            #expect(try await helpers.admin(client, .delete, "/api/v1/subscriptions/\(archivedId)").1["status"] == "archived")

            // Expire commands as a stale scheduler (or one with a mistaken clock) might send them.
            let consumed = pipeline.handlerStatistics.map(\.messagesIn).reduce(0, +)
            for id in [liveId, archivedId] {
                let command = Command(type: .expire, subscriptionId: id, issuedAt: Date())
                try await pipeline.harness.producer.send(KafkaRecord(topic: pipeline.harness.topics.commands, key: id, value: command.encoded()))
            }
            try await eventually(timeout: .seconds(60)) { pipeline.handlerStatistics.map(\.messagesIn).reduce(0, +) >= consumed + 2 }
            // Consumed; give the batch a moment to finish and a tombstone, had one been written,
            // to reach ingress's table.
            try await Task.sleep(for: .seconds(1))
            #expect(try await helpers.admin(client, .get, "/api/v1/subscriptions/\(liveId)").1["status"] == "active")
            #expect(try await helpers.admin(client, .get, "/api/v1/subscriptions/\(archivedId)").1["status"] == "archived")
            #expect(pipeline.harness.subscriptions[archivedId] != nil)
        }
    }
}
