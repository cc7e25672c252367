import Foundation

/// An HTTP request an external app sent to a subscription's webhook or to a global webhook, as
/// the ingress recorded it; the input of `handle`.
///
/// `data` (also passed to methods as `body`) is the body parsed by content type:
///
/// | body | `data` |
/// | --- | --- |
/// | empty | `{}` (`""` for `text/*`) |
/// | `application/json`, `*/*+json` | the parsed JSON; the text as a string when it does not parse |
/// | `application/x-www-form-urlencoded` | an object of strings; a repeated name gives an array of strings |
/// | `text/*`, `application/xml`, `*/*+xml` | the text as a string |
/// | no content type | parsed JSON when it parses, else as for any other type |
/// | any other type | the text when the body is valid UTF-8, else the bytes in base64 |
///
/// `rawBody` reaches methods as a UTF-8 string (invalid sequences replaced), which is what a
/// signature such as GitHub's `X-Hub-Signature-256` is computed over for JSON and form bodies.
public struct WebhookRequest: Sendable, Hashable {
    /// The HTTP method, upper case (`POST`).
    public var method: String
    /// The request path as received, e.g. `/webhooks/subscriptions/42`.
    public var path: String
    /// Query parameters; a repeated parameter is an array of strings.
    public var query: [String: JSONValue]
    /// Header names lower-cased; a repeated header joined with `, `.
    public var headers: [String: String] {
        didSet { headersValue = Self.jsonValue(of: headers) }
    }
    /// `headers` as methods and `deliveryId` formulas see them, made once per request.
    private(set) var headersValue: JSONValue
    /// The body bytes exactly as received.
    public var rawBody: Data
    /// The `Content-Type` header, if any (the `content-type` header when `nil` is given).
    public var contentType: String?
    /// The body parsed by content type (see the type's documentation). Computed once, in `init`.
    public var data: JSONValue
    /// Whether `data` is the body parsed as JSON (so JavaScript can parse `rawBody` itself).
    var dataIsBodyJSON: Bool

    /// Creates a request and parses its body.
    public init(method: String, path: String, query: [String: JSONValue] = [:], headers: [String: String] = [:], rawBody: Data = Data(), contentType: String? = nil) {
        self.method = method.uppercased()
        self.path = path
        self.query = query
        var lowered: [String: String] = [:]
        lowered.reserveCapacity(headers.count)
        for (name, value) in headers {
            // Ingress stores names lower-cased already: no new string for those.
            let key = name.utf8.contains(where: { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || $0 >= 0x80 }) ? name.lowercased() : name
            lowered[key] = lowered[key].map { "\($0), \(value)" } ?? value
        }
        self.headers = lowered
        self.headersValue = Self.jsonValue(of: lowered)
        self.rawBody = rawBody
        self.contentType = contentType ?? lowered["content-type"]
        (self.data, self.dataIsBodyJSON) = Self.parsedBody(rawBody, contentType: self.contentType)
    }

    private static func jsonValue(of headers: [String: String]) -> JSONValue {
        .object(headers.mapValues(JSONValue.string))
    }

    /// The body as methods see it in `rawBody`.
    public var rawBodyText: String { String(decoding: rawBody, as: UTF8.self) }

    /// `query`, `data` and `headers`: the request part of `handle`'s arguments, with
    /// `rawBody` (``methodTexts``); `body` is `data` under another name (``bodyAlias``).
    var methodArguments: [String: JSONValue] {
        ["query": .object(query), "data": data, "headers": headersValue]
    }

    /// `rawBody`, passed to JavaScript as a string of its own.
    var methodTexts: [String: String] { ["rawBody": rawBodyText] }

    /// For a JSON body, `data` is parsed in JavaScript from `rawBody`'s string: one conversion
    /// of the body's text, no JSON written by Swift. Not for a body with `\uD800`–`\uDFFF`
    /// escapes: Swift's parser makes an unpaired one U+FFFD, JavaScriptCore keeps it, and
    /// `data` must be the same value everywhere.
    var methodParsedTexts: [String: String] { dataIsBodyJSON && !Self.hasSurrogateEscape(rawBody) ? ["data": "rawBody"] : [:] }

