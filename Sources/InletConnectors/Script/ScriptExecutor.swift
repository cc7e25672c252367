import Foundation
import Logging
import Synchronization

/// Threads on which connector methods run in place: a task that prefers this executor (a
/// stream processor's lanes do, see `StreamProcessorConfiguration.laneExecutor`) runs its
/// JavaScript calls on the thread it is already on, in a context that thread keeps for each
/// connector, instead of handing each call to a context thread and waiting to be woken up.
///
/// Measured under `Benchmarks/pipeline` (docs/benchmarks.md): a handler lane spent more time
/// waiting for those two thread switches than its JavaScript took.
///
/// Contexts still never leave their thread, and JavaScript still never runs on the threads
/// Swift concurrency's global executor owns: a method that loops until its time limit, or
/// awaits a slow `apiClient` call, holds one of these threads (as it held a context thread
/// before), not one HTTP and Kafka work need; each connector runs at most
/// `inPlacePerConnector` calls in place at once, the others take its context threads.
/// Work a blocked call waits for must never need these threads: `apiClient` requests run on the
/// global executor (an actor first used from a lane could otherwise run its jobs here). The
/// threads end with `shutdown()`; jobs
/// enqueued later run on the global executor, where calls take the context threads' path.
///
/// At most `running` jobs run at once (twice the cores by default): calls run in place use the
/// CPU, and more threads at work only take turns on the cores (measured in docs/benchmarks.md).
/// A thread whose call waits for its `apiClient` responses gives up its turn meanwhile, so a
/// slow API holds threads, never the turns of the lanes that have work.
public final class ScriptExecutor: TaskExecutor, ScriptWaitObserver, Sendable {
    private struct State {
        var queue: [UnownedJob] = []
        var head = 0
        var isShutDown = false
        /// Jobs running now, not counting those waiting for an API's responses.
        var running = 0
    }

    private let state = Mutex(State())
    /// In-place calls running now, by connector.
    private let inPlace = Mutex<[String: Int]>([:])
    private let available = DispatchSemaphore(value: 0)
    private let threadCount: Int
    /// How many calls of one connector may run in place at once.
    let inPlacePerConnector: Int
    /// How many jobs run at once.
    let running: Int
    private let finished = DispatchSemaphore(value: 0)

