import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

@testable import InletConnectors

// MARK: - A scripted HTTP server on 127.0.0.1

/// One request as the test server saw it.
struct ReceivedRequest: Sendable {
    let method: String
    let uri: String
    /// Lower-cased names.
    let headers: [String: String]
    let body: String
}

/// What the test server answers.
struct ScriptedResponse: Sendable {
    var status: Int = 200
    var headers: [String: String] = ["content-type": "application/json"]
    var body: String = "{}"
}

/// An HTTP/1.1 server on a free loopback port that answers with `respond(request, index)`.
final class TestHTTPServer: Sendable {
    typealias Respond = @Sendable (ReceivedRequest, Int) -> ScriptedResponse

    private let respond: Respond
    private let log = Mutex<[ReceivedRequest]>([])
    private let channel = Mutex<(any Channel)?>(nil)

    var requests: [ReceivedRequest] { log.withLock { $0 } }
    var port: Int { channel.withLock { $0?.localAddress?.port ?? 0 } }
    var baseURI: String { "http://127.0.0.1:\(port)" }

    private init(respond: @escaping Respond) {
        self.respond = respond
    }

    static func start(_ respond: @escaping Respond) async throws -> TestHTTPServer {
        let server = TestHTTPServer(respond: respond)
        let bound = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(TestHTTPHandler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        server.channel.withLock { $0 = bound }
        return server
    }

    func stop() async {
        let bound = channel.withLock { $0 }
        try? await bound?.close()
    }

    fileprivate func answer(_ request: ReceivedRequest) -> ScriptedResponse {
        let index = log.withLock { log in
            log.append(request)
            return log.count - 1
        }
        return respond(request, index)
    }
}

private final class TestHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: TestHTTPServer
    var head: HTTPRequestHead?
    var body = ""

    init(server: TestHTTPServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = ""
        case .body(var buffer):
            body += buffer.readString(length: buffer.readableBytes) ?? ""
        case .end:
            guard let head else { return }
            var headers: [String: String] = [:]
            for (name, value) in head.headers { headers[name.lowercased()] = value }
            let reply = server.answer(ReceivedRequest(method: head.method.rawValue, uri: head.uri, headers: headers, body: body))
            var responseHeaders = HTTPHeaders()
            for (name, value) in reply.headers { responseHeaders.add(name: name, value: value) }
            responseHeaders.add(name: "content-length", value: String(reply.body.utf8.count))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: reply.status), headers: responseHeaders))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: reply.body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

// MARK: - Tests

