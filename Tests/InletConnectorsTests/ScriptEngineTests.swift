import Foundation
import Logging
import Synchronization
import Testing

@testable import InletConnectors

// MARK: - Test support

/// Log lines captured by `RecordingLogHandler`.
final class LogRecorder: Sendable {
    struct Entry: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]
    }

    private let entries = Mutex<[Entry]>([])

    var all: [Entry] { entries.withLock { $0 } }

    func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }

    var logger: Logger {
        Logger(label: "test.script") { _ in RecordingLogHandler(recorder: self) }
    }
}

struct RecordingLogHandler: LogHandler {
    let recorder: LogRecorder
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var flat: [String: String] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { flat[key] = "\(value)" }
        recorder.append(.init(level: event.level, message: "\(event.message)", metadata: flat))
    }
}

/// An in-memory `APIClient`: answers with `respond` and records every request.
final class FakeAPIClient: APIClient {
    private let requests = Mutex<[APIRequest]>([])
    private let respond: @Sendable (APIRequest) async throws -> JSONValue

    init(respond: @escaping @Sendable (APIRequest) async throws -> JSONValue) {
        self.respond = respond
    }

    var received: [APIRequest] { requests.withLock { $0 } }

    func send(_ request: APIRequest) async throws -> APIResponse {
        requests.withLock { $0.append(request) }
        return APIResponse(status: 200, headers: ["content-type": "application/json"], data: try await respond(request))
    }
}

enum ScriptFixtures {
    static func source(_ name: String) throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/scripts").appendingPathComponent(name)
        return try String(contentsOf: url, encoding: .utf8)
    }
}

// The total limit is generous: the suite runs many tests at once on 2 cores, and a slow
// machine must not turn into a failed test (the limit is checked by its own test).
func makeScriptEngine(timeLimit: Duration = .seconds(5), totalTimeLimit: Duration = .seconds(30), contexts: Int = 2, logger: Logger = Logger(label: "test.script")) -> ScriptEngine {
    ScriptEngine(configuration: .init(timeLimit: timeLimit, totalTimeLimit: totalTimeLimit, contexts: contexts), logger: logger)
}

/// Runs `source` once and returns the thrown `ScriptError`, failing the test if it returned.
func scriptError(_ engine: ScriptEngine, _ source: String, fileName: String = "method.js", arguments: JSONValue = [:], host: ScriptHost = .init()) async -> ScriptError? {
    do {
        let result = try await engine.call(source: source, fileName: fileName, arguments: arguments, host: host)
        Issue.record("expected an error, got \(result)")
        return nil
    } catch let error as ScriptError {
        return error
    } catch {
        Issue.record("expected a ScriptError, got \(error)")
        return nil
    }
}

// MARK: - Engine

