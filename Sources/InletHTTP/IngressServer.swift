import Foundation
import Hummingbird
import InletConnectors
import InletObservability
import InletKafka
import InletPipeline
import Logging
import ServiceLifecycle

/// What the admin API needs besides what ingress has.
public struct AdminSetup: Sendable {
    public var configuration: AdminConfiguration
    public var workspace: Workspace
    public var connections: ConnectionDirectory
    public var vault: CredentialVault
    /// The customers table (`/api/v1/customers`, customer tokens for app events).
    public var customers: CustomerDirectory?
    /// Per-customer app event subscriptions (`/api/v1/app-event-subscriptions`, and the
    /// customers' webhook URIs).
    public var appEventSubscriptions: AppEventSubscriptionDirectory?
    /// The dead-letter topic, for `/api/v1/dead-letters`.
    public var deadLetters: DeadLetterStore?

    public init(
        configuration: AdminConfiguration, workspace: Workspace, connections: ConnectionDirectory, vault: CredentialVault, customers: CustomerDirectory? = nil,
        appEventSubscriptions: AppEventSubscriptionDirectory? = nil, deadLetters: DeadLetterStore? = nil
    ) {
        self.appEventSubscriptions = appEventSubscriptions
        self.deadLetters = deadLetters
        self.configuration = configuration
        self.workspace = workspace
        self.connections = connections
        self.vault = vault
        self.customers = customers
    }
}

/// `inlet ingress`: the HTTP server for webhooks, app events and the admin API.
public struct IngressServer: Sendable {
    public let configuration: IngressConfiguration
    let routes: IngressRoutes
    let admin: AdminRoutes?
    let logger: Logger

    public init(
        configuration: IngressConfiguration, topics: InletTopics, producer: KafkaProducer, subscriptions: SubscriptionDirectory,
        admin: AdminSetup? = nil, replies: ReplyWaiter? = nil, handshakes: PendingHandshakes? = nil, backlog: BacklogGuard? = nil,
        globalWebhooks: GlobalWebhookDirectory? = nil, connectorParameters: ConnectorParametersDirectory? = nil,
        workspace: Workspace? = nil, logger: Logger
    ) {
        self.configuration = configuration
        routes = IngressRoutes(
            topics: topics, configuration: configuration,
            appender: IngressAppender(producer: producer, backlog: backlog, retryAfterSeconds: 1), subscriptions: subscriptions, replies: replies,
            workspace: admin?.workspace ?? workspace, handshakes: handshakes, globalWebhooks: globalWebhooks,
            customers: admin?.customers, tokens: admin.flatMap { setup in setup.customers.map { _ in CustomerTokens(vault: setup.vault) } },
            appEventSubscriptions: admin?.appEventSubscriptions
        )
        self.admin = admin.map {
            AdminRoutes(
                configuration: $0.configuration, topics: topics, workspace: $0.workspace, producer: producer,
                subscriptions: subscriptions, connections: $0.connections, vault: $0.vault, globalWebhooks: globalWebhooks,
                connectorParameters: connectorParameters, customers: $0.customers, appEventSubscriptions: $0.appEventSubscriptions,
                deadLetters: $0.deadLetters
            )
        }
        self.logger = logger
    }

    /// What ingress needs before it is ready: its tables loaded, so it can tell a valid
    /// webhook from an unknown one (until then webhooks get 503 + Retry-After).
    public var readinessChecks: [ReadinessCheck] {
        var checks = [ReadinessCheck.condition("subscriptions table", waiting: "loading from Kafka") { [subscriptions = routes.subscriptions] in subscriptions.isLoaded }]
        if let connections = admin?.connections {
            checks.append(.condition("connections table", waiting: "loading from Kafka") { connections.isLoaded })
        }
        if let globalWebhooks = routes.globalWebhooks {
            checks.append(.condition("global webhooks table", waiting: "loading from Kafka") { globalWebhooks.isLoaded })
        }
        if let connectorParameters = admin?.connectorParameters {
            checks.append(.condition("connector parameters table", waiting: "loading from Kafka") { connectorParameters.isLoaded })
        }
        return checks
    }

    /// The Hummingbird application; `onRunning` receives the bound port. `/health/ready`
    /// answers for `readiness` (every role of the process; ingress's own checks are added to
    /// it), or for ingress's checks alone.
    public func application(readiness: Readiness? = nil, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = router(readiness: readiness)
        let connectionGuard = ConnectionGuard(maxConnections: configuration.maxConnections, headerTimeout: configuration.headerTimeout)
        return Application(
            router: router,
            server: .http1(configuration: .init(
                additionalChannelHandlers: [connectionGuard.handler()],
                idleTimeout: ConnectionGuard.timeAmount(configuration.idleTimeout))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "inlet"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    /// Every route ingress serves (`router.routes` lists them; a test compares them with
    /// schemas/openapi.yml).
    public func router(readiness: Readiness? = nil) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: HTTPMetricsMiddleware())
        router.add(middleware: ProblemMiddleware())
        let readiness = readiness ?? Readiness()
        readiness.add(readinessChecks)
        OperationsRoutes(readiness: readiness).registerHealth(on: router)
        if let admin {
            // On the public port, metrics need the admin token (the operations port, when
            // there is one, serves them without).
            router.group("metrics").add(middleware: AdminAuthMiddleware(tokens: admin.configuration.tokens, audit: nil)).get { _, _ in OperationsRoutes.metricsResponse() }
        }
        routes.register(on: router)
        admin?.register(on: router)
        if admin != nil { ConsoleRoutes().register(on: router) }
        return router
    }
}
