import AsyncHTTPClient
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import InletConnectors
import InletHTTP
import InletKafka
import InletPipeline
import Logging
import Testing

/// The whole webhook path in one process: admin API → handler (subscribe) → stand-in API;
/// signed webhook → ingress → handler (handle) → dispatcher → `events`.
@Suite("Webhook events end to end", .serialized)
struct WebhookEndToEndTests {
    static let adminToken = "test-admin-token"
    static let secret = "0123456789abcdef-secret"

    static func workspace() throws -> Workspace {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try #require(WorkspaceLoader().load(from: root).workspace, "the repository's connectors/ load without errors")
    }

    static func signature(_ body: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    static func issueDelivery(action: String, number: Int, title: String) -> String {
        #"{"action":"\#(action)","issue":{"number":\#(number),"title":"\#(title)","state":"open","html_url":"https://github.com/octo/hello/issues/\#(number)","user":{"login":"octocat"},"labels":[],"assignees":[],"created_at":"2026-11-25T10:00:00Z","updated_at":"2026-11-25T10:00:00Z"},"repository":{"full_name":"octo/hello"}}"#
    }

    /// Runs the handler, dispatcher, tables and the stand-in API around `body`.
    func withPipeline(_ body: @escaping @Sendable (IngressHarness, StubAPI, any TestClientProtocol) async throws -> Void) async throws {
        let pipeline = try TestPipeline()
        try await pipeline.run { client in
            try await body(pipeline.harness, pipeline.stub, client)
        }
    }

    /// An admin API call. Over a client of its own with a 120 s timeout: the API may wait up to
    /// its `waitTimeout` (90 s in `TestPipeline`, for a machine loaded by the parallel suites)
    /// for the handler, longer than the live test client's 20 s.
    /// `HTTPClient.shared` reads with a 90 s timeout, the admin API's own wait: its 202 would
    /// come just too late. This client waits for it.
    static let adminClient = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(timeout: .init(connect: .seconds(10), read: .seconds(150)))
    )

    func admin(
        _ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, _ body: JSONValue? = nil, token: String = adminToken
    ) async throws -> (HTTPResponse.Status, JSONValue) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(try #require(client.port))" + uri)
        request.method = .init(rawValue: method.rawValue)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        if let body { request.body = .bytes(ByteBuffer(data: body.serialized())) }
        let response = try await Self.adminClient.execute(request, timeout: .seconds(120))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (HTTPResponse.Status(code: Int(response.status.code)), (try? JSONValue(parsing: Data(buffer: bytes))) ?? .null)
    }

    func createSubscription(_ client: any TestClientProtocol, connector: String = "github", eventKey: String = "issues", parameters: JSONValue) async throws -> JSONValue {
        let (created, connection) = try await admin(client, .post, "/api/v1/connections", [
            "connectorKey": .string(connector), "customerId": "acme", "credentials": ["access_token": "gh-token"],
        ])
        #expect(created == .created)
        #expect(connection["credentials"] == nil, "credentials are never returned")
        let connectionId = try #require(connection["id"]?.stringValue)
        return try await subscribed(client, [
            "connectionId": .string(connectionId), "eventKey": .string(eventKey), "parameters": parameters,
        ])
    }

    /// Creates a subscription as a client of the API should: a 201 is done; a 202 (the handler
    /// did not apply the command within the API's wait, e.g. while its group still forms on a
    /// loaded machine) is polled at its `Location` until the subscription leaves `pending`.
    /// With `existing`, a 200 (the identical subscription already there, e.g. a concurrent
    /// request's) is as good as a 201.
    func subscribed(_ client: any TestClientProtocol, _ request: JSONValue, existing: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue {
        var (status, subscription) = try await admin(client, .post, "/api/v1/subscriptions", request)
        if existing && status == .ok { status = .created }
        let deadline = ContinuousClock.now + .seconds(180)
        while status == .accepted, let poll = subscription["poll"]?.stringValue, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            let (polled, record) = try await admin(client, .get, poll)
            if polled == .ok, record["status"] != "pending" { (status, subscription) = (.created, record) }
        }
        #expect(status == .created, "\(subscription)", sourceLocation: sourceLocation)
        return subscription
    }

    func postWebhook(_ client: any TestClientProtocol, url: String, body: String, signature: String, event: String = "issues") async throws -> HTTPResponse.Status {
        let path = String(url.dropFirst("https://hooks.example.com".count))
        return try await client.execute(
            uri: path, method: .post,
            headers: [.contentType: "application/json", .init("X-GitHub-Event")!: event, .init("X-Hub-Signature-256")!: signature],
            body: ByteBuffer(string: body)
        ) { $0.status }
    }

