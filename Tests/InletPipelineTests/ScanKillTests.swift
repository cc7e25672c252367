import AsyncHTTPClient
import Foundation
import InletConnectors
import InletKafka
import InletPipeline
import Logging
import Testing

/// A full scan interrupted by SIGKILL: ingress, handler and dispatcher as `inlet` processes.
@Suite("A handler SIGKILLed mid-scan", .serialized, .enabled(if: RoleProcess.binaryExists, "needs the inlet binary (swift build)"))
struct ScanKillTests {
    @Test("the handler is SIGKILLed while a full scan waits for its second page; its successor scans again from the old snapshot: each change comes once, nothing floods")
    func killedMidScan() async throws {
        let logger = {
            var logger = Logger(label: "scan-kill")
            logger.logLevel = .critical
            return logger
        }()
        let topics = InletTopics(prefix: "sk\(UUID().uuidString.prefix(4)).", partitions: 4)
        let cluster = try EmbeddedKafkaCluster(logger: logger)
        defer { cluster.stop() }
        try cluster.createTopics(topics.allForEmbeddedBroker)
        let stub = StubAPI()
        stub.projects.withLock { $0 = (1...6).map { ("p\($0)", ["title": .string("Project \($0)")]) } }
        let workspace = RoleProcess.binary.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/Fixtures/workspaces/pulls")

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await stub.run() }
            try await stub.waitUntilRunning()
            let roles = RoleProcessGroup(
                bootstrapServers: cluster.bootstrapServers, topics: topics, apiBaseOverride: stub.baseURL, workspace: workspace, adminToken: MultiProcessTests.adminToken)
            let (_, base) = try await roles.startIngress("scan-ingress")
            let handler = try roles.start("scan-handler", ["handler"])
            _ = try roles.start("scan-dispatcher", ["dispatcher"])
            let client = MultiProcessTests.Client(http: HTTPClient.shared, base: Shared(base))
            let events = Shared<[NormalizedEvent]>([])
            tasks.addTask { try await MultiProcessTests.readEvents(cluster: cluster, topics: topics, logger: logger, into: events) }
            do {
                let connection = try await client.admin(.POST, "/api/v1/connections", ["connectorKey": "tasks-api", "customerId": "acme", "credentials": [:]])
                let connectionId = try #require(connection["id"]?.stringValue, "\(connection)")
                let created = try await client.admin(.POST, "/api/v1/subscriptions", [
                    "connectionId": .string(connectionId), "collectionKey": "projects", "collectionEvent": "created",
                ])
                let id = try #require(created["id"]?.stringValue, "\(created)")
                // The first scan builds the snapshot (no events).
                try await eventually(timeout: .seconds(120)) {
                    try await client.admin(.GET, "/api/v1/subscriptions/\(id)", nil)["pullState"]?["lastPull"]?["finishedAt"] != nil
                }

                // New projects on the last page; every scan from now on waits after its first
                // page (held before the new projects exist, so no scan can have seen them).
                stub.holdProjectPages.withLock { $0 = true }
                stub.projects.withLock { $0 += [("p7", ["title": "Seven"]), ("p8", ["title": "Eight"])] }
                try await eventually(timeout: .seconds(60)) { stub.heldProjectPages.withLock { $0 } >= 1 }
                handler.kill()
                #expect(events.value.withLock { $0 }.isEmpty, "killed before the scan reached its end")
                stub.holdProjectPages.withLock { $0 = false }
                _ = try roles.start("scan-handler-b", ["handler"])
                try await eventually(timeout: .seconds(120)) { events.value.withLock { $0.count } >= 2 }
                // Later scans (every second) find nothing new.
                try await Task.sleep(for: .seconds(4))
                #expect(events.value.withLock { $0 }.map(\.data.recordId).sorted() == ["p7", "p8"])
                #expect(events.value.withLock { $0 }.allSatisfy { $0.data.type == .created })
            } catch {
                await roles.stopAll()
                throw error
            }
            await roles.stopAll()
            tasks.cancelAll()
        }
    }
}
