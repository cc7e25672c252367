// End-to-end webhook latency in one process, against a baseline measured on the same
// requests in the same run:
//
//   e2e:     from just before the HTTP POST of a signed GitHub `issues` delivery to the moment
//            its normalized event is read from the `events` topic (ingress → `ingress` topic →
//            handler running connectors/github handle.js → dispatcher → `events`);
//   ingress: from just before the POST to its HTTP 200 (which waits for the broker's
//            acknowledgement of the raw request).
//
//   swift run -c release InletBenchmarks e2e [webhooks] [per-second]
//   BENCH_FETCH_WAIT=5 swift run -c release InletBenchmarks e2e ...   (only the run with that fetch.wait.max.ms;
//   the tables' is BENCH_TABLE_FETCH_WAIT, default 50, as in `inlet dev`)
//
// Everything runs here, on loopback: the embedded broker, the subscription and connection
// directories, handler, dispatcher, the ingress HTTP server with the admin API, and a stand-in
// for api.github.com that accepts the hook registration. The wiring follows
// Tests/InletPipelineTests/WebhookEndToEndTests.swift. Webhooks are sent open-loop at a fixed
// rate (each at its scheduled time, whatever the previous ones are doing); every wait has a
// deadline, so the run stops by itself.
import AsyncHTTPClient
import Foundation
import Hummingbird
import InletConnectors
import InletHTTP
import InletKafka
import InletPipeline
import Logging
import NIOCore
import Synchronization

/// Runs the webhook latency benchmark twice: with librdkafka's defaults, as `inlet dev` runs
/// on the embedded broker, and with `fetch.wait.max.ms=10`. librdkafka's mock broker answers
/// an empty fetch only after the consumer's `fetch.wait.max.ms` (default 500 ms) even when
/// data arrives meanwhile (a real broker answers as soon as there is data), so with the
/// defaults every consumer hop (ingress → handler → dispatcher → reader) can add up to 500 ms.
func runWebhookLatency(webhooks: Int = 2_000, perSecond: Int = 100) async throws {
    if ProcessInfo.processInfo.environment["BENCH_FETCH_WAIT"] == nil { try await runWebhookLatency(webhooks: webhooks, perSecond: perSecond, warmUp: 20, fetchWaitMilliseconds: nil) }
    try await runWebhookLatency(webhooks: webhooks, perSecond: perSecond, warmUp: 50, fetchWaitMilliseconds: ProcessInfo.processInfo.environment["BENCH_FETCH_WAIT"].flatMap { Int($0) } ?? 5)
}