    @Test("subscribe registers the hook; a signed webhook becomes exactly one event, in order; a bad signature goes to the DLQ; delete unregisters")
    func githubIssues() async throws {
        try await withPipeline { harness, stub, client in
            let subscription = try await createSubscription(client, parameters: ["owner": "octo", "repo": "hello", "secret": .string(Self.secret)])
            #expect(subscription["status"] == "active")
            let webhookUrl = try #require(subscription["webhookUrl"]?.stringValue)
            let subscriptionId = try #require(subscription["id"]?.stringValue)
            // State and secret parameters are never shown; the subscription holds them.
            #expect(subscription["state"] == nil)
            #expect(subscription["config"]?["parameters"] == ["owner": "octo", "repo": "hello"], "the secret (writeOnly) is left out")
            try await harness.subscriptions.sync()
            // On the topic the state is sealed; it opens with the pipeline's key.
            let stored = try #require(harness.subscriptions[subscriptionId])
            #expect(stored.state == nil && stored.sealedState != nil)
            #expect(try stored.openedState(CredentialVault(secret: "test-pipeline-key"))?["hookId"] == 42)
            // The secret parameter is sealed on the subscription (and was on the command).
            #expect(stored.config.parameters == ["owner": "octo", "repo": "hello"])
            #expect(try stored.config.openedParameters(CredentialVault(secret: "test-pipeline-key"), subscriptionId: subscriptionId)["secret"] == .string(Self.secret))
            let reader = KafkaSnapshotReader(client: harness.client, logger: harness.logger)
            let partitions = Array(0..<Int32(harness.topics.partitions))
            let onTopic = try await reader.read(topic: harness.topics.subscriptions, partitions: partitions)
                + (try await reader.read(topic: harness.topics.commands, partitions: partitions))
            #expect(!onTopic.isEmpty)
            #expect(onTopic.allSatisfy { !String(decoding: $0.value ?? Data(), as: UTF8.self).contains(Self.secret) }, "the secret is on no topic in clear text")

            let registrations = stub.received("POST", "/repos/octo/hello/hooks")
            try #require(registrations.count == 1, "the stand-in API received the hook registration")
            #expect(registrations[0].headers["authorization"] == "Bearer gh-token")
            #expect(registrations[0].body?["config"]?["url"]?.stringValue == webhookUrl)

            // Three deliveries for one issue, in order, each signed.
            let deliveries = [("opened", "First"), ("edited", "Second"), ("closed", "Third")].map {
                Self.issueDelivery(action: $0.0, number: 7, title: $0.1)
            }
            for delivery in deliveries {
                #expect(try await postWebhook(client, url: webhookUrl, body: delivery, signature: Self.signature(delivery)) == .ok)
            }
            // A forged one.
            let forged = Self.issueDelivery(action: "opened", number: 8, title: "Forged")
            #expect(try await postWebhook(client, url: webhookUrl, body: forged, signature: "sha256=" + String(repeating: "0", count: 64)) == .ok)

            let events = try await harness.read(harness.topics.events, count: 3)
            let normalized = try events.map { try NormalizedEvent.decoded(from: $0.value ?? Data()) }
            #expect(normalized.map(\.type) == ["github.issues.created", "github.issues.updated", "github.issues.updated"])
            #expect(normalized.map { $0.data.record["name"]?.stringValue } == ["First", "Second", "Third"], "in order")
            #expect(normalized.allSatisfy { $0.data.subscriptionId == subscriptionId && $0.data.recordId == "7" && $0.data.customerId == "acme" })
            #expect(Set(normalized.map(\.id)).count == 3)

            let letters = try await harness.read(harness.topics.dlq, count: 1)
            let letter = try DeadLetter.decoded(from: try #require(letters.first?.value))
            #expect(letter.reason.code == "handle-error")
            #expect(letter.reason.message.contains("X-Hub-Signature-256"))
            #expect(try await harness.messageCount(harness.topics.events) == 3, "the forged delivery produced no event")

            let (deleted, archived) = try await admin(client, .delete, "/api/v1/subscriptions/\(subscriptionId)")
            #expect(deleted == .ok)
            #expect(archived["status"] == "archived")
            #expect(stub.received("DELETE", "/repos/octo/hello/hooks/42").count == 1, "the stand-in API received the hook deletion")
            // The webhook URL is dead now.
            #expect(try await postWebhook(client, url: webhookUrl, body: deliveries[0], signature: Self.signature(deliveries[0])) == .notFound)
        }
    }

    @Test("PATCH a connection: new credentials and name, its subscription stays and its next API call carries the new token; unknown fields 422, unknown id 404")
    func patchConnection() async throws {
        let pipeline = try TestPipeline()
        let stub = pipeline.stub
        try await pipeline.run { client in
            let subscription = try await createSubscription(client, parameters: ["owner": "octo", "repo": "hello", "secret": .string(Self.secret)])
            let subscriptionId = try #require(subscription["id"]?.stringValue)
            let connectionId = try #require(subscription["connectionId"]?.stringValue)

            let (patched, connection) = try await admin(client, .patch, "/api/v1/connections/\(connectionId)", [
                "credentials": ["access_token": "gh-token-rotated"], "name": "Acme's GitHub",
            ])
            #expect(patched == .ok, "\(connection)")
            #expect(connection["name"] == "Acme's GitHub")
            #expect(connection["credentials"] == nil, "credentials are never returned")
            let stored = try #require(pipeline.connections[connectionId])
            #expect(try stored.openedCredentials(pipeline.vault) == ["access_token": "gh-token-rotated"])
            #expect(stored.credentials.bound == true)

            let (_, still) = try await admin(client, .get, "/api/v1/subscriptions/\(subscriptionId)")
            #expect(still["status"] == "active", "the subscription was not touched")

            let (unknown, problem) = try await admin(client, .patch, "/api/v1/connections/\(connectionId)", ["customerId": "someone-else"])
            #expect(unknown == .unprocessableContent)
            #expect(problem["detail"]?.stringValue?.contains("customerId") == true)
            let (missing, _) = try await admin(client, .patch, "/api/v1/connections/con_nope", ["name": "x"])
            #expect(missing == .notFound)
            // Connector parameters are parameters by name, also for a connector without a
            // parametersSchema (found by schemathesis: an array was stored and shown).
            let (notObject, notObjectProblem) = try await admin(client, .patch, "/api/v1/connections/\(connectionId)", ["connectorParameters": [.null, .null]])
            #expect(notObject == .unprocessableContent)
            #expect(notObjectProblem["detail"]?.stringValue?.contains("connectorParameters must be an object") == true)
            let (created, _) = try await admin(client, .post, "/api/v1/connections", [
                "connectorKey": "github", "customerId": "acme", "credentials": ["access_token": "x"], "connectorParameters": "text",
            ])
            #expect(created == .unprocessableContent)

            let (deleted, _) = try await admin(client, .delete, "/api/v1/subscriptions/\(subscriptionId)")
            #expect(deleted == .ok)
            let deletions = stub.received("DELETE", "/repos/octo/hello/hooks/42")
            #expect(deletions.count == 1)
            #expect(deletions.first?.headers["authorization"] == "Bearer gh-token-rotated")
        }
    }

    @Test("parameters that do not match the parametersSchema are refused with 422 and the schema errors")
    func invalidParameters() async throws {
        try await withPipeline { _, stub, client in
            let (_, connection) = try await admin(client, .post, "/api/v1/connections", [
                "connectorKey": "github", "customerId": "acme", "credentials": ["access_token": "x"],
            ])
            let (status, problem) = try await admin(client, .post, "/api/v1/subscriptions", [
                "connectionId": connection["id"] ?? .null, "eventKey": "issues", "parameters": ["owner": 5],
            ])
            #expect(status == .unprocessableContent)
            #expect(problem["errors"]?.arrayValue?.isEmpty == false)
            #expect(stub.requests.withLock { $0.isEmpty }, "nothing was subscribed")
            let (unauthorized, _) = try await client.execute(uri: "/api/v1/subscriptions", method: .get) { ($0.status, 0) }
            #expect(unauthorized == .unauthorized)
        }
    }

    @Test("a handshake during subscribe is answered; refresh runs on its own when due; a later handshake gets handle's own response")
    func refreshWhenDue() async throws {
        try await withPipeline { harness, stub, client in
            // The stand-in validates the notification URL before answering, as Graph does.
            let port = try #require(client.port)
            stub.validateNotificationsAt.withLock { $0 = "http://127.0.0.1:\(port)" }
            let subscription = try await createSubscription(client, connector: "msgraph", eventKey: "message-received", parameters: [:])
            #expect(subscription["status"] == "active")
            #expect(stub.received("POST", "/subscriptions").count == 1)
            let id = try #require(subscription["id"]?.stringValue)

            // Graph's validation handshake: handle answers with the token as text/plain,
            // through replies, as the HTTP response of the webhook request itself.
            let path = String(try #require(subscription["webhookUrl"]?.stringValue).dropFirst("https://hooks.example.com".count))
            try await eventually(timeout: .seconds(10)) {
                try await client.execute(uri: path + "?validationToken=token-123", method: .post) { response in
                    response.status == .ok && String(buffer: response.body) == "token-123"
                        && response.headers[.contentType]?.hasPrefix("text/plain") == true
                }
            }
            try await eventually(timeout: .seconds(30)) { !stub.received("PATCH", "/subscriptions/graph-sub-1").isEmpty }
            // The renewed expiry moves the next refresh three days out.
            try await eventually(timeout: .seconds(30)) {
                guard let next = harness.subscriptions[id]?.nextRefreshTimestamp else { return false }
                return next > Int64(Date().addingTimeInterval(24 * 3600).timeIntervalSince1970 * 1000)
            }
            #expect(stub.received("PATCH", "/subscriptions/graph-sub-1").count == 1, "refreshed once, not on every tick")
        }
    }
}
