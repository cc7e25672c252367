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
    /// How many JavaScript contexts (each with its own thread) run methods in parallel.
    /// A context runs one call at a time; other calls wait in a queue.
    public var contexts: Int = 2
    /// How many compiled method files each context keeps (least recently used are dropped).
    public var compiledFunctionsPerContext: Int = 256

    public init(timeLimit: Duration = .seconds(5), totalTimeLimit: Duration = .seconds(30), contexts: Int = 2, compiledFunctionsPerContext: Int = 256) {
        self.timeLimit = timeLimit
        self.totalTimeLimit = totalTimeLimit
        self.contexts = max(1, contexts)
        self.compiledFunctionsPerContext = max(1, compiledFunctionsPerContext)
    }
}

/// What a method can reach while it runs: its connection's API and the log.
public struct ScriptHost: Sendable {
    /// Backs `apiClient` in JavaScript; without one, `apiClient` calls reject.
    public var apiClient: (any APIClient)?
    /// Added to every `console.log` line (connector, method, subscription).
    public var logMetadata: [String: String]

    public init(apiClient: (any APIClient)? = nil, logMetadata: [String: String] = [:]) {
        self.apiClient = apiClient
        self.logMetadata = logMetadata
    }
}

/// Runs connector methods written in JavaScript (`export default async function (args)`)
/// in embedded JavaScriptCore contexts.
///
/// The engine keeps `configuration.contexts` worker threads, each owning one JavaScript
/// context for its whole life; compiled method files are cached per context. A call waits
/// for a free context, so at most `contexts` methods run at once. Host helpers
/// (`apiClient`, `createHmac`, `createHash`, `timingSafeEqual`, `Buffer`, `btoa`/`atob`,
/// `console`) are globals; nothing else (no file system, process or network) is exposed.
public final class ScriptEngine: Sendable {
    private let queue: ScriptCallQueue

    /// Starts the worker threads; each creates its context on first use of the thread.
    public init(configuration: ScriptEngineConfiguration = .init(), logger: Logger) {
        queue = ScriptCallQueue()
        for index in 0..<configuration.contexts {
            ScriptContext.startThread(index: index, queue: queue, configuration: configuration, logger: logger)
        }
    }

    deinit {
        queue.shutdown()
    }

    /// Runs the default export of the method file `source` with `arguments` and returns what
    /// it returns (awaiting a promise), as JSON; `undefined` becomes `.null`.
    ///
    /// The file is compiled once per context and cached by file name and source text.
    /// Costs a context switch to a worker thread plus JSON conversion of the arguments and
    /// the result.
    ///
    /// - Parameters:
    ///   - source: The method file's text, an ES module with `export default`.
    ///   - fileName: Used in error messages and stack traces, e.g. `github/events/issue-created/handle.js`.
    ///   - arguments: The single argument the default export receives (`{webhookUri, parameters, ...}`);
    ///     when it is an object, `apiClient` is added to it.
    ///   - host: The API client and log metadata for this call.
    /// - Throws: `ScriptError`.
    public func call(source: String, fileName: String, arguments: JSONValue, host: ScriptHost) async throws -> JSONValue {
        try await withCheckedThrowingContinuation { continuation in
            queue.enqueue(ScriptCallJob(source: source, fileName: fileName, arguments: arguments, host: host, continuation: continuation))
        }
    }

    /// Fails calls still waiting for a context and lets the worker threads end after their
    /// current call. Calls made afterwards fail with `ScriptError.Kind.unsupported`.
    public func shutdown() {
        queue.shutdown()
    }
}

// MARK: - Call queue

/// One `ScriptEngine.call`, waiting for or running on a context.
struct ScriptCallJob: Sendable {
    let source: String
    let fileName: String
    let arguments: JSONValue
    let host: ScriptHost
    let continuation: CheckedContinuation<JSONValue, any Error>
}

/// The calls waiting for a free context; worker threads block in `next()`.
///
/// `@unchecked Sendable`: all mutable state (`jobs`, `isShutDown`) is only touched while
/// holding `condition`'s lock.
final class ScriptCallQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [ScriptCallJob] = []
    private var head = 0
    private var isShutDown = false

    func enqueue(_ job: ScriptCallJob) {
        condition.lock()
        if isShutDown {
            condition.unlock()
            job.continuation.resume(throwing: ScriptError(kind: .unsupported, message: "the script engine is shut down", fileName: job.fileName))
            return
        }
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// The next job, blocking until there is one; `nil` once the queue is shut down.
    func next() -> ScriptCallJob? {
        condition.lock()
        defer { condition.unlock() }
        while head == jobs.count && !isShutDown {
            condition.wait()
        }
        if isShutDown { return nil }
        let job = jobs[head]
        head += 1
        if head == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            head = 0
        }
        return job
    }

    func shutdown() {
        condition.lock()
        let waiting = jobs[head...]
        jobs = []
        head = 0
        isShutDown = true
        condition.broadcast()
        condition.unlock()
        for job in waiting {
            job.continuation.resume(throwing: ScriptError(kind: .unsupported, message: "the script engine is shut down", fileName: job.fileName))
        }
    }
}