    /// Whether `body` holds a `\u` escape of a UTF-16 surrogate (`\uD8`–`\uDF`, any case).
    /// Finds each backslash with `memchr`: the byte-by-byte scan took 11 µs of a 13 KB
    /// delivery's `handle` call.
    static func hasSurrogateEscape(_ body: Data) -> Bool {
        body.withUnsafeBytes { bytes in
            // An escape starts at most 6 bytes before the end.
            guard bytes.count >= 6, let base = bytes.baseAddress else { return false }
            let starts = bytes.count - 5
            var index = 0
            while index < starts {
                guard let found = memchr(base + index, Int32(UInt8(ascii: "\\")), starts - index) else { return false }
                index = base.distance(to: UnsafeRawPointer(found))
                if bytes[index + 1] == UInt8(ascii: "u") {
                    let high = bytes[index + 2] | 0x20, next = bytes[index + 3] | 0x20
                    if high == UInt8(ascii: "d"), (UInt8(ascii: "8")...UInt8(ascii: "9")).contains(next) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(next) { return true }
                }
                index += 1
            }
            return false
        }
    }

    /// `body` is the same value as `data`: in JavaScript the same object, so the parsed body
    /// crosses into the method once.
    static let bodyAlias: [String: String] = ["body": "data"]

    // MARK: - Body parsing

    /// Parses `body` by `contentType`; see the type's documentation for the rules.
    public static func parseBody(_ body: Data, contentType: String?) -> JSONValue {
        parsedBody(body, contentType: contentType).data
    }

    /// ``parseBody(_:contentType:)``, and whether the result is the body parsed as JSON.
    static func parsedBody(_ body: Data, contentType: String?) -> (data: JSONValue, isBodyJSON: Bool) {
        let mediaType = contentType.map(mediaTypeOf) ?? ""
        let isText = mediaType.hasPrefix("text/") || mediaType == "application/xml" || mediaType.hasSuffix("+xml")
        if body.isEmpty { return (isText ? .string("") : .object([:]), false) }
        if isText { return (.string(String(decoding: body, as: UTF8.self)), false) }
        if mediaType == "application/json" || mediaType.hasSuffix("+json") {
            if let parsed = try? JSONValue(parsing: body) { return (parsed, true) }
            return (.string(String(decoding: body, as: UTF8.self)), false)
        }
        if mediaType == "application/x-www-form-urlencoded" {
            return (formFields(String(decoding: body, as: UTF8.self)), false)
        }
        if mediaType.isEmpty, let parsed = try? JSONValue(parsing: body) { return (parsed, true) }
        if let text = String(data: body, encoding: .utf8) { return (.string(text), false) }
        return (.string(body.base64EncodedString()), false)
    }

    /// The media type of a `Content-Type` value, lowercased, without parameters or the
    /// spaces and tabs around it (`" Application/JSON ; charset=utf-8"` → `application/json`).
    static func mediaTypeOf(_ contentType: String) -> String {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let type = contentType.utf8.prefix { $0 != UInt8(ascii: ";") }
        let trimmed = type.drop(while: isSpace).reversed().drop(while: isSpace).reversed()
        return String(decoding: trimmed, as: UTF8.self).lowercased()
    }

    /// `a=1&b=x+y&a=2` → `{"a": ["1", "2"], "b": "x y"}`.
    /// Linear in the body's length, however often a name repeats.
    static func formFields(_ text: String) -> JSONValue {
        var collected: [String: [JSONValue]] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            collected[decodeFormComponent(parts[0]), default: []].append(.string(parts.count > 1 ? decodeFormComponent(parts[1]) : ""))
        }
        return .object(collected.mapValues { $0.count == 1 ? $0[0] : .array($0) })
    }

    private static func decodeFormComponent(_ component: Substring) -> String {
        let spaced = component.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}

extension WebhookRequest {
    /// The sender's id of this request from a spec's `deliveryId` formula over `headers`,
    /// `data` and `query`; `nil` when it yields nothing (an empty string, null). A JSON body
    /// sent with another content type (SNS posts JSON as text/plain) is read as JSON here.
    ///
    /// - Throws: `MappingError` when the formula fails.
    public func deliveryId(_ formula: CompiledMapping) throws -> String? {
        var body = data
        if case .string = body, let parsed = try? JSONValue(parsing: rawBody) { body = parsed }
        let variables: JSONValue = ["headers": headersValue, "data": body, "query": .object(query)]
        switch try formula.evaluate(variables: variables) {
        case .string(let id) where !id.isEmpty: return id
        case .integer(let id): return String(id)
        default: return nil
        }
    }
}
