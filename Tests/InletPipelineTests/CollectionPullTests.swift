import Foundation
import HTTPTypes
import HummingbirdTesting
import InletConnectors
import InletJSON
import InletPipeline
import Testing

/// Data collection events by pulling (seed 004) through the whole pipeline, against a stand-in
/// task API whose data changes between pulls (Tests/Fixtures/workspaces/pulls: created and
/// updated by pull-latest-records, deleted by a custom pull; pulls every second).
@Suite("Data collection pulls", .timeLimit(.minutes(5)))
struct CollectionPullTests {
    let helpers = WebhookEndToEndTests()

    static func workspace() throws -> Workspace { try TestPipeline.fixtureWorkspace("pulls") }

    static let base = 1_795_770_000  // 2026-11-27T09:00:00Z

    @Test("created, updated and deleted come once each, across pages and equal timestamps; the first pull floods nothing; a pull can be asked for")
    func pullsEmitEachChangeOnce() async throws {
        let pipeline = try TestPipeline(workspace: try Self.workspace())
        pipeline.stub.tasks.withLock {
            $0 = [.init(id: "t1", title: "One", created: Self.base, updated: Self.base), .init(id: "t2", title: "Two", created: Self.base + 60, updated: Self.base + 60),
                  .init(id: "t3", title: "Three", created: Self.base + 120, updated: Self.base + 120)]
        }
        pipeline.stub.deletions.withLock { $0 = [("t0", 1)] }
        try await pipeline.run { client in
            let (created, connection) = try await helpers.admin(client, .post, "/api/v1/connections", ["connectorKey": "tasks-api", "customerId": "acme", "credentials": [:]])
            #expect(created == .created)
            let connectionId = try #require(connection["id"]?.stringValue)
            var ids: [String: String] = [:]
            for change in ["created", "updated", "deleted"] {
                let subscription = try await helpers.subscribed(client, [
                    "connectionId": .string(connectionId), "collectionKey": "tasks", "collectionEvent": .string(change),
                ])
                #expect(subscription["webhookUrl"] == nil, "a pulled subscription gets no webhook URL")
                ids[change] = try #require(subscription["id"]?.stringValue)
            }
            // The first pulls set the marks from what exists: no events for t1..t3 or t0.
            for change in ["created", "updated"] {
                try await eventually(timeout: .seconds(60)) { try await lastPull(client, ids[change]!) != nil }
            }
            try await Task.sleep(for: .seconds(2))
            #expect(pipeline.events.withLock { $0 }.isEmpty, "subscribing floods nothing")

            // Changes: three creations (two at the very same time, over two pages), an update
            // of t1, and the deletion of t2.
            pipeline.stub.tasks.withLock { tasks in
                tasks.append(.init(id: "t4", title: "Four", created: Self.base + 180, updated: Self.base + 180))
                tasks.append(.init(id: "t5", title: "Five", created: Self.base + 180, updated: Self.base + 180))
                tasks.append(.init(id: "t6", title: "Six", created: Self.base + 240, updated: Self.base + 240))
                tasks[0].updated = Self.base + 300
                tasks.removeAll { $0.id == "t2" }
            }
            pipeline.stub.deletions.withLock { $0.append(("t2", 2)) }
            let (asked, answer) = try await helpers.admin(client, .post, "/api/v1/subscriptions/\(ids["created"]!)/pull")
            #expect(asked == .accepted, "\(answer)")

            try await eventually(timeout: .seconds(60)) { pipeline.events.withLock { $0.count } >= 5 }
            // Pulls keep running every second: nothing more may come.
            try await Task.sleep(for: .seconds(3))
            var seen = pipeline.events.withLock { $0 }.map { "\($0.data.recordId) \($0.type.split(separator: ".").last ?? "")" }
            #expect(seen.sorted() == ["t1 updated", "t2 deleted", "t4 created", "t5 created", "t6 created"])

            // One more at exactly the newest creation time: it comes, the others do not again.
            pipeline.stub.tasks.withLock { $0.append(.init(id: "t7", title: "Seven", created: Self.base + 240, updated: Self.base + 240)) }
            try await eventually(timeout: .seconds(60)) { pipeline.events.withLock { $0.count } >= 6 }
            try await Task.sleep(for: .seconds(2))
            seen = pipeline.events.withLock { $0 }.map { "\($0.data.recordId) \($0.type.split(separator: ".").last ?? "")" }
            #expect(seen.sorted() == ["t1 updated", "t2 deleted", "t4 created", "t5 created", "t6 created", "t7 created"])
            let last = try #require(try await lastPull(client, ids["created"]!))
            #expect(last["error"] == nil)
        }
    }

