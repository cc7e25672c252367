import Foundation
import InletConnectors
import InletKafka
import InletObservability
import Logging
import ServiceLifecycle
import Synchronization

/// The handler role as a service: the `Handler` loop over `ingress` + `commands`, the
/// `GlobalHandler` loop over `ingress.global` (its own consumer group, `<prefix>global-handler`),
/// the `AppEventProcessor` loop over `ingress.app-events` (group `<prefix>app-events`), and the
/// refresh and pull timer, which turns due `nextRefreshTimestamp`s of owned subscriptions into
/// `refresh` commands (so refreshes are ordered with everything else the subscription gets).
public struct HandlerService: Service {
    private let settings: WorkerSettings
    private let handler: Handler
    private let output: SharedProducer
    private let logger: Logger
    private let processor: StreamProcessor
    private let globalHandler: GlobalHandler
    private let globalProcessor: StreamProcessor
    private let appEventProcessor: StreamProcessor
    private let backlog: BacklogGuard?
    private let globalBacklog: BacklogGuard?
    /// Seals connections and connector parameters anew after a key rotation.
    private let connectionResealing: ConnectionResealing?
    /// The tables per-customer app event subscriptions need.
    private let appEventSubscriptions: AppEventSubscriptionDirectory
    private let customers: CustomerDirectory
    /// What readiness waits for besides the loops: the tables every input needs.
    private let tables: [ReadinessCheck]

    public init(
        settings: WorkerSettings, publicURL: String, runtime: ConnectorRuntime, subscriptions: SubscriptionDirectory,
        connections: ConnectionDirectory, vault: CredentialVault, connectorParameters: ConnectorParametersDirectory? = nil,
        appAPIURL: String? = nil, logger: Logger
    ) {
        self.settings = settings
        tables = [
            .condition("subscriptions table", waiting: "loading from Kafka") { subscriptions.isLoaded },
            .condition("connections table", waiting: "loading from Kafka") { connections.isLoaded },
        ] + (connectorParameters.map { parameters in [.condition("connector parameters table", waiting: "loading from Kafka") { parameters.isLoaded }] } ?? [])
        let output = SharedProducer()
        let appEventSubscriptions = AppEventSubscriptionDirectory(topics: settings.topics, client: settings.client, logger: logger)
        let customers = CustomerDirectory(topics: settings.topics, client: settings.client, logger: logger)
        self.appEventSubscriptions = appEventSubscriptions
        self.customers = customers
        let topic = settings.topics.subscriptions
        handler = Handler(
            configuration: {
                var configuration = Handler.Configuration(topics: settings.topics, publicURL: publicURL)
                configuration.maxMessageBytes = settings.maxMessageBytes
                configuration.maxRetryDuration = settings.maxRetryDuration
                configuration.archiveRetention = settings.archiveRetention
                configuration.resealInterval = settings.resealInterval
                configuration.client = settings.client
                configuration.embeddedRetention = settings.embeddedRetention
                return configuration
            }(), runtime: runtime, subscriptions: subscriptions,
            connections: connections, vault: vault, connectorParameters: connectorParameters, logger: logger,
            announcePending: { record in
                try await output.send(KafkaRecord(topic: topic, key: record.id, value: record.encoded()))
            },
            connectionWrites: (
                write: { [connectionsTopic = settings.topics.connections] record in
                    try await output.send(KafkaRecord(topic: connectionsTopic, key: record.id, value: record.encoded()))
                },
                sendCommand: { record in try await output.send(record) }
            )
        )
        self.output = output
        self.logger = logger
        connectionResealing = handler.credentialRefreshes.map { refreshes in
            ConnectionResealing(
                topics: settings.topics, connections: connections, connectorParameters: connectorParameters, vault: vault,
                write: { record in try await output.send(record) }, owns: { refreshes.ownedPartitions.contains($0) },
                refreshing: { refreshes.isBusy($0) }, logger: logger)
        }
        // On the embedded broker: wait while the dispatcher lags so far behind on `records`
        // that more output could be trimmed before it is read.
        let backlog = settings.outputBacklog([settings.topics.records], readers: ["dispatcher"], logger: logger)
        var configuration = settings.processor(
            role: "handler", inputs: [settings.topics.ingress, settings.topics.commands],
            outputs: [settings.topics.records, settings.topics.subscriptions, settings.topics.replies, settings.topics.dlq, settings.topics.scanSnapshots])
        configuration.outputBacklog = backlog
        configuration.laneExecutor = runtime.methodExecutor
        self.backlog = backlog
        processor = StreamProcessor(configuration: configuration, transform: handler, logger: logger)
        globalHandler = GlobalHandler(
            topics: settings.topics, runtime: runtime, subscriptions: subscriptions, connectorParameters: connectorParameters,
            maxMessageBytes: settings.maxMessageBytes, logger: logger)
        var global = settings.processor(
            role: "global-handler", inputs: [settings.topics.ingressGlobal], outputs: [settings.topics.ingress, settings.topics.replies, settings.topics.dlq])
        // Routed events go to `ingress`, which this process's own handler loop reads.
        globalBacklog = settings.outputBacklog([settings.topics.ingress], readers: ["handler"], logger: logger)
        global.outputBacklog = globalBacklog
        global.laneExecutor = runtime.methodExecutor
        globalProcessor = StreamProcessor(configuration: global, transform: globalHandler, logger: logger)
        appEventProcessor = StreamProcessor(
            configuration: settings.processor(
                role: "app-events", inputs: [settings.topics.ingressAppEvents], outputs: [settings.topics.appEvents, settings.topics.appEventSubscriptions, settings.topics.dlq]),
            transform: AppEventProcessor(
                topics: settings.topics, workspace: runtime.workspace, client: settings.client,
                subscriptions: .init(directory: appEventSubscriptions, customers: customers, subscriber: AppEventSubscriber(appAPIURL: appAPIURL), publicURL: publicURL),
                logger: logger), logger: logger)
    }

