import InletKafka

/// What every worker role needs to build its consume-transform-produce loop.
public struct WorkerSettings: Sendable {
    public var topics: InletTopics
    public var client: KafkaClientConfiguration
    public var guarantee: ProcessingGuarantee
    public var maxBatchSize: Int

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
            consumer: KafkaConsumerConfiguration(client: client, groupId: groupId(role: role)),
            producer: producer,
            topics: inputs,
            guarantee: guarantee,
            maxBatchSize: maxBatchSize,
            transactionalIdPrefix: "\(topics.prefix)\(role)"
        )
    }

    public var producer: KafkaProducerConfiguration {
        KafkaProducerConfiguration(client: client, lingerMilliseconds: 1)
    }
}
