import Foundation
import HTTPTypes
import HummingbirdTesting
import InletConnectors
@testable import InletHTTP
import InletJSON
import InletKafka
import Synchronization
import Testing

@testable import InletPipeline

@Suite("Refreshed credentials")
struct CredentialRefreshTests {
    let helpers = WebhookEndToEndTests()

    @Test("credentials made by refresh-credentials are stored on the connection, sealed: after a restart the handler refreshes with the rotated token")
    func refreshedCredentialsAreStored() async throws {
        let pipeline = try TestPipeline(workspace: try TestPipeline.fixtureWorkspace("rotating-tokens"))
        let connections = pipeline.connections
        let vault = pipeline.vault
        try await pipeline.run { client in
            let connectionId = try await helpers.rotatingConnection(client, accessToken: "at-expired")
            // subscribe calls GET /me: 401, refresh (rt-1 → at-1 + rt-2), retried.
            let subscription = try await helpers.subscribed(client, ["connectionId": .string(connectionId), "eventKey": "profile"])
            #expect(subscription["status"] == "active")
            @Sendable func stored() async throws -> JSONValue? {
                try await connections.sync()
                return try connections[connectionId]?.openedCredentials(vault)
            }
            try await eventually(timeout: .seconds(30)) { try await stored() == ["access_token": "at-1", "refresh_token": "rt-2"] }
            #expect(connections[connectionId]?.credentials.bound == true)

            // A new handler (nothing cached) whose access token was revoked: its refresh must
            // use rt-2 (rt-1 is void), which only the stored connection knows.
            await pipeline.stopHandlers()
            pipeline.stub.rotatingTokens.withLock { $0.access = "at-revoked" }
            pipeline.startHandler()
            let id = try #require(subscription["id"]?.stringValue)
            let (deleted, archived) = try await helpers.admin(client, .delete, "/api/v1/subscriptions/\(id)")
            #expect(deleted == .ok, "\(archived)")
            #expect(archived["status"] == "archived", "unsubscribe succeeded after refreshing with the stored token")
            try await eventually(timeout: .seconds(30)) { try await stored() == ["access_token": "at-2", "refresh_token": "rt-3"] }
            let refreshes = pipeline.stub.received("POST", "/oauth/token").compactMap { $0.body?["refresh_token"]?.stringValue }
            #expect(refreshes == ["rt-1", "rt-2"])
        }
    }
}

extension CredentialRefreshTests {
    @Test("two handler replicas whose methods find a connection's token expired at once refresh it once: the owner of the connection's partition refreshes, the other asks it and waits")
    func oneRefreshAcrossReplicas() async throws {
        let pipeline = try TestPipeline(workspace: try TestPipeline.fixtureWorkspace("rotating-tokens"))
        let connections = pipeline.connections
        let vault = pipeline.vault
        let partitions = pipeline.harness.topics.partitions
        try await pipeline.run { client in
            pipeline.startHandler()
            // Both handlers hold partitions in both groups: the groups have settled.
            try await eventually(timeout: .seconds(60)) {
                [pipeline.handlerPartitions, pipeline.refresherPartitions].allSatisfy { assigned in
                    assigned.count == 2 && assigned.allSatisfy { !$0.isEmpty } && assigned[0].union(assigned[1]).count == partitions
                }
            }
            let assigned = pipeline.handlerPartitions
            let refreshers = pipeline.refresherPartitions
            let connectionId = try await helpers.rotatingConnection(client, accessToken: "at-0")
            let connectionPartition = KafkaPartitioner.partition(forKey: connectionId, partitions: partitions)
            let owner = refreshers[0].contains(connectionPartition) ? 0 : 1

            // Subscriptions on both handlers (the access token is still valid: no refresh yet).
            let byHandler = try await subscriptions(client, of: connectionId, on: assigned, partitions: partitions)
            let mine = byHandler[owner]
            let theirs = byHandler[1 - owner]
            try #require(mine.count >= 1 && theirs.count >= 2, "subscriptions on both handlers: \(byHandler)")
            #expect(pipeline.stub.received("POST", "/oauth/token").isEmpty)

            // The token expires; both handlers' unsubscribe calls get a 401 together while the
            // token endpoint takes its time (each would otherwise spend rt-1).
            pipeline.stub.rotatingTokens.withLock { $0.access = "at-expired-1" }
            pipeline.stub.tokenDelay.withLock { $0 = .milliseconds(1500) }
            let first = try await unsubscribe(client, [mine[0], theirs[0]])
            #expect(first.allSatisfy { $0["status"] == "archived" }, "\(first)")
            #expect(pipeline.stub.received("POST", "/oauth/token").compactMap { $0.body?["refresh_token"]?.stringValue } == ["rt-1"])
            try await eventually(timeout: .seconds(30)) { try await Self.stored(connectionId, connections, vault) == ["access_token": "at-1", "refresh_token": "rt-2"] }

            let askedBefore = try await Self.refreshCommands(pipeline).count

            // Expired again, and only the handler that does not own the connection calls: it
            // asks the owner with a command, and the owner refreshes with rt-2.
            pipeline.stub.rotatingTokens.withLock { $0.access = "at-expired-2" }
            pipeline.stub.tokenDelay.withLock { $0 = .zero }
            let second = try await unsubscribe(client, [theirs[1]])
            #expect(second.allSatisfy { $0["status"] == "archived" }, "\(second)")
            #expect(pipeline.stub.received("POST", "/oauth/token").compactMap { $0.body?["refresh_token"]?.stringValue } == ["rt-1", "rt-2"])
            try await eventually(timeout: .seconds(30)) { try await Self.stored(connectionId, connections, vault) == ["access_token": "at-2", "refresh_token": "rt-3"] }
            // The handler that does not own the connection asked with a command, and the owner ran it.
            let asked = try await Self.refreshCommands(pipeline)
            #expect(asked.count == askedBefore + 1, "\(asked)")
            #expect(asked.allSatisfy { $0.connectionId == connectionId && $0.kafkaKey == connectionId })
        }
    }

