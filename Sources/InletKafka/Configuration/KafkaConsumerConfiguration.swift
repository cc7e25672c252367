/// Settings of a consumer-group member.
public struct KafkaConsumerConfiguration: Sendable, Hashable {
    /// Where to start when the group has no committed offset (`auto.offset.reset`).
    public enum OffsetReset: String, Sendable, Hashable {
        case earliest, latest
    }

    /// Whether records of aborted transactions are returned (`isolation.level`).
    public enum IsolationLevel: String, Sendable, Hashable {
        case readCommitted = "read_committed"
        case readUncommitted = "read_uncommitted"
    }

    /// How partitions are spread over members (`partition.assignment.strategy`).
    /// Inlet uses `.range` so that the same partition of co-partitioned topics
    /// (`ingress`, `commands`, `records`) lands on the same member.
    public enum AssignmentStrategy: String, Sendable, Hashable {
        case range
        case roundRobin = "roundrobin"
    }

    public var client: KafkaClientConfiguration
    /// The consumer group (`group.id`); members of one group share the partitions.
    public var groupId: String
    public var offsetReset: OffsetReset
    public var isolationLevel: IsolationLevel
    public var assignmentStrategy: AssignmentStrategy
    /// A member that sends no heartbeat for this long is removed (`session.timeout.ms`).
    public var sessionTimeoutMilliseconds: Int
    /// How long processing of one batch may take before the member is removed
    /// (`max.poll.interval.ms`).
    public var maxPollIntervalMilliseconds: Int
    /// Whether `poll` yields `.endOfPartition` each time the consumer reaches the end of a
    /// partition (`enable.partition.eof`); for readers that must know when they caught up.
    public var reportEndOfPartition: Bool
    /// This consumer's `fetch.wait.max.ms`; `nil`: the client's `consumerFetchWaitMilliseconds`.
    public var fetchWaitMilliseconds: Int?

    public init(
        client: KafkaClientConfiguration,
        groupId: String,
        offsetReset: OffsetReset = .earliest,
        isolationLevel: IsolationLevel = .readCommitted,
        assignmentStrategy: AssignmentStrategy = .range,
        sessionTimeoutMilliseconds: Int = 10_000,
        maxPollIntervalMilliseconds: Int = 300_000,
        reportEndOfPartition: Bool = false
    ) {
        self.client = client
        self.groupId = groupId
        self.offsetReset = offsetReset
        self.isolationLevel = isolationLevel
        self.assignmentStrategy = assignmentStrategy
        self.sessionTimeoutMilliseconds = sessionTimeoutMilliseconds
        self.maxPollIntervalMilliseconds = maxPollIntervalMilliseconds
        self.reportEndOfPartition = reportEndOfPartition
    }

    var librdkafkaProperties: [(String, String)] {
        client.baseProperties + [
            ("group.id", groupId),
            ("auto.offset.reset", offsetReset.rawValue),
            ("isolation.level", isolationLevel.rawValue),
            ("partition.assignment.strategy", assignmentStrategy.rawValue),
            ("session.timeout.ms", String(sessionTimeoutMilliseconds)),
            ("heartbeat.interval.ms", String(max(100, sessionTimeoutMilliseconds / 5))),
            ("max.poll.interval.ms", String(maxPollIntervalMilliseconds)),
            // Offsets are stored and committed by the caller once outputs are acknowledged.
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("enable.partition.eof", reportEndOfPartition ? "true" : "false"),
        ] + ((fetchWaitMilliseconds ?? client.consumerFetchWaitMilliseconds).map { [("fetch.wait.max.ms", String($0))] } ?? [])
            + client.additionalProperties.sorted { $0.key < $1.key }
    }
}