    /// What the global handler has routed.
    public var globalStatistics: GlobalHandler.Statistics { globalHandler.statistics }

    /// What `/health/ready` checks for this role: its tables loaded, its three loops running
    /// in their groups.
    public var readinessChecks: [ReadinessCheck] {
        tables + [processor, globalProcessor, appEventProcessor].map { loop in ReadinessCheck(name: "handler loop") { loop.readinessProblem } }
    }

    /// The partition numbers of `ingress` and `commands` its handler loop is assigned now.
    public var assignedPartitions: Set<Int32> { handler.assignedPartitions }

    /// The partitions of `commands` its credential refresher owns now: the connections whose
    /// id falls in them are this handler's to refresh.
    public var credentialRefresherPartitions: Set<Int32> { handler.credentialRefreshes?.ownedPartitions ?? [] }

    /// The counters of the handler's consume-transform-produce loop.
    public var statistics: StreamProcessorStatistics { processor.currentStatistics }

    public func run() async throws {
        let producer = try KafkaProducer(configuration: settings.producer, logger: logger)
        output.set(producer)
        do {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await processor.run() }
                group.addTask { try await globalProcessor.run() }
                group.addTask { try await appEventProcessor.run() }
                group.addTask { try await appEventSubscriptions.run() }
                group.addTask { try await customers.run() }
                if let refreshes = handler.credentialRefreshes {
                    var consumer = KafkaConsumerConfiguration(client: settings.client, groupId: settings.groupId(role: "credential-refresher"))
                    // Requests are rare and wait seconds anyway: poll like a table, not like a loop.
                    consumer.fetchWaitMilliseconds = settings.client.tableFetchWaitMilliseconds
                    group.addTask { [consumer] in try await cancelWhenGracefulShutdown { try await refreshes.run(consumer: consumer) } }
                }
                if let backlog { group.addTask { try await backlog.run() } }
                if let globalBacklog { group.addTask { try await globalBacklog.run() } }
                group.addTask {
                    try await cancelWhenGracefulShutdown {
                        try await refreshTimer(producer: producer)
                    }
                }
            }
        } catch is CancellationError {
        } catch {
            await producer.shutdown()
            throw error
        }
        await producer.shutdown()
    }

    /// Every 500 ms: a `refresh`, `pull`, `expire` or `reseal` command for each owned subscription that is due,
    /// sent to `commands` so the work is ordered with the subscription's webhooks, runs on its
    /// owner and is recorded in Kafka.
    private func refreshTimer(producer: KafkaProducer) async throws {
        var lastSweep: ContinuousClock.Instant?
        while !Task.isCancelled {
            if let connectionResealing, lastSweep.map({ .now - $0 >= settings.resealInterval }) ?? true {
                lastSweep = .now
                _ = await connectionResealing.sweep()
            }
            for (id, dueAt) in handler.takeDueRefreshes() {
                await request(.refresh, of: id, dueAt: dueAt, producer: producer) { handler.refreshRequestFailed(id) }
            }
            for (id, dueAt) in handler.takeDuePulls() {
                await request(.pull, of: id, dueAt: dueAt, producer: producer) { handler.pullRequestFailed(id) }
            }
            for id in handler.takeDueExpiries() {
                await request(.expire, of: id, dueAt: nil, producer: producer) { handler.expireRequestFailed(id) }
            }
            for id in handler.takeDueReseals() {
                await request(.reseal, of: id, dueAt: nil, producer: producer) { handler.resealRequestFailed(id) }
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    private func request(_ type: Command.CommandType, of id: String, dueAt: Int64?, producer: KafkaProducer, failed: () -> Void) async {
        let command = Command(type: type, subscriptionId: id, issuedAt: Date(), dueAt: dueAt)
        do {
            try await producer.send(KafkaRecord(topic: settings.topics.commands, key: id, value: command.encoded()))
            logger.info("handler: \(type.rawValue) of \(id) is due")
        } catch {
            failed()
            logger.warning("handler: could not request the \(type.rawValue) of \(id), trying again: \(error)")
        }
    }
}

/// The handler's own producer (refresh commands, pending subscriptions), created when the
/// service runs.
final class SharedProducer: Sendable {
    private let producer = Mutex<KafkaProducer?>(nil)

    func set(_ producer: KafkaProducer) {
        self.producer.withLock { $0 = producer }
    }

    func send(_ record: KafkaRecord) async throws {
        guard let producer = producer.withLock({ $0 }) else {
            throw KafkaError(kind: .shutdown, message: "the handler's producer is not running")
        }
        try await producer.send(record)
    }
}
