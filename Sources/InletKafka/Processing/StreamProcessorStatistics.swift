/// Counters of a `StreamProcessor`, for logs, metrics and tests.
public struct StreamProcessorStatistics: Sendable, Hashable {
    public var messagesIn = 0
    public var recordsOut = 0
    public var batchesCommitted = 0
    public var batchesRolledBack = 0
    public var transactionsBegun = 0
    public var transactionOffsetsSent = 0
    public var transactionsCommitted = 0
    public var transactionsAborted = 0
    /// Transactional calls repeated after a retriable error.
    public var retriedCalls = 0
    /// Offset commits that failed (the inputs will be re-delivered to the next owner).
    public var failedCommits = 0
    /// Times partitions were taken away from this member (rebalances, leaving the group after
    /// exceeding `max.poll.interval.ms`).
    public var revocations = 0
    /// Times the loop waited because a downstream partition was full (`outputBacklog`).
    public var downstreamWaits = 0
    /// Inputs the transform deferred (`RetryLater`).
    public var retriesLater = 0
    /// Messages the broker's retention removed before this group read them.
    public var messagesLost = 0

    public init() {}
}
