import Foundation
import Testing

@testable import InletConnectors

/// connectors/msgraph against a stub of graph.microsoft.com (absolute Graph URLs in its answers
/// are rewritten to the stub by the runtime's API base override).
@Suite("Example connector: Microsoft Graph mail")
struct ExampleConnectorGraphTests {
    static let graph = "https://graph.microsoft.com/v1.0"
    let subscription = MethodContext(
        connectorKey: "msgraph", owner: .event("message-received"), parameters: ["folderId": "inbox"],
        state: ["subscriptionId": "sub-1", "clientState": "cs-1", "expirationDateTime": "2024-01-01T00:00:00Z"],
        credentials: ["access_token": "at-1", "refresh_token": "rt-1"])

    /// `2024-05-01T10:00:00.123Z`, what `Date.toISOString()` writes.
    static func iso(_ date: Date) -> String {
        isoFormatter().string(from: date)
    }

    static func isoFormatter() -> ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }

    static let message: JSONValue = [
        "id": "AAMk1", "subject": "Quarterly report", "from": ["emailAddress": ["address": "adele@contoso.com"]],
        "receivedDateTime": "2024-05-01T10:00:00Z", "createdDateTime": "2024-05-01T10:00:00Z", "bodyPreview": "Please find", "isRead": false,
        "webLink": "https://outlook.office365.com/owa/?ItemID=AAMk1",
    ]

    @Test("subscribe creates a Graph subscription with an expirationDateTime and asks to be refreshed before it")
    func subscribe() async throws {
        let api = try await StubAPIServer.start([
            "POST /subscriptions": { request in
                .json(["id": "sub-1", "expirationDateTime": request.json["expirationDateTime"] ?? .null, "resource": request.json["resource"] ?? .null], status: 201)
            },
        ])
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)
        let result = try await runtime.subscribe(subscription, webhookUri: "https://inlet.example/webhooks/sub-g")

        let request = try #require(api.requests("POST", "/subscriptions").first)
        #expect(request.headers["authorization"] == "Bearer at-1")
        #expect(request.json["changeType"] == "created")
        #expect(request.json["notificationUrl"] == "https://inlet.example/webhooks/sub-g")
        #expect(request.json["resource"] == "me/mailFolders('inbox')/messages")
        let expiration = try #require(request.json["expirationDateTime"]?.stringValue)
        let expires = try #require(Self.isoFormatter().date(from: expiration))
        #expect(abs(expires.timeIntervalSinceNow - 3 * 86_400) < 120)
        #expect(result.state?["subscriptionId"] == "sub-1")
        #expect(result.state?["clientState"] == request.json["clientState"])
        let next = try #require(result.nextRefreshTimestamp)
        #expect(abs(Double(next) / 1000 - (expires.timeIntervalSince1970 - 12 * 3600)) < 1)
    }

    @Test("the validationToken handshake is answered with the token as text/plain")
    func validationToken() async throws {
        let api = try await StubAPIServer.start()
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)
        let request = WebhookRequest(method: "POST", path: "/webhooks/sub-g", query: ["validationToken": "Validation: Token 123"],
                                     headers: ["Content-Type": "text/plain; charset=utf-8"])
        let result = try await runtime.handle(subscription, request: request)
        #expect(result.events.isEmpty)
        let response = try #require(result.response)
        #expect(response.status == 200)
        #expect(response.contentType == "text/plain")
        #expect(String(decoding: response.body, as: UTF8.self) == "Validation: Token 123")
    }

    @Test("a notification with the subscription's clientState fetches the message; another clientState is refused")
    func notifications() async throws {
        let api = try await StubAPIServer.start(["GET /me/messages/AAMk1": { _ in .json(Self.message) }])
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)
        func notification(clientState: String) -> WebhookRequest {
            let body: JSONValue = ["value": [[
                "subscriptionId": "sub-1", "clientState": .string(clientState), "changeType": "created",
                "resource": "Users/u1/Messages/AAMk1", "resourceData": ["id": "AAMk1", "@odata.type": "#Microsoft.Graph.Message"],
            ]]]
            return WebhookRequest(method: "POST", path: "/webhooks/sub-g", headers: ["Content-Type": "application/json"], rawBody: body.serialized())
        }
        let result = try await runtime.handle(subscription, request: notification(clientState: "cs-1"))
        #expect(result.events.count == 1)
        #expect(result.events.first?.type == "created")
        #expect(result.events.first?.record["id"] == "AAMk1")
        #expect(result.events.first?.record["fields"]?["from"] == "adele@contoso.com")
        #expect(result.response?.status == 202)
        #expect(api.requests.first?.query["$select"]?.contains("subject") == true)

        let error = await connectorError { _ = try await runtime.handle(subscription, request: notification(clientState: "forged")) }
        #expect(error?.code == "handle-error")
        #expect(error?.message.contains("clientState") == true)
    }

    @Test("refresh extends the subscription with PATCH, and re-creates it when Graph no longer has it")
    func refresh() async throws {
        let api = try await StubAPIServer.start([
            "PATCH /subscriptions/sub-1": { request in .json(["id": "sub-1", "expirationDateTime": request.json["expirationDateTime"] ?? .null]) },
            "PATCH /subscriptions/gone": { _ in .notFound },
            "POST /subscriptions": { request in .json(["id": "sub-2", "expirationDateTime": request.json["expirationDateTime"] ?? .null], status: 201) },
        ])
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)

        let extended = try await runtime.refresh(subscription, webhookUri: "https://inlet.example/webhooks/sub-g")
        let patch = try #require(api.requests("PATCH", "/subscriptions/sub-1").first)
        #expect(patch.json["expirationDateTime"] == extended.state?["expirationDateTime"])
        #expect(extended.state?["subscriptionId"] == "sub-1")
        #expect(extended.state?["clientState"] == "cs-1")
        #expect((extended.nextRefreshTimestamp ?? 0) > Int64(Date().timeIntervalSince1970 * 1000) + 86_400_000)

        var lost = subscription
        lost.state = ["subscriptionId": "gone", "clientState": "cs-1"]
        let recreated = try await runtime.refresh(lost, webhookUri: "https://inlet.example/webhooks/sub-g")
        #expect(recreated.state?["subscriptionId"] == "sub-2")
        #expect(api.requests("POST", "/subscriptions").first?.json["clientState"] == "cs-1")
    }

    @Test("unsubscribe deletes the Graph subscription")
    func unsubscribe() async throws {
        let api = try await StubAPIServer.start(["DELETE /subscriptions/sub-1": { _ in .noContent }])
        defer { Task { await api.stop() } }
        try await RuntimeFixtures.exampleRuntime(api: api).unsubscribe(subscription)
        #expect(api.requests.map { "\($0.method) \($0.path)" } == ["DELETE /subscriptions/sub-1"])
    }

    @Test("custom pull: subscribe follows the delta query to its delta link; pull reports only new messages and keeps the next link")
    func deltaPull() async throws {
        let created = Self.iso(Date().addingTimeInterval(60))
        let api = try await StubAPIServer.start([
            "GET /me/mailFolders/inbox/messages/delta": { request in
                switch (request.query["$skiptoken"], request.query["$deltatoken"]) {
                case (nil, nil):
                    return .json(["value": [Self.message], "@odata.nextLink": .string("\(Self.graph)/me/mailFolders/inbox/messages/delta?$skiptoken=p2")])
                case ("p2"?, _):
                    return .json(["value": [], "@odata.deltaLink": .string("\(Self.graph)/me/mailFolders/inbox/messages/delta?$deltatoken=d1")])
                case (_, "d1"?):
                    let fresh: JSONValue = ["id": "AAMk2", "subject": "New", "createdDateTime": .string(created), "receivedDateTime": .string(created)]
                    let read: JSONValue = ["id": "AAMk1", "subject": "Quarterly report", "createdDateTime": "2024-05-01T10:00:00Z", "isRead": true]
                    let removed: JSONValue = ["id": "AAMk0", "@removed": ["reason": "deleted"]]
                    return .json(["value": [fresh, read, removed], "@odata.deltaLink": .string("\(Self.graph)/me/mailFolders/inbox/messages/delta?$deltatoken=d2")])
                default:
                    return .notFound
                }
            },
        ])
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)
        var context = MethodContext(connectorKey: "msgraph", owner: .collectionEvent("messages", .created), parameters: ["folderId": "inbox"],
                                    credentials: ["access_token": "at-1"])

        let subscribed = try await runtime.subscribe(context, webhookUri: nil)
        #expect(subscribed.state?["deltaLink"] == JSONValue.string("\(Self.graph)/me/mailFolders/inbox/messages/delta?$deltatoken=d1"))
        #expect(api.requests.count == 2)
        #expect(api.requests.first?.query["$select"] != nil)

        context.state = subscribed.state
        let pulled = try await runtime.pull(context)
        #expect(pulled.events.map { $0.record["id"] } == ["AAMk2"])
        #expect(pulled.events.first?.type == "created")
        #expect(pulled.state?["deltaLink"] == JSONValue.string("\(Self.graph)/me/mailFolders/inbox/messages/delta?$deltatoken=d2"))
        #expect(api.requests.last?.query["$deltatoken"] == "d1")
        #expect(api.requests.allSatisfy { $0.headers["authorization"] == "Bearer at-1" })
    }

    @Test("a 401 runs refresh-credentials against the token endpoint and retries with the new token")
    func refreshCredentials() async throws {
        let api = try await StubAPIServer.start([
            "GET /me/messages/AAMk1": { request in
                request.headers["authorization"] == "Bearer at-2" ? .json(Self.message) : StubResponse(status: 401, body: #"{"error":{"code":"InvalidAuthenticationToken"}}"#)
            },
            "POST /tenant-1/token": { _ in .json(["access_token": "at-2", "refresh_token": "rt-2", "expires_in": 3600]) },
        ])
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)
        let result = try await runtime.run(
            connectorKey: "msgraph", owner: .collection("messages"), method: "findById",
            arguments: ["id": "AAMk1", "connectorParameters": ["clientId": "app-1", "clientSecret": "shh", "tokenUri": .string(api.baseURI + "/tenant-1/token")]],
            credentials: ["access_token": "at-expired", "refresh_token": "rt-1"])
        #expect(result["record"]?["id"] == "AAMk1")
        #expect(result["record"]?["fields"]?["from"] == "adele@contoso.com")

        let token = try #require(api.requests("POST", "/tenant-1/token").first)
        #expect(token.headers["content-type"] == "application/x-www-form-urlencoded")
        #expect(token.headers["authorization"] == nil, "the stale bearer token must not go to the token endpoint")
        let form = WebhookRequest.formFields(token.body)
        #expect(form["grant_type"] == "refresh_token")
        #expect(form["refresh_token"] == "rt-1")
        #expect(form["client_id"] == "app-1")
        #expect(api.requests("GET", "/me/messages/AAMk1").map { $0.headers["authorization"] } == ["Bearer at-expired", "Bearer at-2"])
    }

    @Test("hosts outside connector.yml allowedHosts are refused")
    func allowedHosts() async throws {
        let policy = HostPolicy(originalBase: Self.graph, override: nil, clientHosts: [], connectorHosts: ["graph.microsoft.com", "*.sharepoint.com"])
        #expect(policy.allows("graph.microsoft.com"))
        #expect(policy.allows("contoso.sharepoint.com"))
        #expect(!policy.allows("evil.example"))
        #expect(throws: APIError.self) { _ = try policy.prepare(APIRequest(method: "GET", path: "https://evil.example/steal")) }
        let moved = try policy.prepare(APIRequest(method: "GET", path: "https://contoso.sharepoint.com/sites/a?x=1"))
        #expect(moved.baseURI == "https://contoso.sharepoint.com")
        #expect(moved.path == "/sites/a?x=1")

        let overridden = HostPolicy(originalBase: Self.graph, override: "http://127.0.0.1:9", clientHosts: [], connectorHosts: ["graph.microsoft.com"])
        let rewritten = try overridden.prepare(APIRequest(method: "GET", path: "\(Self.graph)/me/messages?$top=1"))
        #expect(rewritten.baseURI == "http://127.0.0.1:9")
        #expect(rewritten.path == "/me/messages?$top=1")
    }
}
