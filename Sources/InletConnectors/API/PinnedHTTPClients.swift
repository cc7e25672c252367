import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// The HTTP clients connector API calls go through: one per host name and checked address,
/// whose connections to that name go to that address (AsyncHTTPClient's `dnsOverride`; TLS
/// still verifies the certificate against the name). ``HTTPAPIClient`` resolves a name and
/// checks its addresses (``NetworkAccess``), then sends through the client pinned to the
/// address it checked, so the connection cannot end up somewhere the check never saw.
///
/// At most `limit` clients are kept (a static, for the life of the process); past that the
/// least recently used idle one is shut down (AsyncHTTPClient requires `shutdown()` before a
/// client is released), and when every one is busy a request gets a client of its own, shut
/// down after it. None follows redirects (a redirect could lead anywhere).
final class PinnedHTTPClients: Sendable {
    static let shared = PinnedHTTPClients()

    private static let limit = 256

    private struct Entry {
        let client: HTTPClient
        var inFlight = 0
        var lastUse: UInt64 = 0
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var uses: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Runs `body` with a client whose connections to `host` go to `address` (an IP address).
    func withClient<Result: Sendable>(host: String, address: String, _ body: (HTTPClient) async throws -> Result) async throws -> Result {
        let key = host + "|" + address
        let (kept, evicted) = state.withLock { state -> (HTTPClient?, HTTPClient?) in
            state.uses += 1
            var evicted: HTTPClient?
            if state.entries[key] == nil {
                if state.entries.count >= Self.limit {
                    guard let idle = state.entries.filter({ $0.value.inFlight == 0 }).min(by: { $0.value.lastUse < $1.value.lastUse }) else { return (nil, nil) }
                    state.entries.removeValue(forKey: idle.key)
                    evicted = idle.value.client
                }
                state.entries[key] = Entry(client: Self.makeClient(host: host, address: address))
            }
            state.entries[key]!.inFlight += 1
            state.entries[key]!.lastUse = state.uses
            return (state.entries[key]!.client, evicted)
        }
        if let evicted { Task { try? await evicted.shutdown() } }
        if let kept {
            defer { state.withLock { state in state.entries[key]?.inFlight -= 1 } }
            return try await body(kept)
        }
        let oneOff = Self.makeClient(host: host, address: address)
        do {
            let result = try await body(oneOff)
            try? await oneOff.shutdown()
            return result
        } catch {
            try? await oneOff.shutdown()
            throw error
        }
    }

    private static func makeClient(host: String, address: String) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.dnsOverride = [host: address]
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}

/// Keeps what a resolver answered for `lifetime` (the system resolver does not cache, and a
/// busy connector would otherwise ask DNS before every request). The connection still goes to
/// an address that was checked, whatever DNS answers meanwhile.
public final class CachingHostResolver: HostResolver {
    /// The system resolver behind a 30 s cache.
    public static let system = CachingHostResolver(SystemHostResolver(), lifetime: .seconds(30))

    private let resolver: any HostResolver
    private let lifetime: Duration
    private let answers = Mutex<[String: (addresses: [SocketAddress], until: ContinuousClock.Instant)]>([:])

    public init(_ resolver: any HostResolver, lifetime: Duration) {
        self.resolver = resolver
        self.lifetime = lifetime
    }

    public func resolve(host: String, port: Int) async throws -> [SocketAddress] {
        let key = "\(host):\(port)"
        let now = ContinuousClock.now
        if let cached = answers.withLock({ $0[key] }), cached.until > now { return cached.addresses }
        let addresses = try await resolver.resolve(host: host, port: port)
        answers.withLock { answers in
            if answers.count >= 4096 { answers = answers.filter { $0.value.until > now } }
            if answers.count < 4096 { answers[key] = (addresses, now + lifetime) }
        }
        return addresses
    }
}
