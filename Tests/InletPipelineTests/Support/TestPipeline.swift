import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import InletConnectors
import InletHTTP
import InletKafka
import InletPipeline
import Logging
import NIOCore
import Synchronization
import Testing

/// The webhook pipeline in one process, with handlers started and stopped by the test:
/// embedded broker, tables, dispatcher, the stand-in API, and ingress with the admin API.
final class TestPipeline: Sendable {
    let harness: IngressHarness
    let stub = StubAPI()
    let workspace: Workspace
    let vault = CredentialVault(secret: "test-pipeline-key")
    let connections: ConnectionDirectory
    let globalWebhooks: GlobalWebhookDirectory
    let connectorParameters: ConnectorParametersDirectory
    let customers: CustomerDirectory
    let appEventSubscriptions: AppEventSubscriptionDirectory
    let scripts: ScriptEngine
    let settings: WorkerSettings
    /// Events read live from `events` (the broker trims it, so it is read during the test).
    let events = Mutex<[NormalizedEvent]>([])
    private let handlers = Mutex<[(service: HandlerService, task: Task<Void, any Error>)]>([])

    /// The partitions each handler started so far is assigned now.
    var handlerPartitions: [Set<Int32>] { handlers.withLock { $0.map(\.service.assignedPartitions) } }

    /// The partitions of `commands` each handler's credential refresher owns now.
    var refresherPartitions: [Set<Int32>] { handlers.withLock { $0.map(\.service.credentialRefresherPartitions) } }

    /// The loop counters of every handler started so far.
    var handlerStatistics: [StreamProcessorStatistics] { handlers.withLock { $0.map(\.service.statistics) } }

    /// - Parameter workspace: the repository's own connectors/ unless given.
    /// The app key ingress takes app events with.
    let appKey: String?
    /// The admin tokens; `nil`: `WebhookEndToEndTests.adminToken` alone.
    let adminTokens: AdminTokens?

    init(
        workspace: Workspace? = nil, appKey: String? = nil, adminTokens: AdminTokens? = nil, settings configure: (inout WorkerSettings) -> Void = { _ in }
    ) throws {
        self.appKey = appKey
        self.adminTokens = adminTokens
        harness = try IngressHarness()
        self.workspace = try workspace ?? WebhookEndToEndTests.workspace()
        connections = ConnectionDirectory(topics: harness.topics, client: harness.client, logger: harness.logger)
        globalWebhooks = GlobalWebhookDirectory(
            topics: harness.topics, client: harness.client, issuingFor: (self.workspace, harness.producer), logger: harness.logger)
        connectorParameters = ConnectorParametersDirectory(topics: harness.topics, client: harness.client, vault: vault, logger: harness.logger)
        customers = CustomerDirectory(topics: harness.topics, client: harness.client, logger: harness.logger)
        appEventSubscriptions = AppEventSubscriptionDirectory(topics: harness.topics, client: harness.client, logger: harness.logger)
        scripts = ScriptEngine(configuration: .init(timeLimit: .seconds(5)), logger: harness.logger)
        var settings = WorkerSettings(topics: harness.topics, client: harness.client)
        configure(&settings)
        self.settings = settings
    }

