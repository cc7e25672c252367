import ArgumentParser
import Foundation
import InletConnectors
import InletHTTP
import InletKafka
import InletObservability
import InletPipeline
import Logging

/// `inlet ingress`: HTTP ingress + admin API. Stateless; run any number of replicas.
struct IngressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingress",
        abstract: "Run the HTTP ingress (webhooks, app events) and the admin API (/api/v1).",
        discussion: "Needs INLET_ADMIN_TOKEN (or INLET_ADMIN_TOKENS_FILE) and INLET_SECRET_KEY. Every request is answered only after the broker acknowledged it."
    )

    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var embedded: EmbeddedBrokerOption
    @OptionGroup var ingress: IngressOptions
    @OptionGroup var role: RoleOptions

    func run() async throws {
        LoggingSetup.bootstrap()
        let logger = Logger(label: "inlet.ingress")
        let client = try kafka.client()
        let topics = kafka.topics()
        let configuration = ingress.configuration
        let services = RoleServices(
            topics: topics, client: client, workspace: try role.loadWorkspace(), guarantee: role.guarantee(default: .atLeastOnce),
            publicURL: role.publicURL(default: "http://\(configuration.host):\(configuration.port)"),
            vault: try RoleOptions.vault(allowEphemeral: false, logger: logger), apiBaseOverride: role.resolvedAPIBaseOverride, networkAccess: role.networkAccess,
            embeddedRetention: embedded.embeddedRetention, logger: logger
        )
        let producer = try await services.ingressProducer()
        // Against `inlet broker`, ingress re-publishes the tables' records before the broker
        // could trim them (it writes connections; the handler writes subscriptions).
        let retention = embedded.embeddedRetention
        let subscriptions = SubscriptionDirectory(topics: topics, client: client, logger: logger, republishing: retention)
        let connections = ConnectionDirectory(topics: topics, client: client, logger: logger, republishing: retention)
        let replies = ReplyWaiter(topics: topics, client: client, logger: logger)
        let scripts = ScriptEngine(configuration: .init(), logger: logger)
        defer { scripts.shutdown() }
        let backlog = retention.map { _ in services.backlogGuard() }
        let globalWebhooks = GlobalWebhookDirectory(topics: topics, client: client, issuingFor: (services.workspace, producer), logger: logger)
        let connectorParameters = services.connectorParameters()
        let customers = services.customers()
        let appEventSubscriptions = services.appEventSubscriptions()
        let readiness = Readiness()
        let server = services.ingress(
            configuration: configuration, adminTokens: try RoleOptions.adminTokens(token: RoleOptions.adminToken(allowGenerated: false), logger: logger), producer: producer,
            subscriptions: subscriptions, connections: connections, replies: replies, scripts: scripts, adminWait: ingress.adminWait,
            backlog: backlog, globalWebhooks: globalWebhooks, connectorParameters: connectorParameters, customers: customers,
            appEventSubscriptions: appEventSubscriptions, readiness: readiness
        ) { port in
            FileHandle.standardOutput.write(Data("ingress listening on http://\(configuration.host):\(port)\n".utf8))
        }
        do {
            try await RoleServices.run(
                [subscriptions, connections, replies, globalWebhooks, connectorParameters, customers, appEventSubscriptions, server] + (backlog.map { [$0] } ?? [])
                    + role.operationsServer(readiness: readiness, logger: logger), logger: logger)
        } catch {
            await producer.shutdown()
            throw error
        }
        await producer.shutdown()
    }
}

/// `inlet handler`: runs connector methods for the subscriptions of its partitions.
struct HandlerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "handler",
        abstract: "Run a handler: subscribe/unsubscribe/refresh and handle webhooks for the subscriptions of its partitions.",
        discussion: "Scale by adding replicas (one consumer group). Needs INLET_SECRET_KEY to open connection credentials."
    )

    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var embedded: EmbeddedBrokerOption
    @OptionGroup var role: RoleOptions

    @Option(help: "Time limit of one JavaScript method call, in seconds (env: INLET_SCRIPT_TIME_LIMIT).")
    var scriptTimeLimit: Double?

    func run() async throws {
        LoggingSetup.bootstrap()
        let logger = Logger(label: "inlet.handler")
        let client = try kafka.client()
        let topics = kafka.topics()
        let services = RoleServices(
            topics: topics, client: client, workspace: try role.loadWorkspace(), guarantee: try embedded.guarantee(role.requestedGuarantee, default: .exactlyOnce),
            publicURL: role.publicURL(default: "http://127.0.0.1:8080"),
            vault: try RoleOptions.vault(allowEphemeral: false, logger: logger), apiBaseOverride: role.resolvedAPIBaseOverride, networkAccess: role.networkAccess,
            embeddedRetention: embedded.embeddedRetention, instanceId: role.resolvedInstanceId, archiveRetention: try role.archiveRetention(), logger: logger
        )
        let subscriptions = SubscriptionDirectory(topics: topics, client: client, logger: logger)
        let connections = ConnectionDirectory(topics: topics, client: client, logger: logger)
        let scripts = ScriptEngine(configuration: .init(timeLimit: scriptLimit), logger: logger)
        defer { scripts.shutdown() }
        let connectorParameters = services.connectorParameters()
        let handler = services.handler(subscriptions: subscriptions, connections: connections, connectorParameters: connectorParameters, scripts: scripts)
        let readiness = Readiness()
        readiness.add(handler.readinessChecks)
        try await RoleServices.run(
            [subscriptions, connections, connectorParameters, handler] + role.operationsServer(readiness: readiness, logger: logger),
            logger: logger
        )
    }

    var scriptLimit: Duration {
        .milliseconds(Int64((scriptTimeLimit ?? Environment.string("INLET_SCRIPT_TIME_LIMIT").flatMap(Double.init) ?? 5) * 1000))
    }
}

/// `inlet dispatcher`: normalizes, validates, de-duplicates and routes record events.
struct DispatcherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatcher",
        abstract: "Run a dispatcher: records → validated, de-duplicated CloudEvents on the events topics.",
        discussion: "Scale by adding replicas (one consumer group)."
    )

    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var embedded: EmbeddedBrokerOption
    @OptionGroup var role: RoleOptions

    func run() async throws {
        LoggingSetup.bootstrap()
        let logger = Logger(label: "inlet.dispatcher")
        let client = try kafka.client()
        let topics = kafka.topics()
        let services = RoleServices(
            topics: topics, client: client, workspace: try role.loadWorkspace(), guarantee: try embedded.guarantee(role.requestedGuarantee, default: .exactlyOnce),
            publicURL: "", vault: .ephemeral(), embeddedRetention: embedded.embeddedRetention, instanceId: role.resolvedInstanceId,
            logger: logger
        )
        let dispatcher = services.dispatcher(routing: try role.routing(topics: topics))
        let readiness = Readiness()
        readiness.add(dispatcher.readinessChecks)
        try await RoleServices.run([dispatcher] + role.operationsServer(readiness: readiness, logger: logger), logger: logger)
    }
}
