import Synchronization

/// What a role must have before it is ready (`/health/ready`): each check names what it waits
/// for, so a 503 says what is missing ("subscriptions table loading", "no partitions assigned
/// yet").
public struct ReadinessCheck: Sendable {
    /// What is checked, for people: "subscriptions table", "handler consumer group".
    public var name: String
    /// `nil` when ready, else why not.
    public var problem: @Sendable () -> String?

    public init(name: String, problem: @escaping @Sendable () -> String?) {
        self.name = name
        self.problem = problem
    }

    /// Ready once `isReady` holds; else "`name` `waiting`".
    public static func condition(_ name: String, waiting: String, _ isReady: @escaping @Sendable () -> Bool) -> ReadinessCheck {
        ReadinessCheck(name: name) { isReady() ? nil : "\(name): \(waiting)" }
    }
}

/// The checks of one process (every role it runs), collected as the roles start.
public final class Readiness: Sendable {
    private let checks = Mutex<[ReadinessCheck]>([])

    public init() {}

    public func add(_ check: ReadinessCheck) {
        checks.withLock { $0.append(check) }
    }

    public func add(_ more: [ReadinessCheck]) {
        checks.withLock { $0 += more }
    }

    /// Why the process is not ready; empty when it is.
    public func problems() -> [String] {
        checks.withLock { $0 }.compactMap { $0.problem() }
    }
}
