import Foundation
import InletConnectors
import InletKafka
import Logging
import ServiceLifecycle
import Synchronization

/// Every process's view of the `global-webhooks` topic: the URL token of each global webhook
/// of each connector.
///
/// A process that serves the admin API passes `issuingFor:` (its workspace and producer), and
/// ``run()`` then gives every global webhook without a token a random one once the view is
/// loaded (``ensureTokens(for:producer:)``). Two such processes starting at
/// the same moment may both write one; each then reads the table again and both use the
/// last written, so every URL they show is the one that stays.
public final class GlobalWebhookDirectory: Service, Sendable {
    private let table: KafkaTable<GlobalWebhookRecord>
    private let topic: String
    private let issuing: (workspace: Workspace, producer: KafkaProducer)?
    private let issued = Atomic<Bool>(false)
    private let logger: Logger

    /// - Parameter issuingFor: the workspace whose global webhooks get tokens, and the
    ///   producer that writes them; `nil` in a process that only reads the tokens.
    public init(topics: InletTopics, client: KafkaClientConfiguration, issuingFor issuing: (workspace: Workspace, producer: KafkaProducer)? = nil, logger: Logger) {
        table = KafkaTable(topic: topics.globalWebhooks, configuration: client, logger: logger) {
            try GlobalWebhookRecord.decoded(from: $0)
        }
        topic = topics.globalWebhooks
        self.issuing = issuing
        self.logger = logger
    }

    /// Reads the table until shutdown; with `issuingFor`, also makes the missing tokens once
    /// loaded (retrying every 2 s while the broker refuses).
    public func run() async throws {
        guard let issuing else { return try await table.run() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.table.run() }
            group.addTask {
                try await cancelWhenGracefulShutdown {
                    while true {
                        do {
                            try await self.ensureTokens(for: issuing.workspace, producer: issuing.producer)
                            self.issued.store(true, ordering: .releasing)
                            return
                        } catch let error as CancellationError {
                            throw error
                        } catch {
                            self.logger.warning("global webhooks: could not store URL tokens, trying again in 2 s: \(error)")
                            try await Task.sleep(for: .seconds(2))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Whether the initial load reached the end of the topic.
    public var isLoaded: Bool { table.isCaughtUp }

    /// Whether the URLs can be shown: loaded, and — in a process that makes tokens — every
    /// missing token made and read back, so a URL shown is the one that stays.
    public var isIssued: Bool { issuing == nil ? isLoaded : issued.load(ordering: .acquiring) }

    /// The record of one global webhook, if it has a token.
    public func record(connectorKey: String, key: String) -> GlobalWebhookRecord? {
        table[RawRequest.globalKey(connectorKey: connectorKey, globalWebhookKey: key)]
    }

    /// Whether `token` is the token of this global webhook (compared in constant time).
    public func accepts(_ token: String, connectorKey: String, key: String) -> Bool {
        guard let record = record(connectorKey: connectorKey, key: key) else { return false }
        return ConstantTime.equal(record.token.utf8, token.utf8)
    }

    /// Every global webhook of `workspace` with its record (those without a token yet are
    /// left out), sorted by connector and key.
    public func all(in workspace: Workspace) -> [(webhook: GlobalWebhook, record: GlobalWebhookRecord)] {
        workspace.connectors.keys.sorted().flatMap { connectorKey in
            let connector = workspace.connectors[connectorKey]!
            return connector.globalWebhooks.keys.sorted().compactMap { key in
                record(connectorKey: connectorKey, key: key).map { (connector.globalWebhooks[key]!, $0) }
            }
        }
    }

    /// Every global webhook of `workspace` with its record once all have tokens, or those
    /// that have one after `timeout` (for a banner printed at start).
    public func waitForTokens(of workspace: Workspace, timeout: Duration = .seconds(10)) async -> [(webhook: GlobalWebhook, record: GlobalWebhookRecord)] {
        let deadline = ContinuousClock.now + timeout
        while !isIssued, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        return all(in: workspace)
    }

    /// Gives every global webhook of `workspace` that has none a random token, then waits
    /// until this view holds the table's final word on each.
    private func ensureTokens(for workspace: Workspace, producer: KafkaProducer) async throws {
        try await table.waitUntilCaughtUp()
        var missing: [GlobalWebhookRecord] = []
        for (connectorKey, connector) in workspace.connectors {
            for key in connector.globalWebhooks.keys where record(connectorKey: connectorKey, key: key) == nil {
                missing.append(GlobalWebhookRecord(connectorKey: connectorKey, key: key, token: RandomToken.make(bytes: 32), createdAt: Date()))
            }
        }
        guard !missing.isEmpty else { return }
        try await producer.sendAll(missing.map { KafkaRecord(topic: topic, key: $0.kafkaKey, value: $0.encoded()) })
        try await table.sync()
        logger.info("global webhooks: made URL tokens for \(missing.compactMap(\.kafkaKey).sorted().joined(separator: ", "))")
    }
}