    /// A workspace under Tests/Fixtures/workspaces, which must load without a problem.
    static func fixtureWorkspace(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Workspace {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/workspaces/\(name)")
        let loaded = WorkspaceLoader().load(from: root)
        #expect(loaded.problems.isEmpty, "\(loaded.problems.map(\.description))", sourceLocation: sourceLocation)
        return try #require(loaded.workspace, sourceLocation: sourceLocation)
    }

    var runtime: ConnectorRuntime {
        ConnectorRuntime(workspace: workspace, scripts: scripts, logger: harness.logger, apiBaseOverride: stub.baseURL)
    }

    /// Starts one more handler (a member of the handler group), with the pipeline's vault
    /// unless given another (a key rotation).
    @discardableResult
    func startHandler(vault: CredentialVault? = nil) -> Task<Void, any Error> {
        let handler = HandlerService(
            settings: settings, publicURL: "https://hooks.example.com", runtime: runtime, subscriptions: harness.subscriptions,
            connections: connections, vault: vault ?? self.vault, connectorParameters: connectorParameters,
            appAPIURL: stub.baseURL.map { $0 + "/app-api" }, logger: harness.logger
        )
        let task = Task {
            do {
                try await handler.run()
            } catch is CancellationError {
            } catch {
                // A handler that ends on its own leaves every later subscribe waiting: say why.
                if !Task.isCancelled { Issue.record("a handler stopped: \(error)") }
                throw error
            }
        }
        handlers.withLock { $0.append((handler, task)) }
        return task
    }

    /// Stops every handler started so far.
    func stopHandlers() async {
        let running = handlers.withLock { tasks in
            defer { tasks.removeAll() }
            return tasks
        }
        for (_, task) in running {
            task.cancel()
            _ = await task.result
        }
    }

    /// Ingress with every part of the admin API.
    func server(replies: ReplyWaiter? = nil, recordFormat: RawRequestRecordFormat = .raw, backlog: BacklogGuard? = nil) -> IngressServer {
        IngressServer(
            configuration: IngressConfiguration(port: 0, recordFormat: recordFormat, appKey: appKey), topics: harness.topics, producer: harness.producer,
            subscriptions: harness.subscriptions,
            admin: AdminSetup(
                configuration: AdminConfiguration(
                    tokens: adminTokens ?? AdminTokens(single: WebhookEndToEndTests.adminToken), publicURL: "https://hooks.example.com", waitTimeout: .seconds(90)),
                workspace: workspace, connections: connections, vault: vault, customers: customers, appEventSubscriptions: appEventSubscriptions,
                deadLetters: DeadLetterStore(topics: harness.topics, client: harness.client, logger: harness.logger)
            ),
            replies: replies,
            handshakes: PendingHandshakes(runtime: runtime, connections: connections, vault: vault, logger: harness.logger),
            backlog: backlog, globalWebhooks: globalWebhooks, connectorParameters: connectorParameters, logger: harness.logger
        )
    }

    /// Runs the stand-in API, tables, dispatcher, one handler and ingress around `body`.
    /// Without `replies`, ingress answers every webhook as soon as it is stored, instead of
    /// waiting for `handle`'s own response where a connector may give one.
    func run(
        backlog: BacklogGuard? = nil, replies withReplies: Bool = true, recordFormat: RawRequestRecordFormat = .raw, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        defer { scripts.shutdown() }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await self.stub.run() }
            try await stub.waitUntilRunning()
            let dispatcher = DispatcherService(settings: settings, routing: EventRouting(topics: harness.topics), workspace: workspace, logger: harness.logger)
            tasks.addTask { try await self.harness.subscriptions.run() }
            tasks.addTask { try await self.connections.run() }
            tasks.addTask { try await self.globalWebhooks.run() }
            tasks.addTask { try await self.connectorParameters.run() }
            tasks.addTask { try await self.customers.run() }
            tasks.addTask { try await self.appEventSubscriptions.run() }
            tasks.addTask { try await dispatcher.run() }
            if let backlog { tasks.addTask { try await backlog.run() } }
            tasks.addTask { try await self.readEvents() }
            startHandler()
            let replies = ReplyWaiter(topics: harness.topics, client: harness.client, logger: harness.logger)
            tasks.addTask { try await replies.run() }
            let server = server(replies: withReplies ? replies : nil, recordFormat: recordFormat, backlog: backlog)
            try await server.application().test(.live) { client in
                try await body(client)
            }
            await stopHandlers()
            tasks.cancelAll()
        }
        await harness.stop()
    }

    private func readEvents() async throws {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(client: harness.client, groupId: "events-\(UUID())"), topics: [harness.topics.events],
            logger: harness.logger
        )
        while !Task.isCancelled {
            for case .message(let message) in (try? await consumer.poll(timeout: .milliseconds(100))) ?? [] {
                guard let value = message.value, let event = try? NormalizedEvent.decoded(from: value) else { continue }
                events.withLock { $0.append(event) }
            }
        }
        await consumer.close()
    }

    /// POSTs `body` to a webhook path of the ingress at `base` with `headers`; the status.
    static func post(_ base: String, _ path: String, body: String, headers: [String: String]) async throws -> (status: UInt, retryAfter: String?, body: String) {
        var request = HTTPClientRequest(url: base + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let answer = try await response.body.collect(upTo: 1 << 16)
        return (response.status.code, response.headers.first(name: "Retry-After"), String(buffer: answer))
    }
}
