import Foundation
import Logging

/// How a `ScriptEngine` runs methods.
public struct ScriptEngineConfiguration: Sendable {
    /// The longest a method may run JavaScript without yielding (one synchronous stretch:
    /// the call itself, or the code between two `await`s). Enforced by JavaScriptCore's
    /// watchdog, so `while (true) {}` ends with `ScriptError.Kind.timeout`.
    public var timeLimit: Duration = .seconds(5)
    /// The longest a whole call may take, including time spent awaiting `apiClient`
    /// requests. A promise still pending then ends with `ScriptError.Kind.timeout`.
    public var totalTimeLimit: Duration = .seconds(30)
    /// How many JavaScript contexts each connector may use at once, i.e. how many of its
    /// methods run in parallel. A context runs one call at a time; further calls of the same
    /// connector wait for one. The default is the number of cores.
    public var contexts: Int
    /// How many compiled method files each context keeps (least recently used are dropped).
    public var compiledFunctionsPerContext: Int = 256

    public init(
        timeLimit: Duration = .seconds(5), totalTimeLimit: Duration = .seconds(30),
        contexts: Int = max(2, ProcessInfo.processInfo.activeProcessorCount), compiledFunctionsPerContext: Int = 256
    ) {
        self.timeLimit = timeLimit
        self.totalTimeLimit = totalTimeLimit
        self.contexts = max(1, contexts)
        self.compiledFunctionsPerContext = max(1, compiledFunctionsPerContext)
    }
}

/// What a method can reach while it runs: its connector's contexts, its connection's API and
/// the log.
public struct ScriptHost: Sendable {
    /// The isolation unit: methods of one connector share that connector's JavaScript
    /// contexts (so module-level state of its files persists between its calls, across its
    /// customers), and never see another connector's globals. Pass the connector key.
    public var connector: String
    /// Backs `apiClient` in JavaScript; without one, `apiClient` calls reject.
    public var apiClient: (any APIClient)?
    /// Added to every `console.log` line (connector, method, subscription).
    public var logMetadata: [String: String]

    public init(connector: String = "", apiClient: (any APIClient)? = nil, logMetadata: [String: String] = [:]) {
        self.connector = connector
        self.apiClient = apiClient
        self.logMetadata = logMetadata
    }
}

/// Runs connector methods written in JavaScript (`export default async function (args)`)
/// in embedded JavaScriptCore contexts.
///
/// Each connector gets its own contexts (``ScriptHost/connector``), at most
/// `configuration.contexts` of them, made on first use and kept warm; compiled method files
/// are cached per context. Each context lives on a thread of its own, so JavaScript never
/// occupies the threads Swift concurrency runs tasks on. A call borrows a free context of
/// its connector (waiting when all are busy) and hands the method to that context's thread;
/// the caller's task suspends meanwhile. Host helpers (`apiClient`, `createHmac`, `createHash`,
/// `timingSafeEqual`, `Buffer`, `btoa`/`atob`, `console`) are globals; nothing else (no file
/// system, process or network) is exposed.
public final class ScriptEngine: Sendable {
    private let pool: ScriptContextPool

    public init(configuration: ScriptEngineConfiguration = .init(), logger: Logger) {
        pool = ScriptContextPool(configuration: configuration, logger: logger)
    }

    deinit {
        pool.shutdown()
    }

    /// Runs the default export of the method file `source` with `arguments` and returns what
    /// it returns (awaiting a promise), as JSON; `undefined` becomes `.null`.
    ///
    /// The file is compiled once per context and cached by file name and source text.
    /// Costs a hand-off to the context's thread and a conversion of the arguments and the
    /// result between JSON and JavaScript values.
    ///
    /// - Parameters:
    ///   - source: The method file's text, an ES module with `export default`.
    ///   - fileName: Used in error messages and stack traces, e.g. `github/events/issue-created/handle.js`.
    ///   - arguments: The single argument the default export receives (`{webhookUri, parameters, ...}`);
    ///     when it is an object, `apiClient` is added to it.
    ///   - host: The connector, API client and log metadata for this call.
    /// - Throws: `ScriptError`; `CancellationError` when the task is cancelled while it waits
    ///   for a free context (a method that started runs to its end).
    public func call(source: String, fileName: String, arguments: JSONValue, host: ScriptHost) async throws -> JSONValue {
        let request = ScriptCallRequest(source: source, fileName: fileName, arguments: arguments, host: host)
        let lease = try await pool.acquire(for: host.connector, fileName: fileName)
        defer { pool.release(lease) }
        return try await lease.context.perform(request)
    }

    /// Fails calls still waiting for a context and releases the idle contexts; a context in
    /// use is released when its call ends. Calls made afterwards fail with
    /// `ScriptError.Kind.unsupported`.
    public func shutdown() {
        pool.shutdown()
    }
}

/// One `ScriptEngine.call`.
struct ScriptCallRequest: Sendable {
    let source: String
    let fileName: String
    let arguments: JSONValue
    let host: ScriptHost
}
