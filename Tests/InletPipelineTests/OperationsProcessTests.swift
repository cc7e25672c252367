import AsyncHTTPClient
import Foundation
import InletJSON
import InletKafka
import InletPipeline
import Logging
import NIOCore
import Testing

/// What an operator sees of the roles as processes: `/health/ready` and `/metrics` on each
/// role's `--metrics-port`, `/metrics` on the ingress port behind the admin token, JSON logs
/// (`INLET_LOG_FORMAT=json`) in which one webhook's request id is found at ingress, handler and
/// dispatcher.
@Suite("Operating the roles", .serialized, .enabled(if: RoleProcess.binaryExists, "needs the inlet binary (swift build)"))
struct OperationsProcessTests {
    @Test("every role is ready and serves metrics; one webhook shows in the ingress, method, stream and event metrics; every log line is one JSON object and its request id is logged by all three roles")
    func healthMetricsAndLogs() async throws {
        let logger = {
            var logger = Logger(label: "operations")
            logger.logLevel = .critical
            return logger
        }()
        let topics = InletTopics(prefix: "op\(UUID().uuidString.prefix(4)).", partitions: 2)
        let cluster = try EmbeddedKafkaCluster(logger: logger)
        defer { cluster.stop() }
        try cluster.createTopics(topics.allForEmbeddedBroker)
        let stub = StubAPI()
        let root = RoleProcess.binary.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await stub.run() }
            try await stub.waitUntilRunning()
            let roles = RoleProcessGroup(
                bootstrapServers: cluster.bootstrapServers, topics: topics, apiBaseOverride: stub.baseURL, workspace: root, adminToken: MultiProcessTests.adminToken,
                extraEnvironment: ["INLET_LOG_FORMAT": "json", "INLET_LOG_LEVEL": "debug"])
            let (ingress, base) = try await roles.startIngress("ops-ingress")
            let handler = try roles.start("ops-handler", ["handler", "--metrics-port", "0"])
            let dispatcher = try roles.start("ops-dispatcher", ["dispatcher", "--metrics-port", "0"])
            let http = HTTPClient.shared
            do {
                var operations: [String: String] = [:]
                for role in [handler, dispatcher] {
                    let line = try await role.waitForLine(containing: "health and metrics on")
                    let port = try #require(line.split(separator: " ").first { $0.hasPrefix("http://") }?.split(separator: ":").last.map(String.init))
                    operations[role.name] = "http://127.0.0.1:\(port)"
                }
                // Ready: tables loaded, loops in their groups.
                for url in [base] + operations.values {
                    try await eventually(timeout: .seconds(120)) { try await get(http, url + "/health/ready").status == 200 }
                    #expect(try await get(http, url + "/health").status == 200)
                }

                let client = MultiProcessTests.Client(http: http, base: Shared(base))
                let connection = try await client.admin(.POST, "/api/v1/connections", ["connectorKey": "github", "customerId": "acme", "credentials": ["access_token": "t"]])
                let (subscriptionId, path) = try await client.subscribe(connectionId: try #require(connection["id"]?.stringValue), index: 1)
                let body = MultiProcessTests.delivery(sequence: 1)
                var request = HTTPClientRequest(url: base + path)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.headers.add(name: "X-GitHub-Event", value: "issues")
                request.headers.add(name: "X-GitHub-Delivery", value: "ops-1")
                request.headers.add(name: "X-Hub-Signature-256", value: MultiProcessTests.signature(body))
                request.body = .bytes(ByteBuffer(string: body))
                let response = try await http.execute(request, timeout: .seconds(30))
                let answer = try JSONValue(parsing: Data(buffer: try await response.body.collect(upTo: 1 << 16)))
                #expect(response.status.code == 200)
                let requestId = try #require(answer["requestId"]?.stringValue)

                // The metrics of each stage show it.
                let dispatcherURL = try #require(operations["ops-dispatcher"])
                let handlerURL = try #require(operations["ops-handler"])
                try await eventually(timeout: .seconds(60)) {
                    try await metric(http, dispatcherURL, "inlet_events_total", ["connector": "github", "type": "updated"]) == 1
                }
                #expect(try await metric(http, handlerURL, "inlet_method_calls_total", ["connector": "github", "method": "handle", "outcome": "ok"]) == 1)
                // The subscription says when it was last active and how many events it made.
                try await eventually(timeout: .seconds(30)) {
                    let record = try await client.admin(.GET, "/api/v1/subscriptions/\(subscriptionId)", nil)
                    return record["eventCount"] == 1 && record["lastActivityAt"]?.stringValue != nil
                }
                #expect(try await metric(http, handlerURL, "inlet_method_calls_total", ["connector": "github", "method": "subscribe", "outcome": "ok"]) == 1)
                #expect(try await metric(http, handlerURL, "inlet_stream_messages_total", ["group": topics.prefix + "handler"]) ?? 0 >= 2, "the subscribe command and the webhook")
                #expect(try await metric(http, handlerURL, "inlet_method_duration_seconds_count", ["connector": "github", "method": "handle"]) == 1)
                #expect(try await metric(http, dispatcherURL, "inlet_consumer_lag", ["group": topics.prefix + "dispatcher", "topic": topics.records, "partition": nil]) == 0)
                // On the public port, only with the admin token.
                #expect(try await get(http, base + "/metrics").status == 401)
                #expect(try await metric(http, base, "inlet_http_requests_total", ["route": "/webhooks/{token}", "method": "POST", "status": "200"], token: MultiProcessTests.adminToken) == 1)
                #expect(try await metric(http, base, "inlet_broker_append_duration_seconds_count", ["topic": topics.ingress], token: MultiProcessTests.adminToken) ?? 0 >= 1)
                // The CLI shows the same subscription through the admin API.
                let listed = try run(["subscriptions", "list", "--url", base, "--admin-token", MultiProcessTests.adminToken])
                let row = try #require(listed.split(separator: "\n").first { $0.hasPrefix(subscriptionId) }, "\(listed)")
                #expect(row.contains("active") && row.contains("github") && row.contains("issues") && row.contains("acme"), "\(row)")
                let shown = try JSONValue(parsing: Data(try run(["subscriptions", "show", subscriptionId, "--url", base, "--admin-token", MultiProcessTests.adminToken]).utf8))
                #expect(shown["id"]?.stringValue == subscriptionId)
                #expect(shown["state"] == nil, "never the connector's state")
                let refused = try run(["subscriptions", "show", "sub_nope", "--url", base, "--admin-token", MultiProcessTests.adminToken], expectFailure: true)
                #expect(refused.contains("404"), "\(refused)")

                // Logs: one JSON object per line, the request id at every stage.
                try await eventually(timeout: .seconds(30)) {
                    try [ingress, handler, dispatcher].allSatisfy { role in try logLines(role).contains { $0["request.id"]?.stringValue == requestId } }
                }
                for role in [ingress, handler, dispatcher] {
                    let text = try String(contentsOf: role.logFile, encoding: .utf8)
                    let lines = text.split(separator: "\n")
                    #expect(!lines.isEmpty)
                    for line in lines {
                        let object = try? JSONValue(parsing: Data(line.utf8))
                        #expect(object?["time"]?.stringValue != nil && object?["level"]?.stringValue != nil && object?["message"]?.stringValue != nil, "\(role.name): \(line)")
                    }
                }
            } catch {
                await roles.stopAll()
                throw error
            }
            await roles.stopAll()
            tasks.cancelAll()
        }
    }

    /// Runs `inlet <arguments>` to its end; its standard output (and error).
    private func run(_ arguments: [String], expectFailure: Bool = false) throws -> String {
        let process = Process()
        process.executableURL = RoleProcess.binary
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect((process.terminationStatus != 0) == expectFailure, "inlet \(arguments.joined(separator: " ")): \(output)")
        return output
    }

    private func get(_ http: HTTPClient, _ url: String, token: String? = nil) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: url)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await http.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 8 << 20)
        return (Int(response.status.code), String(buffer: body))
    }

    /// The value of the sample `name` whose labels include `labels` (a `nil` label value: any),
    /// summed over the samples that match; `nil` when none does.
    private func metric(_ http: HTTPClient, _ base: String, _ name: String, _ labels: [String: String?], token: String? = nil) async throws -> Double? {
        let text = try await get(http, base + "/metrics", token: token).body
        var total: Double?
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            let matches = labels.allSatisfy { key, value in
                value.map { line.contains("\(key)=\"\($0)\"") } ?? line.contains("\(key)=\"")
            }
            if matches, let value = line.split(separator: " ").last.flatMap({ Double($0) }) { total = (total ?? 0) + value }
        }
        return total
    }

    private func logLines(_ role: RoleProcess) throws -> [JSONValue] {
        try String(contentsOf: role.logFile, encoding: .utf8).split(separator: "\n").compactMap { try? JSONValue(parsing: Data($0.utf8)) }
    }
}