    @Test("a failing API degrades the subscription with the error and backs off, the mark stays, and it recovers by itself")
    func failuresDegradeAndRecover() async throws {
        let pipeline = try TestPipeline(workspace: try Self.workspace())
        pipeline.stub.tasks.withLock { $0 = [.init(id: "t1", title: "One", created: Self.base, updated: Self.base)] }
        try await pipeline.run { client in
            let (_, connection) = try await helpers.admin(client, .post, "/api/v1/connections", ["connectorKey": "tasks-api", "customerId": "acme", "credentials": [:]])
            let subscription = try await helpers.subscribed(client, [
                "connectionId": .string(try #require(connection["id"]?.stringValue)), "collectionKey": "tasks", "collectionEvent": "created",
            ])
            let id = try #require(subscription["id"]?.stringValue)
            try await eventually(timeout: .seconds(60)) { try await lastPull(client, id) != nil }

            pipeline.stub.failures.withLock { $0["GET /tasks"] = Array(repeating: 503, count: 50) }
            pipeline.stub.tasks.withLock { $0.append(.init(id: "t2", title: "Two", created: Self.base + 60, updated: Self.base + 60)) }
            _ = try await helpers.admin(client, .post, "/api/v1/subscriptions/\(id)/pull")
            try await eventually(timeout: .seconds(60)) {
                let (_, record) = try await helpers.admin(client, .get, "/api/v1/subscriptions/\(id)")
                return record["status"] == "degraded" && record["error"]?["message"]?.stringValue?.contains("pull failed") == true
            }
            #expect(pipeline.events.withLock { $0 }.isEmpty)

            pipeline.stub.failures.withLock { $0["GET /tasks"] = [] }
            _ = try await helpers.admin(client, .post, "/api/v1/subscriptions/\(id)/pull")
            try await eventually(timeout: .seconds(60)) { pipeline.events.withLock { $0.count } >= 1 }
            let (_, record) = try await helpers.admin(client, .get, "/api/v1/subscriptions/\(id)")
            #expect(record["status"] == "active")
            #expect(pipeline.events.withLock { $0 }.map(\.data.recordId) == ["t2"])
        }
    }

    @Test("full scan: the first scan floods nothing; then a new, a changed and a removed record come once each to their subscriptions, and a change in an ignored field is no update")
    func fullScanEmitsChangesOnce() async throws {
        let pipeline = try TestPipeline(workspace: try Self.workspace())
        @Sendable func project(_ id: String, _ title: String, views: Int = 0) -> (id: String, fields: JSONValue) {
            (id, ["title": .string(title), "viewCount": .integer(Int64(views)), "links": ["downloadUrl": .string("https://files.example.com/\(id)?sig=\(views)")]])
        }
        pipeline.stub.projects.withLock { $0 = [project("p1", "One"), project("p2", "Two"), project("p3", "Three")] }
        try await pipeline.run { client in
            let (_, connection) = try await helpers.admin(client, .post, "/api/v1/connections", ["connectorKey": "tasks-api", "customerId": "acme", "credentials": [:]])
            let connectionId = try #require(connection["id"]?.stringValue)
            // One request for the three record events: one subscription each.
            let request: JSONValue = ["connectionId": .string(connectionId), "collectionKey": "projects", "collectionEvents": ["created", "updated", "deleted"]]
            var (status, answer) = try await helpers.admin(client, .post, "/api/v1/subscriptions", request)
            if status == .accepted {
                try await Task.sleep(for: .seconds(2))
                (status, answer) = try await helpers.admin(client, .post, "/api/v1/subscriptions", request)
            }
            #expect(status == .created || status == .ok, "\(answer)")
            let made = answer["subscriptions"]?.arrayValue ?? []
            #expect(made.map { $0["target"]?["collectionEvent"] } == ["created", "updated", "deleted"])
            let ids = try made.map { try #require($0["id"]?.stringValue) }
            #expect(Set(ids).count == 3)
            let (again, repeated) = try await helpers.admin(client, .post, "/api/v1/subscriptions", request)
            #expect(again == .ok, "the same request again is the same three subscriptions")
            #expect(repeated["subscriptions"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ids)
            for id in ids { try await eventually(timeout: .seconds(60)) { try await lastPull(client, id) != nil } }
            try await Task.sleep(for: .seconds(2))
            #expect(pipeline.events.withLock { $0 }.isEmpty, "the first scans only build the snapshots")

            pipeline.stub.projects.withLock { projects in
                projects = [project("p1", "One, renamed"), project("p2", "Two", views: 40), project("p4", "Four")]
            }
            try await eventually(timeout: .seconds(60)) { pipeline.events.withLock { $0.count } >= 3 }
            try await Task.sleep(for: .seconds(3))
            let seen = pipeline.events.withLock { $0 }.map { "\($0.data.recordId) \($0.type.split(separator: ".").last ?? "")" }
            #expect(seen.sorted() == ["p1 updated", "p3 deleted", "p4 created"])

            // One scan per pull served all three: the member with the smallest id read the pages,
            // the others say it did.
            let leader = try #require(ids.min())
            for id in ids {
                let last = try #require(try await lastPull(client, id))
                if id == leader {
                    #expect(last["scannedBy"] == nil)
                    #expect((last["pages"]?.integerValue ?? 0) >= 1)
                } else {
                    #expect(last["scannedBy"]?.stringValue == leader, "\(last)")
                    #expect(last["pages"]?.integerValue == 0)
                }
            }
            // Between two of the leader's scans, the collection is read once (3 subscriptions
            // scanning alone would read it three times).
            let before = pipeline.stub.received("GET", "/projects").count
            let scans = try await scanCount(client, leader, after: 3)
            let reads = pipeline.stub.received("GET", "/projects").count - before
            let pages = try #require(try await lastPull(client, leader)?["pages"]?.integerValue)
            #expect(scans >= 3 && reads <= (scans + 1) * Int(pages), "\(reads) page reads in \(scans) scans of \(pages) pages")

            // A pull asked of a member runs as the leader's.
            let asked = ids.first { $0 != leader }!
            let (status202, answer202) = try await helpers.admin(client, .post, "/api/v1/subscriptions/\(asked)/pull")
            #expect(status202 == .accepted)
            #expect(answer202["scannedBy"]?.stringValue == leader)
        }
    }

    @Test("full scan shared by three subscriptions: deleting the scanning one hands the scan to the next, which continues from its snapshot: no change lost or repeated")
    func sharedScanHandsOver() async throws {
        let pipeline = try TestPipeline(workspace: try Self.workspace())
        pipeline.stub.projects.withLock { $0 = [("p1", ["title": "One"]), ("p2", ["title": "Two"])] }
        try await pipeline.run { client in
            let (_, connection) = try await helpers.admin(client, .post, "/api/v1/connections", ["connectorKey": "tasks-api", "customerId": "acme", "credentials": [:]])
            let connectionId = try #require(connection["id"]?.stringValue)
            // Two requests, one with two record events and one with the third: one scan group.
            var ids: [String: String] = [:]
            for events in [["created", "deleted"], ["updated"]] {
                ids.merge(try await subscribeToProjects(client, connectionId: connectionId, events: events)) { _, new in new }
            }
            #expect(ids.count == 3)
            for id in ids.values { try await eventually(timeout: .seconds(60)) { try await lastPull(client, id) != nil } }
            let leader = try #require(ids.values.min())
            _ = try await scanCount(client, leader, after: 2)
            #expect(pipeline.events.withLock { $0 }.isEmpty)

            // The leader goes; a change made before the next leader's first scan is reported
            // once, against the snapshot the old leader left.
            let (deleted, _) = try await helpers.admin(client, .delete, "/api/v1/subscriptions/\(leader)")
            #expect(deleted == .ok)
            pipeline.stub.projects.withLock { $0 = [("p1", ["title": "One, renamed"]), ("p3", ["title": "Three"])] }
            let remaining = ids.filter { $0.value != leader }
            let expected = ["p1 updated", "p2 deleted", "p3 created"].filter { remaining.keys.contains(String($0.split(separator: " ")[1])) }
            try await eventually(timeout: .seconds(60)) { pipeline.events.withLock { $0.count } >= expected.count }
            let next = try #require(remaining.values.min())
            _ = try await scanCount(client, next, after: 2)
            let seen = pipeline.events.withLock { $0 }.map { "\($0.data.recordId) \($0.type.split(separator: ".").last ?? "")" }
            #expect(seen.sorted() == expected)
            let last = try #require(try await lastPull(client, next))
            #expect(last["scannedBy"] == nil)
            #expect(last["error"] == nil, "the next leader used the old leader's snapshot")
            let (_, record) = try await helpers.admin(client, .get, "/api/v1/subscriptions/\(next)")
            #expect(record["status"] == "active")
        }
    }

    @Test("full scan shared with backfill: the created subscription gets every existing record once, however the members' first pulls fall; the others get nothing for them; a later change comes once to its own")
    func sharedScanBackfill() async throws {
        let pipeline = try TestPipeline(workspace: try Self.workspace())
        pipeline.stub.projects.withLock { $0 = [("p1", ["title": "One"]), ("p2", ["title": "Two"]), ("p3", ["title": "Three"])] }
        try await pipeline.run { client in
            let (_, connection) = try await helpers.admin(client, .post, "/api/v1/connections", ["connectorKey": "tasks-api", "customerId": "acme", "credentials": [:]])
            let connectionId = try #require(connection["id"]?.stringValue)
            // The updated subscription first, on its own: the group's first scan does not want
            // `created`; the created one joins later and still gets its backfill.
            var ids: [String: String] = [:]
            for events in [["updated"], ["created", "deleted"]] {
                ids.merge(try await subscribeToProjects(client, connectionId: connectionId, events: events, backfill: true)) { _, new in new }
                let first = try #require(ids[events[0]])
                try await eventually(timeout: .seconds(60)) { try await lastPull(client, first) != nil }
            }
            try await eventually(timeout: .seconds(60)) { pipeline.events.withLock { $0.count } >= 3 }
            let leader = try #require(ids.values.min())
            _ = try await scanCount(client, leader, after: 3)
            var seen = pipeline.events.withLock { $0 }.map { "\($0.data.recordId) \($0.type.split(separator: ".").last ?? "")" }
            #expect(seen.sorted() == ["p1 created", "p2 created", "p3 created"])
            #expect(Set(pipeline.events.withLock { $0 }.map(\.data.subscriptionId)) == [ids["created"]!])

            pipeline.stub.projects.withLock { $0 = [("p1", ["title": "One, renamed"]), ("p2", ["title": "Two"])] }
            try await eventually(timeout: .seconds(60)) { pipeline.events.withLock { $0.count } >= 5 }
            _ = try await scanCount(client, leader, after: 2)
            seen = pipeline.events.withLock { $0 }.map { "\($0.data.recordId) \($0.type.split(separator: ".").last ?? "")" }
            #expect(seen.sorted() == ["p1 created", "p1 updated", "p2 created", "p3 created", "p3 deleted"])
        }
    }

    /// Subscribes to the projects collection's `events` in one request (retried until it is
    /// answered 201 or 200); record event → subscription id.
    private func subscribeToProjects(_ client: any TestClientProtocol, connectionId: String, events: [String], backfill: Bool = false) async throws -> [String: String] {
        var request: [String: JSONValue] = ["connectionId": .string(connectionId), "collectionKey": "projects", "collectionEvents": .array(events.map { .string($0) })]
        if backfill { request["backfill"] = true }
        var answer: JSONValue = nil
        try await eventually(timeout: .seconds(60)) {
            let (status, body) = try await helpers.admin(client, .post, "/api/v1/subscriptions", .object(request))
            answer = body
            return status == .created || status == .ok
        }
        var ids: [String: String] = [:]
        for made in answer["subscriptions"]?.arrayValue ?? [] {
            ids[try #require(made["target"]?["collectionEvent"]?.stringValue)] = try #require(made["id"]?.stringValue)
        }
        return ids
    }

    /// Waits until `id` has scanned `count` more times (each scan sets a new `lastFullSyncAt`);
    /// returns how many it counted.
    private func scanCount(_ client: any TestClientProtocol, _ id: String, after count: Int) async throws -> Int {
        var seen: Set<String> = []
        let deadline = ContinuousClock.now + .seconds(60)
        while seen.count < count + 1, ContinuousClock.now < deadline {
            let (_, record) = try await helpers.admin(client, .get, "/api/v1/subscriptions/\(id)")
            if let at = record["pullState"]?["lastFullSyncAt"]?.stringValue { seen.insert(at) }
            try await Task.sleep(for: .milliseconds(100))
        }
        return max(0, seen.count - 1)
    }

    @Test("a handler stopped in the middle of a scan: the next owner scans again from the old snapshot, and each change comes once")
    func handlerStoppedMidScan() async throws {
        let pipeline = try TestPipeline(workspace: try Self.workspace())
        pipeline.stub.projects.withLock { $0 = (1...6).map { ("p\($0)", ["title": .string("Project \($0)")]) } }
        try await pipeline.run { client in
            let (_, connection) = try await helpers.admin(client, .post, "/api/v1/connections", ["connectorKey": "tasks-api", "customerId": "acme", "credentials": [:]])
            let subscription = try await helpers.subscribed(client, [
                "connectionId": .string(try #require(connection["id"]?.stringValue)), "collectionKey": "projects", "collectionEvent": "created",
            ])
            let id = try #require(subscription["id"]?.stringValue)
            try await eventually(timeout: .seconds(60)) { try await lastPull(client, id) != nil }

            // New projects on the last page, and every scan from now on stuck after its first
            // page (held before the new projects exist, so no scan can have seen them yet).
            pipeline.stub.holdProjectPages.withLock { $0 = true }
            pipeline.stub.projects.withLock { $0 += [("p7", ["title": "Seven"]), ("p8", ["title": "Eight"])] }
            try await eventually(timeout: .seconds(60)) { pipeline.stub.heldProjectPages.withLock { $0 } >= 1 }
            await pipeline.stopHandlers()
            #expect(pipeline.events.withLock { $0 }.isEmpty, "stopped before the scan reached its end")
            pipeline.stub.holdProjectPages.withLock { $0 = false }
            pipeline.startHandler()
            try await eventually(timeout: .seconds(90)) { pipeline.events.withLock { $0.count } >= 2 }
            try await Task.sleep(for: .seconds(3))
            #expect(pipeline.events.withLock { $0 }.map(\.data.recordId).sorted() == ["p7", "p8"])
        }
    }

    @Test("backfill: true brings the records that exist, once, on the first pull (pull-latest-records and full scan)")
    func backfillBringsWhatExists() async throws {
        let pipeline = try TestPipeline(workspace: try Self.workspace())
        pipeline.stub.tasks.withLock { tasks in
            tasks = (1...3).map { .init(id: "t\($0)", title: "Task \($0)", created: Self.base + $0 * 60, updated: Self.base + $0 * 60) }
        }
        pipeline.stub.projects.withLock { $0 = [("p1", ["title": "One"]), ("p2", ["title": "Two"])] }
        try await pipeline.run { client in
            let (_, connection) = try await helpers.admin(client, .post, "/api/v1/connections", ["connectorKey": "tasks-api", "customerId": "acme", "credentials": [:]])
            let connectionId = try #require(connection["id"]?.stringValue)
            for collection in ["tasks", "projects"] {
                _ = try await helpers.subscribed(client, [
                    "connectionId": .string(connectionId), "collectionKey": .string(collection), "collectionEvent": "created", "backfill": true,
                ])
            }
            try await eventually(timeout: .seconds(60)) { pipeline.events.withLock { $0.count } >= 5 }
            try await Task.sleep(for: .seconds(3))
            #expect(pipeline.events.withLock { $0 }.map(\.data.recordId).sorted() == ["p1", "p2", "t1", "t2", "t3"])
            let (rejected, problem) = try await helpers.admin(client, .post, "/api/v1/subscriptions", [
                "connectionId": .string(connectionId), "collectionKey": "tasks", "collectionEvent": "updated", "backfill": "yes",
            ])
            #expect(rejected == .unprocessableContent)
            #expect(problem["detail"]?.stringValue?.contains("backfill must be true or false") == true)
        }
    }

    private func lastPull(_ client: any TestClientProtocol, _ id: String) async throws -> JSONValue? {
        let (_, record) = try await helpers.admin(client, .get, "/api/v1/subscriptions/\(id)")
        return record["pullState"]?["lastPull"]
    }
}
