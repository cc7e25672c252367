import AsyncHTTPClient
import Foundation
import Hummingbird
import InletConnectors
import Logging
import Synchronization

/// A stand-in for an external API (GitHub, Graph) on 127.0.0.1: records every request and
/// answers what the routes say.
final class StubAPI: Sendable {
    struct Recorded: Sendable {
        var method: String
        var path: String
        var headers: [String: String]
        var body: JSONValue?
    }

    let requests = Mutex<[Recorded]>([])
    private let port = Mutex<Int?>(nil)
    /// Like Microsoft Graph: POST /subscriptions first calls the notification URL with
    /// `?validationToken=` (rewritten to this base) and fails unless the token comes back.
    let validateNotificationsAt = Mutex<String?>(nil)

    /// Statuses to answer, in order, before a route answers normally, by `"METHOD path"`
    /// (e.g. `"GET /me/messages/m-1": [503, 503]`).
    let failures = Mutex<[String: [Int]]>([:])

    /// How long `GET /me/messages/:id` takes to answer (a slow API).
    let messageDelay = Mutex<Duration>(.zero)

    var baseURL: String? { port.withLock { $0 }.map { "http://127.0.0.1:\($0)" } }

    /// A task of the pulled task app (Tests/Fixtures/workspaces/pulls): times in seconds.
    struct TaskRecord: Sendable {
        var id: String
        var title: String
        var created: Int
        var updated: Int

        var record: JSONValue {
            ["id": .string(id), "name": .string(title), "createdTime": .string(StubAPI.iso(Date(timeIntervalSince1970: Double(created)))),
             "updatedTime": .string(StubAPI.iso(Date(timeIntervalSince1970: Double(updated)))), "fields": ["title": .string(title)]]
        }
    }

    /// The task app's data, changed by tests between pulls.
    let tasks = Mutex<[TaskRecord]>([])
    /// The task app's projects (listed whole by full scans): id → fields.
    let projects = Mutex<[(id: String, fields: JSONValue)]>([])
    /// While true, `GET /projects` beyond the first page waits (a scan stuck mid-way) until it
    /// turns false again, or at most two minutes.
    let holdProjectPages = Mutex<Bool>(false)
    /// Projects per page of `GET /projects`.
    let projectPageSize = Mutex(2)
    /// How many page requests `holdProjectPages` has held so far.
    let heldProjectPages = Mutex<Int>(0)
    /// The task app's deletion log: task id and its position.
    let deletions = Mutex<[(id: String, position: Int)]>([])

    /// The rotating-token app (Tests/Fixtures/workspaces/rotating-tokens): the one access
    /// token `GET /me` accepts, and the one refresh token `POST /oauth/token` accepts (each
    /// exchange voids it and issues the next pair).
    let rotatingTokens = Mutex<(access: String, refresh: String, issued: Int)>(("at-0", "rt-1", 0))
    /// How long `POST /oauth/token` takes before it looks at the token (so refreshes overlap).
    let tokenDelay = Mutex<Duration>(.zero)

    func received(_ method: String, _ pathPrefix: String) -> [Recorded] {
        requests.withLock { $0.filter { $0.method == method && $0.path.hasPrefix(pathPrefix) } }
    }

