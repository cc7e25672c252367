// Each stream stage alone, draining a backlog, next to a pass-through loop over the same input
// in the same processing mode (the loop's own ceiling: consume, copy each message to another
// topic, produce, commit), all in one run:
//
//   handler:    `ingress` (signed GitHub `issues` deliveries, as ingress writes them, for 16
//               subscriptions) → connectors/github handle.js → `records` + subscriptions;
//   handler with a mapping `handle`: the same, in a run of its own, with handle.js replaced by
//               a declarative mapping that makes the same record event (without checking the
//               signature, which a mapping cannot do), so the two rows show what JavaScript costs;
//   dispatcher: `records` → schema check, de-duplication → normalized events on `events`.
//
//   swift run -c release InletBenchmarks stages [messages]
//
// The input is produced before the stage starts, so a figure is the stage's drain rate, not
// the rate of whatever feeds it. Outputs are counted by the partitions' high watermarks while
// the stage runs, from the first output on (joining the group is left out). CPU is the whole
// process's (user + system, broker threads included) over that time, per message. Everything is on loopback against the embedded broker; every wait has a
// deadline.
import Foundation
import Hummingbird
import InletConnectors
import InletHTTP
import InletKafka
import InletPipeline
import Logging
import ServiceLifecycle

func runStageThroughput(messages: Int = 20_000, subscriptionCount: Int = 16) async throws {
    let javascript = try await stageRows(handle: .javascript, messages: messages, subscriptionCount: subscriptionCount)
    try await checkMappingHandle()
    let mapping = try await stageRows(handle: .mapping, messages: messages, subscriptionCount: subscriptionCount)
    print("stages: \(messages) messages drained per stage, \(subscriptionCount) subscriptions, 16 partitions, 1 embedded broker, \(ProcessInfo.processInfo.activeProcessorCount) cores")
    print("| stage | messages/s | CPU µs per message | pass-through on the same input: messages/s | its CPU µs per message | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for (stage, baseline) in [(javascript.handler, javascript.ingressCopy), (mapping.handler, mapping.ingressCopy), (javascript.dispatcher, javascript.recordsCopy)] {
        guard let stage, let baseline else { continue }
        print(String(format: "| %@ | %.0f | %.0f | %.0f | %.0f | %.2f |", stage.name as NSString, stage.perSecond, stage.cpuMicroseconds,
                     baseline.perSecond, baseline.cpuMicroseconds, stage.perSecond / baseline.perSecond))
    }
    fflush(nil)
}

/// How the GitHub connector's `handle` is implemented in one run of the stages.
private enum HandleImplementation {
    /// connectors/github as it is: handle.js checks the signature and maps the delivery.
    case javascript
    /// handle.js replaced by `mappingHandle` (same record event, no signature check).
    case mapping
}

/// The rows of one run: each on its own embedded cluster, so the runs share nothing.
private struct StageRows {
    var ingressCopy: StageRow?
    var handler: StageRow?
    var recordsCopy: StageRow?
    var dispatcher: StageRow?
}

/// The record event handle.js makes for an `issues` delivery, as a declarative mapping.
private let mappingHandle = """
    events:
      - type:
          $map:
            value: {$var: data.action}
            mapping:
              - {from: opened, to: created}
              - {from: deleted, to: deleted}
              - {from: transferred, to: deleted}
            default: updated
        record:
          id: {$string: {$var: data.issue.number}}
          name: {$var: data.issue.title}
          createdTime: {$var: data.issue.created_at}
          updatedTime: {$var: data.issue.updated_at}
          deletedTime:
            $cond:
              - {$eval: {$var: data.action}, oneOf: [deleted, transferred]}
              - {$var: data.issue.updated_at}
          fields:
            number: {$var: data.issue.number}
            title: {$var: data.issue.title}
            body: {$cond: [{$eval: {$var: data.issue.body}, is: null}, null, {$var: data.issue.body}]}
            state: {$var: data.issue.state}
            url: {$var: data.issue.html_url}
            author: {$cond: [{$eval: {$var: data.issue.user.login}, is: null}, null, {$var: data.issue.user.login}]}
            labels: {$iterate: {source: {$var: data.issue.labels}, item: {$var: item.name}}}
            assignees: {$iterate: {source: {$var: data.issue.assignees}, item: {$var: item.login}}}
            action: {$var: data.action}
    """

