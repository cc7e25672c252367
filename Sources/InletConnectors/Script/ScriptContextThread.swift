import Foundation
import Logging

/// The thread that owns one `ScriptContext`: the context is created, used and destroyed on
/// it, and the thread runs calls taken from its connector's queue, one at a time, until the
/// queue is shut down.
///
/// A caller waits for its result without blocking its own thread (a continuation); the
/// context's thread blocks instead, also while the method awaits `apiClient`.
enum ScriptContextThread {
    /// Starts a thread that creates its context and runs calls from `queue`.
    static func start(name: String, queue: ScriptCallQueue, configuration: ScriptEngineConfiguration, logger: Logger) {
        let thread = Thread {
            let context = ScriptContext(configuration: configuration, logger: logger)
            while let job = queue.next() {
                job.continuation.resume(with: context.run(job.request).mapError { $0 as any Error })
            }
            context.tearDown()
        }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }
}

/// One call handed to a context's thread.
struct ScriptCallJob: Sendable {
    let request: ScriptCallRequest
    let continuation: CheckedContinuation<JSONValue, any Error>
}

/// The calls of one connector waiting for one of its context threads, which block in `next()`.
///
/// `@unchecked Sendable`: all mutable state (`jobs`, `isShutDown`) is only touched while
/// holding `condition`'s lock.
final class ScriptCallQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [ScriptCallJob] = []
    private var head = 0
    private var isShutDown = false

    /// Runs `request` on one of the connector's contexts and returns what the method returned.
    func perform(_ request: ScriptCallRequest) async throws -> JSONValue {
        try await withCheckedThrowingContinuation { continuation in
            enqueue(ScriptCallJob(request: request, continuation: continuation))
        }
    }

    func enqueue(_ job: ScriptCallJob) {
        condition.lock()
        if isShutDown {
            condition.unlock()
            job.continuation.resume(throwing: ScriptError(kind: .unsupported, message: "the script engine is shut down", fileName: job.request.fileName))
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
            job.continuation.resume(throwing: ScriptError(kind: .unsupported, message: "the script engine is shut down", fileName: job.request.fileName))
        }
    }
}
