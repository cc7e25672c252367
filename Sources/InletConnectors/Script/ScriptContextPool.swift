import Logging
import Synchronization

/// The warm JavaScript contexts of every connector: on a connector's first call, its
/// `configuration.contexts` context threads start, each with a context of its own, taking the
/// connector's calls from one queue.
///
/// Connectors never share a context, so one connector cannot see or change another's globals
/// (host helpers, prototypes, module-level variables). A context whose script was stopped by
/// the watchdog is replaced by its thread before it takes the next call.
final class ScriptContextPool: Sendable {
    private struct State {
        var queues: [String: ScriptCallQueue] = [:]
        var isShutDown = false
        var threads = 0
    }

    private let configuration: ScriptEngineConfiguration
    private let logger: Logger
    private let state = Mutex(State())

    init(configuration: ScriptEngineConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The queue of `connector`'s contexts (starting them on first use); `nil` after shutdown.
    func queue(for connector: String) -> ScriptCallQueue? {
        state.withLock { state in
            if state.isShutDown { return nil }
            if let queue = state.queues[connector] { return queue }
            let queue = ScriptCallQueue()
            for _ in 0..<configuration.contexts {
                state.threads += 1
                ScriptContextThread.start(name: "inlet-script-\(state.threads)", queue: queue, configuration: configuration, logger: logger)
            }
            state.queues[connector] = queue
            return queue
        }
    }

    /// Fails the calls still waiting and lets every context thread end after its current call.
    func shutdown() {
        let queues = state.withLock { state in
            state.isShutDown = true
            return Array(state.queues.values)
        }
        for queue in queues { queue.shutdown() }
    }
}
