import InletConnectors
import InletKafka
import InletObservability
import Logging
import ServiceLifecycle

/// The dispatcher role as a service: the `Dispatcher` loop over `records`.
public struct DispatcherService: Service {
    private let processor: StreamProcessor

    public init(settings: WorkerSettings, routing: EventRouting, workspace: Workspace, logger: Logger) {
        var configuration = Dispatcher.Configuration(topics: settings.topics, routing: routing, client: settings.client)
        configuration.maxMessageBytes = settings.maxMessageBytes
        let dispatcher = Dispatcher(configuration: configuration, workspace: workspace, logger: logger)
        processor = StreamProcessor(
            configuration: settings.processor(
                role: "dispatcher", inputs: [settings.topics.records],
                outputs: [routing.defaultTopic, routing.appEventsTopic, settings.topics.dlq] + routing.connectorTopics.values.sorted()), transform: dispatcher, logger: logger
        )
    }

    /// What `/health/ready` checks for this role: its loop running in its group.
    public var readinessChecks: [ReadinessCheck] {
        [ReadinessCheck(name: "dispatcher loop") { [processor] in processor.readinessProblem }]
    }

    public func run() async throws {
        try await processor.run()
    }
}
