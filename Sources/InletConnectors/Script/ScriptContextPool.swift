import Logging
import Synchronization

/// A context lent to one call (it is in the pool's idle list or in exactly one lease).
struct ScriptContextLease: Sendable {
    let connector: String
    let context: ScriptContextThread
}

/// The warm JavaScript contexts of every connector: at most `configuration.contexts` per
/// connector, made on first use, lent to one call at a time.
///
/// Connectors never share a context, so one connector cannot see or change another's globals
/// (host helpers, prototypes, module-level variables). A context whose script was stopped by
/// the watchdog is replaced by its thread before it takes the next call.
final class ScriptContextPool: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<ScriptContextLease, any Error>
    }

    private struct Connector {
        var idle: [ScriptContextLease] = []
        var live = 0
        var waiters: [Waiter] = []
    }

    private struct State {
        var connectors: [String: Connector] = [:]
        var isShutDown = false
        var nextWaiter: UInt64 = 0
    }

    private enum Acquired {
        case lease(ScriptContextLease)
        case make
        case wait
        case shutDown
    }

    private let configuration: ScriptEngineConfiguration
    private let logger: Logger
    private let state = Mutex(State())
    private let made = Atomic<Int>(0)

    init(configuration: ScriptEngineConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// A free context of `connector`, a new one while it has fewer than
    /// `configuration.contexts`, or the next one released.
    func acquire(for connector: String, fileName: String) async throws -> ScriptContextLease {
        let acquired: Acquired = state.withLock { state in
            if state.isShutDown { return .shutDown }
            if let lease = state.connectors[connector, default: Connector()].idle.popLast() { return .lease(lease) }
            if state.connectors[connector, default: Connector()].live < configuration.contexts {
                state.connectors[connector, default: Connector()].live += 1
                return .make
            }
            return .wait
        }
        switch acquired {
        case .lease(let lease):
            return lease
        case .make:
            let number = made.add(1, ordering: .relaxed).newValue
            let thread = ScriptContextThread(name: "inlet-script-\(number)", configuration: configuration, logger: logger)
            return ScriptContextLease(connector: connector, context: thread)
        case .shutDown:
            throw Self.shutDownError(fileName)
        case .wait:
            return try await waitForRelease(of: connector, fileName: fileName)
        }
    }

    private func waitForRelease(of connector: String, fileName: String) async throws -> ScriptContextLease {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ScriptContextLease, any Error>) in
                let outcome: Acquired = state.withLock { state in
                    if state.isShutDown { return .shutDown }
                    // Released between the first look and now.
                    if let lease = state.connectors[connector]?.idle.popLast() { return .lease(lease) }
                    state.connectors[connector, default: Connector()].waiters.append(Waiter(id: id, continuation: continuation))
                    return .wait
                }
                switch outcome {
                case .lease(let lease): continuation.resume(returning: lease)
                case .shutDown: continuation.resume(throwing: Self.shutDownError(fileName))
                case .make, .wait: break
                }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLock { state in
                guard let index = state.connectors[connector]?.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.connectors[connector]?.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Gives `lease` back: to the oldest call waiting for its connector, else to the idle list.
    func release(_ lease: ScriptContextLease) {
        enum Next { case handTo(Waiter), idle, tearDown }
        let next: Next = state.withLock { state in
            if state.isShutDown {
                state.connectors[lease.connector]?.live -= 1
                return .tearDown
            }
            if state.connectors[lease.connector]?.waiters.isEmpty == false, let waiter = state.connectors[lease.connector]?.waiters.removeFirst() {
                return .handTo(waiter)
            }
            state.connectors[lease.connector, default: Connector()].idle.append(lease)
            return .idle
        }
        switch next {
        case .handTo(let waiter): waiter.continuation.resume(returning: lease)
        case .tearDown: lease.context.shutdown()
        case .idle: break
        }
    }

    /// Fails the waiting calls and releases the idle contexts; contexts in use are released
    /// by `release`.
    func shutdown() {
        let (idle, waiters): ([ScriptContextLease], [Waiter]) = state.withLock { state in
            state.isShutDown = true
            var idle: [ScriptContextLease] = []
            var waiters: [Waiter] = []
            for key in Array(state.connectors.keys) {
                idle += state.connectors[key]!.idle
                waiters += state.connectors[key]!.waiters
                state.connectors[key]!.live -= state.connectors[key]!.idle.count
                state.connectors[key]!.idle = []
                state.connectors[key]!.waiters = []
            }
            return (idle, waiters)
        }
        for lease in idle { lease.context.shutdown() }
        for waiter in waiters { waiter.continuation.resume(throwing: Self.shutDownError(nil)) }
    }

    private static func shutDownError(_ fileName: String?) -> ScriptError {
        ScriptError(kind: .unsupported, message: "the script engine is shut down", fileName: fileName ?? "")
    }
}
