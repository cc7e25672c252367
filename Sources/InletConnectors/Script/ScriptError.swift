/// A JavaScript method that could not be run or did not finish: what went wrong, and where.
///
/// The worker turns any `ScriptError` into a DLQ entry with `description` as the reason; the
/// `kind` tells whether retrying can help (`.apiError` with `ACCESS_TOKEN_EXPIRED` can,
/// `.syntax` cannot).
public struct ScriptError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Kind: String, Sendable, Hashable {
        /// The file does not parse (`line` is where the parser stopped).
        case syntax
        /// The method threw (or its promise rejected) with something other than an API error.
        case thrown
        /// The method ran longer than `ScriptEngineConfiguration.timeLimit`, or its promise did
        /// not settle within `ScriptEngineConfiguration.totalTimeLimit`.
        case timeout
        /// The file uses something the runtime does not offer (`import`, no default export),
        /// or the engine is shut down.
        case unsupported
        /// The method let an `apiClient` failure escape; `data` holds `code`, `status`, `data`.
        case apiError
        /// The method's context held more memory than `ScriptEngineConfiguration.memoryLimit`
        /// and the method was stopped.
        case memoryLimit
    }

    /// What went wrong.
    public var kind: Kind
    /// The error's message (prefixed with its name for `TypeError` and the like).
    public var message: String
    /// The method file, as passed to `ScriptEngine.call(source:fileName:arguments:host:)`.
    public var fileName: String
    /// 1-based line in the original file, when known.
    public var line: Int?
    /// The JavaScript stack trace, when the thrown value had one.
    public var stack: String?
    /// The thrown error object's own fields (for example `code`, `status`, `data`).
    public var data: JSONValue?

    /// Creates an error; the engine makes these, tests and callers may too.
    public init(kind: Kind, message: String, fileName: String, line: Int? = nil, stack: String? = nil, data: JSONValue? = nil) {
        self.kind = kind
        self.message = message
        self.fileName = fileName
        self.line = line
        self.stack = stack
        self.data = data
    }

    /// `fileName:line: kind: message`, e.g. `handle.js:12: thrown: Invalid webhook signature`.
    public var description: String {
        let location = line.map { "\(fileName):\($0)" } ?? fileName
        return "\(location): \(kind.rawValue): \(message)"
    }
}
