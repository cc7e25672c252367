import AsyncHTTPClient
import Crypto
import Foundation
import Synchronization

/// Builds the ``APIClient`` a connection's methods use (`apiClient` in JavaScript, the request
/// of REST and GraphQL mappings).
///
/// 1. The connector's `auth/make-api-client` method (mapping or JavaScript) runs with
///    `{credentials, connectorParameters}` and returns `{baseUri, headers, query, auth,
///    allowedHosts?}` (``MethodResultContract/makeAPIClient``). A connector without one calls
///    connector.yml's `baseUri` with no credentials.
/// 2. That becomes an ``APIClientConfiguration`` for an ``HTTPAPIClient``; when the connector
///    has `auth/refresh-credentials`, it is the client's refresh hook: on a 401 it runs with
///    `{credentials, connectorParameters}`, its result is merged over the credentials,
///    `make-api-client` runs again and the request is retried once.
/// 3. Hosts: relative paths go to `baseUri`; an absolute URL (or an `options.baseUri`) must name
///    the base URI's host, a host `make-api-client` allowed, or match connector.yml's
///    `allowedHosts` (`*.example.com` allowed); when connector.yml lists hosts, nothing
///    outside the list is reachable, `baseUri` included.
/// 4. `apiBaseOverride` (`inlet connector test --api`) replaces every base URI, and absolute
///    URLs under the original base URI are rewritten to it, so a local stub answers everything.
///
/// Clients are cached per connector, credentials and connector parameters (a digest of them),
/// so `make-api-client` runs once per connection, not once per call. Requests go through
/// process-wide AsyncHTTPClient clients pinned to checked addresses (``PinnedHTTPClients``)
/// that do not follow redirects (a redirect could lead to a host the connector does not
/// allow); only public addresses unless private networks are allowed (``NetworkAccess``). Refreshed
/// credentials stay in the cached client; storing them on the connection is the job of the
/// context's ``MethodContext/refreshCredentials``.
final class APIClientFactory: Sendable {
    /// Most clients kept; past it the cache starts over (connections are few per process).
    private static let cacheLimit = 1024

    private let runner: MethodRunner
    private let apiBaseOverride: String?
    /// Public addresses only, unless private networks are allowed or a local stand-in
    /// replaces the API (`apiBaseOverride`).
    private let networkAccess: NetworkAccess
    private let cache = Mutex<[String: ConnectionAPIClient]>([:])

    init(runner: MethodRunner, apiBaseOverride: String?, networkAccess: NetworkAccess) {
        self.runner = runner
        self.networkAccess = apiBaseOverride == nil ? networkAccess : .privateNetworksAllowed
        self.apiBaseOverride = apiBaseOverride.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }

    /// The API client for a connection of `connector`, built on first use and cached.
    ///
    /// - Throws: ``ConnectorMethodError`` from `make-api-client` (its failure, or a malformed result).
    /// After a 401, `refresher` gives the new credentials when set (see
    /// ``MethodContext/refreshCredentials``); otherwise `refresh-credentials` runs here.
    func client(
        for connector: Connector, credentials: JSONValue?, connectorParameters: JSONValue?, logMetadata: [String: String],
        connectionId: String? = nil, refresher: (@Sendable (_ previous: JSONValue) async throws -> JSONValue)? = nil
    ) async throws(ConnectorMethodError) -> any APIClient {
        let credentials = credentials ?? .object([:])
        let connectorParameters = connectorParameters ?? .object([:])
        let key = (connectionId.map { $0 + "/" } ?? "") + Self.cacheKey(connector.key, credentials, connectorParameters)
        if let cached = cache.withLock({ $0[key] }) { return cached }

        let built = try await makeConfiguration(connector, credentials: credentials, connectorParameters: connectorParameters, logMetadata: logMetadata)
        var refresh: HTTPAPIClient.RefreshCredentials?
        if let refreshMethod = connector.auth["refresh-credentials"] {
            let current = CredentialsBox(credentials)
            refresh = { [self] in
                // Concurrent 401s of one connection share one refresh.
                try await current.refreshes.run { [self] in
                    let old = current.value.withLock { $0 }
                    let fresh = if let refresher {
                        try await refresher(old)
                    } else {
                        try await refreshedCredentials(connector, refreshMethod, credentials: old, connectorParameters: connectorParameters, logMetadata: logMetadata)
                    }
                    current.value.withLock { $0 = fresh }
                    return try await makeConfiguration(connector, credentials: fresh, connectorParameters: connectorParameters, logMetadata: logMetadata).configuration
                }
            }
        }
        let http = HTTPAPIClient(configuration: built.configuration, networkAccess: networkAccess, refreshCredentials: refresh)
        let client = ConnectionAPIClient(http: http, policy: built.policy)
        cache.withLock { cache in
            if cache.count >= Self.cacheLimit { cache.removeAll() }
            cache[key] = client
        }
        return client
    }

