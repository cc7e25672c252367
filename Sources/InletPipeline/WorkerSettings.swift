import InletKafka
import Logging

/// What every worker role needs to build its consume-transform-produce loop.
public struct WorkerSettings: Sendable {
    public var topics: InletTopics
    public var client: KafkaClientConfiguration
    public var guarantee: ProcessingGuarantee
    public var maxBatchSize: Int
    /// How long one batch keeps taking messages (capped at a third of `maxPollInterval`).
    public var maxBatchDuration: Duration = .seconds(30)
    /// How long a member may go without polling before the group removes it
    /// (`max.poll.interval.ms`).
    public var maxPollInterval: Duration = .seconds(300)
    /// How long a subscription's inputs are retried while its API fails transiently before
    /// they go to the DLQ (`retries-exhausted`).
    public var maxRetryDuration: Duration = .seconds(15 * 60)
    /// How long an archived (deleted) subscription stays on `subscriptions` before the
    /// handler removes it (`Handler.Configuration.archiveRetention`).
    public var archiveRetention: Duration = Handler.Configuration.defaultArchiveRetention
    /// How often a handler looks for records it owns that another key sealed (after a key
    /// rotation) and writes them again with the sealing key.
    public var resealInterval: Duration = .seconds(30)
    /// The retention of a broker that trims by size (the embedded one), or `nil` for a real
    /// cluster: then a worker waits before its output could be trimmed unconsumed.
    public var embeddedRetention: PartitionRetention?
    /// A name of this worker that stays the same across its restarts (e.g. the pod name of a
    /// Kubernetes StatefulSet), for stable transactional ids under exactly-once: a restarted
    /// worker then fences its predecessor's open transaction
    /// (`StreamProcessorConfiguration.instanceId`). `nil`: a random id per run.
    public var instanceId: String?

    public init(
        topics: InletTopics, client: KafkaClientConfiguration, guarantee: ProcessingGuarantee = .atLeastOnce, maxBatchSize: Int = 500,
        embeddedRetention: PartitionRetention? = nil
    ) {
        self.embeddedRetention = embeddedRetention
        self.topics = topics
        self.client = client
        self.guarantee = guarantee
        self.maxBatchSize = maxBatchSize
    }

    /// With `embeddedRetention`: a guard over `outputs`, read by the groups of `readers`
    /// (roles), for `StreamProcessorConfiguration.outputBacklog`.
    public func outputBacklog(_ outputs: [String], readers: [String], logger: Logger) -> BacklogGuard? {
        guard let embeddedRetention else { return nil }
        return BacklogGuard(
            client: client, watches: outputs.map { .init(topic: $0, partitions: topics.partitions, groups: readers.map(groupId(role:))) },
            limits: .within(embeddedRetention), logger: logger
        )
    }

    /// The largest message the brokers accept: the client's `message.max.bytes`
    /// (`INLET_KAFKA_MESSAGE_MAX_BYTES`), else librdkafka's default 1,000,000.
    public var maxMessageBytes: Int {
        client.additionalProperties["message.max.bytes"].flatMap { Int($0) } ?? 1_000_000
    }

    /// The consumer group of a role: `<prefix><role>`.
    public func groupId(role: String) -> String { "\(topics.prefix)\(role)" }

    /// The loop configuration for a role's consumer group (`<prefix><role>`), reading
    /// `inputs` and writing (at least) `outputs`.
    public func processor(role: String, inputs: [String], outputs: [String]) -> StreamProcessorConfiguration {
        var configuration = StreamProcessorConfiguration(
            consumer: KafkaConsumerConfiguration(
                client: client, groupId: groupId(role: role),
                maxPollIntervalMilliseconds: Int(maxPollInterval.components.seconds * 1000 + maxPollInterval.components.attoseconds / 1_000_000_000_000_000)
            ),
            producer: producer,
            topics: inputs,
            guarantee: guarantee,
            maxBatchSize: maxBatchSize,
            maxBatchDuration: maxBatchDuration,
            transactionalIdPrefix: "\(topics.prefix)\(role)"
        )
        configuration.instanceId = instanceId
        configuration.outputTopics = outputs
        return configuration
    }

    public var producer: KafkaProducerConfiguration {
        KafkaProducerConfiguration(client: client, linger: .microseconds(500))
    }
}
