import InletKafka

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

    public init(topics: InletTopics, client: KafkaClientConfiguration, guarantee: ProcessingGuarantee = .atLeastOnce, maxBatchSize: Int = 500) {
        self.topics = topics
        self.client = client
        self.guarantee = guarantee
        self.maxBatchSize = maxBatchSize
    }

    /// The consumer group of a role: `<prefix><role>`.
    public func groupId(role: String) -> String { "\(topics.prefix)\(role)" }

    /// The loop configuration for a role's consumer group (`<prefix><role>`).
    public func processor(role: String, inputs: [String]) -> StreamProcessorConfiguration {
        StreamProcessorConfiguration(
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
    }

    public var producer: KafkaProducerConfiguration {
        KafkaProducerConfiguration(client: client, lingerMilliseconds: 1)
    }
}