    @Test("refreshed credentials that could not be stored are kept and stored on the next attempt, not refreshed again with the spent token")
    func unstoredCredentialsAreKept() async throws {
        let pipeline = try TestPipeline(workspace: try TestPipeline.fixtureWorkspace("rotating-tokens"))
        let harness = pipeline.harness
        try await pipeline.run { client in
            let connectionId = try await helpers.rotatingConnection(client, accessToken: "at-expired")
            let failWrites = Mutex(1)
            let refreshes = CredentialRefreshes(
                topics: harness.topics, runtime: pipeline.runtime, connections: pipeline.connections, vault: pipeline.vault, connectorParameters: nil,
                writeConnection: { record in
                    if failWrites.withLock({ left in defer { left = max(0, left - 1) }; return left > 0 }) {
                        throw KafkaError(kind: .shutdown, message: "the broker is away (test)")
                    }
                    try await harness.producer.send(KafkaRecord(topic: harness.topics.connections, key: record.id, value: record.encoded()))
                },
                sendCommand: { _ in Issue.record("the only refresher owns every partition: it never asks") }, logger: harness.logger)
            // Its refresher alone in a group of its own: it owns every partition.
            let refresher = Task {
                try await refreshes.run(consumer: KafkaConsumerConfiguration(client: harness.client, groupId: "refresher-\(UUID())"))
            }
            defer { refresher.cancel() }
            try await eventually(timeout: .seconds(30)) { refreshes.ownedPartitions.count == harness.topics.partitions }

            let previous: JSONValue = ["access_token": "at-expired", "refresh_token": "rt-1"]
            await #expect(throws: APIError.self) {
                try await refreshes.refreshed(connectionId: connectionId, previous: previous, logMetadata: [:])
            }
            let fresh = try await refreshes.refreshed(connectionId: connectionId, previous: previous, logMetadata: [:])
            #expect(fresh == ["access_token": "at-1", "refresh_token": "rt-2"])
            #expect(pipeline.stub.received("POST", "/oauth/token").compactMap { $0.body?["refresh_token"]?.stringValue } == ["rt-1"])
            #expect(try await Self.stored(connectionId, pipeline.connections, pipeline.vault) == fresh)
        }
    }

    @Test("a webhook handshake in ingress whose handle gets a 401 goes without a response and leaves the refresh token to the handlers")
    func handshakeDoesNotRefresh() async throws {
        let pipeline = try TestPipeline(workspace: try TestPipeline.fixtureWorkspace("rotating-tokens"))
        try await pipeline.run { client in
            let connectionId = try await helpers.rotatingConnection(client, accessToken: "at-expired")
            try await pipeline.connections.sync()
            let handshakes = PendingHandshakes(runtime: pipeline.runtime, connections: pipeline.connections, vault: pipeline.vault, logger: pipeline.harness.logger)
            let pending = SubscriptionRecord(
                id: "sub_handshake", status: .pending, connectionId: connectionId, customerId: "acme", connectorKey: "rotating",
                target: .event(eventKey: "greeting"), webhookToken: "wht_handshake_0123456789", createdAt: Date(), updatedAt: Date())
            let response = await handshakes.response(for: pending, request: RawRequest(receivedAt: Date(), method: "POST", path: "/webhooks/wht_handshake_0123456789"))
            #expect(response == nil)
            #expect(pipeline.stub.received("GET", "/me").count == 1, "handle reached the API")
            #expect(pipeline.stub.received("POST", "/oauth/token").isEmpty, "rt-1 is left for the handler that stores what it gets")
        }
    }

    /// Subscribes until each of the two handlers owns two subscriptions (at most 16 tries):
    /// the ids by handler.
    private func subscriptions(
        _ client: any TestClientProtocol, of connectionId: String, on assigned: [Set<Int32>], partitions: Int
    ) async throws -> [[String]] {
        var byHandler: [[String]] = [[], []]
        for index in 0..<16 {
            if byHandler[0].count >= 2 && byHandler[1].count >= 2 { break }
            let subscription = try await helpers.subscribed(
                client, ["connectionId": .string(connectionId), "eventKey": "profile", "parameters": ["apiKey": .string("key_\(index)")]])
            let id = try #require(subscription["id"]?.stringValue)
            let partition = KafkaPartitioner.partition(forKey: id, partitions: partitions)
            byHandler[assigned[0].contains(partition) ? 0 : 1].append(id)
        }
        return byHandler
    }

    /// DELETEs the subscriptions at once; each must be answered 200.
    private func unsubscribe(_ client: any TestClientProtocol, _ ids: [String]) async throws -> [JSONValue] {
        var answers: [JSONValue] = []
        try await withThrowingTaskGroup(of: (HTTPResponse.Status, JSONValue).self) { group in
            for id in ids {
                group.addTask { [helpers] in try await helpers.admin(client, .delete, "/api/v1/subscriptions/\(id)") }
            }
            for try await (status, body) in group {
                #expect(status == .ok, "\(body)")
                answers.append(body)
            }
        }
        return answers
    }

    /// The `refresh-credentials` commands on `commands` so far.
    private static func refreshCommands(_ pipeline: TestPipeline) async throws -> [Command] {
        let harness = pipeline.harness
        let written = Int(try await harness.messageCount(harness.topics.commands))
        return try await harness.read(harness.topics.commands, count: written).compactMap { message in
            message.value.flatMap { try? Command.decoded(from: $0) }.flatMap { $0.type == .refreshCredentials ? $0 : nil }
        }
    }

    private static func stored(_ connectionId: String, _ connections: ConnectionDirectory, _ vault: CredentialVault) async throws -> JSONValue? {
        try await connections.sync()
        return try connections[connectionId]?.openedCredentials(vault)
    }
}