/// Runs the webhook latency benchmark once: `webhooks` deliveries at `perSecond`, after
/// `warmUp` sequential ones; `fetchWaitMilliseconds` sets every client's `fetch.wait.max.ms`.
func runWebhookLatency(webhooks: Int, perSecond: Int, warmUp: Int, fetchWaitMilliseconds: Int?) async throws {
    let logger = quietLogger("inlet.bench.e2e")
    let adminToken = "bench-admin-token"
    let secret = "0123456789abcdef-secret"
    let publicURL = "https://hooks.example.com"

    let cluster = try EmbeddedKafkaCluster(logger: logger)
    let topics = InletTopics(prefix: "bench.", partitions: 2)
    try cluster.createTopics(topics.all)
    var client = KafkaClientConfiguration(bootstrapServers: [cluster.bootstrapServers])
    client.consumerFetchWaitMilliseconds = fetchWaitMilliseconds
    // As `inlet dev`: the tables wait longer (BENCH_TABLE_FETCH_WAIT, default 50 ms when a
    // fetch wait is given).
    client.tableFetchWaitMilliseconds = fetchWaitMilliseconds.map { _ in ProcessInfo.processInfo.environment["BENCH_TABLE_FETCH_WAIT"].flatMap { Int($0) } ?? 50 }
    // As `inlet ingress` configures its producer (Sources/inlet/Commands/RoleServices.swift).
    let producer = try KafkaProducer(
        configuration: KafkaProducerConfiguration(client: client, linger: .microseconds(500), deliveryTimeoutMilliseconds: 10_000), logger: logger
    )
    let workspace = try repositoryWorkspace()
    let subscriptions = SubscriptionDirectory(topics: topics, client: client, logger: logger)
    let connections = ConnectionDirectory(topics: topics, client: client, logger: logger)
    let vault = CredentialVault(secret: "bench-vault-key")
    let scripts = ScriptEngine(configuration: .init(timeLimit: .seconds(5)), logger: logger)
    let stub = StubGitHub()
    let ingressPort = Box<Int>()
    let arrivals = EventArrivals()
    // Assigned (not a group member), from the start of the fresh topic: reading from the
    // first poll on, before anything is sent.
    let reader = try KafkaConsumer(
        assigning: (0..<Int32(topics.partitions)).map { TopicPartition(topic: topics.events, partition: $0) },
        configuration: KafkaConsumerConfiguration(client: client, groupId: "bench-reader"), logger: logger
    )

    let samples = try await withThrowingTaskGroup(of: Void.self, returning: [Sample].self) { tasks in
        tasks.addTask { try await stub.run() }
        tasks.addTask { try await arrivals.read(reader) }
        let stubURL = try await waitFor("the stand-in API to listen") { stub.port.value }.map { "http://127.0.0.1:\($0)" }
        let runtime = ConnectorRuntime(workspace: workspace, scripts: scripts, logger: logger, apiBaseOverride: stubURL)
        let settings = WorkerSettings(topics: topics, client: client)
        let handler = HandlerService(
            settings: settings, publicURL: publicURL, runtime: runtime, subscriptions: subscriptions,
            connections: connections, vault: vault, logger: logger
        )
        let dispatcher = DispatcherService(settings: settings, routing: EventRouting(topics: topics), workspace: workspace, logger: logger)
        tasks.addTask { try await subscriptions.run() }
        tasks.addTask { try await connections.run() }
        tasks.addTask { try await handler.run() }
        tasks.addTask { try await dispatcher.run() }
        let server = IngressServer(
            configuration: IngressConfiguration(port: 0), topics: topics, producer: producer, subscriptions: subscriptions,
            admin: AdminSetup(
                configuration: AdminConfiguration(token: adminToken, publicURL: publicURL, waitTimeout: .seconds(30)),
                workspace: workspace, connections: connections, vault: vault
            ),
            logger: logger
        )
        tasks.addTask {
            try await server.application(onRunning: { port in ingressPort.value = port }).runService(gracefulShutdownSignals: [])
        }
        let port = try await waitFor("the ingress server to listen") { ingressPort.value }
        let base = "http://127.0.0.1:\(port)"

        // One connection and one subscription through the admin API.
        let connection = try await post(base + "/api/v1/connections", bearer: adminToken, json: [
            "connectorKey": "github", "customerId": "acme", "credentials": ["access_token": "gh-token"],
        ])
        guard connection.status == 201, let connectionId = connection.json["id"]?.stringValue else {
            throw BenchmarkFailure("creating the connection answered \(connection.status) \(connection.json)")
        }
        let subscription = try await post(base + "/api/v1/subscriptions", bearer: adminToken, json: [
            "connectionId": .string(connectionId), "eventKey": "issues",
            "parameters": ["owner": "octo", "repo": "hello", "secret": .string(secret)],
        ])
        guard subscription.status == 201, subscription.json["status"] == "active", let webhookUrl = subscription.json["webhookUrl"]?.stringValue else {
            throw BenchmarkFailure("creating the subscription answered \(subscription.status) \(subscription.json)")
        }
        let webhook = base + webhookUrl.dropFirst(publicURL.count)

        // Warm-up, one at a time (the first also waits for the handler's and dispatcher's
        // consumer groups to settle). Issue numbers above 1,000,000 are not measured.
        for index in 0..<warmUp {
            let number = 1_000_000 + index
            let sample = try await deliver(to: webhook, number: number, secret: secret)
            guard sample.status == 200 else { throw BenchmarkFailure("a warm-up webhook answered \(sample.status)") }
            _ = try await waitFor("warm-up event \(number)", timeout: .seconds(60), every: .milliseconds(1)) { arrivals[number] }
        }

        // Measured: open loop at a fixed rate.
        let interval = Duration.seconds(1) / perSecond
        let samples = try await withThrowingTaskGroup(of: Sample.self, returning: [Sample].self) { posts in
            let start = ContinuousClock.now + .milliseconds(100)
            for number in 1...webhooks {
                try await Task.sleep(until: start + interval * (number - 1), clock: .continuous)
                posts.addTask { try await deliver(to: webhook, number: number, secret: secret) }
            }
            return try await posts.reduce(into: []) { $0.append($1) }
        }
        guard samples.allSatisfy({ $0.status == 200 }) else {
            throw BenchmarkFailure("webhooks answered \(Set(samples.map(\.status)).sorted())")
        }
        _ = try await waitFor("all \(webhooks) events", timeout: .seconds(60), every: .milliseconds(20)) {
            arrivals.count(in: 1...webhooks) == webhooks ? true : nil
        }
        tasks.cancelAll()
        return samples
    }
    await reader.close()
    scripts.shutdown()
    await producer.shutdown()
    cluster.stop()

    let endToEnd = LatencySummary(samples.map { (arrivals[$0.number]! - $0.start).milliseconds })
    let ingress = LatencySummary(samples.map { ($0.acknowledged - $0.start).milliseconds })
    let fetchWait = fetchWaitMilliseconds.map { "fetch.wait.max.ms=\($0)" } ?? "librdkafka defaults (fetch.wait.max.ms=500)"
    print("e2e: \(webhooks) signed GitHub issues webhooks at \(perSecond)/s after \(warmUp) warm-up, 1 embedded broker, \(topics.partitions) partitions per topic, \(fetchWait), \(ProcessInfo.processInfo.activeProcessorCount) cores")
    for (name, summary) in [("ingress (POST → 200)      ", ingress), ("end to end (POST → events)", endToEnd)] {
        print(String(format: "  %@ p50 %7.2f ms  p90 %7.2f ms  p99 %7.2f ms  max %7.2f ms", name as NSString,
                     summary.percentile(50), summary.percentile(90), summary.percentile(99), summary.max))
    }
    print(String(format: "  ratio e2e / ingress: p50 %.1f×, p99 %.1f×",
                 endToEnd.percentile(50) / ingress.percentile(50), endToEnd.percentile(99) / ingress.percentile(99)))
}

