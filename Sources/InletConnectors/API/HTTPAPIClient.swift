import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The `APIClient` that talks HTTP(S) to a connector's external API (AsyncHTTPClient).
///
/// - Paths are resolved against the request's or the connection's base URI; absolute URLs
///   are allowed only to the base URI's host or `allowedHosts` (else `HOST_NOT_ALLOWED`).
/// - The connection's query, headers and basic auth are applied to every request; the
///   request's own values win.
/// - 401: when `refreshCredentials` is set it is called once, its configuration replaces
///   the current one, and the request is retried; otherwise (or if that fails again)
///   `ACCESS_TOKEN_EXPIRED`. A refresh that failed transiently (token endpoint unreachable,
///   `CREDENTIALS_REFRESHING`) keeps its transient code, so the method runs again later.
/// - 429: retried (honouring `Retry-After` seconds, capped) up to `rateLimitAttempts` times,
///   then `RATE_LIMIT_EXCEEDED`. Other status ≥ 300 → `HTTP_ERROR` with status and parsed body.
///   Transport failures → `CONNECTION_FAILED`. Redirects are not followed (a redirect could
///   lead to a host that is not allowed).
/// - Addresses (``NetworkAccess``): the host is resolved and every address checked before a
///   request is sent, and the request goes to the address that was checked
///   (``PinnedHTTPClients``). By default only public addresses are reached, and only over
///   https unless the host is in `allowedHosts`; otherwise `HOST_NOT_ALLOWED`.
///
/// Cost: one HTTP request per attempt on a shared connection pool per host and address, and
/// a DNS lookup every 30 s per host.
public final class HTTPAPIClient: APIClient {
    /// Called on a 401 to get fresh credentials (for example by running the connector's
    /// refresh-token method).
    public typealias RefreshCredentials = @Sendable () async throws -> APIClientConfiguration

    private let networkAccess: NetworkAccess
    private let resolver: any HostResolver
    private let configuration: Mutex<APIClientConfiguration>
    private let refreshCredentials: RefreshCredentials?
    private let requestTimeout: Duration
    private let rateLimitAttempts: Int
    private let maxRetryDelay: Duration

    /// - Parameters:
    ///   - configuration: The connection's base URI, headers, query, auth and allowed hosts.
    ///   - networkAccess: Which addresses requests may reach (by default public ones only).
    ///   - resolver: Resolves host names (by default the system's, cached for 30 s).
    ///   - requestTimeout: Deadline for one attempt, including reading the body.
    ///   - rateLimitAttempts: Attempts in total while the API answers 429.
    ///   - maxRetryDelay: The longest wait before retrying a 429, whatever `Retry-After` says.
    ///   - refreshCredentials: See the type's documentation.
    public init(
        configuration: APIClientConfiguration,
        networkAccess: NetworkAccess = .publicAddressesOnly,
        resolver: any HostResolver = CachingHostResolver.system,
        requestTimeout: Duration = .seconds(30),
        rateLimitAttempts: Int = 3,
        maxRetryDelay: Duration = .seconds(10),
        refreshCredentials: RefreshCredentials? = nil
    ) {
        self.networkAccess = networkAccess
        self.resolver = resolver
        self.configuration = Mutex(configuration)
        self.requestTimeout = requestTimeout
        self.rateLimitAttempts = max(1, rateLimitAttempts)
        self.maxRetryDelay = maxRetryDelay
        self.refreshCredentials = refreshCredentials
    }

    /// The configuration in use (it changes after `refreshCredentials`).
    public var currentConfiguration: APIClientConfiguration {
        configuration.withLock { $0 }
    }