@Suite("ScriptEngine")
struct ScriptEngineTests {
    @Test("an async default export's result comes back as JSON")
    func asyncDefaultExport() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let result = try await engine.call(
            source: "export default async function (args) { return { events: [], echo: args.parameters.name } }",
            fileName: "handle.js", arguments: ["parameters": ["name": "x"]], host: .init())
        #expect(result == ["events": [], "echo": "x"])
    }

    @Test("a plain named default export runs, and can use helper functions and constants from its file")
    func plainNamedExportWithHelpers() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let source = """
            const FACTOR = 3
            function triple(n) { return n * FACTOR }
            export default function getEventSelector({ parameters }) {
              return { globalWebhookKey: 'app', globalWebhookEventSelector: String(triple(parameters.n)) }
            }
            """
        let result = try await engine.call(source: source, fileName: "getEventSelector.js", arguments: ["parameters": ["n": 4]], host: .init())
        #expect(result == ["globalWebhookKey": "app", "globalWebhookEventSelector": "12"])
    }

    @Test("an arrow function default export and named helper exports are accepted")
    func arrowDefaultExport() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let source = """
            export const helper = (x) => x + 1
            export default async ({ n }) => ({ n: helper(n) })
            """
        #expect(try await engine.call(source: source, fileName: "a.js", arguments: ["n": 1], host: .init()) == ["n": 2])
    }

    @Test("every webhook argument reaches the method unchanged")
    func argumentsPassThrough() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let arguments: JSONValue = [
            "webhookUri": "https://inlet.example/webhooks/abc",
            "parameters": ["path": "/hooks", "flags": [true, false]],
            "state": ["webhookId": 42],
            "query": ["a": "1"],
            "data": ["issue": ["id": 7, "title": "Bug \"quoted\" \\ é ✓"]],
            "body": ["raw": nil],
            "headers": ["x-hub-signature-256": "sha256=abc"],
            "rawBody": "{\"issue\":{\"id\":7}}\n\u{0}end",
        ]
        let source = """
            export default async function (args) {
              const { apiClient, ...rest } = args
              return { rest, hasApiClient: typeof apiClient.get === 'function' }
            }
            """
        let result = try await engine.call(source: source, fileName: "handle.js", arguments: arguments, host: .init())
        #expect(result["rest"] == arguments)
        #expect(result["hasApiClient"] == true)
    }

    @Test("results round-trip: nesting, integers vs doubles, null, and undefined as null")
    func resultRoundTrip() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let source = """
            export default function () {
              return { int: 1, big: 9007199254740991, negative: -5, double: 1.5, tiny: 1e-7, huge: 1e300,
                       nested: { list: [1, 'two', null, { deep: [true] }] }, nothing: null, missing: undefined,
                       text: 'line\\nbreak \\u2713', empty: {}, emptyList: [] }
            }
            """
        let result = try await engine.call(source: source, fileName: "r.js", arguments: [:], host: .init())
        let expected: JSONValue = [
            "int": .integer(1), "big": .integer(9_007_199_254_740_991), "negative": .integer(-5), "double": .number(1.5),
            "tiny": .number(1e-7), "huge": .number(1e300),
            "nested": ["list": [1, "two", nil, ["deep": [true]]]], "nothing": nil,
            "text": "line\nbreak ✓", "empty": [:], "emptyList": [],
        ]
        #expect(result == expected)
        #expect(try await engine.call(source: "export default async function () {}", fileName: "u.js", arguments: [:], host: .init()) == .null)
        #expect(try await engine.call(source: "export default function () { return 'plain' }", fileName: "s.js", arguments: [:], host: .init()) == "plain")
    }

    @Test("a thrown error reports its message, the line in the original file and a stack")
    func thrownErrorWithLine() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let error = await scriptError(engine, try ScriptFixtures.source("throws-on-line-7.js"), fileName: "throws-on-line-7.js", arguments: ["parameters": ["count": 0]])
        #expect(error?.kind == .thrown)
        #expect(error?.message == "count must be positive")
        #expect(error?.line == 7)
        #expect(error?.fileName == "throws-on-line-7.js")
        #expect(error?.stack?.contains("throws-on-line-7.js:7") == true)
        #expect(error?.description.hasPrefix("throws-on-line-7.js:7: thrown:") == true)
    }

    @Test("an error object's extra fields are kept as data, and non-Error throws still explain themselves")
    func errorData() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let withCode = await scriptError(engine, """
            export default async function () {
              const e = new Error('nope'); e.code = 'E_NOPE'; e.status = 409; throw e
            }
            """)
        #expect(withCode?.data == ["code": "E_NOPE", "status": 409])
        let typeError = await scriptError(engine, "export default function () { return null.x }")
        #expect(typeError?.message.hasPrefix("TypeError:") == true)
        #expect(typeError?.line == 1)
        let thrownString = await scriptError(engine, "export default async function () { throw 'plain string' }")
        #expect(thrownString?.message == "plain string")
    }

    @Test("a syntax error is reported as .syntax with its line")
    func syntaxError() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let error = await scriptError(engine, "// comment\n\nexport default async function () {\n  let x = ;\n}\n", fileName: "broken.js")
        #expect(error?.kind == .syntax)
        #expect(error?.line == 4)
        #expect(error?.fileName == "broken.js")
    }

    @Test("an import statement is rejected with the file and line")
    func importRejected() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let error = await scriptError(engine, "// helpers\nimport crypto from 'crypto'\nexport default async function () {}", fileName: "subscribe.js")
        #expect(error?.kind == .unsupported)
        #expect(error?.line == 2)
        #expect(error?.description.contains("subscribe.js:2") == true)
        #expect(error?.message.contains("import") == true)
    }

    @Test("a file without a default export is rejected")
    func missingDefaultExport() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let error = await scriptError(engine, "function handle() { return 1 }")
        #expect(error?.kind == .unsupported)
    }

    @Test("an infinite loop times out naming the file, and the engine keeps working")
    func infiniteLoopTimesOut() async throws {
        let engine = makeScriptEngine(timeLimit: .milliseconds(300), contexts: 1)
        defer { engine.shutdown() }
        let error = await scriptError(engine, "export default function () { while (true) {} }", fileName: "loop.js")
        #expect(error?.kind == .timeout)
        #expect(error?.fileName == "loop.js")

        let afterAwait = await scriptError(engine, "export default async function () { await null; for (;;) {} }", fileName: "loop2.js")
        #expect(afterAwait?.kind == .timeout)

        for n in 0..<3 {
            let result = try await engine.call(source: "export default async function ({ n }) { return n * 2 }", fileName: "ok.js", arguments: ["n": .integer(Int64(n))], host: .init())
            #expect(result == .integer(Int64(n * 2)))
        }
    }

    @Test("with a time limit shorter than building a context takes, a stopped method's context is rebuilt and works")
    func shortTimeLimitRebuildsContext() async throws {
        let engine = makeScriptEngine(timeLimit: .milliseconds(5), contexts: 1)
        defer { engine.shutdown() }
        for round in 0..<3 {
            let error = await scriptError(engine, "export default function () { for (;;) {} }", fileName: "loop\(round).js")
            #expect(error?.kind == .timeout)
            #expect(try await engine.call(source: "export default function () { return 'alive' }", fileName: "ok.js", arguments: [:], host: .init()) == "alive")
        }
    }

    @Test("a promise that never settles times out at the total time limit")
    func pendingPromiseTimesOut() async throws {
        let engine = makeScriptEngine(totalTimeLimit: .milliseconds(300))
        defer { engine.shutdown() }
        let error = await scriptError(engine, "export default function () { return new Promise(() => {}) }", fileName: "never.js")
        #expect(error?.kind == .timeout)
        #expect(error?.fileName == "never.js")
    }

    @Test("top-level state of one file is private to that file")
    func filesHaveTheirOwnScope() async throws {
        let engine = makeScriptEngine(contexts: 1)
        defer { engine.shutdown() }
        let first = "const NAME = 'first'\nexport default function () { return NAME }"
        let second = "const NAME = 'second'\nexport default function () { return typeof helperFromFirst }"
        let firstWithHelper = "function helperFromFirst() {}\n" + first
        #expect(try await engine.call(source: firstWithHelper, fileName: "first.js", arguments: [:], host: .init()) == "first")
        #expect(try await engine.call(source: second, fileName: "second.js", arguments: [:], host: .init()) == "undefined")
    }

    @Test("each call gets fresh arguments even when the method mutates them")
    func freshArgumentsPerCall() async throws {
        let engine = makeScriptEngine(contexts: 1)
        defer { engine.shutdown() }
        let source = "export default function (args) { args.state.count = (args.state.count || 0) + 1; return args.state.count }"
        for _ in 0..<3 {
            #expect(try await engine.call(source: source, fileName: "m.js", arguments: ["state": [:]], host: .init()) == 1)
        }
    }

    @Test("nothing beyond the helpers is exposed: no fetch, XMLHttpRequest, require or process")
    func noOtherCapabilities() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let source = """
            export default function () {
              return [typeof fetch, typeof XMLHttpRequest, typeof require, typeof process, typeof setTimeout]
            }
            """
        #expect(try await engine.call(source: source, fileName: "g.js", arguments: [:], host: .init()) == ["undefined", "undefined", "undefined", "undefined", "undefined"])
    }

    @Test("200 concurrent calls from many tasks all get their own result")
    func concurrentCalls() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let source = "export default async function ({ n }) { await null; return { n, square: n * n } }"
        try await withThrowingTaskGroup(of: (Int, JSONValue).self) { group in
            for n in 0..<200 {
                group.addTask {
                    (n, try await engine.call(source: source, fileName: "square.js", arguments: ["n": .integer(Int64(n))], host: .init()))
                }
            }
            var seen = 0
            for try await (n, result) in group {
                #expect(result == ["n": .integer(Int64(n)), "square": .integer(Int64(n * n))])
                seen += 1
            }
            #expect(seen == 200)
        }
    }

    @Test("after shutdown, calls fail instead of hanging")
    func shutdownFailsCalls() async throws {
        let engine = makeScriptEngine()
        engine.shutdown()
        let error = await scriptError(engine, "export default function () { return 1 }")
        #expect(error?.kind == .unsupported)
    }

    @Test("connectors are isolated: one cannot replace another's helpers or read its globals; a connector keeps its own module state")
    func connectorsAreIsolated() async throws {
        let engine = makeScriptEngine(contexts: 1)
        defer { engine.shutdown() }
        // Each attempt throws (built-ins and helpers are frozen, see ScriptHardeningTests);
        // the hostile method carries on regardless.
        let hostile = """
            let kept = 0
            export default function () {
              for (const attempt of [
                () => { globalThis.timingSafeEqual = () => true },
                () => { globalThis.stolen = 'from hostile' },
                () => { Object.prototype.polluted = 'yes' },
              ]) { try { attempt() } catch (error) {} }
              kept += 1
              return 'done'
            }
            """
        let victim = """
            let calls = 0
            export default function () {
              calls += 1
              return { equal: timingSafeEqual(Buffer.from('a'), Buffer.from('b')), stolen: typeof stolen, polluted: ({}).polluted ?? null, calls }
            }
            """
        #expect(try await engine.call(source: hostile, fileName: "hostile/handle.js", arguments: [:], host: .init(connector: "hostile")) == "done")
        for calls in 1...2 {
            let seen = try await engine.call(source: victim, fileName: "victim/handle.js", arguments: [:], host: .init(connector: "victim"))
            #expect(seen == ["equal": false, "stolen": "undefined", "polluted": nil, "calls": .integer(Int64(calls))])
        }
        // The hostile connector could not even change its own context's globals.
        let own = "export default function () { return [typeof stolen, ({}).polluted ?? null] }"
        #expect(try await engine.call(source: own, fileName: "hostile/own.js", arguments: [:], host: .init(connector: "hostile")) == ["undefined", nil])
    }

    @Test("runaway recursion is a RangeError for the method, and the engine keeps working")
    func deepRecursion() async throws {
        let engine = makeScriptEngine(contexts: 1)
        defer { engine.shutdown() }
        let error = await scriptError(engine, "function down(n) { return down(n + 1) + 1 }\nexport default function () { return down(0) }", fileName: "deep.js")
        #expect(error?.kind == .thrown)
        #expect(error?.message.contains("RangeError") == true)
        // Legitimate recursion a few thousand frames deep works.
        let depth = "function down(n) { return n === 0 ? 0 : down(n - 1) + 1 }\nexport default function () { return down(5000) }"
        #expect(try await engine.call(source: depth, fileName: "depth.js", arguments: [:], host: .init()) == 5000)
    }

    @Test("non-ASCII text, NUL and lone surrogates cross the boundary both ways")
    func textRoundTrips() async throws {
        let engine = makeScriptEngine(contexts: 1)
        defer { engine.shutdown() }
        let text = "Grüße 👋 \u{0} end"
        let source = """
            export default function ({ text }) {
              return { same: text, units: text.length, hex: Buffer.from(text).toString('hex'), lone: 'a\\uD83Db', made: 'ß' + String.fromCharCode(0) }
            }
            """
        let result = try await engine.call(source: source, fileName: "text.js", arguments: ["text": .string(text)], host: .init())
        #expect(result["same"] == .string(text))
        #expect(result["units"] == .integer(Int64(text.utf16.count)))
        #expect(result["hex"] == .string(text.utf8.map { String(format: "%02x", $0) }.joined()))
        #expect(result["lone"] == "a\u{FFFD}b")
        #expect(result["made"] == "ß\u{0}")
    }
}

