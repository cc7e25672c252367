import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

@testable import InletConnectors

/// One request the stub received.
struct StubRequest: Sendable {
    let method: String
    /// The path without the query, e.g. `/repos/octocat/hello/hooks`.
    let path: String
    /// Decoded query parameters (last value wins).
    let query: [String: String]
    /// Lower-cased names.
    let headers: [String: String]
    let body: String

    /// The body parsed as JSON (`null` when it is not JSON).
    var json: JSONValue { (try? JSONValue(parsing: body)) ?? .null }
}

/// What the stub answers.
struct StubResponse: Sendable {
    var status: Int = 200
    var headers: [String: String] = ["content-type": "application/json"]
    var body: String = "{}"

    static func json(_ value: JSONValue, status: Int = 200) -> StubResponse {
        StubResponse(status: status, body: value.jsonText)
    }

    static let noContent = StubResponse(status: 204, headers: [:], body: "")
    static let notFound = StubResponse(status: 404, body: #"{"message":"Not Found"}"#)
}

/// An HTTP/1.1 server on a free 127.0.0.1 port standing in for an external API in tests.
///
/// Routes are `"METHOD /path"` keys (path without query); an unrouted request gets 404. Every
/// request is recorded, so a test can assert what the connector sent.
///
/// ```swift
/// let api = try await StubAPIServer.start([
///     "POST /repos/octocat/hello/hooks": { _ in .json(["id": 42], status: 201) },
/// ])
/// defer { Task { await api.stop() } }
/// ```
final class StubAPIServer: Sendable {
    typealias Route = @Sendable (StubRequest) -> StubResponse

    private let routes: Mutex<[String: Route]>
    private let log = Mutex<[StubRequest]>([])
    private let channel = Mutex<(any Channel)?>(nil)

    /// Every request received so far, in order.
    var requests: [StubRequest] { log.withLock { $0 } }
    /// `http://127.0.0.1:<port>`.
    var baseURI: String { "http://127.0.0.1:\(channel.withLock { $0?.localAddress?.port ?? 0 })" }

    private init(routes: [String: Route]) {
        self.routes = Mutex(routes)
    }

    /// Starts a server answering `routes`.
    static func start(_ routes: [String: Route] = [:]) async throws -> StubAPIServer {
        let server = StubAPIServer(routes: routes)
        let bound = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(StubHTTPHandler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        server.channel.withLock { $0 = bound }
        return server
    }

    /// Adds or replaces a route while running.
    func route(_ key: String, _ route: @escaping Route) {
        routes.withLock { $0[key] = route }
    }

    /// The requests with `method` and `path`.
    func requests(_ method: String, _ path: String) -> [StubRequest] {
        requests.filter { $0.method == method && $0.path == path }
    }

    func stop() async {
        let bound = channel.withLock { $0 }
        try? await bound?.close()
    }

    fileprivate func answer(_ request: StubRequest) -> StubResponse {
        log.withLock { $0.append(request) }
        let route = routes.withLock { $0["\(request.method) \(request.path)"] }
        return route?(request) ?? .notFound
    }
}

private final class StubHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: StubAPIServer
    var head: HTTPRequestHead?
    var body = ""

    init(server: StubAPIServer) {
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
            let components = URLComponents(string: head.uri)
            var query: [String: String] = [:]
            for item in components?.queryItems ?? [] { query[item.name] = item.value ?? "" }
            let request = StubRequest(method: head.method.rawValue, path: components?.path ?? head.uri, query: query, headers: headers, body: body)
            let reply = server.answer(request)
            var responseHeaders = HTTPHeaders()
            for (name, value) in reply.headers { responseHeaders.add(name: name, value: value) }
            responseHeaders.add(name: "content-length", value: String(reply.body.utf8.count))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: reply.status), headers: responseHeaders))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: reply.body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
