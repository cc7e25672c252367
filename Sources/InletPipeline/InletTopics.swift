import InletKafka

/// The one place that names Inlet's topics (ARCHITECTURE.md, "Topics").
///
/// `ingress`, `commands` and `records` share one partition count so that a subscription's
/// input, commands and records land on the same partition number, owned by one handler.
public struct InletTopics: Sendable, Hashable {
    /// Prepended to every name; default `inlet.`.
    public var prefix: String
    /// Partitions of every topic keyed by subscription (and of the others).
    public var partitions: Int
    /// Replicas of every topic; above 1 it also sets `minInSyncReplicas`.
    public var replicationFactor: Int
    /// How long `dlq` keeps a dead letter (`retention.ms` when the topic is created): long
    /// enough to look into a failure and replay it. Default 30 days.
    public var deadLetterRetention: Duration = .seconds(30 * 24 * 3600)
    /// How long `audit` keeps the admin API's audit trail (`retention.ms`). Default 365 days.
    public var auditRetention: Duration = .seconds(365 * 24 * 3600)

    public init(prefix: String = "inlet.", partitions: Int = 8, replicationFactor: Int = 1) {
        self.prefix = prefix
        self.partitions = partitions
        self.replicationFactor = replicationFactor
    }

    public var ingress: String { prefix + "ingress" }
    public var ingressGlobal: String { prefix + "ingress.global" }
    public var ingressAppEvents: String { prefix + "ingress.app-events" }
    public var commands: String { prefix + "commands" }
    public var subscriptions: String { prefix + "subscriptions" }
    public var connections: String { prefix + "connections" }
    public var globalWebhooks: String { prefix + "global-webhooks" }
    public var connectorParameters: String { prefix + "connector-parameters" }
    public var customers: String { prefix + "customers" }
    public var scanSnapshots: String { prefix + "scan-snapshots" }
    public var appEventSubscriptions: String { prefix + "app-event-subscriptions" }
    public var records: String { prefix + "records" }
    public var events: String { prefix + "events" }
    public var appEvents: String { prefix + "app-events" }
    public var replies: String { prefix + "replies" }
    public var dlq: String { prefix + "dlq" }
    /// Admin API writes: who, what, when (`AuditRecord`).
    public var audit: String { prefix + "audit" }

    /// `min.insync.replicas` of every topic: one fewer than `replicationFactor` (2 of 3). A
    /// write acknowledged with `acks=all` is then on at least that many brokers, and one
    /// replica may be down without stopping writes. `nil` (not set) without replication.
    public var minInSyncReplicas: Int? {
        replicationFactor > 1 ? max(1, replicationFactor - 1) : nil
    }

    /// Every topic with its partitions and configs (compaction for the tables,
    /// `min.insync.replicas` when replicated).
    public var all: [KafkaTopicSpec] {
        let durability: [String: String] = minInSyncReplicas.map { ["min.insync.replicas": String($0)] } ?? [:]
        func spec(_ name: String, compacted: Bool = false, retention: Duration? = nil) -> KafkaTopicSpec {
            var configs = durability
            if compacted { configs["cleanup.policy"] = "compact" }
            if let retention { configs["retention.ms"] = String(retention.components.seconds * 1000) }
            return KafkaTopicSpec(name: name, partitions: partitions, replicationFactor: replicationFactor, configs: configs)
        }
        return [
            spec(ingress), spec(ingressGlobal), spec(ingressAppEvents), spec(commands),
            spec(subscriptions, compacted: true), spec(connections, compacted: true), spec(globalWebhooks, compacted: true),
            spec(connectorParameters, compacted: true), spec(customers, compacted: true), spec(scanSnapshots, compacted: true),
            spec(appEventSubscriptions, compacted: true),
            spec(records), spec(events), spec(appEvents), spec(replies),
            spec(dlq, retention: deadLetterRetention), spec(audit, retention: auditRetention),
        ]
    }

    /// Every topic as the embedded broker gets them: the two tables have four times the
    /// partitions, since that broker keeps about 5 MiB per partition and does not compact, so
    /// the live records of a table must fit in its partitions (re-published before they are
    /// trimmed). With 8 partitions: 32 per table, room for about 200,000 subscriptions of
    /// 566 B. Readers learn a table's partition count from the broker.
    public var allForEmbeddedBroker: [KafkaTopicSpec] {
        all.map { spec in
            guard spec.name == subscriptions || spec.name == connections else { return spec }
            var table = spec
            table.partitions = partitions * 4
            return table
        }
    }

    /// The topic name for a message type's unprefixed topic name (`"ingress"`).
    public func named(_ unprefixed: String) -> String { prefix + unprefixed }
}
