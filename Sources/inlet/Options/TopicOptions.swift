import ArgumentParser
import InletPipeline

/// Topic naming and partitioning for the commands that create the topics themselves
/// (`inlet dev`, `inlet broker`).
struct TopicOptions: ParsableArguments {
    @Option(help: "Number of embedded brokers.")
    var brokers = 1

    @Option(help: "Partitions per topic (env: INLET_TOPIC_PARTITIONS).")
    var partitions: Int?

    @Option(help: "Prefix of every Inlet topic (env: INLET_TOPIC_PREFIX).")
    var topicPrefix: String?

    var topics: InletTopics {
        InletTopics(
            prefix: topicPrefix ?? Environment.string("INLET_TOPIC_PREFIX") ?? "inlet.",
            partitions: partitions ?? Environment.int("INLET_TOPIC_PARTITIONS") ?? 8
        )
    }
}
