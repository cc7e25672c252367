import Crypto
import Foundation
import Testing

@testable import InletConnectors

/// connectors/github against a stub of api.github.com.
@Suite("Example connector: GitHub repository webhooks")
struct ExampleConnectorGitHubTests {
    static let secret = "s3cret-for-tests-0123456789"
    let context = MethodContext(
        connectorKey: "github", owner: .event("issues"), parameters: ["owner": "octocat", "repo": "hello-world"],
        state: ["hookId": 42, "secret": .string(ExampleConnectorGitHubTests.secret)], credentials: ["access_token": "gho_test"])

    /// A delivery as GitHub sends it, signed with `secret`.
    static func delivery(event: String, body: JSONValue, secret: String = Self.secret) -> WebhookRequest {
        let raw = body.serialized()
        let mac = HMAC<SHA256>.authenticationCode(for: raw, using: SymmetricKey(data: Data(secret.utf8)))
        let signature = "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
        return WebhookRequest(method: "POST", path: "/webhooks/1",
                              headers: ["Content-Type": "application/json", "X-GitHub-Event": event, "X-Hub-Signature-256": signature],
                              rawBody: raw)
    }

    static func issues(action: String) -> JSONValue {
        [
            "action": .string(action),
            "issue": [
                "id": 1_234_567, "number": 1347, "title": "Found a bug", "body": "It crashes", "state": "open",
                "html_url": "https://github.com/octocat/hello-world/issues/1347", "user": ["login": "octocat"],
                "labels": [["name": "bug"]], "assignees": [], "created_at": "2024-05-01T10:00:00Z", "updated_at": "2024-05-02T11:00:00Z",
            ],
            "repository": ["full_name": "octocat/hello-world"],
        ]
    }

    @Test("subscribe registers a repository hook for issues at the webhook URI and keeps its id and secret")
    func subscribeRegistersHook() async throws {
        let api = try await StubAPIServer.start(["POST /repos/octocat/hello-world/hooks": { _ in .json(["id": 42, "active": true], status: 201) }])
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)
        var subscribing = context
        subscribing.state = nil
        subscribing.parameters = ["owner": "octocat", "repo": "hello-world", "secret": .string(Self.secret)]

        let result = try await runtime.subscribe(subscribing, webhookUri: "https://inlet.example/webhooks/sub-1")