/// A copy of the repository's workspace whose GitHub `issues` handle is `mappingHandle`.
private func mappingWorkspace() throws -> (workspace: Workspace, folder: URL) {
    let files = FileManager.default
    let folder = files.temporaryDirectory.appendingPathComponent("inlet-bench-stages-\(UUID().uuidString)")
    try files.createDirectory(at: folder, withIntermediateDirectories: true)
    try files.copyItem(at: repositoryRoot.appendingPathComponent("connectors"), to: folder.appendingPathComponent("connectors"))
    let event = folder.appendingPathComponent("connectors/github/events/issues")
    try files.removeItem(at: event.appendingPathComponent("handle.js"))
    try Data(mappingHandle.utf8).write(to: event.appendingPathComponent("handle.map.yml"))
    let specURL = event.appendingPathComponent("spec.yml")
    let spec = try String(contentsOf: specURL, encoding: .utf8)
    let javascriptHandle = "  handle:\n    implementationType: javascript\n"
    guard spec.contains(javascriptHandle) else { throw BenchmarkFailure("connectors/github/events/issues/spec.yml no longer declares a JavaScript handle") }
    try Data(spec.replacingOccurrences(of: javascriptHandle, with: "  handle:\n    implementationType: mapping\n").utf8).write(to: specURL)
    let loaded = WorkspaceLoader().load(from: folder)
    guard let workspace = loaded.workspace else { throw BenchmarkFailure("the workspace with a mapping handle does not load: \(loaded.problems)") }
    return (workspace, folder)
}

/// Fails unless `mappingHandle` gives the events handle.js gives, for each kind of action.
private func checkMappingHandle() async throws {
    let logger = quietLogger("inlet.bench.stages")
    let scripts = ScriptEngine(configuration: .init(timeLimit: .seconds(5)), logger: logger)
    defer { scripts.shutdown() }
    let (workspace, folder) = try mappingWorkspace()
    defer { try? FileManager.default.removeItem(at: folder) }
    let javascript = ConnectorRuntime(workspace: try repositoryWorkspace(), scripts: scripts, logger: logger)
    let mapping = ConnectorRuntime(workspace: workspace, scripts: scripts, logger: logger)
    let secret = "bench-secret-0123456789"
    let context = MethodContext(connectorKey: "github", owner: .event("issues"), parameters: ["owner": "octo", "repo": "hello", "secret": .string(secret)])
    for (action, body) in [("opened", nil), ("edited", "Steps to reproduce"), ("deleted", nil), ("transferred", "moved")] {
        let delivery = Data(issueDelivery(action: action, number: 7, title: "Found a bug", body: body).utf8)
        let request = WebhookRequest(
            method: "POST", path: "/webhooks/bench",
            headers: ["content-type": "application/json", "x-github-event": "issues", "x-hub-signature-256": githubSignature(delivery, secret: secret)],
            rawBody: delivery
        )
        let expected = try await javascript.handle(context, request: request)
        let mapped = try await mapping.handle(context, request: request)
        guard mapped == expected else {
            throw BenchmarkFailure("the mapping handle made \(mapped.events) for action \(action), handle.js \(expected.events)")
        }
    }
}