    /// Runs the server until cancelled.
    func run() async throws {
        let router = Router()
        router.middlewares.add(Recorder(stub: self))
        router.post("/repos/:owner/:repo/hooks") { _, _ in Self.json(["id": 42, "active": true], status: .created) }
        router.delete("/repos/:owner/:repo/hooks/:id") { _, _ in Response(status: .noContent) }
        router.get("/me") { [self] request, _ in
            let valid = rotatingTokens.withLock { $0.access }
            guard request.headers[.authorization] == "Bearer \(valid)" else { return Self.json(["error": "invalid_token"], status: .unauthorized) }
            return Self.json(["user": "octocat"])
        }
        router.post("/oauth/token") { [self] request, _ in
            let body = try JSONValue(parsing: Data(buffer: try await request.body.collect(upTo: 1 << 16)))
            try await Task.sleep(for: tokenDelay.withLock { $0 })
            let issued = rotatingTokens.withLock { tokens -> (String, String)? in
                guard body["refresh_token"]?.stringValue == tokens.refresh else { return nil }
                tokens.issued += 1
                tokens = ("at-\(tokens.issued)", "rt-\(tokens.issued + 1)", tokens.issued)
                return (tokens.access, tokens.refresh)
            }
            guard let issued else { return Self.json(["error": "invalid_grant"], status: .badRequest) }
            return Self.json(["access_token": .string(issued.0), "refresh_token": .string(issued.1)])
        }
        // The pulled task app: newest first by `order`, two per page, `next` the next page.
        router.get("/tasks") { [self] request, _ in
            let order = request.uri.queryParameters["order"].map(String.init) ?? "createdTime"
            let page = request.uri.queryParameters["page"].flatMap { Int(String($0)) } ?? 0
            let sorted = tasks.withLock { $0 }.sorted { order == "updatedTime" ? $0.updated > $1.updated : $0.created > $1.created }
            let slice = sorted.dropFirst(page * 2).prefix(2)
            var body: [String: JSONValue] = ["records": .array(slice.map(\.record))]
            if (page + 1) * 2 < sorted.count { body["next"] = .string("/tasks?order=\(order)&page=\(page + 1)") }
            return Self.json(.object(body))
        }
        router.get("/projects") { [self] request, _ in
            let page = request.uri.queryParameters["page"].flatMap { Int(String($0)) } ?? 0
            if page > 0, holdProjectPages.withLock({ $0 }) {
                heldProjectPages.withLock { $0 += 1 }
                for _ in 0..<6000 where holdProjectPages.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
            }
            let all = projects.withLock { $0 }
            let size = projectPageSize.withLock { $0 }
            var body: [String: JSONValue] = ["records": .array(all.dropFirst(page * size).prefix(size).map { ["id": .string($0.id), "fields": $0.fields] })]
            if (page + 1) * size < all.count { body["next"] = .string("/projects?page=\(page + 1)") }
            return Self.json(.object(body))
        }
        router.get("/tasks/deletions") { [self] request, _ in
            let since = request.uri.queryParameters["since"].flatMap { Int(String($0)) } ?? 0
            let log = deletions.withLock { $0 }
            return Self.json([
                "deletions": .array(log.filter { $0.position > since }.map { ["id": .string($0.id), "at": .integer(Int64($0.position))] }),
                "latest": .integer(Int64(log.map(\.position).max() ?? 0)),
            ])
        }
        // The seed examples' task app (Tests/Fixtures/workspaces/seed-examples).
        router.post("/projects/:project/webhooks") { _, _ in Self.json(["id": "wh-1"], status: .created) }
        router.delete("/projects/:project/webhooks/:id") { _, _ in Response(status: .noContent) }
        router.post("/subscriptions") { [self] request, _ in
            if let ingress = validateNotificationsAt.withLock({ $0 }) {
                var request = request
                let body = try JSONValue(parsing: Data(buffer: try await request.collectBody(upTo: 1 << 20)))
                let url = body["notificationUrl"]?.stringValue ?? ""
                let path = url.replacingOccurrences(of: "https://hooks.example.com", with: "")
                let token = "v-\(UUID().uuidString.prefix(8))"
                var validation = HTTPClientRequest(url: ingress + path + "?validationToken=" + token)
                validation.method = .POST
                let response = try await HTTPClient.shared.execute(validation, timeout: .seconds(10))
                let echoed = String(buffer: try await response.body.collect(upTo: 1 << 16))
                guard response.status == .ok, echoed == token else {
                    return Self.json(["error": .string("notification URL validation failed: \(response.status.code) '\(echoed)'")], status: .badRequest)
                }
            }
            // Expires 12 h + 1 s from now: the connector renews 12 h before expiry, so now.
            return Self.json(["id": "graph-sub-1", "expirationDateTime": .string(Self.iso(Date().addingTimeInterval(12 * 3600 + 1)))], status: .created)
        }
        router.patch("/subscriptions/:id") { _, _ in
            Self.json(["id": "graph-sub-1", "expirationDateTime": .string(Self.iso(Date().addingTimeInterval(3 * 24 * 3600)))])
        }
        router.delete("/subscriptions/:id") { _, _ in Response(status: .noContent) }
        // Your app's own API (INLET_APP_API_URL): per-customer app event subscriptions.
        router.post("/app-api/customers/:customer/webhooks") { _, context in
            if context.parameters.get("customer") == "refuses" { return Self.json(["error": "no such account"], status: .notFound) }
            return Self.json(["id": .string("wh-\(context.parameters.get("customer") ?? "")")], status: .created)
        }
        router.delete("/app-api/customers/:customer/webhooks") { _, context in
            context.parameters.get("customer") == "keeps" ? Self.json(["error": "busy"], status: .internalServerError) : Response(status: .noContent)
        }
        router.get("/me/messages/:id") { [self] _, context in
            try await Task.sleep(for: messageDelay.withLock { $0 })
            let id = context.parameters.get("id") ?? ""
            return Self.json([
                "id": .string(id), "subject": .string("Message \(id)"), "receivedDateTime": "2026-11-27T10:00:00Z",
                "from": ["emailAddress": ["address": "ada@example.com"]], "bodyPreview": "", "isRead": false, "webLink": "",
            ])
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { [self] channel in self.port.withLock { $0 = channel.localAddress?.port } },
            logger: { var logger = Logger(label: "stub-api"); logger.logLevel = .critical; return logger }()
        )
        try await app.runService(gracefulShutdownSignals: [])
    }

    func waitUntilRunning() async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while baseURL == nil && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: value.serialized())))
    }

    static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    private struct Recorder: RouterMiddleware {
        typealias Context = BasicRequestContext
        let stub: StubAPI

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            stub.requests.withLock {
                $0.append(Recorded(method: request.method.rawValue, path: request.uri.path, headers: headers, body: try? JSONValue(parsing: Data(buffer: body))))
            }
            let failure = stub.failures.withLock { failures -> Int? in
                let key = "\(request.method.rawValue) \(request.uri.path)"
                guard let status = failures[key]?.first else { return nil }
                failures[key]?.removeFirst()
                return status
            }
            if let failure { return StubAPI.json(["error": "injected failure"], status: .init(code: failure)) }
            return try await next(request, context)
        }
    }
}