    /// Sends `request`, retrying a 429 and refreshing credentials once on a 401.
    ///
    /// - Throws: `APIError` (`HOST_NOT_ALLOWED`, `ACCESS_TOKEN_EXPIRED`, `RATE_LIMIT_EXCEEDED`,
    ///   `HTTP_ERROR`, `CONNECTION_FAILED`), or `CancellationError`.
    public func send(_ request: APIRequest) async throws -> APIResponse {
        var configuration = currentConfiguration
        var refreshed = false
        var attempt = 0
        while true {
            attempt += 1
            let httpRequest = try Self.makeHTTPRequest(request, configuration: configuration)
            let (status, headers, body) = try await perform(httpRequest, configuration: configuration)
            let summary = "\(request.method) \(Self.redacted(request.path))"
            switch status {
            case 200..<300:
                return APIResponse(status: status, headers: headers, data: Self.parseBody(body, headers: headers, as: request.responseType))
            case 401:
                if !refreshed, let refreshCredentials {
                    refreshed = true
                    do {
                        configuration = try await refreshCredentials()
                    } catch let cancellation as CancellationError {
                        throw cancellation
                    } catch let failure as APIError where failure.isTransient {
                        // The token endpoint is unreachable, or another worker is refreshing:
                        // the method fails transiently and runs again later.
                        throw APIError(code: failure.code, status: failure.status, data: failure.data,
                                       message: "\(summary): access token expired and refreshing credentials did not finish: \(failure.message)")
                    } catch let failure as ConnectorMethodError where failure.isTransient {
                        if failure.code == ConnectorMethodError.cancelled { throw CancellationError() }
                        throw APIError(code: failure.details?["code"]?.stringValue ?? APIError.connectionFailed,
                                       status: failure.details?["status"]?.integerValue.map(Int.init), data: failure.details?["data"],
                                       message: "\(summary): access token expired and refreshing credentials failed transiently: \(failure)")
                    } catch {
                        throw APIError(code: APIError.accessTokenExpired, status: 401, data: Self.parseBody(body, headers: headers, as: .json),
                                       message: "\(summary): access token expired and refreshing credentials failed: \(error)")
                    }
                    let refreshedConfiguration = configuration
                    self.configuration.withLock { $0 = refreshedConfiguration }
                    continue
                }
                throw APIError(code: APIError.accessTokenExpired, status: 401, data: Self.parseBody(body, headers: headers, as: .json),
                               message: "\(summary): the API rejected the credentials (HTTP 401); refresh the connection's credentials")
            case 429:
                if attempt < rateLimitAttempts {
                    let delay = Self.retryDelay(retryAfter: headers["retry-after"], attempt: attempt, cap: maxRetryDelay)
                    try await Task.sleep(for: delay)
                    continue
                }
                throw APIError(code: APIError.rateLimitExceeded, status: 429, data: Self.parseBody(body, headers: headers, as: .json),
                               message: "\(summary): rate limit exceeded after \(attempt) attempts")
            default:
                throw APIError(code: APIError.httpError, status: status, data: Self.parseBody(body, headers: headers, as: .json),
                               message: "\(summary) failed with HTTP \(status)")
            }
        }
    }

    // MARK: - Transport