private func stageRows(handle: HandleImplementation, messages: Int, subscriptionCount: Int) async throws -> StageRows {
    let logger = quietLogger("inlet.bench.stages")
    let adminToken = "bench-admin-token"
    let publicURL = "https://hooks.example.com"
    let cluster = try EmbeddedKafkaCluster(logger: logger)
    // As `inlet dev` runs: 16 partitions per topic, fetch.wait.max.ms=10 (Benchmarks/pipeline/run.sh).
    let topics = InletTopics(prefix: "bench.", partitions: 16)
    let copies = ["bench.copy-ingress", "bench.copy-records"]
    try cluster.createTopics(topics.all + copies.map { KafkaTopicSpec(name: $0, partitions: topics.partitions) })
    let client = KafkaClientConfiguration(bootstrapServers: [cluster.bootstrapServers], additionalProperties: ["fetch.wait.max.ms": "10"])
    let settings = WorkerSettings(topics: topics, client: client)
    let workspace: Workspace
    var copiedWorkspace: URL?
    defer { copiedWorkspace.map { try? FileManager.default.removeItem(at: $0) } }
    switch handle {
    case .javascript: workspace = try repositoryWorkspace()
    case .mapping: (workspace, copiedWorkspace) = try mappingWorkspace()
    }
    let subscriptions = SubscriptionDirectory(topics: topics, client: client, logger: logger)
    let connections = ConnectionDirectory(topics: topics, client: client, logger: logger)
    let vault = CredentialVault(secret: "bench-vault-key")
    let scripts = ScriptEngine(configuration: .init(timeLimit: .seconds(5)), logger: logger)
    let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client, linger: .microseconds(500)), logger: logger)
    let counter = try KafkaConsumer(
        assigning: [], configuration: KafkaConsumerConfiguration(client: client, groupId: "bench-counter"), logger: logger
    )
    let stub = StubGitHub()
    let ingressPort = Box<Int>()
    var rows = StageRows()

    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await stub.run() }
        tasks.addTask { try await subscriptions.run() }
        tasks.addTask { try await connections.run() }
        let stubURL = try await waitFor("the stand-in API to listen") { stub.port.value }.map { "http://127.0.0.1:\($0)" }
        let runtime = ConnectorRuntime(workspace: workspace, scripts: scripts, logger: logger, apiBaseOverride: stubURL)
        let makeHandler: @Sendable () -> HandlerService = {
            HandlerService(settings: settings, publicURL: publicURL, runtime: runtime, subscriptions: subscriptions, connections: connections, vault: vault, logger: logger)
        }
        let server = IngressServer(
            configuration: IngressConfiguration(port: 0), topics: topics, producer: producer, subscriptions: subscriptions,
            admin: AdminSetup(
                configuration: AdminConfiguration(token: adminToken, publicURL: publicURL, waitTimeout: .seconds(30)),
                workspace: workspace, connections: connections, vault: vault
            ),
            logger: logger
        )
        tasks.addTask { try await server.application(onRunning: { port in ingressPort.value = port }).runService(gracefulShutdownSignals: []) }
        let base = "http://127.0.0.1:\(try await waitFor("the ingress server to listen") { ingressPort.value })"

        // Subscriptions are made through the admin API, with a handler running only for that.
        let setupHandler = Task { try await makeHandler().run() }
        let connection = try await post(base + "/api/v1/connections", bearer: adminToken, json: [
            "connectorKey": "github", "customerId": "acme", "credentials": ["access_token": "gh-token"],
        ])
        guard connection.status == 201, let connectionId = connection.json["id"]?.stringValue else {
            throw BenchmarkFailure("creating the connection answered \(connection.status) \(connection.json)")
        }
        var made: [(id: String, secret: String)] = []
        for index in 0..<subscriptionCount {
            let secret = "bench-secret-0123456789-\(index)"
            let subscription = try await post(base + "/api/v1/subscriptions", bearer: adminToken, json: [
                "connectionId": .string(connectionId), "eventKey": "issues",
                "parameters": ["owner": "octo", "repo": .string("repo-\(index)"), "secret": .string(secret)],
            ])
            guard subscription.status == 201, subscription.json["status"] == "active", let id = subscription.json["id"]?.stringValue else {
                throw BenchmarkFailure("creating subscription \(index) answered \(subscription.status) \(subscription.json)")
            }
            made.append((id, secret))
        }
        setupHandler.cancel()
        _ = await setupHandler.result

        // The backlog: signed deliveries, as ingress stores them, spread over the subscriptions.
        var inputs: [KafkaRecord] = []
        for number in 1...messages {
            let (id, secret) = made[number % made.count]
            let body = Data(issueDelivery(action: "opened", number: number, title: "Issue \(number)").utf8)
            let request = RawRequest(
                receivedAt: Date(), method: "POST", path: "/webhooks/bench",
                headers: ["content-type": "application/json", "x-github-event": "issues", "x-hub-signature-256": githubSignature(body, secret: secret)],
                body: body, subscriptionId: id
            )
            inputs.append(request.kafkaRecord(topic: topics.ingress))
        }
        for start in stride(from: 0, to: inputs.count, by: 5_000) {
            _ = try await producer.sendAll(Array(inputs[start..<min(start + 5_000, inputs.count)]))
        }

        let partitions = Int32(topics.partitions)
        rows.ingressCopy = try await drain("pass-through over `ingress`", into: copies[0], expecting: messages, partitions: partitions, counter: counter) {
            StreamProcessor(configuration: settings.processor(role: "copy-ingress", inputs: [topics.ingress], outputs: [copies[0]]), transform: CopyTransform(to: copies[0]), logger: logger)
        }
        let handlerName = handle == .javascript ? "handler (GitHub handle.js)" : "handler (the same record from a mapping `handle`, no signature check)"
        rows.handler = try await drain(handlerName, into: topics.records, expecting: messages, partitions: partitions, counter: counter) {
            makeHandler()
        }
        if handle == .javascript {
            rows.recordsCopy = try await drain("pass-through over `records`", into: copies[1], expecting: messages, partitions: partitions, counter: counter) {
                StreamProcessor(configuration: settings.processor(role: "copy-records", inputs: [topics.records], outputs: [copies[1]]), transform: CopyTransform(to: copies[1]), logger: logger)
            }
            rows.dispatcher = try await drain("dispatcher", into: topics.events, expecting: messages, partitions: partitions, counter: counter) {
                DispatcherService(settings: settings, routing: EventRouting(topics: topics), workspace: workspace, logger: logger)
            }
        }
        tasks.cancelAll()
    }
    await counter.close()
    scripts.shutdown()
    await producer.shutdown()
    cluster.stop()
    return rows
}

