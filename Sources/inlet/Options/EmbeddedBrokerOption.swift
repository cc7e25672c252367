import ArgumentParser
import InletKafka

/// The roles' option saying that the broker is Inlet's embedded one (`inlet broker`).
struct EmbeddedBrokerOption: ParsableArguments {
    @Flag(help: ArgumentHelp(
        "The broker is Inlet's embedded one (`inlet broker`), which keeps about 5 MiB per partition whether or not it was consumed: ingress refuses webhooks with 503 and the handler waits for the dispatcher before a backlog could be trimmed, and ingress re-publishes the tables (env: INLET_EMBEDDED_BROKER=1; `inlet dev` always does)."
    ))
    var embeddedBroker = false

    /// The embedded broker's retention, when the roles run against it.
    var embeddedRetention: PartitionRetention? {
        let flagged = embeddedBroker || Environment.string("INLET_EMBEDDED_BROKER").map { ["1", "true", "yes"].contains($0.lowercased()) } == true
        return flagged ? .embeddedBroker : nil
    }

    /// The processing guarantee for a worker role: on the embedded broker at-least-once (it
    /// does not store offsets sent in a transaction, so exactly-once would never move on);
    /// `requested` exactly-once there is refused with a reason.
    func guarantee(_ requested: ProcessingGuarantee?, default defaultGuarantee: ProcessingGuarantee) throws -> ProcessingGuarantee {
        guard embeddedRetention != nil else { return requested ?? defaultGuarantee }
        if requested == .exactlyOnce {
            throw ValidationError(
                "exactly-once needs a real Kafka cluster: the embedded broker (`inlet broker`, --embedded-broker) does not store offsets sent inside a transaction; use --processing-guarantee at-least-once (the default there)"
            )
        }
        return .atLeastOnce
    }
}
