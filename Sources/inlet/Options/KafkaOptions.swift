import ArgumentParser
import InletKafka
import InletPipeline

/// Options shared by every command that talks to Kafka.
struct KafkaOptions: ParsableArguments {
    @Option(help: "Kafka brokers, host:port[,host:port] (env: INLET_KAFKA_BOOTSTRAP_SERVERS).")
    var bootstrapServers: String?

    @Option(help: "Prefix of every Inlet topic (env: INLET_TOPIC_PREFIX).")
    var topicPrefix: String?

    @Option(help: "Client id reported to the brokers (env: INLET_KAFKA_CLIENT_ID).")
    var clientId: String?

    /// The client configuration from flags, then `INLET_KAFKA_*` variables.
    func client(default defaultServers: String? = nil) throws -> KafkaClientConfiguration {
        var configuration = KafkaClientConfiguration(bootstrapServers: [])
        configuration.apply(environment: Environment.values)
        configuration.additionalProperties["client.id"] = nil
        if let servers = bootstrapServers ?? defaultServers {
            configuration.bootstrapServers = servers.split(separator: ",").map(String.init)
        }
        if let clientId = clientId ?? Environment.string("INLET_KAFKA_CLIENT_ID") { configuration.clientId = clientId }
        guard !configuration.bootstrapServers.isEmpty else {
            throw ValidationError("no Kafka brokers given: pass --bootstrap-servers host:port or set INLET_KAFKA_BOOTSTRAP_SERVERS (or use `inlet dev` for an embedded broker)")
        }
        return configuration
    }

    /// Inlet's topics: the given values, then `INLET_TOPIC_*` variables, then the defaults
    /// (replication matters only to `inlet topics create`; the roles only need the names).
    func topics(partitions: Int? = nil, replicationFactor: Int? = nil, defaultReplicationFactor: Int = 1) -> InletTopics {
        InletTopics(
            prefix: topicPrefix ?? Environment.string("INLET_TOPIC_PREFIX") ?? "inlet.",
            partitions: partitions ?? Environment.int("INLET_TOPIC_PARTITIONS") ?? 8,
            replicationFactor: replicationFactor ?? Environment.int("INLET_TOPIC_REPLICATION_FACTOR") ?? defaultReplicationFactor
        )
    }
}
