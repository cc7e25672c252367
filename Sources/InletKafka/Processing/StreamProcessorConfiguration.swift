/// Settings of a consume-transform-produce loop.
public struct StreamProcessorConfiguration: Sendable {
    public var consumer: KafkaConsumerConfiguration
    public var producer: KafkaProducerConfiguration
    /// Input topics.
    public var topics: [String]
    /// Topics the loop writes to, when known in advance: their metadata is read when the
    /// producer is made, so the first batch after a start does not wait for it.
    public var outputTopics: [String] = []
    public var guarantee: ProcessingGuarantee
    /// At most this many input messages per batch (one commit or transaction per batch).
    public var maxBatchSize: Int
    /// How long one batch keeps taking messages before it is committed (it ends after the
    /// message in progress); capped at a third of `max.poll.interval.ms`.
    public var maxBatchDuration: Duration
    /// On a broker that trims by size (the embedded one): the loop's output topics and the
    /// groups that read them. Before each batch the loop waits while any of their partitions
    /// holds as much unconsumed output as the limits allow, so its input stays unconsumed
    /// (and ingress refuses new work) instead of its output being trimmed. Needs `run()` of
    /// the guard.
    public var outputBacklog: BacklogGuard?
    /// On graceful shutdown, how long the batch in progress may take to finish and commit
    /// before the loop is cancelled.
    public var shutdownDeadline: Duration = .seconds(10)
    /// Prefix of the transactional id (exactly-once): the id is
    /// `<prefix>-<groupId>-<instanceId>`, or a random suffix instead of `instanceId`.
    public var transactionalIdPrefix: String
    /// A name of this instance that stays the same across its restarts, e.g. the pod name of
    /// a Kubernetes StatefulSet (exactly-once only). When set, the transactional id is
    /// `<prefix>-<groupId>-<instanceId>`, so a restarted instance fences its predecessor and
    /// aborts the transaction it left open, instead of that transaction staying open until
    /// the transaction timeout and blocking `read_committed` readers of its partitions
    /// meanwhile. Two live instances must never share one: they would fence each other.
    /// When `nil` (or empty), a random suffix per run, and a warning (logged once per
    /// process) says a crashed predecessor cannot be fenced.
    public var instanceId: String?
    /// How often a failed batch is retried before `run()` gives up and throws.
    public var maxBatchAttempts: Int
    /// Where the lanes of a batch run (`nil`: Swift's global executor). A handler passes its
    /// script engine's executor, so connector methods run on the lane's own thread without a
    /// hand-off per call.
    public var laneExecutor: (any TaskExecutor)?
    /// Fault injection for tests: called after outputs are acknowledged and before input
    /// offsets are committed. Throwing here simulates a crash at the worst moment.
    public var beforeCommit: (@Sendable ([TopicPartition]) async throws -> Void)?

    public init(
        consumer: KafkaConsumerConfiguration,
        producer: KafkaProducerConfiguration,
        topics: [String],
        guarantee: ProcessingGuarantee = .atLeastOnce,
        maxBatchSize: Int = 500,
        maxBatchDuration: Duration = .seconds(30),
        transactionalIdPrefix: String = "inlet",
        maxBatchAttempts: Int = 5,
        beforeCommit: (@Sendable ([TopicPartition]) async throws -> Void)? = nil
    ) {
        self.consumer = consumer
        self.producer = producer
        self.topics = topics
        self.guarantee = guarantee
        self.maxBatchSize = maxBatchSize
        self.maxBatchDuration = maxBatchDuration
        self.transactionalIdPrefix = transactionalIdPrefix
        self.maxBatchAttempts = maxBatchAttempts
        self.beforeCommit = beforeCommit
    }
}