extension WebhookEndToEndTests {
    /// A connection of the rotating-token app (Tests/Fixtures/workspaces/rotating-tokens) with
    /// `accessToken` and the refresh token `rt-1`: its id.
    func rotatingConnection(_ client: any TestClientProtocol, accessToken: String) async throws -> String {
        let (_, connection) = try await admin(client, .post, "/api/v1/connections", [
            "connectorKey": "rotating", "customerId": "acme", "credentials": ["access_token": .string(accessToken), "refresh_token": "rt-1"],
        ])
        return try #require(connection["id"]?.stringValue)
    }
}

@Suite("Problem bodies and secrets")
struct SecretProblemTests {
    let helpers = WebhookEndToEndTests()

    @Test("a 422 for parameters never repeats a secret value (a pattern error would quote it), and still quotes the others")
    func problemDoesNotEchoSecrets() async throws {
        let pipeline = try TestPipeline(workspace: try TestPipeline.fixtureWorkspace("rotating-tokens"))
        try await pipeline.run { client in
            let connectionId = try await helpers.rotatingConnection(client, accessToken: "at-0")
            let (status, problem) = try await helpers.admin(client, .post, "/api/v1/subscriptions", [
                "connectionId": .string(connectionId), "eventKey": "profile",
                "parameters": ["apiKey": "sekrit-value-not-to-echo", "plan": "platinum"],
            ])
            #expect(status == .unprocessableContent)
            let text = problem.jsonText
            #expect(!text.contains("sekrit-value-not-to-echo"), "\(text)")
            let errors = problem["errors"]?.arrayValue ?? []
            #expect(errors.contains { $0["path"] == "/apiKey" && $0["keyword"] == "pattern" && $0["message"]?.stringValue?.contains("secret") == true })
            #expect(errors.contains { $0["path"] == "/plan" && $0["message"]?.stringValue?.contains("platinum") == true }, "a value that is not secret is still shown")
        }
    }
}
