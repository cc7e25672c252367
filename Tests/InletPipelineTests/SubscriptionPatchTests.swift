import Foundation
import HTTPTypes
import InletJSON
import InletPipeline
import Testing

/// `PATCH /api/v1/subscriptions/<id>`: new parameters make a new subscription (a new hook at the
/// app), and the old one is deleted once the new one is active.
@Suite("Changing a subscription", .timeLimit(.minutes(5)))
struct SubscriptionPatchTests {
    let helpers = WebhookEndToEndTests()

    @Test("new parameters: a new subscription and hook, the old one archived and its hook removed; its webhooks then 404 and the new URL's become events; unknown fields 422, unknown id 404, no change is the same subscription")
    func patchParameters() async throws {
        let pipeline = try TestPipeline()
        try await pipeline.run(replies: false) { client in
            let secret = JSONValue.string(WebhookEndToEndTests.secret)
            let old = try await helpers.createSubscription(client, parameters: ["owner": "octo", "repo": "hello", "secret": secret])
            let oldId = try #require(old["id"]?.stringValue)
            let oldPath = String(try #require(old["webhookUrl"]?.stringValue).dropFirst("https://hooks.example.com".count))

            #expect(try await helpers.admin(client, .patch, "/api/v1/subscriptions/\(oldId)", ["eventKey": "pulls"]).0 == .unprocessableContent)
            #expect(try await helpers.admin(client, .patch, "/api/v1/subscriptions/sub_nope", ["parameters": [:]]).0 == .notFound)
            #expect(try await helpers.admin(client, .patch, "/api/v1/subscriptions/\(oldId)", ["parameters": ["owner": "octo"]]).0 == .unprocessableContent,
                    "new parameters are validated like a new subscription's")
            let (same, unchanged) = try await helpers.admin(client, .patch, "/api/v1/subscriptions/\(oldId)", [:])
            #expect(same == .ok)
            #expect(unchanged["id"]?.stringValue == oldId)

            let (status, answer) = try await helpers.admin(client, .patch, "/api/v1/subscriptions/\(oldId)", ["parameters": ["owner": "octo", "repo": "world", "secret": secret]])
            #expect(status == .ok, "\(answer)")
            let newId = try #require(answer["id"]?.stringValue)
            #expect(newId != oldId)
            #expect(answer["replaces"]?.stringValue == oldId)
            #expect(answer["replaced"]?["status"] == "archived")
            #expect(answer["config"]?["parameters"]?["repo"] == "world")
            #expect(answer["config"]?["parameters"]?["secret"] == nil, "secrets are not shown")
            #expect(pipeline.stub.received("POST", "/repos/octo/world/hooks").count == 1)
            #expect(pipeline.stub.received("DELETE", "/repos/octo/hello/hooks/").count == 1)
            // The new hook first, then the old one removed: no moment without one.
            let order = pipeline.stub.requests.withLock { $0 }.map { "\($0.method) \($0.path)" }
            let registered = try #require(order.firstIndex(of: "POST /repos/octo/world/hooks"))
            let removed = try #require(order.firstIndex { $0.hasPrefix("DELETE /repos/octo/hello/hooks/") })
            #expect(registered < removed)

            let base = "http://127.0.0.1:\(try #require(client.port))"
            let delivery = WebhookEndToEndTests.issueDelivery(action: "opened", number: 7, title: "After the change")
            let headers = ["X-GitHub-Event": "issues", "X-Hub-Signature-256": WebhookEndToEndTests.signature(delivery)]
            #expect(try await TestPipeline.post(base, oldPath, body: delivery, headers: headers).status == 404)
            let newPath = String(try #require(answer["webhookUrl"]?.stringValue).dropFirst("https://hooks.example.com".count))
            #expect(try await TestPipeline.post(base, newPath, body: delivery, headers: headers).status == 200)
            try await eventually(timeout: .seconds(60)) { pipeline.events.withLock { $0.map(\.data.subscriptionId) } == [newId] }
        }
    }

    @Test("a pulled collection subscription is replaced without losing a change: the old one pulls once more after the new one's baseline, then goes; later changes come from the new one")
    func pulledSubscriptionHandover() async throws {
        let pipeline = try TestPipeline(workspace: try TestPipeline.fixtureWorkspace("pulls"))
        pipeline.stub.projects.withLock { $0 = [("p1", ["title": "One"]), ("p2", ["title": "Two"])] }
        try await pipeline.run { client in
            let (_, connection) = try await helpers.admin(client, .post, "/api/v1/connections", ["connectorKey": "tasks-api", "customerId": "acme", "credentials": [:]])
            // Scans an hour apart: only the baseline, and the pulls the PATCH asks for, run.
            let old = try await helpers.subscribed(client, [
                "connectionId": .string(try #require(connection["id"]?.stringValue)), "collectionKey": "projects", "collectionEvent": "created",
                "fullSyncIntervalSeconds": 3600,
            ])
            let oldId = try #require(old["id"]?.stringValue)
            try await eventually(timeout: .seconds(60)) {
                try await helpers.admin(client, .get, "/api/v1/subscriptions/\(oldId)").1["pullState"]?["lastPull"]?["finishedAt"] != nil
            }
            // Created after the old one's last scan: the new one's baseline will include it, so
            // only the old one's last pull can report it.
            pipeline.stub.projects.withLock { $0.append(("p3", ["title": "Three"])) }
            let (status, answer) = try await helpers.admin(client, .patch, "/api/v1/subscriptions/\(oldId)", ["fullSyncIntervalSeconds": 3599])
            #expect(status == .ok, "\(answer)")
            let newId = try #require(answer["id"]?.stringValue)
            #expect(newId != oldId)
            #expect(answer["replaced"]?["status"] == "archived")
            try await eventually(timeout: .seconds(60)) { pipeline.events.withLock { $0.count } >= 1 }
            #expect(pipeline.events.withLock { $0 }.map { "\($0.data.recordId) \($0.data.subscriptionId)" } == ["p3 \(oldId)"])

            pipeline.stub.projects.withLock { $0.append(("p4", ["title": "Four"])) }
            #expect(try await helpers.admin(client, .post, "/api/v1/subscriptions/\(newId)/pull").0 == .accepted)
            try await eventually(timeout: .seconds(60)) { pipeline.events.withLock { $0.count } >= 2 }
            try await Task.sleep(for: .seconds(2))
            #expect(pipeline.events.withLock { $0 }.map { "\($0.data.recordId) \($0.data.subscriptionId)" } == ["p3 \(oldId)", "p4 \(newId)"])
        }
    }
}
