import Foundation
import InletKafka
import Logging
import ServiceLifecycle
import Synchronization

/// Every worker's view of the `subscriptions` topic: the table by id plus an index by
/// webhook token (what ingress looks up for `/webhooks/<token>`) and one by global webhook
/// selector (what the global handler routes by).
public final class SubscriptionDirectory: Service, Sendable {
    private let table: KafkaTable<SubscriptionRecord>
    private let tokens: TokenIndex
    private let selectors: SelectorIndex
    private let republisher: TableRepublisher<SubscriptionRecord>?
    private let syncs = Mutex(SharedSyncs())

    /// - Parameter republishing: the retention of a broker that trims by size (the embedded
    ///   one); when given, this directory also re-publishes subscriptions before it could trim
    ///   them (one process per broker is enough; more only write more copies).
    public init(topics: InletTopics, client: KafkaClientConfiguration, logger: Logger, republishing: PartitionRetention? = nil) {
        let tokens = TokenIndex()
        let selectors = SelectorIndex()
        self.tokens = tokens
        self.selectors = selectors
        let table = KafkaTable(
            topic: topics.subscriptions, configuration: client, logger: logger, keepsCopies: republishing != nil,
            onChange: { id, record in
                tokens.update(id: id, token: record.flatMap { $0.isLive && $0.receivesWebhooks ? $0.webhookToken : nil })
                selectors.update(id: id, selector: record.flatMap(SelectorIndex.Selector.init))
            },
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

    /// Like `sync`, but shared: one sync runs at a time, and every caller waits for one that
    /// started after it arrived (callers arriving together share it) — so a flood of requests
    /// for unknown webhook URLs costs one sync after another, never one each.
    public func sharedSync(timeout: Duration = .seconds(5)) async throws {
        let arrival = ContinuousClock.now
        while true {
            let (task, covers) = syncs.withLock { state -> (Task<Void, any Error>, Bool) in
                if let running = state.running { return (running.task, running.startedAt >= arrival) }
                state.generation += 1
                let generation = state.generation
                let task = Task { [table] in
                    defer { self.syncs.withLock { if $0.generation == generation { $0.running = nil } } }
                    try await table.sync(timeout: timeout)
                }
                state.running = (task, .now)
                return (task, true)
            }
            if covers { return try await task.value }
            // Started before this caller arrived: it may miss a write made just before; wait
            // for it, then join or start the next one.
            _ = try? await task.value
        }
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

    /// The receiving subscriptions of a global webhook's events with this exact selector
    /// (`globalWebhookEventSelector`), sorted by id: an index lookup, not a scan.
    public func subscriptions(connectorKey: String, globalWebhookKey: String, selector: String) -> [SubscriptionRecord] {
        let key = SelectorIndex.Selector(connectorKey: connectorKey, globalWebhookKey: globalWebhookKey, selector: selector)
        return selectors.ids(for: key).sorted().compactMap { table[$0] }.filter(\.isReceiving)
    }
}

/// (connector, global webhook, selector) → ids of the live subscriptions with it, kept in
/// step with the table.
private final class SelectorIndex: Sendable {
    struct Selector: Hashable {
        var connectorKey: String
        var globalWebhookKey: String
        var selector: String

        init(connectorKey: String, globalWebhookKey: String, selector: String) {
            self.connectorKey = connectorKey
            self.globalWebhookKey = globalWebhookKey
            self.selector = selector
        }

        /// The selector of a live subscription to a global-webhook event, else `nil`.
        init?(_ record: SubscriptionRecord) {
            guard record.isLive, let key = record.globalWebhookKey, let selector = record.globalWebhookEventSelector else { return nil }
            self.init(connectorKey: record.connectorKey, globalWebhookKey: key, selector: selector)
        }
    }

    private struct Index {
        var idsBySelector: [Selector: Set<String>] = [:]
        var selectorById: [String: Selector] = [:]
    }

    private let index = Mutex(Index())

    func update(id: String, selector: Selector?) {
        index.withLock { index in
            if let old = index.selectorById[id] {
                index.idsBySelector[old]?.remove(id)
                if index.idsBySelector[old]?.isEmpty == true { index.idsBySelector[old] = nil }
            }
            index.selectorById[id] = selector
            if let selector { index.idsBySelector[selector, default: []].insert(id) }
        }
    }

    func ids(for selector: Selector) -> Set<String> {
        index.withLock { $0.idsBySelector[selector] ?? [] }
    }
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

/// The sync `SubscriptionDirectory.sharedSync` callers share.
private struct SharedSyncs {
    var running: (task: Task<Void, any Error>, startedAt: ContinuousClock.Instant)?
    var generation = 0
}