/// One measured webhook: when its POST started and was answered.
private struct Sample: Sendable {
    let number: Int
    let start: ContinuousClock.Instant
    let acknowledged: ContinuousClock.Instant
    let status: UInt
}

/// POSTs a signed `issues` delivery for issue `number` (body and signature made before the clock starts).
private func deliver(to url: String, number: Int, secret: String) async throws -> Sample {
    let body = issueDelivery(action: "opened", number: number, title: "Issue \(number)")
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/json")
    request.headers.add(name: "X-GitHub-Event", value: "issues")
    request.headers.add(name: "X-Hub-Signature-256", value: githubSignature(Data(body.utf8), secret: secret))
    request.body = .bytes(ByteBuffer(string: body))
    let start = ContinuousClock.now
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    _ = try await response.body.collect(upTo: 1 << 20)
    return Sample(number: number, start: start, acknowledged: ContinuousClock.now, status: response.status.code)
}

/// POSTs `json` with a bearer token; the status and the parsed answer.
func post(_ url: String, bearer token: String, json: JSONValue) async throws -> (status: UInt, json: JSONValue) {
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    request.headers.add(name: "Authorization", value: "Bearer \(token)")
    request.headers.add(name: "Content-Type", value: "application/json")
    request.body = .bytes(ByteBuffer(data: json.serialized()))
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
    let body = try await response.body.collect(upTo: 1 << 20)
    return (response.status.code, (try? JSONValue(parsing: Data(buffer: body))) ?? .null)
}

/// Polls `value` every `every` until it is non-nil; fails after `timeout`.
func waitFor<T>(
    _ what: String, timeout: Duration = .seconds(10), every: Duration = .milliseconds(5), _ value: () -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let value = value() { return value }
        try await Task.sleep(for: every)
    }
    throw BenchmarkFailure("timed out waiting for \(what)")
}

/// When each issue number's normalized event was read from `events`.
private final class EventArrivals: Sendable {
    private let instants = Mutex<[Int: ContinuousClock.Instant]>([:])

    subscript(number: Int) -> ContinuousClock.Instant? { instants.withLock { $0[number] } }

    func count(in numbers: ClosedRange<Int>) -> Int { instants.withLock { $0.keys.count { numbers.contains($0) } } }

    /// Reads `consumer` until the task is cancelled, noting the first arrival of each issue.
    func read(_ consumer: KafkaConsumer) async throws {
        while !Task.isCancelled {
            let polled = try await consumer.poll(maxMessages: 500, timeout: .milliseconds(100))
            let now = ContinuousClock.now
            for case .message(let message) in polled {
                let event = try NormalizedEvent.decoded(from: message.value ?? Data())
                guard let number = event.data.record["fields"]?["number"]?.integerValue else { continue }
                instants.withLock { if $0[Int(number)] == nil { $0[Int(number)] = now } }
            }
        }
    }
}

/// A stand-in for api.github.com on 127.0.0.1: accepts hook registrations.
final class StubGitHub: Sendable {
    let port = Box<Int>()

    /// Runs the server until cancelled.
    func run() async throws {
        let router = Router()
        router.post("/repos/:owner/:repo/hooks") { _, _ in
            Response(status: .created, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"id":42,"active":true}"#)))
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { [self] channel in port.value = channel.localAddress?.port },
            logger: quietLogger("inlet.bench.stub-github")
        )
        try await app.runService(gracefulShutdownSignals: [])
    }
}

/// A value one task sets and another reads (a bound port).
final class Box<Value: Sendable>: Sendable {
    private let storage = Mutex<Value?>(nil)

    var value: Value? {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