// MARK: - Hardening

@Suite("ScriptEngine hardening")
struct ScriptHardeningTests {
    @Test("built-ins and helpers are frozen: a connector cannot replace them, not even for its own later calls")
    func builtInsAreFrozen() async throws {
        let engine = makeScriptEngine(contexts: 1)
        defer { engine.shutdown() }
        let hostile = """
            export default function () {
              const attempts = {
                helper: () => { globalThis.timingSafeEqual = () => true },
                deleteHelper: () => { delete globalThis.createHmac },
                newGlobal: () => { globalThis.stolen = 'x' },
                objectPrototype: () => { Object.prototype.polluted = 'yes' },
                defineOnPrototype: () => { Object.defineProperty(Object.prototype, 'polluted', { value: 'yes' }) },
                arrayMethod: () => { Array.prototype.map = () => [] },
                jsonParse: () => { JSON.parse = () => ({}) },
                bufferEquals: () => { Buffer.prototype.equals = () => true },
                hashDigest: () => { Object.getPrototypeOf(createHmac('sha256', 'k')).digest = () => 'forged' },
                iterator: () => { Object.getPrototypeOf([][Symbol.iterator]()).next = () => ({ done: true }) },
                promiseThen: () => { Promise.prototype.then = () => {} },
                apiClient: () => { apiClient.get = () => 'forged' },
                consoleLog: () => { console.log = () => {} },
                toStringOfPrototype: () => { Object.prototype.toString = () => 'forged' },
              }
              const blocked = {}
              for (const [name, attempt] of Object.entries(attempts)) {
                try { attempt(); blocked[name] = 'not blocked' } catch (error) { blocked[name] = error instanceof TypeError }
              }
              return blocked
            }
            """
        let blocked = try await engine.call(source: hostile, fileName: "hostile/handle.js", arguments: [:], host: .init(connector: "hostile"))
        guard case .object(let members) = blocked else { Issue.record("unexpected \(blocked)"); return }
        #expect(members.count == 14)
        for (name, value) in members { #expect(value == true, "\(name): \(value)") }

        // Another file of the same connector, in the same context, sees the real helpers.
        let check = """
            export default function () {
              return {
                equal: timingSafeEqual(Buffer.from('a'), Buffer.from('b')),
                hmac: createHmac('sha256', 'k').update('x').digest('hex').length,
                mapped: [1, 2].map((n) => n * 2), stolen: typeof stolen, polluted: ({}).polluted ?? null,
                parsed: JSON.parse('{"a":1}'), bufferEquals: Buffer.from('a').equals(Buffer.from('b')),
              }
            }
            """
        let seen = try await engine.call(source: check, fileName: "hostile/check.js", arguments: [:], host: .init(connector: "hostile"))
        #expect(seen == ["equal": false, "hmac": 64, "mapped": [2, 4], "stolen": "undefined", "polluted": nil, "parsed": ["a": 1], "bufferEquals": false])
    }

    @Test("ordinary code still works on frozen built-ins: error subclasses naming themselves, own toString, assigning message")
    func ordinaryCodeStillWorks() async throws {
        let engine = makeScriptEngine(contexts: 1)
        defer { engine.shutdown() }
        let source = """
            class NotFound extends Error {
              constructor(message) { super(message); this.name = 'NotFound'; this.code = 404 }
            }
            export default async function ({ fail }) {
              if (fail) throw new NotFound('no such issue')
              const custom = { toString: undefined }
              custom.toString = () => 'custom'
              const plain = {}
              plain.valueOf = () => 41
              const error = new Error('first')
              error.message = 'second'
              const values = new Map([['a', 1]])
              const awaited = await Promise.resolve(2)
              return {
                custom: String(custom), sum: plain + 1, message: error.message, tag: Object.prototype.toString.call([]),
                own: ({ a: 1 }).hasOwnProperty('a'), fromMap: [...values.keys()], awaited,
                sorted: [3, 1, 2].sort(), spread: { ...{ a: 1 }, b: 2 },
              }
            }
            """
        let result = try await engine.call(source: source, fileName: "ok.js", arguments: ["fail": false], host: .init())
        #expect(result == [
            "custom": "custom", "sum": 42, "message": "second", "tag": "[object Array]", "own": true, "fromMap": ["a"], "awaited": 2,
            "sorted": [1, 2, 3], "spread": ["a": 1, "b": 2],
        ])
        let error = await scriptError(engine, source, fileName: "ok.js", arguments: ["fail": true])
        #expect(error?.kind == .thrown)
        #expect(error?.message == "NotFound: no such issue")
        #expect(error?.data?["code"] == 404)
    }

    /// An engine with a small memory limit and a time limit far above what the tests need.
    private func smallEngine(memoryMiB: Int, checkEvery: Int = 256, tick: Duration = .milliseconds(10)) -> ScriptEngine {
        var configuration = ScriptEngineConfiguration(timeLimit: .seconds(20), totalTimeLimit: .seconds(60), contexts: 1, memoryLimit: memoryMiB << 20)
        configuration.memoryCheckInterval = checkEvery
        configuration.watchdogTick = tick
        return ScriptEngine(configuration: configuration, logger: Logger(label: "test.script"))
    }

    @Test("a method that allocates without bound is stopped at the memory limit, and the engine keeps working", arguments: [
        "const kept = []; for (;;) kept.push(new Array(100000).fill(7))",
        "const kept = []; for (let i = 0; ; i++) kept.push({ i, text: 'record ' + i, tags: [i, i + 1] })",
        "const kept = []; for (;;) kept.push(new Uint8Array(1 << 16).fill(1))",
    ])
    func unboundedAllocationIsStopped(body: String) async throws {
        let engine = smallEngine(memoryMiB: 64)
        defer { engine.shutdown() }
        let started = ContinuousClock.now
        let error = await scriptError(engine, "export default function () { \(body) }", fileName: "hog.js")
        #expect(error?.kind == .memoryLimit)
        #expect(error?.message.contains("64 MiB") == true)
        // Stopped by the memory check, long before the 20 s time limit.
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(try await engine.call(source: "export default function () { return 'alive' }", fileName: "ok.js", arguments: [:], host: .init()) == "alive")
    }

    @Test("module-level state that grows past the memory limit between calls gets the context replaced")
    func growingModuleStateIsReset() async throws {
        // The watchdog ticks far less often than a call lasts, so what this test sees is the check after
        // each call. (With a short tick, a slow machine may stop the call that crosses the limit instead:
        // also correct, and what the test above covers.)
        let engine = smallEngine(memoryMiB: 48, checkEvery: 1, tick: .seconds(30))
        defer { engine.shutdown() }
        let source = """
            const kept = []
            export default function () { kept.push(new Array(1 << 20).fill(kept.length)); return kept.length }
            """
        var lengths: [JSONValue] = []
        for _ in 0..<20 {
            lengths.append(try await engine.call(source: source, fileName: "leak.js", arguments: [:], host: .init()))
        }
        // It grew to the limit, then started over in a new context.
        let counts = lengths.compactMap { value -> Int? in if case .integer(let n) = value { Int(n) } else { nil } }
        #expect(counts.count == 20)
        // (The heap's statistics lag behind a little, so it may go a few calls past the limit.)
        #expect((counts.max() ?? 0) < 20)
        #expect(counts.filter { $0 == 1 }.count >= 2)
    }
}

@Suite("Hashing the text a method was given")
struct GivenTextHashTests {
    @Test("a hash of the given rawBody reads the text's UTF-8: the same digest as the string converted back, for the string itself or an equal copy, and not for another string")
    func hashOfGivenText() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let body = "{\"t\":\"é ✓ \u{1F600} \u{0} end\"}"
        let source = """
            export default function ({ rawBody }) {
              const hex = (data) => createHmac('sha256', 'k').update(data).digest('hex')
              return { same: hex(rawBody), copy: hex(Array.from(rawBody).join('')), longer: hex(rawBody + 'x'), bytes: hex(Buffer.from(rawBody)) }
            }
            """
        let result = try await engine.call(source: source, fileName: "hash.js", arguments: [:], texts: ["rawBody": body], host: ScriptHost(connector: "hash"))
        func hex(_ text: String) -> JSONValue {
            .string(ScriptHostFunctions.encode(ScriptHostFunctions.digest(algorithm: "sha256", key: Array("k".utf8), chunks: [Array(text.utf8)])!, .hex))
        }
        #expect(result == ["same": hex(body), "copy": hex(body), "longer": hex(body + "x"), "bytes": hex(body)])
    }
}