/// One stage's drain: messages per second and the process's CPU per message.
private struct StageRow {
    let name: String
    let perSecond: Double
    let cpuMicroseconds: Double
}

/// Runs the service `make` returns until `expecting` messages are on `topic` (by high
/// watermarks, read every 10 ms while it runs), then stops it. The clock and the CPU count
/// start at the first output seen, so joining the consumer group is left out; the messages
/// counted are those after it.
private func drain<S: Service>(
    _ name: String, into topic: String, expecting: Int, partitions: Int32, counter: KafkaConsumer, _ make: () -> S
) async throws -> StageRow {
    let service = make()
    let running = Task { try await service.run() }
    defer { running.cancel() }
    let deadline = ContinuousClock.now + .seconds(300)
    var first: (at: ContinuousClock.Instant, count: Int64, cpu: Double)?
    var finished: (at: ContinuousClock.Instant, cpu: Double)?
    while ContinuousClock.now < deadline {
        // Stamped before the count, so nothing counted happened after its stamp.
        let (sampledAt, sampledCPU) = (ContinuousClock.now, processCPUSeconds())
        var total: Int64 = 0
        for partition in 0..<partitions { total += try await counter.watermarks(topic: topic, partition: partition).high }
        if first == nil, total > 0 { first = (sampledAt, total, sampledCPU) }
        if total >= expecting {
            finished = (.now, processCPUSeconds())
            break
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    running.cancel()
    _ = await running.result
    guard let first, let finished, Int64(expecting) > first.count else {
        throw BenchmarkFailure("\(name): fewer than \(expecting) messages on \(topic) after 300 s, or all at once")
    }
    let counted = Double(Int64(expecting) - first.count)
    let elapsed = finished.at - first.at
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return StageRow(name: name, perSecond: counted / seconds, cpuMicroseconds: (finished.cpu - first.cpu) / counted * 1e6)
}

/// This process's CPU time so far (user + system), in seconds.
private func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// The pass-through baseline: each message copied, key, value and headers, to one topic.
private struct CopyTransform: StreamTransform {
    let topic: String

    init(to topic: String) { self.topic = topic }

    func process(_ message: KafkaMessage) async throws -> [KafkaRecord] {
        [KafkaRecord(topic: topic, key: message.key, value: message.value, headers: message.headers)]
    }
}
