import Foundation
import InletConnectors
import InletHTTP
import InletKafka
import InletObservability
import InletPipeline
import Logging
import ServiceLifecycle

/// Builds the services of each role, shared by `inlet dev` and the one-role commands.
struct RoleServices {
    let topics: InletTopics
    let client: KafkaClientConfiguration
    let workspace: Workspace
    let guarantee: ProcessingGuarantee
    let publicURL: String
    let vault: CredentialVault
    var apiBaseOverride: String? = nil
    /// Which addresses connector APIs may reach (`--allow-private-networks`).
    var networkAccess: NetworkAccess = .publicAddressesOnly
    /// The embedded broker's retention when the roles run against it.
    var embeddedRetention: PartitionRetention? = nil
    /// A name of this process stable across its restarts, for the transactional ids of its
    /// loops (`WorkerSettings.instanceId`).
    var instanceId: String? = nil
    /// How long archived subscriptions stay (`WorkerSettings.archiveRetention`).
    var archiveRetention: Duration = Handler.Configuration.defaultArchiveRetention
    let logger: Logger

    var settings: WorkerSettings {
        var settings = WorkerSettings(topics: topics, client: client, guarantee: guarantee, embeddedRetention: embeddedRetention)
        settings.instanceId = instanceId
        settings.archiveRetention = archiveRetention
        return settings
    }

    func handler(
        subscriptions: SubscriptionDirectory, connections: ConnectionDirectory, connectorParameters: ConnectorParametersDirectory, scripts: ScriptEngine
    ) -> HandlerService {
        HandlerService(
            settings: settings, publicURL: publicURL, runtime: ConnectorRuntime(workspace: workspace, scripts: scripts, logger: logger, apiBaseOverride: apiBaseOverride, networkAccess: networkAccess),
            subscriptions: subscriptions, connections: connections, vault: vault, connectorParameters: connectorParameters,
            appAPIURL: Environment.string("INLET_APP_API_URL"), logger: logger
        )
    }

    /// The workspace's connector parameters, opened with this process's vault.
    func connectorParameters() -> ConnectorParametersDirectory {
        ConnectorParametersDirectory(topics: topics, client: client, vault: vault, logger: logger)
    }

    /// The customers table (`/api/v1/customers`, customer tokens).
    func customers() -> CustomerDirectory {
        CustomerDirectory(topics: topics, client: client, logger: logger)
    }

    /// Per-customer app event subscriptions (`/api/v1/app-event-subscriptions`, the customers'
    /// webhook URIs).
    func appEventSubscriptions() -> AppEventSubscriptionDirectory {
        AppEventSubscriptionDirectory(topics: topics, client: client, logger: logger)
    }

    func dispatcher(routing: EventRouting) -> DispatcherService {
        DispatcherService(settings: settings, routing: routing, workspace: workspace, logger: logger)
    }

    /// Ingress's producer, with the ingress topics' metadata already read so the first
    /// webhooks after a start do not wait for it.
    func ingressProducer() async throws -> KafkaProducer {
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, linger: .microseconds(500), deliveryTimeoutMilliseconds: 10_000), logger: logger
        )
        let prepared = await producer.prepare(topics: [topics.ingress, topics.ingressGlobal, topics.ingressAppEvents, topics.audit])
        if !prepared.isEmpty, !prepared.contains(topics.audit) {
            logger.error("topic \(topics.audit) does not exist: admin API writes are refused with 503 until it does; run `inlet topics create` (it adds the missing topics only)")
        }
        return producer
    }

    /// The backpressure of ingress against the embedded broker's size-based retention: the
    /// ingress topics may hold at most half of what the broker keeps per partition beyond
    /// what their consumer groups (the handler, the app-event pass-through) have committed.
    func backlogGuard() -> BacklogGuard {
        BacklogGuard(
            client: client,
            watches: [
                .init(topic: topics.ingress, partitions: topics.partitions, groups: [settings.groupId(role: "handler")]),
                .init(topic: topics.ingressAppEvents, partitions: topics.partitions, groups: [settings.groupId(role: "app-events")]),
                .init(topic: topics.ingressGlobal, partitions: topics.partitions, groups: [settings.groupId(role: "global-handler")]),
            ],
            limits: .within(.embeddedBroker), logger: logger
        )
    }

    func ingress(
        configuration: IngressConfiguration, adminTokens: AdminTokens, producer: KafkaProducer, subscriptions: SubscriptionDirectory,
        connections: ConnectionDirectory, replies: ReplyWaiter, scripts: ScriptEngine, adminWait: Duration, backlog: BacklogGuard?,
        globalWebhooks: GlobalWebhookDirectory, connectorParameters: ConnectorParametersDirectory, customers: CustomerDirectory,
        appEventSubscriptions: AppEventSubscriptionDirectory, readiness: Readiness,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some Service {
        IngressServer(
            configuration: configuration, topics: topics, producer: producer, subscriptions: subscriptions,
            admin: AdminSetup(
                configuration: AdminConfiguration(tokens: adminTokens, publicURL: publicURL, waitTimeout: adminWait), workspace: workspace,
                connections: connections, vault: vault, customers: customers, appEventSubscriptions: appEventSubscriptions,
                deadLetters: DeadLetterStore(topics: topics, client: client, logger: logger)
            ),
            replies: replies,
            handshakes: PendingHandshakes(
                runtime: ConnectorRuntime(workspace: workspace, scripts: scripts, logger: logger, apiBaseOverride: apiBaseOverride, networkAccess: networkAccess),
                connections: connections, vault: vault, logger: logger
            ),
            backlog: backlog,
            globalWebhooks: globalWebhooks,
            connectorParameters: connectorParameters,
            logger: logger
        ).application(readiness: readiness, onRunning: onRunning)
    }

    /// Runs services until SIGINT/SIGTERM.
    static func run(_ services: [any Service], logger: Logger) async throws {
        let group = ServiceGroup(
            configuration: .init(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}
