import Foundation
import InletConnectors

/// An HTTP request exactly as ingress received it: a per-subscription webhook (topic
/// `ingress`, key: subscription id) or a connector's global webhook (topic `ingress.global`,
/// key: `<connectorKey>/<globalWebhookKey>`, see ``globalKey(connectorKey:globalWebhookKey:)``).
///
/// The body is kept as raw bytes (base64 in JSON), so signatures can be verified over the
/// exact bytes and any content type survives. `query` and `headers` are the parsed forms the
/// connector methods receive; `rawQuery` keeps the original text.
public struct RawRequest: TopicMessage {
    /// Ingress's id for this request (a UUID string); also the key of the ``Reply`` on
    /// `replies` when ``replyExpected`` is set.
    public var requestId: String
    /// When ingress received the request.
    public var receivedAt: Date
    /// The HTTP method, upper-case (`"POST"`).
    public var method: String
    /// The request path, without the query (`"/webhooks/s/9f2c…"`).
    public var path: String
    /// The query string as received, without the leading `?` (`""` when there was none).
    public var rawQuery: String
    /// The decoded query parameters; a parameter given more than once keeps all its values.
    public var query: [String: QueryValue]
    /// Headers by lower-cased name; a header received more than once has its values joined
    /// with `", "` in the order received.
    public var headers: [String: String]
    /// The `Content-Type` header, when there was one (same as `headers["content-type"]`).
    public var contentType: String?
    /// The raw body bytes (JSON: `body`, base64). Empty when there was no body.
    public var body: Data
    /// Whether ingress holds the HTTP response open until a ``Reply`` with this
    /// ``requestId`` appears on `replies`.
    public var replyExpected: Bool
    /// The subscription a per-subscription webhook is for (routing on `ingress`).
    public var subscriptionId: String?
    /// The connector of a global webhook (routing on `ingress.global`).
    public var connectorKey: String?
    /// The global webhook's key within its connector (routing on `ingress.global`).
    public var globalWebhookKey: String?
    /// The client address as seen by ingress (or from `X-Forwarded-For` when trusted).
    public var remoteAddress: String?

    public init(
        requestId: String = RandomUUID.make(),
        receivedAt: Date,
        method: String,
        path: String,
        rawQuery: String = "",
        query: [String: QueryValue]? = nil,
        headers: [String: String] = [:],
        contentType: String? = nil,
        body: Data = Data(),
        replyExpected: Bool = false,
        subscriptionId: String? = nil,
        connectorKey: String? = nil,
        globalWebhookKey: String? = nil,
        remoteAddress: String? = nil
    ) {
        self.requestId = requestId
        self.receivedAt = receivedAt
        self.method = method
        self.path = path
        self.rawQuery = rawQuery
        self.query = query ?? Self.parseQuery(rawQuery)
        self.headers = headers
        self.contentType = contentType ?? headers["content-type"]
        self.body = body
        self.replyExpected = replyExpected
        self.subscriptionId = subscriptionId
        self.connectorKey = connectorKey
        self.globalWebhookKey = globalWebhookKey
        self.remoteAddress = remoteAddress
    }

    public static let topics = ["ingress", "ingress.global"]
    public static let schemaFile = "raw-request.schema.json"

    /// The subscription id for a per-subscription webhook, else `<connectorKey>/<globalWebhookKey>`.
    public var kafkaKey: String? {
        if let subscriptionId { return subscriptionId }
        if let connectorKey, let globalWebhookKey {
            return Self.globalKey(connectorKey: connectorKey, globalWebhookKey: globalWebhookKey)
        }
        return nil
    }

    /// The `ingress.global` key: `<connectorKey>/<globalWebhookKey>`.
    public static func globalKey(connectorKey: String, globalWebhookKey: String) -> String {
        "\(connectorKey)/\(globalWebhookKey)"
    }

    /// The raw body bytes (same as ``body``).
    public var bodyData: Data { body }

    /// The body as UTF-8 text (what connector methods get as `rawBody`), or `nil` when it is
    /// not valid UTF-8.
    public var bodyText: String? { String(data: body, encoding: .utf8) }

    /// The value of header `name` (any case).
    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    private enum CodingKeys: String, CodingKey {
        case requestId, receivedAt, method, path, rawQuery, query, headers, contentType, body, replyExpected
        case subscriptionId, connectorKey, globalWebhookKey, remoteAddress
    }
}

// MARK: - Query and headers

extension RawRequest {
    /// A query parameter's value: a string, or an array of strings when it was repeated
    /// (`?tag=a&tag=b` → `["a", "b"]`), as connector methods receive `query`.
    public enum QueryValue: Codable, Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByArrayLiteral {
        case single(String)
        case multiple([String])

        public init(stringLiteral value: String) { self = .single(value) }
        public init(arrayLiteral elements: String...) { self = .multiple(elements) }

        /// The first (or only) value.
        public var first: String? {
            switch self {
            case .single(let value): value
            case .multiple(let values): values.first
            }
        }

        /// All values, in the order received.
        public var values: [String] {
            switch self {
            case .single(let value): [value]
            case .multiple(let values): values
            }
        }

        /// This value as a ``JSONValue`` (string or array of strings), for method arguments.
        public var jsonValue: JSONValue {
            switch self {
            case .single(let value): .string(value)
            case .multiple(let values): .array(values.map(JSONValue.string))
            }
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(String.self) {
                self = .single(value)
            } else if let values = try? container.decode([String].self) {
                self = .multiple(values)
            } else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "expected a string or an array of strings")
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .single(let value): try container.encode(value)
            case .multiple(let values): try container.encode(values)
            }
        }
    }

    /// Parses a raw query string the way connector methods expect it: `&`-separated
    /// `name=value` pairs, percent-decoded, `+` read as a space, a name without `=` has the
    /// value `""`, and a repeated name collects its values into ``QueryValue/multiple(_:)``.
    /// Linear in the query's length, however often a name repeats (values are collected in
    /// place, not copied per repeat).
    public static func parseQuery(_ rawQuery: String) -> [String: QueryValue] {
        var collected: [String: [String]] = [:]
        let text = rawQuery.hasPrefix("?") ? String(rawQuery.dropFirst()) : rawQuery
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decodeQueryComponent(parts[0])
            collected[name, default: []].append(parts.count > 1 ? decodeQueryComponent(parts[1]) : "")
        }
        return collected.mapValues { $0.count == 1 ? .single($0[0]) : .multiple($0) }
    }

    /// Header fields as received (any case, possibly repeated) → lower-cased name to value,
    /// repeated names joined with `", "` in order.
    public static func normalizeHeaders<Fields: Sequence>(_ fields: Fields) -> [String: String]
    where Fields.Element == (String, String) {
        var result: [String: String] = [:]
        for (name, value) in fields {
            let key = name.lowercased()
            if let existing = result[key] {
                result[key] = existing + ", " + value
            } else {
                result[key] = value
            }
        }
        return result
    }

    private static func decodeQueryComponent(_ component: Substring) -> String {
        let spaced = component.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}