    /// Checks where `request` goes (scheme, and every address its host resolves to), then
    /// sends it to the address that was checked.
    private func perform(_ request: HTTPClientRequest, configuration: APIClientConfiguration) async throws -> (Int, [String: String], ByteBuffer) {
        let shown = "\(request.method.rawValue) \(Self.redacted(request.url))"
        // The host exactly as AsyncHTTPClient will look it up in the pinned client's
        // dnsOverride (Foundation's `URL.host`, brackets trimmed, case kept): any other form
        // would miss the pin and let the client resolve the name again by itself.
        guard let url = URL(string: request.url), let scheme = url.scheme?.lowercased(), let urlHost = url.host, !urlHost.isEmpty else {
            throw APIError(code: APIError.hostNotAllowed, message: "\(shown): not an absolute http or https URL")
        }
        let pinnedHost = urlHost.hasPrefix("[") && urlHost.hasSuffix("]") ? String(urlHost.dropFirst().dropLast()) : urlHost
        let host = pinnedHost.lowercased()
        if networkAccess == .publicAddressesOnly, scheme != "https", !configuration.allowedHosts.contains(where: { $0.lowercased() == host }) {
            throw APIError(code: APIError.hostNotAllowed, message: "\(shown): plain \(scheme) is allowed only to hosts listed in allowedHosts; use https")
        }
        let addresses: [SocketAddress]
        do {
            addresses = try await resolver.resolve(host: host, port: url.port ?? (scheme == "https" ? 443 : 80))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw APIError(code: APIError.connectionFailed, message: "\(shown): \(error)")
        }
        if let refused = addresses.first(where: networkAccess.refuses) {
            throw APIError(
                code: APIError.hostNotAllowed,
                message: "\(shown): \(host) resolves to \(refused.ipAddress ?? "\(refused)"), a loopback, private, link-local or reserved address; connector APIs reach only public addresses (for a local stand-in in development, start Inlet with --allow-private-networks or --api-base-override)")
        }
        guard let address = addresses.first?.ipAddress else {
            throw APIError(code: APIError.connectionFailed, message: "\(shown): \(host) has no address")
        }
        do {
            let timeout = TimeAmount.nanoseconds(Int64(Self.nanoseconds(requestTimeout)))
            return try await PinnedHTTPClients.shared.withClient(host: pinnedHost, address: address) { client in
                let response = try await client.execute(request, timeout: timeout)
                let body = try await response.body.collect(upTo: 32 << 20)
                var headers: [String: String] = [:]
                for (name, value) in response.headers {
                    let key = name.lowercased()
                    headers[key] = headers[key].map { "\($0), \(value)" } ?? value
                }
                return (Int(response.status.code), headers, body)
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw APIError(code: APIError.connectionFailed, message: "\(request.method.rawValue) \(Self.redacted(request.url)): \(error)")
        }
    }

    // MARK: - Building requests

    static func makeHTTPRequest(_ request: APIRequest, configuration: APIClientConfiguration) throws -> HTTPClientRequest {
        let url = try resolveURL(request, configuration: configuration)
        var httpRequest = HTTPClientRequest(url: url)
        httpRequest.method = HTTPMethod(rawValue: request.method.uppercased())
        for (name, value) in configuration.headers.sorted(by: { $0.key < $1.key }) { httpRequest.headers.replaceOrAdd(name: name, value: value) }
        for (name, value) in request.headers.sorted(by: { $0.key < $1.key }) { httpRequest.headers.replaceOrAdd(name: name, value: value) }
        if let auth = request.auth ?? configuration.auth {
            let token = Data("\(auth.username):\(auth.password)".utf8).base64EncodedString()
            httpRequest.headers.replaceOrAdd(name: "Authorization", value: "Basic \(token)")
        }
        if let body = request.body {
            if case .string(let text) = body, httpRequest.headers.contains(name: "content-type") {
                httpRequest.body = .bytes(ByteBuffer(string: text))
            } else {
                if !httpRequest.headers.contains(name: "content-type") {
                    httpRequest.headers.add(name: "Content-Type", value: "application/json")
                }
                httpRequest.body = .bytes(ByteBuffer(bytes: body.serialized()))
            }
        }
        return httpRequest
    }

    /// `url` as error messages may show it: query values and user info replaced by `…`, as
    /// they often hold credentials (`?api_key=`, `https://user:token@host`), and errors end
    /// up in logs, dead letters, `subscription.error` and HTTP problem bodies. Query names,
    /// the host and the path stay, for finding what failed.
    public static func redacted(_ url: String) -> String {
        var text = url
        if let fragment = text.firstIndex(of: "#") { text = String(text[..<fragment]) }
        var query: Substring?
        if let mark = text.firstIndex(of: "?") {
            query = text[text.index(after: mark)...]
            text = String(text[..<mark])
        }
        // user:password@ after the scheme, before the first slash of the path.
        if let scheme = text.range(of: "://") {
            let authorityEnd = text[scheme.upperBound...].firstIndex(of: "/") ?? text.endIndex
            if let at = text[scheme.upperBound..<authorityEnd].lastIndex(of: "@") {
                text.replaceSubrange(scheme.upperBound...at, with: "…@")
            }
        }
        guard let query, !query.isEmpty else { return text }
        let names = query.split(separator: "&", omittingEmptySubsequences: false).map { item -> String in
            // `name=value` keeps its name; an item without `=` may be a bare key: hidden whole.
            guard let equals = item.firstIndex(of: "=") else { return "…" }
            return item[..<equals] + "=…"
        }
        return text + "?" + names.joined(separator: "&")
    }

    /// The absolute URL for `request`, with the connection's and the request's query.
    static func resolveURL(_ request: APIRequest, configuration: APIClientConfiguration) throws -> String {
        let base = request.baseURI ?? configuration.baseURI
        let baseHost = base.flatMap { URLComponents(string: $0)?.host?.lowercased() }
        var url: String
        if let components = URLComponents(string: encodeInvalidCharacters(request.path)), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https"
        {
            let host = components.host?.lowercased() ?? ""
            let allowed = Set(configuration.allowedHosts.map { $0.lowercased() }).union(baseHost.map { [$0] } ?? [])
            guard allowed.contains(host) else {
                throw APIError(code: APIError.hostNotAllowed,
                               message: "\(Self.redacted(request.path)): host \(host) is not the API's host\(baseHost.map { " (\($0))" } ?? "") nor in its allowed hosts")
            }
            url = request.path
        } else {
            guard let base else {
                throw APIError(code: APIError.hostNotAllowed, message: "\(Self.redacted(request.path)): a relative path needs a base URI (none is configured)")
            }
            if request.path.isEmpty {
                url = base
            } else {
                let trimmedBase = base.hasSuffix("/") ? String(base.dropLast()) : base
                let trimmedPath = request.path.hasPrefix("/") ? String(request.path.dropFirst()) : request.path
                url = trimmedBase + "/" + trimmedPath
            }
        }
        url = encodeInvalidCharacters(url)

        var query: [String: [String]] = [:]
        for (name, value) in configuration.query { query[name] = [value] }
        for (name, value) in request.query {
            switch value {
            case .null: continue
            case .array(let elements): query[name] = elements.filter { !$0.isNull }.map(queryString)
            default: query[name] = [queryString(value)]
            }
        }
        if !query.isEmpty {
            let items = query.keys.sorted().flatMap { name in query[name]!.map { "\(percentEncode(name))=\(percentEncode($0))" } }
            let fragmentIndex = url.firstIndex(of: "#")
            let fragment = fragmentIndex.map { String(url[$0...]) } ?? ""
            if let fragmentIndex { url = String(url[..<fragmentIndex]) }
            url += (url.contains("?") ? (url.hasSuffix("?") || url.hasSuffix("&") ? "" : "&") : "?") + items.joined(separator: "&") + fragment
        }
        return url
    }

    private static func queryString(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return s
        case .integer(let i): return String(i)
        case .number(let d): return d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .bool(let b): return b ? "true" : "false"
        case .null: return ""
        case .array, .object: return value.jsonText
        }
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    private static let urlCharacters = unreserved.union(CharacterSet(charactersIn: ":/?#[]@!$&'()*+,;=%"))

    private static func percentEncode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// Percent-encodes what may not appear in a URL (spaces, non-ASCII), keeping what is
    /// already encoded.
    private static func encodeInvalidCharacters(_ url: String) -> String {
        url.addingPercentEncoding(withAllowedCharacters: urlCharacters) ?? url
    }

    // MARK: - Responses

    static func parseBody(_ body: ByteBuffer, headers: [String: String], as responseType: APIRequest.ResponseType) -> JSONValue {
        let bytes = Data(body.readableBytesView)
        switch responseType {
        case .binary:
            return .string(bytes.base64EncodedString())
        case .text:
            return .string(String(decoding: bytes, as: UTF8.self))
        case .json:
            if bytes.isEmpty { return .null }
            if let parsed = try? JSONValue(parsing: bytes) { return parsed }
            return .string(String(decoding: bytes, as: UTF8.self))
        }
    }

    static func retryDelay(retryAfter: String?, attempt: Int, cap: Duration) -> Duration {
        let requested: Duration
        let capSeconds = Double(cap.components.seconds) + Double(cap.components.attoseconds) / 1e18
        if let retryAfter, let seconds = Double(retryAfter.trimmingCharacters(in: .whitespaces)), seconds.isFinite, seconds >= 0 {
            // Capped before converting: a huge value (1e16) would not fit the conversion.
            requested = seconds >= capSeconds ? cap : .milliseconds(Int64(seconds * 1000))
        } else {
            // Absent, an HTTP date, or nonsense (inf, nan, negative): back off by attempt.
            requested = .seconds(1 << min(max(attempt, 1) - 1, 5))
        }
        return min(requested, cap)
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}
