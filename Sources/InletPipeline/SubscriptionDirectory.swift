import Foundation
import InletKafka
import Logging
import ServiceLifecycle
import Synchronization

/// Every worker's view of the `subscriptions` topic: the table by id plus an index by
/// webhook token (what ingress looks up for `/webhooks/<token>`).
public final class SubscriptionDirectory: Service, Sendable {
    private let table: KafkaTable<SubscriptionRecord>
    private let tokens: TokenIndex
    private let republisher: TableRepublisher<SubscriptionRecord>?
    private let syncs = Mutex<(running: Task<Void, any Error>?, finished: ContinuousClock.Instant?)>((nil, nil))

    /// - Parameter republishing: the retention of a broker that trims by size (the embedded
    ///   one); when given, this directory also re-publishes subscriptions before it could trim
    ///   them (one process per broker is enough; more only write more copies).
    public init(topics: InletTopics, client: KafkaClientConfiguration, logger: Logger, republishing: PartitionRetention? = nil) {
        let tokens = TokenIndex()
        self.tokens = tokens
        let table = KafkaTable(
            topic: topics.subscriptions, configuration: client, logger: logger, keepsCopies: republishing != nil,
            onChange: { id, record in tokens.update(id: id, token: record.flatMap { $0.isLive ? $0.webhookToken : nil }) },
            decode: { try SubscriptionRecord.decoded(from: $0) }
        )
        self.table = table
        republisher = republishing.map {
            TableRepublisher(table: table, client: client, retention: $0, logger: logger)
        }
    }

    public func run() async throws {
        try await table.run(republishing: republisher)
    }

    /// Waits until the initial load is complete.
    public func waitUntilLoaded() async throws {
        try await table.waitUntilCaughtUp()
    }

    /// Whether the initial load reached the end of the topic (until then an unknown token
    /// may belong to a subscription not read yet).
    public var isLoaded: Bool { table.isCaughtUp }

    /// Like `sync`, but shared: callers arriving while one runs wait for it, and a sync that
    /// finished less than `maxAge` ago counts as done — so a flood of requests for unknown
    /// webhook URLs costs at most a few syncs per second.
    public func recentSync(maxAge: Duration = .milliseconds(250), timeout: Duration = .seconds(2)) async throws {
        let task = syncs.withLock { state -> Task<Void, any Error>? in
            if let finished = state.finished, ContinuousClock.now - finished < maxAge { return nil }
            if let running = state.running { return running }
            let running = Task { [table] in
                defer { self.syncs.withLock { $0.running = nil; $0.finished = .now } }
                try await table.sync(timeout: timeout)
            }
            state.running = running
            return running
        }
        try await task?.value
    }

    /// Waits until every subscription write made so far is visible here.
    public func sync(timeout: Duration = .seconds(30)) async throws { try await table.sync(timeout: timeout) }

    public subscript(id: String) -> SubscriptionRecord? { table[id] }

    /// The live subscription whose webhook URL carries `token`.
    public func subscription(forToken token: String) -> SubscriptionRecord? {
        guard let id = tokens.id(forToken: token) else { return nil }
        return table[id]
    }

    public func all() -> [SubscriptionRecord] { Array(table.snapshot().values) }
}

/// Webhook token → subscription id, kept in step with the table.
private final class TokenIndex: Sendable {
    private struct Index {
        var idByToken: [String: String] = [:]
        var tokenById: [String: String] = [:]
    }

    private let index = Mutex(Index())

    /// Records that subscription `id` now answers to `token` (`nil`: to none).
    func update(id: String, token: String?) {
        index.withLock { index in
            if let old = index.tokenById[id] { index.idByToken[old] = nil }
            index.tokenById[id] = token
            if let token { index.idByToken[token] = id }
        }
    }

    func id(forToken token: String) -> String? {
        index.withLock { $0.idByToken[token] }
    }
}
