/// How a `StreamProcessor` ties its outputs to its input offsets.
public enum ProcessingGuarantee: String, Sendable, Hashable, CaseIterable {
    /// Produce the outputs, wait for their acknowledgements, then commit the input offsets.
    /// A crash in between re-delivers the inputs; deterministic ids and idempotent consumers
    /// make the repeats harmless.
    case atLeastOnce = "at-least-once"
    /// Outputs and input offsets commit in one Kafka transaction. Requires a real cluster to
    /// be effective (the embedded broker accepts but does not enforce transactions).
    case exactlyOnce = "exactly-once"
}
