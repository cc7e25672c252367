import InletConnectors
import InletKafka
import Logging
import ServiceLifecycle

/// The dispatcher role as a service: the `Dispatcher` loop over `records`.
public struct DispatcherService: Service {
    private let settings: WorkerSettings
    private let dispatcher: Dispatcher
    private let logger: Logger

    public init(settings: WorkerSettings, routing: EventRouting, workspace: Workspace, logger: Logger) {
        self.settings = settings
        var configuration = Dispatcher.Configuration(topics: settings.topics, routing: routing, client: settings.client)
        configuration.maxMessageBytes = settings.maxMessageBytes
        dispatcher = Dispatcher(configuration: configuration, workspace: workspace, logger: logger)
        self.logger = logger
    }

    public func run() async throws {
        let processor = StreamProcessor(
            configuration: settings.processor(role: "dispatcher", inputs: [settings.topics.records]), transform: dispatcher, logger: logger
        )
        try await processor.run()
    }
}
