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
    /// The most memory one context's heap may hold (JavaScript objects plus the buffers
    /// behind typed arrays). A method that allocates past it is stopped
    /// (`ScriptError.Kind.memoryLimit`) and its context replaced; a context whose module-level
    /// state grew past it between calls is replaced after the call. Checked while a method
    /// runs (every `watchdogTick`) and every `memoryCheckInterval` calls. Default 512 MiB
    /// (env `INLET_SCRIPT_MEMORY_LIMIT_MB`).
    public var memoryLimit: Int = 512 << 20
    /// How often JavaScriptCore's watchdog interrupts a running method to check the time and
    /// memory limits.
    /// Each check reads the heap's statistics (about a millisecond on a small heap), so a
    /// shorter tick costs long-running methods more; between two checks a method can allocate
    /// what it manages to in one tick.
    public var watchdogTick: Duration = .milliseconds(50)
    /// Every how many calls a context checks its heap after the call (a call that ran longer
    /// than a tick is always checked).
    public var memoryCheckInterval: Int = 4096
    /// How many JavaScript contexts (each on a thread of its own) each connector gets, i.e.
    /// how many of its methods run in parallel. A context runs one call at a time; further
    /// calls of the same connector wait for one. The default is the number of cores (at
    /// least 2).
    public var contexts: Int
    /// How many compiled method files each context keeps (least recently used are dropped).
    public var compiledFunctionsPerContext: Int = 256
    /// How many threads the engine's executor has for methods run in place (a handler's
    /// lanes); one connector uses at most half of them at once. `nil`: 16, a lane each for a
    /// handler and its global handler on 8 partitions (env `INLET_SCRIPT_THREADS`).
    public var methodThreads: Int?
    /// How many of those threads run at once, not counting threads whose call waits for its
    /// API. `nil`: ``defaultRunningMethods(cores:)``.
    public var runningMethods: Int?

    /// Twice the cores, at least 2. Calls run in place use the CPU, so more threads at work
    /// only take turns on the cores: on 2 cores `inlet dev` delivered 3,847–5,078 events/s with
    /// all 16 threads at work and 4,487–5,507 with 4 (builds alternated, docs/benchmarks.md).
    public static func defaultRunningMethods(cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        max(2, 2 * cores)
    }

    public init(
        timeLimit: Duration = .seconds(5), totalTimeLimit: Duration = .seconds(30),
        contexts: Int = max(2, ProcessInfo.processInfo.activeProcessorCount), compiledFunctionsPerContext: Int = 256,
        memoryLimit: Int? = nil
    ) {
        let megabytes = ProcessInfo.processInfo.environment["INLET_SCRIPT_MEMORY_LIMIT_MB"].flatMap { Int($0) }
        self.memoryLimit = max(1 << 20, memoryLimit ?? megabytes.map { $0 << 20 } ?? 512 << 20)
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
/// Each connector gets its own contexts (``ScriptHost/connector``), `configuration.contexts`
/// of them, started on its first call and kept warm; compiled method files are cached per
/// context. Each context lives on a thread of its own, so JavaScript never occupies the
/// threads Swift concurrency runs tasks on. A call joins its connector's queue, and the next
/// free context of that connector runs it; the caller's task suspends meanwhile. Host helpers (`apiClient`, `createHmac`, `createHash`,
/// `timingSafeEqual`, `Buffer`, `btoa`/`atob`, `console`) are globals; nothing else (no file
/// system, process or network) is exposed.
public final class ScriptEngine: Sendable {
    private let pool: ScriptContextPool
    /// Threads on which calls run in place, without a hand-off to a context thread: run tasks
    /// that call many methods (a stream processor's lanes) with this executor as their
    /// preference. `configuration.methodThreads` threads, each with its own context per
    /// connector it ran, `configuration.runningMethods` of them at work at once; each
    /// connector runs calls in place on at most half of them at once, the others go to its
    /// context threads.
    public let executor: ScriptExecutor

    public init(configuration: ScriptEngineConfiguration = .init(), logger: Logger) {
        pool = ScriptContextPool(configuration: configuration, logger: logger)
        // A thread per lane a handler and its global handler run at once (8 partitions each by
        // default), so a lane waiting for a slow API holds only its own thread (and gives up
        // its turn meanwhile); one connector runs in place on at most half of them, so one
        // whose API hangs leaves the other half to the rest.
        let threads = max(2, configuration.methodThreads ?? ProcessInfo.processInfo.environment["INLET_SCRIPT_THREADS"].flatMap { Int($0) } ?? 16)
        let running = configuration.runningMethods ?? ScriptEngineConfiguration.defaultRunningMethods()
        executor = ScriptExecutor(threads: threads, running: running, inPlacePerConnector: threads / 2, configuration: configuration, logger: logger)
    }

    deinit {
        pool.shutdown()
        executor.shutdown()
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
    ///   - texts: More members of `arguments`, strings made directly as JavaScript strings
    ///     (a long text inside JSON would be escaped and parsed again).
    ///   - aliases: Alias → member of `arguments`: the alias is set to the same JavaScript
    ///     value as the member (one conversion, one object under both names).
    ///   - host: The connector, API client and log metadata for this call.
    /// - Throws: `ScriptError` (a call, once queued, runs to its end even if its task is
    ///   cancelled: the method may already have called the API).
    public func call(
        source: String, fileName: String, arguments: JSONValue, texts: [String: String] = [:], aliases: [String: String] = [:], host: ScriptHost
    ) async throws -> JSONValue {
        try await call(source: source, fileName: fileName, arguments: MethodArguments(value: arguments, aliases: aliases, texts: texts), host: host)
    }

    /// ``call(source:fileName:arguments:texts:aliases:host:)`` with the arguments as a method
    /// gets them (parsed texts included).
    func call(source: String, fileName: String, arguments: MethodArguments, host: ScriptHost) async throws -> JSONValue {
        let request = ScriptCallRequest(source: source, fileName: fileName, arguments: arguments, host: host)
        if let local = ScriptThreadContexts.current(of: executor), let result = local.run(request) {
            // Already on one of the engine's method threads: ran here, no hand-off.
            return try result.get()
        }
        guard let queue = pool.queue(for: host.connector) else {
            throw ScriptError(kind: .unsupported, message: "the script engine is shut down", fileName: fileName)
        }
        return try await queue.perform(request)
    }

    /// Fails calls still waiting for a context and lets the context threads end after their
    /// current call. Calls made afterwards fail with `ScriptError.Kind.unsupported`.
    public func shutdown() {
        pool.shutdown()
        executor.shutdown()
    }
}

/// One `ScriptEngine.call`.
struct ScriptCallRequest: Sendable {
    let source: String
    let fileName: String
    let arguments: MethodArguments
    let host: ScriptHost
}