    /// The contexts auth methods run in: the connector's own, apart from its event and
    /// collection methods, because those hold a context while they await `apiClient`, and a
    /// 401 then needs `refresh-credentials` / `make-api-client` of the same connector — with
    /// every context held, the refresh would wait for ever.
    static func authIsolation(_ connectorKey: String) -> String { "\(connectorKey)#auth" }

    // MARK: - make-api-client

    private func makeConfiguration(
        _ connector: Connector, credentials: JSONValue, connectorParameters: JSONValue, logMetadata: [String: String]
    ) async throws(ConnectorMethodError) -> (configuration: APIClientConfiguration, policy: HostPolicy) {
        guard let method = connector.makeAPIClient else {
            // No auth/: no credentials to apply. Relative paths go to connector.yml's baseUri,
            // absolute URLs to its host or allowedHosts.
            let policy = HostPolicy(originalBase: connector.baseUri, override: apiBaseOverride, clientHosts: [], connectorHosts: connector.allowedHosts)
            let configuration = APIClientConfiguration(
                baseURI: apiBaseOverride ?? connector.baseUri,
                allowedHosts: (connector.allowedHosts ?? []).filter { !$0.hasPrefix("*.") })
            return (configuration, policy)
        }
        let arguments = MethodArguments(["credentials": credentials, "connectorParameters": connectorParameters])
        let raw = try await runner.run(method, of: Self.authIsolation(connector.key), arguments: arguments, apiClient: nil, logMetadata: logMetadata)
        let result = try MethodResultContract.makeAPIClient.validate(raw, file: method.path)

        let originalBase = result["baseUri"]?.stringValue.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        let clientHosts = (result["allowedHosts"]?.arrayValue ?? []).compactMap { $0.stringValue?.lowercased() }
        let policy = HostPolicy(originalBase: originalBase, override: apiBaseOverride, clientHosts: clientHosts, connectorHosts: connector.allowedHosts)
        if let host = policy.originalBaseHost, let listed = connector.allowedHosts, !HostPolicy.matches(host, listed) {
            throw ConnectorMethodError(
                code: ConnectorMethodError.apiError,
                message: ConnectorMethodError.located(method.path, line: nil, "baseUri host \(host) is not in connector.yml allowedHosts (\(listed.joined(separator: ", "))), expected it listed there"),
                file: method.path)
        }

        var auth: APIBasicAuth?
        if let basic = result["auth"]?.objectValue, let username = basic["username"]?.stringValue {
            auth = APIBasicAuth(username: username, password: basic["password"]?.stringValue ?? "")
        }
        let configuration = APIClientConfiguration(
            baseURI: apiBaseOverride ?? originalBase,
            headers: Self.texts(result["headers"]), query: Self.texts(result["query"]), auth: auth,
            allowedHosts: clientHosts + (connector.allowedHosts ?? []).filter { !$0.hasPrefix("*.") })
        return (configuration, policy)
    }

    /// The credentials `refresh-credentials` makes from `credentials`, merged over them.
    func refreshedCredentials(
        _ connector: Connector, _ method: MethodImplementation, credentials: JSONValue, connectorParameters: JSONValue, logMetadata: [String: String]
    ) async throws(ConnectorMethodError) -> JSONValue {
        // The refresh call talks to a token endpoint, not the API: it gets no connection headers
        // (a stale bearer token must not travel to another host), only the host rules.
        let policy = HostPolicy(originalBase: nil, override: apiBaseOverride, clientHosts: [], connectorHosts: connector.allowedHosts)
        let bare = ConnectionAPIClient(
            http: HTTPAPIClient(configuration: APIClientConfiguration(baseURI: apiBaseOverride), networkAccess: networkAccess),
            policy: policy)
        let arguments = MethodArguments(["credentials": credentials, "connectorParameters": connectorParameters])
        let raw = try await runner.run(method, of: Self.authIsolation(connector.key), arguments: arguments, apiClient: bare, logMetadata: logMetadata)
        let fresh = try MethodResultContract.refreshCredentials.validate(raw, file: method.path)
        var merged = credentials.objectValue ?? [:]
        for (key, value) in fresh.objectValue ?? [:] { merged[key] = value }
        return .object(merged)
    }

    private static func texts(_ value: JSONValue?) -> [String: String] {
        var texts: [String: String] = [:]
        for (name, member) in value?.objectValue ?? [:] where !member.isNull {
            texts[name] = member.stringValue ?? member.jsonText
        }
        return texts
    }