        let request = try #require(api.requests("POST", "/repos/octocat/hello-world/hooks").first)
        #expect(request.headers["authorization"] == "Bearer gho_test")
        #expect(request.headers["accept"] == "application/vnd.github+json")
        #expect(request.json["events"] == ["issues"])
        #expect(request.json["config"]?["url"] == "https://inlet.example/webhooks/sub-1")
        #expect(request.json["config"]?["secret"] == .string(Self.secret))
        #expect(request.json["config"]?["content_type"] == "json")
        #expect(result.state == ["hookId": 42, "secret": .string(Self.secret)])
        #expect(result.nextRefreshTimestamp == nil)
    }

    @Test("without a secret parameter subscribe generates one and stores it")
    func subscribeGeneratesSecret() async throws {
        let api = try await StubAPIServer.start(["POST /repos/octocat/hello-world/hooks": { _ in .json(["id": 7], status: 201) }])
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)
        let result = try await runtime.subscribe(context, webhookUri: "https://inlet.example/webhooks/sub-2")
        let secret = try #require(result.state?["secret"]?.stringValue)
        #expect(secret.count == 64)
        #expect(api.requests.first?.json["config"]?["secret"] == .string(secret))
    }

    @Test("subscribe without repo fails on parametersSchema before calling GitHub")
    func subscribeNeedsRepo() async throws {
        let api = try await StubAPIServer.start()
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)
        var missingRepo = context
        missingRepo.parameters = ["owner": "octocat"]
        let error = await connectorError { _ = try await runtime.subscribe(missingRepo, webhookUri: "https://inlet.example/w") }
        #expect(error?.code == "invalid-parameters")
        #expect(api.requests.isEmpty)
    }

    @Test("a correctly signed issues delivery becomes created, updated or deleted")
    func signedDeliveries() async throws {
        let api = try await StubAPIServer.start()
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)

        let opened = try await runtime.handle(context, request: Self.delivery(event: "issues", body: Self.issues(action: "opened")))
        let event = try #require(opened.events.first)
        #expect(opened.events.count == 1)
        #expect(event.type == "created")
        #expect(event.record["id"] == "1347")
        #expect(event.record["name"] == "Found a bug")
        #expect(event.record["fields"]?["labels"] == ["bug"])
        #expect(event.record["fields"]?["author"] == "octocat")
        #expect(event.record["createdTime"] == "2024-05-01T10:00:00Z")

        let edited = try await runtime.handle(context, request: Self.delivery(event: "issues", body: Self.issues(action: "edited")))
        #expect(edited.events.map(\.type) == ["updated"])
        let closed = try await runtime.handle(context, request: Self.delivery(event: "issues", body: Self.issues(action: "closed")))
        #expect(closed.events.map(\.type) == ["updated"])
        let deleted = try await runtime.handle(context, request: Self.delivery(event: "issues", body: Self.issues(action: "deleted")))
        #expect(deleted.events.map(\.type) == ["deleted"])
        #expect(deleted.events.first?.record["deletedTime"] != nil)
        #expect(api.requests.isEmpty, "handle needs no API call")
    }

    @Test("GitHub's ping is answered with no events")
    func ping() async throws {
        let api = try await StubAPIServer.start()
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)
        let result = try await runtime.handle(context, request: Self.delivery(event: "ping", body: ["zen": "Keep it logically awesome.", "hook_id": 42]))
        #expect(result.events.isEmpty)
    }

    @Test("a bad signature fails the call (the input goes to the DLQ)")
    func badSignature() async throws {
        let api = try await StubAPIServer.start()
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)
        let forged = Self.delivery(event: "issues", body: Self.issues(action: "opened"), secret: "not-the-secret")
        let error = await connectorError { _ = try await runtime.handle(context, request: forged) }
        #expect(error?.code == "handle-error")
        #expect(error?.file == "connectors/github/events/issues/handle.js")
        #expect(error?.message.contains("X-Hub-Signature-256") == true)

        var unsigned = Self.delivery(event: "issues", body: Self.issues(action: "opened"))
        unsigned.headers["x-hub-signature-256"] = nil
        #expect(await connectorError { _ = try await runtime.handle(context, request: unsigned) }?.code == "handle-error")
    }

    @Test("unsubscribe deletes the hook")
    func unsubscribeDeletesHook() async throws {
        let api = try await StubAPIServer.start(["DELETE /repos/octocat/hello-world/hooks/42": { _ in .noContent }])
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)
        try await runtime.unsubscribe(context)
        let request = try #require(api.requests.first)
        #expect(request.method == "DELETE")
        #expect(request.path == "/repos/octocat/hello-world/hooks/42")
        #expect(request.headers["authorization"] == "Bearer gho_test")
    }

    @Test("a GitHub error surfaces as api-error with the status")
    func apiErrors() async throws {
        let api = try await StubAPIServer.start(["POST /repos/octocat/hello-world/hooks": { _ in StubResponse(status: 422, body: #"{"message":"Validation Failed"}"#) }])
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)
        let error = await connectorError { _ = try await runtime.subscribe(context, webhookUri: "https://inlet.example/w") }
        #expect(error?.code == "api-error")
        #expect(error?.details?["status"] == 422)
        #expect(error?.file == "connectors/github/events/issues/subscribe.js")
    }

    @Test("data/issues pulls newest first with the issues API, leaves out pull requests, and pages on a full page")
    func issuesPullLatestRecords() async throws {
        let issue = Self.issues(action: "opened")["issue"] ?? .null
        let fullPage: [JSONValue] = Array(repeating: issue, count: 49) + [["number": 9, "pull_request": ["url": "x"], "title": "PR", "created_at": "2024-05-01T10:00:00Z", "updated_at": "2024-05-01T10:00:00Z"]]
        let api = try await StubAPIServer.start(["GET /repos/octocat/hello-world/issues": { _ in .json(.array(fullPage)) }])
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)
        let pulling = MethodContext(connectorKey: "github", owner: .collectionEvent("issues", .updated),
                                    parameters: ["owner": "octocat", "repo": "hello-world"], credentials: ["access_token": "gho_test"])
        let page = try await runtime.pullLatestRecords(pulling, cursor: nil)
        #expect(page.records.count == 49)
        #expect(page.records.first?["id"] == "1347")
        #expect(page.records.first?["updatedTime"] == "2024-05-02T11:00:00Z")
        #expect(page.records.first?["fields"]?["labels"] == ["bug"])
        #expect(page.cursor == "2")
        let request = try #require(api.requests("GET", "/repos/octocat/hello-world/issues").first)
        #expect(request.query["sort"] == "updated")
        #expect(request.query["direction"] == "desc")
        #expect(request.query["state"] == "all")
    }

    @Test("data/labels lists every label for full scans, the API URL among the ignored fields")
    func labelsList() async throws {
        let api = try await StubAPIServer.start(["GET /repos/octocat/hello-world/labels": { _ in
            .json([["id": 208045946, "name": "bug", "color": "f29513", "description": "Something isn't working", "url": "https://api.github.com/repos/octocat/hello-world/labels/bug"]])
        }])
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)
        let listing = MethodContext(connectorKey: "github", owner: .collection("labels"),
                                    parameters: ["owner": "octocat", "repo": "hello-world"], credentials: ["access_token": "gho_test"])
        let page = try await runtime.list(listing, cursor: nil)
        #expect(page.records == [["id": "208045946", "name": "bug", "fields": ["color": "f29513", "description": "Something isn't working", "url": "https://api.github.com/repos/octocat/hello-world/labels/bug"]]])
        #expect(page.cursor == nil)
        #expect(runtime.workspace.connectors["github"]?.dataCollections["labels"]?.ignoredFields == ["url"])
    }
}
