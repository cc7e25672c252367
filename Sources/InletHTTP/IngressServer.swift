import Foundation
import Hummingbird
import InletKafka
import InletPipeline
import Logging
import ServiceLifecycle

/// `inlet ingress`: the HTTP server for webhooks and app events.
public struct IngressServer: Sendable {
    public let configuration: IngressConfiguration
    let routes: IngressRoutes
    let logger: Logger

    public init(configuration: IngressConfiguration, topics: InletTopics, producer: KafkaProducer, subscriptions: SubscriptionDirectory, logger: Logger) {
        self.configuration = configuration
        routes = IngressRoutes(topics: topics, configuration: configuration, producer: producer, subscriptions: subscriptions)
        self.logger = logger
    }

    /// The Hummingbird application; `onRunning` receives the bound port.
    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: ProblemMiddleware())
        router.get("/health") { _, _ in Response.json(["status": "ok"]) }
        routes.register(on: router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "inlet"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }
}
