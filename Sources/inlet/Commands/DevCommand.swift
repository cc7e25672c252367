import ArgumentParser
import Foundation
import InletConnectors
import InletHTTP
import InletKafka
import InletObservability
import InletPipeline
import Logging
import ServiceLifecycle

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run every role in one process on an embedded Kafka broker.",
        discussion: """
            Starts librdkafka's built-in Kafka cluster on loopback (its address is printed, so any \
            Kafka client can consume the normalized topics), creates Inlet's topics, and runs the \
            HTTP ingress with the admin API, a handler, a dispatcher and the app-event pass-through. \
            Stop with Ctrl-C. Data lives in memory only.
            """
    )

    @OptionGroup var ingress: IngressOptions
    @OptionGroup var role: RoleOptions

    @OptionGroup var topicOptions: TopicOptions

    func run() async throws {
        LoggingSetup.bootstrap()
        let logger = Logger(label: "inlet.dev")
        let topics = topicOptions.topics
        let workspace = try role.loadWorkspace()
        let cluster = try EmbeddedKafkaCluster(brokers: topicOptions.brokers, logger: logger)
        defer { cluster.stop() }
        try cluster.createTopics(topics.allForEmbeddedBroker)
        var client = KafkaClientConfiguration(bootstrapServers: [cluster.bootstrapServers], clientId: "inlet-dev")
        // The embedded broker holds every fetch for its whole wait: short for the loops a
        // webhook passes through, longer for the tables, which change seldom.
        client.consumerFetchWaitMilliseconds = Environment.int("INLET_KAFKA_FETCH_WAIT_MAX_MS") ?? 5
        client.tableFetchWaitMilliseconds = Environment.int("INLET_KAFKA_TABLE_FETCH_WAIT_MAX_MS") ?? 50
        var ingressOptions = ingress
        // One process runs every role: no older handler can meet a raw record.
        ingressOptions.defaultRecordFormat = .raw
        let ingressConfiguration = {
            var configuration = ingressOptions.configuration
            // Like the admin token: `inlet dev` makes an app key when INLET_APP_KEY is not set.
            if configuration.appKey == nil { configuration.appKey = "app-" + RandomToken.make(bytes: 12) }
            return configuration
        }()
        let appKey = ingressConfiguration.appKey ?? ""
        let services = RoleServices(
            topics: topics, client: client, workspace: workspace,
            // The embedded broker cannot enforce transactions (docs/architecture.md).
            guarantee: role.guarantee(default: .atLeastOnce),
            publicURL: role.publicURL(default: "http://\(ingressConfiguration.host):\(ingressConfiguration.port)"),
            vault: try RoleOptions.vault(allowEphemeral: true, logger: logger), apiBaseOverride: role.resolvedAPIBaseOverride, networkAccess: role.networkAccess,
            embeddedRetention: .embeddedBroker, archiveRetention: try role.archiveRetention(), logger: logger
        )
        // Always one (generated when INLET_ADMIN_TOKEN is not set): the banner prints it.
        let adminToken = RoleOptions.adminToken(allowGenerated: true) ?? ""
        let adminTokens = try RoleOptions.adminTokens(token: adminToken, logger: logger)
        let producer = try await services.ingressProducer()
        // The embedded broker trims by size and does not compact: this process re-publishes
        // the tables' records before they could be trimmed.
        let subscriptions = SubscriptionDirectory(topics: topics, client: client, logger: logger, republishing: .embeddedBroker)
        let connections = ConnectionDirectory(topics: topics, client: client, logger: logger, republishing: .embeddedBroker)
        let replies = ReplyWaiter(topics: topics, client: client, logger: logger)
        let scripts = ScriptEngine(configuration: .init(), logger: logger)
        defer { scripts.shutdown() }
        let backlog = services.backlogGuard()
        let bootstrap = cluster.bootstrapServers
        let summary = workspace.summary
        let globalWebhooks = GlobalWebhookDirectory(topics: topics, client: client, issuingFor: (workspace, producer), logger: logger)
        let connectorParameters = services.connectorParameters()
        let customers = services.customers()
        let appEventSubscriptions = services.appEventSubscriptions()
        let publicURL = services.publicURL
        let handler = services.handler(subscriptions: subscriptions, connections: connections, connectorParameters: connectorParameters, scripts: scripts)
        let dispatcher = services.dispatcher(routing: try role.routing(topics: topics))
        // /health/ready on the ingress port covers every role of the process.
        let readiness = Readiness()
        readiness.add(handler.readinessChecks + dispatcher.readinessChecks)
        let server = services.ingress(
            configuration: ingressConfiguration, adminTokens: adminTokens, producer: producer, subscriptions: subscriptions,
            connections: connections, replies: replies, scripts: scripts, adminWait: ingress.adminWait,
            backlog: backlog, globalWebhooks: globalWebhooks, connectorParameters: connectorParameters, customers: customers,
            appEventSubscriptions: appEventSubscriptions, readiness: readiness
        ) { port in
            let urls = await globalWebhooks.waitForTokens(of: workspace).map { "\($0.record.connectorKey)/\($0.record.key): \(publicURL)\($0.record.path)" }
            let banner = Self.banner(
                bootstrap: bootstrap, host: ingressConfiguration.host, port: port, topics: topics, token: adminToken, workspace: summary, globalWebhooks: urls,
                appKey: appKey, appEventType: workspace.appEventTypes.keys.sorted().first)
            FileHandle.standardOutput.write(Data((banner + "\n").utf8))
        }
        do {
            try await RoleServices.run(
                [
                    subscriptions, connections, replies, backlog, globalWebhooks, connectorParameters, customers, appEventSubscriptions,
                    handler, dispatcher, server,
                ] + role.operationsServer(readiness: readiness, logger: logger),
                logger: logger
            )
        } catch {
            await producer.shutdown()
            throw error
        }
        await producer.shutdown()
    }

    static func banner(
        bootstrap: String, host: String, port: Int, topics: InletTopics, token: String, workspace: String, globalWebhooks: [String] = [],
        appKey: String = "", appEventType: String? = nil
    ) -> String {
        let global = globalWebhooks.isEmpty ? "" : "\n  Global webhooks:   " + globalWebhooks.joined(separator: "\n                     ")
        let tryIt = appEventType.map { type in
            """
            Try it:
              curl -s -X POST http://\(host):\(port)/app-events/\(type) -H 'Authorization: Bearer \(appKey)' -H 'X-Inlet-Customer-Id: acme' -H 'content-type: application/json' -d '{…}'
              inlet tail \(topics.appEvents) --bootstrap-servers \(bootstrap)
            """
        } ?? "Add app event types as app-events/<type>.yml to send events from your app."
        return """
        Inlet \(InletVersion.current) is running.
          Kafka (embedded):  \(bootstrap)
          HTTP ingress:      http://\(host):\(port)   (webhooks: /webhooks/<token>, app events: /app-events/<type>)
          Admin API:         http://\(host):\(port)/api/v1   (Authorization: Bearer \(token))
          Console:           http://\(host):\(port)/console#token=\(token)
          App events:        Authorization: Bearer \(appKey)
          Workspace:         \(workspace)\(global)
        \(tryIt)
        """
    }
}

/// `inlet broker`: only the embedded broker with Inlet's topics (for running roles as
/// separate processes on one machine).
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run only the embedded Kafka broker, with Inlet's topics, until stopped.",
        discussion: "Prints `bootstrap.servers=<address>` on its first line; point the roles at it with --bootstrap-servers."
    )

    @OptionGroup var topicOptions: TopicOptions

    func run() async throws {
        LoggingSetup.bootstrap()
        let logger = Logger(label: "inlet.broker")
        let topics = topicOptions.topics
        let cluster = try EmbeddedKafkaCluster(brokers: topicOptions.brokers, logger: logger)
        try cluster.createTopics(topics.allForEmbeddedBroker)
        FileHandle.standardOutput.write(Data("bootstrap.servers=\(cluster.bootstrapServers)\n".utf8))
        try await RoleServices.run([UntilShutdown()], logger: logger)
        cluster.stop()
    }
}

/// A service that only waits for SIGINT/SIGTERM.
private struct UntilShutdown: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}
