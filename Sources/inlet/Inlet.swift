import ArgumentParser
import InletPipeline

@main
struct Inlet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inlet",
        abstract: "Turns webhooks, polled API pages and app events into one stream of normalized events on Kafka.",
        discussion: """
            Start everything on an embedded broker with `inlet dev`. Against a real cluster, run one \
            role per process (`inlet ingress`, `inlet handler`, `inlet dispatcher`) with \
            --bootstrap-servers or INLET_KAFKA_BOOTSTRAP_SERVERS. Any librdkafka property can be set as \
            INLET_KAFKA_<PROPERTY> (dots as underscores), e.g. INLET_KAFKA_SECURITY_PROTOCOL=ssl.
            """,
        version: InletVersion.current,
        subcommands: [
            DevCommand.self, IngressCommand.self, HandlerCommand.self, DispatcherCommand.self, BrokerCommand.self,
            ConnectorCommand.self, DeadLetterCommand.self, TopicsCommand.self, TailCommand.self, SchemaCommand.self, CustomersCommand.self, SubscriptionsCommand.self,
        ]
    )
}
