import Foundation

/// A connector method that could not be run or returned something unusable. The handler sends
/// the input that caused it to the DLQ with ``description`` as the reason and carries on.
///
/// `code` tells what kind of failure it is (use the static constants):
/// - `method-not-found`: the connector, event, collection or method does not exist;
/// - `handle-error`: the method threw, its file does not compile, or a mapping failed
///   (any method, not only `handle`);
/// - `timeout`: the method ran past the script engine's time limit;
/// - `memory-limit`: the method's JavaScript context held more than the engine's memory limit;
/// - `malformed-result`: the result breaks the method's contract (``MethodResultContract``);
/// - `invalid-parameters`: a subscription's parameters do not match the event's or
///   collection's `parametersSchema` (checked before `subscribe`); `details` lists the errors;
/// - `api-error`: a call to the external API failed and the method let it escape, or the API
///   client could not be built; `details` holds `{code, status, data}` of the API error.
public struct ConnectorMethodError: Error, Sendable, CustomStringConvertible {
    /// One of the codes listed on the type.
    public var code: String
    /// What went wrong, starting with the method file (and line when known), e.g.
    /// `connectors/github/events/issues/handle.js:12: Invalid X-Hub-Signature-256`.
    public var message: String
    /// The method file relative to the workspace, e.g. `connectors/github/events/issues/handle.js`;
    /// for `method-not-found`, the owner that lacks the method.
    public var file: String
    /// 1-based line in `file`, when known.
    public var line: Int?
    /// Structured details: the API error's `{code, status, data}`, the thrown error's fields,
    /// or `{pointer}` of a malformed result.
    public var details: JSONValue?

    /// Creates an error. `message` should already name the file (use ``located(_:line:_:)``).
    public init(code: String, message: String, file: String, line: Int? = nil, details: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
        self.details = details
    }

    /// The connector, owner or method does not exist.
    public static let methodNotFound = "method-not-found"
    /// The method threw, did not compile, or its mapping failed.
    public static let handleError = "handle-error"
    /// The method ran past its time limit (or was cancelled).
    public static let timeout = "timeout"
    /// The method's JavaScript held more memory than the engine allows.
    public static let memoryLimit = "memory-limit"
    /// The result breaks the method's contract.
    public static let malformedResult = "malformed-result"
    /// An external API call failed, or the API client could not be built.
    public static let apiError = "api-error"
    /// The subscription's parameters do not match parametersSchema.
    public static let invalidParameters = "invalid-parameters"
    /// The call was cancelled (the worker is shutting down): not the input's fault.
    public static let cancelled = "cancelled"

    /// Whether trying again later may succeed: the call was cancelled, or an API call failed
    /// in a way ``APIError/isTransient`` calls transient (unreachable, rate limited, 408,
    /// 429 or ≥ 500, credentials being refreshed elsewhere) — also when the method let that
    /// error escape as its own. Everything else is the input's or the connector's fault and
    /// permanent.
    public var isTransient: Bool {
        if code == Self.cancelled { return true }
        guard code == Self.apiError || code == Self.handleError, let details else { return false }
        return APIError.isTransient(code: details["code"]?.stringValue, status: details["status"]?.integerValue.map(Int.init))
    }

    /// `code: message`, e.g. `malformed-result: connectors/x/events/y/handle.js: result at /events/0/record ...`.
    public var description: String { "\(code): \(message)" }

    /// `file:line: text` (or `file: text` without a line).
    static func located(_ file: String, line: Int?, _ text: String) -> String {
        "\(line.map { "\(file):\($0)" } ?? file): \(text)"
    }
}
