import Foundation
import Logging
import Synchronization
import Testing

@testable import InletConnectors

@Suite("Methods run in place on the script engine's threads")
struct ScriptExecutorTests {
    /// Module-level state shows which context ran a call: each keeps its own.
    static let counter = "let calls = 0\nexport default function () { calls += 1; return calls }"

    @Test("a task on the engine's executor runs its calls in its thread's own context, one per connector; other tasks use the context threads")
    func callsRunInPlace() async throws {
        let engine = makeScriptEngine(contexts: 1)
        defer { engine.shutdown() }
        let inPlace = try await Task(executorPreference: engine.executor) {
            var results: [JSONValue] = []
            for connector in ["a", "a", "a", "b"] {
                results.append(try await engine.call(source: Self.counter, fileName: "count.js", arguments: [:], host: ScriptHost(connector: connector)))
                #expect(onMethodThread(of: engine), "the call came back on one of the executor's threads")
            }
            return results
        }.value
        #expect(inPlace == [1, 2, 3, 1], "connector a's context kept its module state; b has its own")
        let queued = try await engine.call(source: Self.counter, fileName: "count.js", arguments: [:], host: ScriptHost(connector: "a"))
        #expect(queued == 1, "outside the executor a call goes to a context thread, whose context is another")
    }

    @Test("every thread of the executor awaiting apiClient at once: the requests still run and every call ends")
    func awaitingTheAPIOnEveryThread() async throws {
        let engine = makeScriptEngine(contexts: 2)
        defer { engine.shutdown() }
        let client = FakeAPIClient { request in
            try await Task.sleep(for: .milliseconds(50))
            return ["path": .string(request.path)]
        }
        let source = "export default async function ({ n }) { const r = await apiClient.get('/item/' + n); return r.path }"
        let results = try await withThrowingTaskGroup(of: JSONValue.self) { group in
            for n in 0..<8 {
                group.addTask(executorPreference: engine.executor) {
                    try await engine.call(source: source, fileName: "get.js", arguments: ["n": .integer(Int64(n))], host: ScriptHost(connector: "api", apiClient: client))
                }
            }
            return try await group.reduce(into: Set<JSONValue>()) { $0.insert($1) }
        }
        #expect(results == Set((0..<8).map { JSONValue.string("/item/\($0)") }))
    }

    @Test("one connector runs in place on at most half of the threads; the next call goes to its context threads, and a place frees when a call ends")
    func inPlaceCallsAreCapped() async throws {
        var configuration = ScriptEngineConfiguration(contexts: 1)
        configuration.methodThreads = 16
        let engine = ScriptEngine(configuration: configuration, logger: Logger(label: "test.script"))
        defer { engine.shutdown() }
        let executor = engine.executor
        #expect(executor.inPlacePerConnector == 8, "16 threads, half of them for one connector")
        for _ in 0..<8 { #expect(executor.enter("slow")) }
        #expect(!executor.enter("slow"), "a ninth call of the same connector is refused a place")
        #expect(executor.enter("other"), "another connector still gets one")
        executor.leave("slow")
        #expect(executor.enter("slow"))
        // A call refused a place still runs, on the connector's context threads.
        let result = try await Task(executorPreference: executor) {
            try await engine.call(source: Self.counter, fileName: "count.js", arguments: [:], host: ScriptHost(connector: "slow"))
        }.value
        #expect(result == 1)
    }

    @Test("by default the executor has 16 threads, of which twice the cores run at once")
    func defaultThreads() {
        #expect([1, 2, 4, 8].map { ScriptEngineConfiguration.defaultRunningMethods(cores: $0) } == [2, 4, 8, 16])
        let engine = makeScriptEngine(contexts: 1)
        defer { engine.shutdown() }
        #expect(engine.executor.running == ScriptEngineConfiguration.defaultRunningMethods())
        if ProcessInfo.processInfo.environment["INLET_SCRIPT_THREADS"] == nil {
            #expect(engine.executor.inPlacePerConnector == 8)
        }
    }

    @Test("a call waiting for its API gives up its turn: with both turns taken by waiting calls, another connector's call still runs")
    func waitingCallsGiveUpTheirTurns() async throws {
        var configuration = ScriptEngineConfiguration(contexts: 1)
        configuration.methodThreads = 4
        configuration.runningMethods = 2
        let engine = ScriptEngine(configuration: configuration, logger: Logger(label: "test.script"))
        defer { engine.shutdown() }
        let progress = CallProgress()
        let client = FakeAPIClient { _ in
            // Answers once the quick call has run, or after 5 s at most.
            for _ in 0..<500 where !progress.quickCallDone.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(10)) }
            return ["ok": true]
        }
        let slow = "export default async function () { await apiClient.get('/slow'); return 'slow' }"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for connector in ["a", "b"] {
                group.addTask(executorPreference: engine.executor) {
                    _ = try await engine.call(source: slow, fileName: "slow.js", arguments: [:], host: ScriptHost(connector: connector, apiClient: client))
                    progress.finished.withLock { $0.append(connector) }
                }
            }
            // Both slow calls wait for their API (each in place, each on a turn) before the quick one comes.
            for _ in 0..<500 where client.received.count < 2 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(client.received.count == 2)
            group.addTask(executorPreference: engine.executor) {
                _ = try await engine.call(source: Self.counter, fileName: "count.js", arguments: [:], host: ScriptHost(connector: "c"))
                progress.finished.withLock { $0.append("c") }
                progress.quickCallDone.store(true, ordering: .releasing)
            }
            try await group.waitForAll()
        }
        #expect(progress.finished.withLock { $0.first } == "c", "the quick call ran while the slow ones waited")
    }

    @Test("after shutdown a task preferring the executor still runs to its end, and its calls fail as after any shutdown")
    func afterShutdown() async throws {
        let engine = makeScriptEngine(contexts: 1)
        engine.shutdown()
        let outcome = await Task(executorPreference: engine.executor) { () -> String in
            do {
                _ = try await engine.call(source: Self.counter, fileName: "count.js", arguments: [:], host: ScriptHost(connector: "a"))
                return "ran"
            } catch let error as ScriptError {
                return error.kind == .unsupported ? "refused" : "\(error)"
            } catch {
                return "\(error)"
            }
        }.value
        #expect(outcome == "refused")
    }
}

/// Which calls finished, in order, and whether the quick one did.
private final class CallProgress: Sendable {
    let quickCallDone = Atomic<Bool>(false)
    let finished = Mutex<[String]>([])
}

/// Whether this runs on one of `engine`'s method threads.
private func onMethodThread(of engine: ScriptEngine) -> Bool {
    ScriptThreadContexts.current(of: engine.executor) != nil
}
