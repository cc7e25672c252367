import Foundation
import Logging

/// A `ScriptContext` and the thread that owns it: the context is created, used and destroyed
/// on that thread, which runs the calls handed to it one at a time.
///
/// A call waits for its result without blocking the caller's thread (a continuation); the
/// context's thread blocks instead, also while the method awaits `apiClient`.
final class ScriptContextThread: Sendable {
    private let queue = ScriptCallQueue()

    /// Starts the thread; it creates its context before taking the first call.
    init(name: String, configuration: ScriptEngineConfiguration, logger: Logger) {
        let queue = self.queue
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

    /// Runs `request` on this context and returns what the method returned.
    func perform(_ request: ScriptCallRequest) async throws -> JSONValue {
        try await withCheckedThrowingContinuation { continuation in
            queue.enqueue(ScriptCallJob(request: request, continuation: continuation))
        }
    }

    /// Lets the thread end after its current call (and release the context); calls handed to
    /// it afterwards fail with `ScriptError.Kind.unsupported`.
    func shutdown() {
        queue.shutdown()
    }
}

/// One call handed to a context's thread.
struct ScriptCallJob: Sendable {
    let request: ScriptCallRequest
    let continuation: CheckedContinuation<JSONValue, any Error>
}

/// The calls waiting for a context's thread, which blocks in `next()`.
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
