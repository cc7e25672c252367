import Foundation
import InletConnectors
import InletJSON
import InletKafka
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
            let (_, connection) = try await helpers.admin(client, .post, "/api/v1/connections", [
                "connectorKey": "rotating", "customerId": "acme", "credentials": ["access_token": "at-expired", "refresh_token": "rt-1"],
            ])
            let connectionId = try #require(connection["id"]?.stringValue)
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

@Suite("Problem bodies and secrets")
struct SecretProblemTests {
    let helpers = WebhookEndToEndTests()

    @Test("a 422 for parameters never repeats a secret value (a pattern error would quote it), and still quotes the others")
    func problemDoesNotEchoSecrets() async throws {
        let pipeline = try TestPipeline(workspace: try TestPipeline.fixtureWorkspace("rotating-tokens"))
        try await pipeline.run { client in
            let (_, connection) = try await helpers.admin(client, .post, "/api/v1/connections", [
                "connectorKey": "rotating", "customerId": "acme", "credentials": ["access_token": "at-0", "refresh_token": "rt-1"],
            ])
            let (status, problem) = try await helpers.admin(client, .post, "/api/v1/subscriptions", [
                "connectionId": .string(try #require(connection["id"]?.stringValue)), "eventKey": "profile",
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