    private static func cacheKey(_ connectorKey: String, _ credentials: JSONValue, _ parameters: JSONValue) -> String {
        var hash = SHA256()
        hash.update(data: credentials.serialized())
        hash.update(data: [0])
        hash.update(data: parameters.serialized())
        return connectorKey + ":" + hash.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

/// The credentials a connection's refresh hook last produced (the hook runs again on the next 401).
private final class CredentialsBox: Sendable {
    let value: Mutex<JSONValue>
    /// The refresh in flight, shared by every request that got a 401 meanwhile.
    let refreshes = SingleFlight<APIClientConfiguration>()

    init(_ credentials: JSONValue) {
        value = Mutex(credentials)
    }
}

// MARK: - Host rules

/// Which hosts a connection's requests may reach, and the rewriting `--api` needs.
struct HostPolicy: Sendable {
    /// `make-api-client`'s `baseUri` without a trailing slash.
    let originalBase: String?
    /// The `--api` base that replaces it, without a trailing slash.
    let override: String?
    /// `make-api-client`'s `allowedHosts`, lower case.
    let clientHosts: [String]
    /// connector.yml's `allowedHosts`; `nil` when it has none.
    let connectorHosts: [String]?

    var originalBaseHost: String? { originalBase.flatMap { URLComponents(string: $0)?.host?.lowercased() } }
    private var overrideHost: String? { override.flatMap { URLComponents(string: $0)?.host?.lowercased() } }

    /// Whether `host` may be called.
    func allows(_ host: String) -> Bool {
        if let overrideHost, host == overrideHost { return true }
        let listed = host == originalBaseHost || clientHosts.contains(host) || (connectorHosts.map { Self.matches(host, $0) } ?? false)
        guard listed else { return false }
        return connectorHosts.map { Self.matches(host, $0) } ?? true
    }

    /// `host` equals an entry, or an entry `*.example.com` and `host` ends with `.example.com`.
    static func matches(_ host: String, _ patterns: [String]) -> Bool {
        patterns.contains { pattern in
            pattern.hasPrefix("*.") ? host.hasSuffix(String(pattern.dropFirst(1))) : host == pattern
        }
    }

    /// Checks `request`'s target and rewrites it so that the HTTP client (which only knows the
    /// base host) sends it: under `--api`, URLs under the original base move to the override;
    /// an allowed absolute URL on another host becomes `baseURI` + relative path.
    ///
    /// - Throws: `APIError` `HOST_NOT_ALLOWED`.
    func prepare(_ request: APIRequest) throws -> APIRequest {
        var request = request
        if let base = request.baseURI {
            request.baseURI = try allowedBase(rewritten(base.hasSuffix("/") ? String(base.dropLast()) : base), what: "options.baseUri \(HTTPAPIClient.redacted(base))")
        }
        guard let components = URLComponents(string: request.path), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            return request
        }
        let url = rewritten(request.path)
        guard let host = URLComponents(string: url)?.host?.lowercased(), let separator = url.range(of: "://") else { return request }
        guard allows(host) else { throw Self.refused(host, url) }
        // scheme://authority, then the rest (path, query) as a relative path against it.
        let afterScheme = url[separator.upperBound...]
        let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
        request.baseURI = String(url[..<authorityEnd])
        request.path = String(url[authorityEnd...])
        return request
    }

    /// `url` with the original base replaced by the override (when both are set and `url` is under it).
    private func rewritten(_ url: String) -> String {
        guard let override, let originalBase else { return url }
        if url == originalBase { return override }
        if url.hasPrefix(originalBase + "/") || url.hasPrefix(originalBase + "?") { return override + url.dropFirst(originalBase.count) }
        return url
    }

    private func allowedBase(_ base: String, what: String) throws -> String {
        guard let host = URLComponents(string: base)?.host?.lowercased() else {
            throw APIError(code: APIError.hostNotAllowed, message: "\(what) is not an absolute http(s) URI")
        }
        guard allows(host) else { throw Self.refused(host, base) }
        return base
    }

    private static func refused(_ host: String, _ url: String) -> APIError {
        APIError(code: APIError.hostNotAllowed,
                 message: "\(HTTPAPIClient.redacted(url)): host \(host) is not the API's host nor in the connector's allowedHosts; add it to allowedHosts in connector.yml (or make-api-client's allowedHosts)")
    }
}

/// A connection's API client: the host rules in front of an ``HTTPAPIClient``.
struct ConnectionAPIClient: APIClient {
    let http: HTTPAPIClient
    let policy: HostPolicy

    func send(_ request: APIRequest) async throws -> APIResponse {
        try await http.send(policy.prepare(request))
    }
}

extension HTTPAPIClient {
    /// A client for `baseURI` and its host only (for Inlet's own calls to your app's API,
    /// `INLET_APP_API_URL`): the operator chose that address, so it may be private.
    public static func confined(to baseURI: String) -> HTTPAPIClient {
        HTTPAPIClient(configuration: APIClientConfiguration(baseURI: baseURI), networkAccess: .privateNetworksAllowed)
    }
}
