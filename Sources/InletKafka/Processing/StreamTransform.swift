/// The work a `StreamProcessor` does per input message, plus hooks for batch outcomes and
/// partition ownership.
///
/// A transform may keep state derived from its inputs. It must treat that state as
/// *tentative* until `batchCommitted()`: after `batchAborted()` the same inputs are
/// delivered again, and state changed by the aborted batch must be discarded.
public protocol StreamTransform: Sendable {
    /// Turns one input into the records to produce. Called sequentially, in input order.
    /// Throwing means "cannot process now": the batch is rolled back and retried.
    /// Business failures (bad input) should become DLQ records instead.
    func process(_ message: KafkaMessage) async throws -> [KafkaRecord]

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

extension StreamTransform {
    public func finalRecords() async throws -> [KafkaRecord] { [] }
    public func batchCommitted() async {}
    public func batchAborted() async {}
    public func partitionsAssigned(_ partitions: [TopicPartition]) async throws {}
    public func partitionsRevoked(_ partitions: [TopicPartition]) async {}
}
