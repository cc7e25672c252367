import Foundation

/// Sends HTTP requests to a connector's external API on behalf of a method (`apiClient` in
/// JavaScript, `rest-api-mapping` and `graphql-api-mapping` methods).
///
/// Implementations resolve `request.path` against the configured base URI, add the
/// connection's headers, query and auth, refuse hosts the connector does not allow, and map
/// HTTP failures to `APIError` (401 → `ACCESS_TOKEN_EXPIRED`, 429 → `RATE_LIMIT_EXCEEDED`
/// after retries, other status ≥ 300 → `HTTP_ERROR` with status and body).
public protocol APIClient: Sendable {
    func send(_ request: APIRequest) async throws -> APIResponse
}

/// What `make-api-client` returns for a connection: applied to every request.
public struct APIClientConfiguration: Sendable, Hashable {
    /// Base for relative paths, e.g. `https://api.github.com`.
    public var baseURI: String?
    public var headers: [String: String]
    public var query: [String: String]
    public var auth: APIBasicAuth?
    /// Hosts other than the base URI's that requests may go to (absolute URLs in a path).
    public var allowedHosts: [String]

    public init(baseURI: String? = nil, headers: [String: String] = [:], query: [String: String] = [:], auth: APIBasicAuth? = nil, allowedHosts: [String] = []) {
        self.baseURI = baseURI
        self.headers = headers
        self.query = query
        self.auth = auth
        self.allowedHosts = allowedHosts
    }
}

public struct APIBasicAuth: Sendable, Hashable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}

/// One request as a method states it (`apiClient.post(path, data, options)`).
public struct APIRequest: Sendable, Hashable {
    public enum ResponseType: String, Sendable, Hashable {
        /// Parse the body as JSON when it is JSON, else return it as a string.
        case json
        /// Return the body as a string.
        case text
        /// Return the body base64-encoded.
        case binary
    }

    public var method: String
    /// Relative to the base URI, or absolute (then its host must be allowed).
    public var path: String
    public var query: [String: JSONValue]
    public var headers: [String: String]
    /// Sent as JSON (`application/json`) unless a string with a content type header is given.
    public var body: JSONValue?
    /// Overrides the connection's base URI for this request.
    public var baseURI: String?
    /// Overrides the connection's auth for this request.
    public var auth: APIBasicAuth?
    public var responseType: ResponseType
    /// When true the method receives `{status, headers, data}` instead of the body alone.
    public var returnFullResponse: Bool

    public init(
        method: String, path: String, query: [String: JSONValue] = [:], headers: [String: String] = [:],
        body: JSONValue? = nil, baseURI: String? = nil, auth: APIBasicAuth? = nil,
        responseType: ResponseType = .json, returnFullResponse: Bool = false
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.baseURI = baseURI
        self.auth = auth
        self.responseType = responseType
        self.returnFullResponse = returnFullResponse
    }
}

/// A 2xx response.
public struct APIResponse: Sendable, Hashable {
    public var status: Int
    /// Lower-cased header names.
    public var headers: [String: String]
    /// The body per `APIRequest.responseType`.
    public var data: JSONValue

    public init(status: Int, headers: [String: String], data: JSONValue) {
        self.status = status
        self.headers = headers
        self.data = data
    }

    /// `{status, headers, data}`, what `returnFullResponse` gives a method.
    public var fullResponse: JSONValue {
        .object(["status": .integer(Int64(status)), "headers": .object(headers.mapValues(JSONValue.string)), "data": data])
    }
}

/// A failed API call, as a method sees it (a JavaScript error with `code`, `status`, `data`).
public struct APIError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var status: Int?
    public var data: JSONValue?
    public var message: String

    public init(code: String, status: Int? = nil, data: JSONValue? = nil, message: String) {
        self.code = code
        self.status = status
        self.data = data
        self.message = message
    }

    public static let accessTokenExpired = "ACCESS_TOKEN_EXPIRED"
    public static let rateLimitExceeded = "RATE_LIMIT_EXCEEDED"
    public static let httpError = "HTTP_ERROR"
    public static let hostNotAllowed = "HOST_NOT_ALLOWED"
    public static let connectionFailed = "CONNECTION_FAILED"
    /// The connection's credentials expired and another worker is refreshing them: the
    /// method runs again once they are stored.
    public static let credentialsRefreshing = "CREDENTIALS_REFRESHING"

    /// Whether trying again later may succeed: `CONNECTION_FAILED`, `RATE_LIMIT_EXCEEDED`,
    /// `CREDENTIALS_REFRESHING`, or `HTTP_ERROR` with status 408, 429 or ≥ 500.
    public var isTransient: Bool { Self.isTransient(code: code, status: status) }

    /// ``isTransient`` for an error known by its code and status (a method's error details).
    public static func isTransient(code: String?, status: Int?) -> Bool {
        switch code {
        case connectionFailed, rateLimitExceeded, credentialsRefreshing:
            return true
        case httpError:
            guard let status else { return false }
            return status == 408 || status == 429 || status >= 500
        default:
            return false
        }
    }

    public var description: String {
        status.map { "\(code) (HTTP \($0)): \(message)" } ?? "\(code): \(message)"
    }
}
