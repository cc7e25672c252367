import ArgumentParser
import Foundation
import InletHTTP
import InletKafka
import InletPipeline
import Logging
import ServiceLifecycle

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run every role in one process on an embedded Kafka broker.",
        discussion: """
            Starts librdkafka's built-in Kafka cluster on loopback (its address is printed, so any
            Kafka client can consume the normalized topics), creates Inlet's topics, and runs the
            HTTP ingress and the workers. Stop with Ctrl-C. Data lives in memory only.
            """
    )

    @OptionGroup var ingress: IngressOptions

    @Option(help: "Number of embedded brokers.")
    var brokers = 1

    @Option(help: "Partitions per topic (env: INLET_TOPIC_PARTITIONS).")
    var partitions: Int?

    @Option(help: "Prefix of every Inlet topic (env: INLET_TOPIC_PREFIX).")
    var topicPrefix: String?

    @Option(help: "Processing guarantee: at-least-once (env: INLET_PROCESSING_GUARANTEE). The embedded broker cannot enforce exactly-once.")
    var processingGuarantee: ProcessingGuarantee?

    func run() async throws {
        LoggingSetup.bootstrap()
        let logger = Logger(label: "inlet.dev")
        let topics = InletTopics(
            prefix: topicPrefix ?? Environment.string("INLET_TOPIC_PREFIX") ?? "inlet.",
            partitions: partitions ?? Environment.int("INLET_TOPIC_PARTITIONS") ?? 8
        )
        let cluster = try EmbeddedKafkaCluster(brokers: brokers, logger: logger)
        try cluster.createTopics(topics.all)
        let client = KafkaClientConfiguration(bootstrapServers: [cluster.bootstrapServers], clientId: "inlet-dev")

        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, lingerMilliseconds: 1, deliveryTimeoutMilliseconds: 10_000),
            logger: logger
        )
        let subscriptions = SubscriptionDirectory(topics: topics, client: client, logger: logger)
        let ingressConfiguration = ingress.configuration
        let server = IngressServer(configuration: ingressConfiguration, topics: topics, producer: producer, subscriptions: subscriptions, logger: logger)
        let bootstrap = cluster.bootstrapServers
        let application = server.application { port in
            FileHandle.standardOutput.write(Data((Self.banner(bootstrap: bootstrap, host: ingressConfiguration.host, port: port, topics: topics) + "\n").utf8))
        }
        let appEvents = StreamProcessor(
            configuration: StreamProcessorConfiguration(
                consumer: KafkaConsumerConfiguration(client: client, groupId: "\(topics.prefix)app-events"),
                producer: KafkaProducerConfiguration(client: client, lingerMilliseconds: 1),
                topics: [topics.ingressAppEvents],
                guarantee: processingGuarantee ?? Environment.string("INLET_PROCESSING_GUARANTEE").flatMap(ProcessingGuarantee.init(rawValue:)) ?? .atLeastOnce
            ),
            transform: AppEventPassThrough(topics: topics, logger: logger),
            logger: logger
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: subscriptions), .init(service: appEvents), .init(service: application)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            await producer.shutdown()
            cluster.stop()
            throw error
        }
        await producer.shutdown()
        cluster.stop()
    }

    static func banner(bootstrap: String, host: String, port: Int, topics: InletTopics) -> String {
        """
        Inlet \(InletVersion.current) is running.
          Kafka (embedded):  \(bootstrap)
          HTTP ingress:      http://\(host):\(port)
        Try it:
          curl -s -X POST http://\(host):\(port)/app-events/order-created -H 'content-type: application/json' -d '{"id":"o-1","total":42}'
          inlet tail \(topics.appEvents) --from-beginning --bootstrap-servers \(bootstrap)
        """
    }
}

extension ProcessingGuarantee: ExpressibleByArgument {}
