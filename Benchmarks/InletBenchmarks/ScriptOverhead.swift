// What a JavaScript `handle` costs per call, against baselines measured in the same run:
//
// - the same result (`{events: []}`) from a declarative mapping with a `$var` in it
//   (`CompiledMapping`, compiled once, as the workspace loader keeps `.map.yml` methods);
// - for scale, a realistic handle: `ConnectorRuntime.handle` for connectors/github (checks
//   the HMAC of a signed `issues` delivery, builds one record event, checks the result).
//
//   swift run -c release InletBenchmarks script [calls]
//
// Each JavaScript row is measured twice: called from ordinary tasks (each call handed to a
// context thread and back) and "in place", from tasks on the engine's executor (as a
// handler's lanes call them: the call runs on the calling thread, no hand-off).
//
// Each measurement is a bounded loop of `calls` calls after a warm-up; the concurrent ones
// split the same number of calls over 8 callers (child tasks) and report wall time per call.
import Foundation
import InletConnectors

/// Runs the JavaScript call overhead comparison with `calls` calls per measurement.
func runScriptOverhead(calls: Int = 20_000, warmUp: Int = 500, callers: Int = 8) async throws {
    let logger = quietLogger("inlet.bench.script")
    let configuration = ScriptEngineConfiguration()
    let engine = ScriptEngine(configuration: configuration, logger: logger)
    defer { engine.shutdown() }
    let expected: JSONValue = ["events": []]

    // MARK: JavaScript: ScriptEngine.call

    let source = "export default async function handle() { return { events: [] } }"
    let host = ScriptHost(apiClient: nil, logMetadata: [:])
    @Sendable func callScript() async throws -> JSONValue {
        try await engine.call(source: source, fileName: "bench/handle.js", arguments: [:], host: host)
    }
    // Warm-up also compiles the file in every context (calls go to whichever context is free).
    for _ in 0..<warmUp { _ = try await callScript() }
    try await concurrently(callers: callers, total: warmUp) { _ = try await callScript() }
    guard try await callScript() == expected else { throw BenchmarkFailure("the script returned \(try await callScript())") }
    let scriptSequential = try await measureSeconds {
        for _ in 0..<calls { _ = try await callScript() }
    }
    let scriptConcurrent = try await measureSeconds {
        try await concurrently(callers: callers, total: calls) { _ = try await callScript() }
    }
    try await concurrently(callers: callers, total: warmUp, on: engine.executor) { _ = try await callScript() }
    let scriptInPlaceSequential = try await measureSeconds {
        try await Task(executorPreference: engine.executor) { for _ in 0..<calls { _ = try await callScript() } }.value
    }
    let scriptInPlaceConcurrent = try await measureSeconds {
        try await concurrently(callers: callers, total: calls, on: engine.executor) { _ = try await callScript() }
    }

    // MARK: Baseline: declarative mapping

    let mapping = try CompiledMapping(["events": ["$var": "data.events"]])
    let variables: JSONValue = ["data": ["events": []], "query": [:], "headers": [:]]
    guard try mapping.evaluate(variables: variables) == expected else { throw BenchmarkFailure("the mapping returned something else") }
    for _ in 0..<warmUp { _ = try mapping.evaluate(variables: variables) }
    let mappingSequential = try await measureSeconds {
        for _ in 0..<calls { _ = try mapping.evaluate(variables: variables) }
    }
    let mappingConcurrent = try await measureSeconds {
        try await concurrently(callers: callers, total: calls) { _ = try mapping.evaluate(variables: variables) }
    }

    // MARK: Realistic: ConnectorRuntime.handle for connectors/github

    let secret = "0123456789abcdef-secret"
    let runtime = ConnectorRuntime(workspace: try repositoryWorkspace(), scripts: engine, logger: logger)
    let context = MethodContext(
        connectorKey: "github", owner: .event("issues"), parameters: ["owner": "octo", "repo": "hello", "secret": .string(secret)],
        state: ["hookId": 42, "secret": .string(secret)], credentials: ["access_token": "gh-token"]
    )
    let body = Data(issueDelivery(action: "opened", number: 7, title: "Found a bug").utf8)
    let request = WebhookRequest(
        method: "POST", path: "/webhooks/bench",
        headers: ["Content-Type": "application/json", "X-GitHub-Event": "issues", "X-Hub-Signature-256": githubSignature(body, secret: secret)],
        rawBody: body
    )
    for _ in 0..<warmUp { _ = try await runtime.handle(context, request: request) }
    let handled = try await runtime.handle(context, request: request)
    guard handled.events.count == 1, handled.events[0].record["fields"]?["number"] == 7 else {
        throw BenchmarkFailure("the GitHub handle returned \(handled.events)")
    }
    let githubSequential = try await measureSeconds {
        for _ in 0..<calls { _ = try await runtime.handle(context, request: request) }
    }
    let githubConcurrent = try await measureSeconds {
        try await concurrently(callers: callers, total: calls) { _ = try await runtime.handle(context, request: request) }
    }
    try await concurrently(callers: callers, total: warmUp, on: engine.executor) { _ = try await runtime.handle(context, request: request) }
    let githubInPlaceSequential = try await measureSeconds {
        try await Task(executorPreference: engine.executor) { for _ in 0..<calls { _ = try await runtime.handle(context, request: request) } }.value
    }
    let githubInPlaceConcurrent = try await measureSeconds {
        try await concurrently(callers: callers, total: calls, on: engine.executor) { _ = try await runtime.handle(context, request: request) }
    }

    // The same with a ~13.5 KB body (the ingress benchmark's delivery): what crossing into
    // JavaScript costs grows with the body.
    let largeBody = Data(issueDelivery(action: "opened", number: 7, title: "Found a bug", body: String(repeating: "I'm having a problem with this. ", count: 400)).utf8)
    let largeRequest = WebhookRequest(
        method: "POST", path: "/webhooks/bench",
        headers: ["Content-Type": "application/json", "X-GitHub-Event": "issues", "X-Hub-Signature-256": githubSignature(largeBody, secret: secret)],
        rawBody: largeBody
    )
    try await concurrently(callers: callers, total: warmUp, on: engine.executor) { _ = try await runtime.handle(context, request: largeRequest) }
    let largeInPlaceSequential = try await measureSeconds {
        try await Task(executorPreference: engine.executor) { for _ in 0..<calls { _ = try await runtime.handle(context, request: largeRequest) } }.value
    }

    // MARK: Report

    func micros(_ seconds: Double) -> Double { seconds / Double(calls) * 1e6 }
    print("script: \(calls) calls per row after \(warmUp) warm-up, ScriptEngine with \(configuration.contexts) contexts, \(ProcessInfo.processInfo.activeProcessorCount) cores")
    print(String(format: "  mapping {events: {$var: data.events}} sequential %8.2f µs/call   %d callers %8.2f µs/call", micros(mappingSequential), callers, micros(mappingConcurrent)))
    print(String(format: "  JS handle returning {events: []}     sequential %8.2f µs/call   %d callers %8.2f µs/call", micros(scriptSequential), callers, micros(scriptConcurrent)))
    print(String(format: "  JS handle, in place (executor)       sequential %8.2f µs/call   %d callers %8.2f µs/call", micros(scriptInPlaceSequential), callers, micros(scriptInPlaceConcurrent)))
    print(String(format: "  ConnectorRuntime.handle github/issues sequential %8.2f µs/call   %d callers %8.2f µs/call", micros(githubSequential), callers, micros(githubConcurrent)))
    print(String(format: "  github handle, in place (executor)   sequential %8.2f µs/call   %d callers %8.2f µs/call", micros(githubInPlaceSequential), callers, micros(githubInPlaceConcurrent)))
    print(String(format: "  github handle, %5d B body, in place sequential %8.2f µs/call", largeBody.count, micros(largeInPlaceSequential)))
    print(String(format: "  ratio JS / mapping:              sequential %.0f×, %d callers %.0f×", scriptSequential / mappingSequential, callers, scriptConcurrent / mappingConcurrent))
    print(String(format: "  ratio github handle / trivial JS: sequential %.2f×, %d callers %.2f×", githubSequential / scriptSequential, callers, githubConcurrent / scriptConcurrent))
}

/// Runs `total` calls of `body` spread over `callers` child tasks (preferring `executor`, when
/// given); returns when all are done.
func concurrently(callers: Int, total: Int, on executor: (any TaskExecutor)? = nil, _ body: @escaping @Sendable () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for caller in 0..<callers {
            let share = total / callers + (caller < total % callers ? 1 : 0)
            group.addTask(executorPreference: executor) { for _ in 0..<share { try await body() } }
        }
        try await group.waitForAll()
    }
}