    /// Starts `threads` threads named `inlet-methods-<n>`, each making its contexts with
    /// `configuration`, of which `running` run jobs at once.
    init(threads: Int, running: Int, inPlacePerConnector: Int, configuration: ScriptEngineConfiguration, logger: Logger) {
        threadCount = max(1, threads)
        self.running = max(1, running)
        self.inPlacePerConnector = max(1, inPlacePerConnector)
        for index in 1...threadCount {
            let thread = Thread { [self] in
                let contexts = ScriptThreadContexts(executor: self, configuration: configuration, logger: logger)
                ScriptThreadContexts.setCurrent(contexts)
                serving: while true {
                    available.wait()
                    // A thread that ran a job takes the next one itself: the contexts and
                    // caches of the threads at work stay warm, and no other thread is woken.
                    working: while true {
                        switch next() {
                        case .job(let job):
                            job.runSynchronously(on: asUnownedTaskExecutor())
                            state.withLock { $0.running -= 1 }
                        case .idle: break working
                        case .finished: break serving
                        }
                    }
                }
                // Passed on, so every thread wakes to find the executor shut down.
                available.signal()
                ScriptThreadContexts.setCurrent(nil)
                contexts.tearDown()
                finished.signal()
            }
            thread.name = "inlet-methods-\(index)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        // Woken only with a turn free: with every turn taken, a thread at work takes the job
        // when its own ends, or wakes a thread when its call waits for an API.
        let (accepted, wake) = state.withLock { state in
            guard !state.isShutDown else { return (false, false) }
            state.queue.append(unowned)
            return (true, state.running < running)
        }
        if accepted {
            if wake { available.signal() }
        } else {
            // After shutdown nothing here runs jobs any more: the task goes on on the global
            // executor (its JavaScript calls then take the context threads' path).
            globalConcurrentExecutor.enqueue(ExecutorJob(unowned))
        }
    }

    private enum Next {
        case job(UnownedJob)
        case idle
        case finished
    }

    /// The oldest waiting job, if a turn is free (a thread that frees one takes the next job
    /// itself, or wakes another when its call waits for an API); `finished` once shut down
    /// and drained. After shutdown turns are not counted.
    private func next() -> Next {
        state.withLock { state in
            guard state.head < state.queue.count else { return state.isShutDown ? .finished : .idle }
            guard state.running < running || state.isShutDown else { return .idle }
            state.running += 1
            let job = state.queue[state.head]
            state.head += 1
            if state.head == state.queue.count || state.head > 1024 {
                state.queue.removeFirst(state.head)
                state.head = 0
            }
            return .job(job)
        }
    }

    /// The call on this thread waits for its API: its turn goes to a waiting job, on another
    /// thread.
    func willWait() {
        let waiting = state.withLock { state in
            state.running -= 1
            return state.head < state.queue.count && state.running < running
        }
        if waiting { available.signal() }
    }

    func didWait() {
        // Back at once, even over the limit: the call holds its context and must go on.
        state.withLock { $0.running += 1 }
    }

    /// Takes a place for an in-place call of `connector`; `false` when `inPlacePerConnector`
    /// of its calls already run in place (the call then goes to the connector's context
    /// threads), so one connector whose API hangs cannot hold every thread.
    func enter(_ connector: String) -> Bool {
        inPlace.withLock { counts in
            guard counts[connector, default: 0] < inPlacePerConnector else { return false }
            counts[connector, default: 0] += 1
            return true
        }
    }

    func leave(_ connector: String) {
        inPlace.withLock { counts in
            counts[connector, default: 1] -= 1
            if counts[connector] == 0 { counts[connector] = nil }
        }
    }

    /// Lets the threads end once the jobs already queued have run, and waits for them.
    func shutdown() {
        let first = state.withLock { state in
            defer { state.isShutDown = true }
            return !state.isShutDown
        }
        guard first else { return }
        // Called from one of these threads (the engine released by a method's task): the
        // threads end on their own, nothing may wait here for itself.
        let fromOwnThread = ScriptThreadContexts.current(of: self) != nil
        // One wake-up per thread beyond the queued jobs' own: each then finds the queue empty.
        for _ in 0..<threadCount { available.signal() }
        if !fromOwnThread {
            for _ in 0..<threadCount { finished.wait() }
        }
    }
}

/// The JavaScript contexts one `ScriptExecutor` thread keeps, one per connector, created on
/// first use and used only on that thread (so not `Sendable`).
final class ScriptThreadContexts {
    private let executor: ScriptExecutor
    private let configuration: ScriptEngineConfiguration
    private let logger: Logger
    private var contexts: [String: ScriptContext] = [:]

    init(executor: ScriptExecutor, configuration: ScriptEngineConfiguration, logger: Logger) {
        self.executor = executor
        self.configuration = configuration
        self.logger = logger
    }

    /// The contexts of the thread this runs on, if it is a thread of `executor`.
    static func current(of executor: ScriptExecutor) -> ScriptThreadContexts? {
        guard let pointer = pthread_getspecific(key) else { return nil }
        let contexts = Unmanaged<ScriptThreadContexts>.fromOpaque(pointer).takeUnretainedValue()
        return contexts.executor === executor ? contexts : nil
    }

    static func setCurrent(_ contexts: ScriptThreadContexts?) {
        pthread_setspecific(key, contexts.map { Unmanaged.passUnretained($0).toOpaque() })
    }

    /// Runs `request` here, in this thread's context for its connector; `nil` when it must
    /// go to the connector's context threads instead: `inPlacePerConnector` of the
    /// connector's calls already run in place, or this thread's context for it is in the
    /// middle of a call (a method that led to another call of its own connector).
    func run(_ request: ScriptCallRequest) -> Result<JSONValue, ScriptError>? {
        let connector = request.host.connector
        let context: ScriptContext
        if let existing = contexts[connector] {
            guard !existing.isRunning else { return nil }
            context = existing
        } else {
            context = ScriptContext(configuration: configuration, logger: logger, waitObserver: executor)
            contexts[connector] = context
        }
        guard executor.enter(connector) else { return nil }
        defer { executor.leave(connector) }
        return context.run(request)
    }

    func tearDown() {
        for context in contexts.values { context.tearDown() }
        contexts = [:]
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
}

/// Told by a context when its call waits for `apiClient` responses, and when it goes on: the
/// thread is blocked meanwhile but uses no CPU.
protocol ScriptWaitObserver: Sendable {
    func willWait()
    func didWait()
}
