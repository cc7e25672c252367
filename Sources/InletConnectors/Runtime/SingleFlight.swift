import Synchronization

/// Runs an operation once for everyone who asks while it runs: callers that arrive while it is
/// in flight await the same result instead of starting it again. Used for refreshing a
/// connection's credentials, which concurrent lanes of a worker may all find expired at once;
/// providers that rotate refresh tokens reject (or revoke the grant on) a token used twice.
public final class SingleFlight<Value: Sendable>: Sendable {
    private let state = Mutex<(running: Task<Value, any Error>?, joined: Int)>((nil, 0))

    public init() {}

    /// The result of the operation in flight, or of `operation` started now.
    public func run(_ operation: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let task = state.withLock { state -> Task<Value, any Error> in
            state.joined += 1
            if let running = state.running { return running }
            let started = Task {
                // Holding the lock while the task is stored: the task's own clean-up cannot
                // run before it is stored.
                defer { self.state.withLock { $0.running = nil } }
                return try await operation()
            }
            state.running = started
            return started
        }
        return try await task.value
    }

    /// Whether an operation is in flight now.
    public var isRunning: Bool { state.withLock { $0.running != nil } }

    /// Returns once the operation in flight, if any, has ended (whatever its outcome).
    public func finished() async {
        if let running = state.withLock({ $0.running }) { _ = await running.result }
    }

    /// How many calls to `run` were made (for tests).
    public var calls: Int { state.withLock { $0.joined } }
}
