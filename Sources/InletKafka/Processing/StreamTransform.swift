/// The work a `StreamProcessor` does per input message, plus hooks for batch outcomes and
/// partition ownership.
///
/// A transform may keep state derived from its inputs. It must treat that state as
/// *tentative* until `batchCommitted()`: after `batchAborted()` the same inputs are
/// delivered again, and state changed by the aborted batch must be discarded.
public protocol StreamTransform: Sendable {
    /// Turns one input into the records to produce. Called in input order for the messages of
    /// one partition number (whatever their topic), and concurrently for messages of different
    /// partition numbers: state per key must live in the lane of the key's partition.
    /// Throwing `RetryLater` means "not now, through no fault of the input" (e.g. the API is
    /// down): the inputs before it are committed (with `finalRecords`), and this one is given
    /// again after the delay. Throwing anything else means "cannot process now": the batch is
    /// rolled back and retried. Business failures (bad input) should become DLQ records.
    func process(_ message: KafkaMessage) async throws -> [KafkaRecord]

    /// Whether `message` must be alone in its batch, committed as soon as it is processed:
    /// for inputs whose processing has side effects outside Kafka (registering a webhook), so
    /// that a failure later in the same batch cannot make them run again.
    func isolates(_ message: KafkaMessage) -> Bool

    /// Records to write only after every record `process` returned for this batch is
    /// acknowledged — e.g. state that marks the batch's inputs as applied, which must never
    /// become durable before the outputs it vouches for. Called once per batch.
    func finalRecords() async throws -> [KafkaRecord]

    /// The outputs and input offsets of the current batch are durable.
    func batchCommitted() async

    /// The current batch was rolled back; its inputs will be delivered again.
    func batchAborted() async

    /// These partitions are now owned; called before any of their messages.
    func partitionsAssigned(_ partitions: [TopicPartition]) async throws

    /// These partitions were taken away; drop state kept for them.
    func partitionsRevoked(_ partitions: [TopicPartition]) async
}

/// Thrown by `StreamTransform.process` for an input that cannot be processed now through no
/// fault of its own; the loop commits what came before it and gives it again after `delay`.
public struct RetryLater: Error, Sendable, CustomStringConvertible {
    public var delay: Duration
    public var reason: String

    public init(after delay: Duration, reason: String) {
        self.delay = delay
        self.reason = reason
    }

    public var description: String { "retry after \(delay): \(reason)" }
}

extension StreamTransform {
    public func isolates(_ message: KafkaMessage) -> Bool { false }
    public func finalRecords() async throws -> [KafkaRecord] { [] }
    public func batchCommitted() async {}
    public func batchAborted() async {}
    public func partitionsAssigned(_ partitions: [TopicPartition]) async throws {}
    public func partitionsRevoked(_ partitions: [TopicPartition]) async {}
}