@Suite("HTTPAPIClient")
struct HTTPAPIClientTests {
    @Test("a relative path resolves against the base URI with merged query, headers and basic auth")
    func relativePathQueryHeadersAuth() async throws {
        let server = try await TestHTTPServer.start { _, _ in ScriptedResponse(body: #"{"items":[1,2]}"#) }
        let client = HTTPAPIClient(configuration: APIClientConfiguration(
            baseURI: "http://127.0.0.1:\(server.port)/api/", headers: ["X-Token": "t0k"], query: ["key": "k"],
            auth: APIBasicAuth(username: "user", password: "pass")), networkAccess: .privateNetworksAllowed)
        let response = try await client.send(APIRequest(
            method: "GET", path: "/items", query: ["page": 2, "tags": ["a", "b"], "flag": true, "q": "a b&c"], headers: ["X-Request": "r"]))
        await server.stop()

        #expect(response.status == 200)
        #expect(response.data == ["items": [1, 2]])
        let request = try #require(server.requests.first)
        #expect(request.method == "GET")
        #expect(request.uri == "/api/items?flag=true&key=k&page=2&q=a%20b%26c&tags=a&tags=b")
        #expect(request.headers["authorization"] == "Basic dXNlcjpwYXNz")
        #expect(request.headers["x-token"] == "t0k")
        #expect(request.headers["x-request"] == "r")
    }

    @Test("a JSON body is sent with content-type application/json; a text answer comes back as a string")
    func jsonBody() async throws {
        let server = try await TestHTTPServer.start { _, _ in ScriptedResponse(status: 201, headers: ["content-type": "text/plain"], body: "created") }
        let client = HTTPAPIClient(configuration: APIClientConfiguration(baseURI: "http://127.0.0.1:\(server.port)"), networkAccess: .privateNetworksAllowed)
        let response = try await client.send(APIRequest(method: "POST", path: "hooks", body: ["url": "https://inlet.example/w", "events": ["push"]]))
        await server.stop()

        #expect(response.status == 201)
        #expect(response.data == "created")
        let request = try #require(server.requests.first)
        #expect(request.method == "POST")
        #expect(request.uri == "/hooks")
        #expect(request.headers["content-type"] == "application/json")
        #expect(try JSONValue(parsing: request.body) == ["url": "https://inlet.example/w", "events": ["push"]])
    }

    @Test("a 401 refreshes the credentials once and retries with the new configuration")
    func refreshOn401() async throws {
        let server = try await TestHTTPServer.start { request, _ in
            request.headers["authorization"] == "Bearer new"
                ? ScriptedResponse(body: #"{"me":"ok"}"#)
                : ScriptedResponse(status: 401, body: #"{"message":"expired"}"#)
        }
        let base = "http://127.0.0.1:\(server.port)"
        let refreshes = Mutex(0)
        let client = HTTPAPIClient(
            configuration: APIClientConfiguration(baseURI: base, headers: ["Authorization": "Bearer old"]), networkAccess: .privateNetworksAllowed,
            refreshCredentials: {
                refreshes.withLock { $0 += 1 }
                return APIClientConfiguration(baseURI: base, headers: ["Authorization": "Bearer new"])
            })
        let response = try await client.send(APIRequest(method: "GET", path: "/me"))
        #expect(response.data == ["me": "ok"])
        #expect(refreshes.withLock { $0 } == 1)
        #expect(server.requests.count == 2)
        #expect(client.currentConfiguration.headers["Authorization"] == "Bearer new")

        let withoutRefresh = HTTPAPIClient(configuration: APIClientConfiguration(baseURI: base, headers: ["Authorization": "Bearer old"]), networkAccess: .privateNetworksAllowed)
        await #expect(throws: APIError(code: APIError.accessTokenExpired, status: 401, data: ["message": "expired"], message: "GET /me: the API rejected the credentials (HTTP 401); refresh the connection's credentials")) {
            try await withoutRefresh.send(APIRequest(method: "GET", path: "/me"))
        }
        await server.stop()
    }

    @Test("a 429 with Retry-After is retried, and gives RATE_LIMIT_EXCEEDED when it persists")
    func rateLimited() async throws {
        let server = try await TestHTTPServer.start { request, index in
            if request.uri.hasPrefix("/always") { return ScriptedResponse(status: 429, headers: ["retry-after": "0"], body: "slow down") }
            return index == 0 ? ScriptedResponse(status: 429, headers: ["retry-after": "1"], body: "") : ScriptedResponse(body: "[1]")
        }
        let client = HTTPAPIClient(configuration: APIClientConfiguration(baseURI: server.baseURI), networkAccess: .privateNetworksAllowed)
        let start = ContinuousClock.now
        let response = try await client.send(APIRequest(method: "GET", path: "/items"))
        #expect(response.data == [1])
        #expect(ContinuousClock.now - start >= .milliseconds(900))

        do {
            _ = try await client.send(APIRequest(method: "GET", path: "/always"))
            Issue.record("expected RATE_LIMIT_EXCEEDED")
        } catch let error as APIError {
            #expect(error.code == APIError.rateLimitExceeded)
            #expect(error.status == 429)
            #expect(error.data == "slow down")
        }
        #expect(server.requests.count == 2 + 3)
        await server.stop()
    }

    @Test("any Retry-After an API sends gives a wait within the cap, never a crash: huge, infinite, not a number, negative, an HTTP date")
    func hostileRetryAfter() async throws {
        let cap = Duration.seconds(10)
        #expect(HTTPAPIClient.retryDelay(retryAfter: "1e16", attempt: 1, cap: cap) == cap)
        #expect(HTTPAPIClient.retryDelay(retryAfter: "1e400", attempt: 1, cap: cap) == .seconds(1))
        #expect(HTTPAPIClient.retryDelay(retryAfter: "inf", attempt: 2, cap: cap) == .seconds(2))
        #expect(HTTPAPIClient.retryDelay(retryAfter: "nan", attempt: 3, cap: cap) == .seconds(4))
        #expect(HTTPAPIClient.retryDelay(retryAfter: "-5", attempt: 1, cap: cap) == .seconds(1))
        #expect(HTTPAPIClient.retryDelay(retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT", attempt: 9, cap: cap) == cap)
        #expect(HTTPAPIClient.retryDelay(retryAfter: " 2.5 ", attempt: 1, cap: cap) == .milliseconds(2500))
        #expect(HTTPAPIClient.retryDelay(retryAfter: nil, attempt: 0, cap: cap) == .seconds(1))

        // Through the client: the answer is the rate limit error, and the process lives on.
        let server = try await TestHTTPServer.start { _, _ in ScriptedResponse(status: 429, headers: ["retry-after": "1e16"], body: "later") }
        let client = HTTPAPIClient(configuration: APIClientConfiguration(baseURI: server.baseURI), networkAccess: .privateNetworksAllowed, rateLimitAttempts: 2, maxRetryDelay: .milliseconds(50))
        await #expect(throws: APIError.self) { try await client.send(APIRequest(method: "GET", path: "/x")) }
        await server.stop()
    }

    @Test("a 500 is HTTP_ERROR with the status and the parsed body")
    func serverError() async throws {
        let server = try await TestHTTPServer.start { _, _ in ScriptedResponse(status: 500, body: #"{"error":"boom"}"#) }
        let client = HTTPAPIClient(configuration: APIClientConfiguration(baseURI: server.baseURI), networkAccess: .privateNetworksAllowed)
        do {
            _ = try await client.send(APIRequest(method: "DELETE", path: "/hooks/1"))
            Issue.record("expected HTTP_ERROR")
        } catch let error as APIError {
            #expect(error.code == APIError.httpError)
            #expect(error.status == 500)
            #expect(error.data == ["error": "boom"])
        }
        await server.stop()
    }

    @Test("absolute URLs go only to the base host or allowed hosts; others are HOST_NOT_ALLOWED without a request")
    func hostNotAllowed() async throws {
        let server = try await TestHTTPServer.start { _, _ in ScriptedResponse(body: "true") }
        let client = HTTPAPIClient(configuration: APIClientConfiguration(baseURI: "https://api.example.com", allowedHosts: ["127.0.0.1"]), networkAccess: .privateNetworksAllowed)
        do {
            _ = try await client.send(APIRequest(method: "GET", path: "http://evil.example/steal"))
            Issue.record("expected HOST_NOT_ALLOWED")
        } catch let error as APIError {
            #expect(error.code == APIError.hostNotAllowed)
        }
        let allowed = try await client.send(APIRequest(method: "GET", path: "\(server.baseURI)/next?page=2"))
        #expect(allowed.data == true)
        #expect(server.requests.map(\.uri) == ["/next?page=2"])
        await server.stop()
    }

    @Test("errors never carry query values or user info: a refused connection, an HTTP error, a host not allowed")
    func errorsHideSecretsInURLs() async throws {
        #expect(HTTPAPIClient.redacted("https://user:s3cret@api.example.com/v1/items?api_key=s3cret&page=2#top") == "https://…@api.example.com/v1/items?api_key=…&page=…")
        #expect(HTTPAPIClient.redacted("/hooks/1") == "/hooks/1")
        #expect(HTTPAPIClient.redacted("/a?=s3cret&APIKEY123&&b=1") == "/a?=…&…&…&b=…")
        #expect(HTTPAPIClient.redacted("https://api.example.com/a@b?x") == "https://api.example.com/a@b?…")

        let closed = try await TestHTTPServer.start { _, _ in ScriptedResponse() }
        let base = closed.baseURI
        await closed.stop()
        let refused = HTTPAPIClient(configuration: APIClientConfiguration(baseURI: base), networkAccess: .privateNetworksAllowed, requestTimeout: .seconds(1))
        do {
            _ = try await refused.send(APIRequest(method: "GET", path: "/x", query: ["token": "s3cret"]))
            Issue.record("expected CONNECTION_FAILED")
        } catch let error as APIError {
            #expect(error.code == APIError.connectionFailed)
            #expect(!error.message.contains("s3cret"), "\(error.message)")
            #expect(error.message.contains("token=…"))
        }

        let server = try await TestHTTPServer.start { _, _ in ScriptedResponse(status: 500, body: "{}") }
        let client = HTTPAPIClient(configuration: APIClientConfiguration(baseURI: server.baseURI, allowedHosts: ["127.0.0.1"]), networkAccess: .privateNetworksAllowed)
        for path in ["/items?api_key=s3cret", "http://evil.example/steal?api_key=s3cret", "http://me:s3cret@evil.example/"] {
            do {
                _ = try await client.send(APIRequest(method: "GET", path: path))
                Issue.record("expected an error for \(path)")
            } catch let error as APIError {
                #expect(!error.message.contains("s3cret"), "\(error.message)")
            }
        }
        await server.stop()
    }

    @Test("a refused connection is CONNECTION_FAILED")
    func connectionFailed() async throws {
        let server = try await TestHTTPServer.start { _, _ in ScriptedResponse() }
        let base = server.baseURI
        await server.stop()
        let client = HTTPAPIClient(configuration: APIClientConfiguration(baseURI: base), networkAccess: .privateNetworksAllowed, requestTimeout: .seconds(1))
        do {
            _ = try await client.send(APIRequest(method: "GET", path: "/x"))
            Issue.record("expected CONNECTION_FAILED")
        } catch let error as APIError {
            #expect(error.code == APIError.connectionFailed)
        }
    }
}
