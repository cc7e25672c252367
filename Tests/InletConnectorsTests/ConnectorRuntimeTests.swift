import Foundation
import Logging
import Testing

@testable import InletConnectors

// MARK: - Support

/// The repository's `connectors/` workspace and throwaway workspaces for runtime tests.
enum RuntimeFixtures {
    /// The repository root (it holds `connectors/`, the example connectors).
    static let repositoryRoot: URL = {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while directory.path != "/" && !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
            directory = directory.deletingLastPathComponent()
        }
        return directory
    }()

    /// One engine for every runtime test (each engine owns worker threads).
    static let scripts = ScriptEngine(configuration: .init(timeLimit: .seconds(5), contexts: 2), logger: Logger(label: "test.runtime.script"))

    /// The example connectors, loaded once.
    static let examples: Workspace? = WorkspaceLoader().load(from: repositoryRoot).workspace

    /// A runtime over the example connectors whose API calls all go to `api`.
    static func exampleRuntime(api: StubAPIServer) throws -> ConnectorRuntime {
        let workspace = try #require(examples, "connectors/ must load without errors (run inlet connector validate connectors)")
        return ConnectorRuntime(workspace: workspace, scripts: scripts, logger: Logger(label: "test.runtime"), apiBaseOverride: api.baseURI)
    }

    /// Writes `files` (path → content) under a new temporary workspace and loads it.
    static func workspace(_ files: [String: String]) throws -> Workspace {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("inlet-runtime-\(UUID().uuidString)")
        for (path, content) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try content.write(to: url, atomically: true, encoding: .utf8)
        }
        let (workspace, problems) = WorkspaceLoader().load(from: root)
        return try #require(workspace, "fixture workspace has problems: \(problems.rendered())")
    }

    /// A connector `acme` with a webhook event `thing` whose method files are `methods`.
    static func acme(_ methods: [String: String], extra: [String: String] = [:]) throws -> ConnectorRuntime {
        var files = [
            "connectors/acme/connector.yml": "name: Acme\n",
            "connectors/acme/auth/make-api-client.map.yml": "baseUri: https://api.acme.test\nheaders:\n  Authorization: {$concat: ['Bearer ', {$var: credentials.token}]}\n",
            "connectors/acme/events/thing/spec.yml": """
                name: Thing
                implementationType: webhook
                parametersSchema:
                  type: object
                  properties: {project: {type: string}}
                  required: [project]
                methods: {subscribe: {}, handle: {}, unsubscribe: {}}

                """,
        ]
        for (name, source) in methods { files["connectors/acme/events/thing/\(name)"] = source }
        files.merge(extra) { _, new in new }
        return ConnectorRuntime(workspace: try workspace(files), scripts: scripts, logger: Logger(label: "test.runtime"))
    }

    static let noopSubscribe = "export default async function subscribe() { return { state: {} } }"
    static let noopUnsubscribe = "export default async function unsubscribe() {}"
}

/// Runs `body` and returns the ``ConnectorMethodError`` it throws (failing the test if it does not).
func connectorError(_ body: () async throws -> Void) async -> ConnectorMethodError? {
    do {
        try await body()
        Issue.record("expected a ConnectorMethodError, nothing was thrown")
    } catch let error as ConnectorMethodError {
        return error
    } catch {
        Issue.record("expected a ConnectorMethodError, got \(error)")
    }
    return nil
}

// MARK: - Tests

@Suite("Connector runtime")
struct ConnectorRuntimeTests {
    let thing = MethodContext(connectorKey: "acme", owner: .event("thing"), parameters: ["project": "p1"], state: ["cursor": 7],
                              credentials: ["token": "t"], connectorParameters: ["region": "eu"])

    @Test("the example connectors load with zero problems (what inlet connector validate connectors checks)")
    func examplesValidate() throws {
        let (workspace, problems) = WorkspaceLoader().load(from: RuntimeFixtures.repositoryRoot)
        #expect(problems.rendered() == [])
        let loaded = try #require(workspace)
        #expect(Set(loaded.connectors.keys) == ["github", "slack", "msgraph"])
    }

    @Test("handle receives query, data, body, headers, rawBody, state, parameters and connectorParameters as the seeds name them")
    func handleArguments() async throws {
        let runtime = try RuntimeFixtures.acme([
            "subscribe.js": RuntimeFixtures.noopSubscribe, "unsubscribe.js": RuntimeFixtures.noopUnsubscribe,
            "handle.js": """
                export default async function handle(args) {
                  const { apiClient, ...rest } = args
                  return { events: [{ type: 'created', record: { id: 'echo', args: rest, hasApiClient: typeof apiClient?.get === 'function' } }] }
                }
                """,
        ])
        let request = WebhookRequest(method: "post", path: "/w/1", query: ["a": "1"], headers: ["X-Thing": "x", "Content-Type": "application/json"],
                                     rawBody: Data(#"{"n":1}"#.utf8))
        let result = try await runtime.handle(thing, request: request)
        let args = try #require(result.events.first?.record["args"])
        #expect(args["query"] == ["a": "1"])
        #expect(args["data"] == ["n": 1])
        #expect(args["body"] == ["n": 1])
        #expect(args["rawBody"] == #"{"n":1}"#)
        #expect(args["headers"]?["x-thing"] == "x")
        #expect(args["state"] == ["cursor": 7])
        #expect(args["parameters"] == ["project": "p1"])
        #expect(args["connectorParameters"] == ["region": "eu"])
        #expect(result.events.first?.record["hasApiClient"] == true)
        #expect(result.events.first?.type == "created")
        #expect(result.state == nil)
    }

    @Test("body is data under another name: one object in JavaScript, in a mapping the same value; a payload is also data and body")
    func bodyIsData() async throws {
        let runtime = try RuntimeFixtures.acme([
            "subscribe.js": RuntimeFixtures.noopSubscribe, "unsubscribe.js": RuntimeFixtures.noopUnsubscribe,
            "handle.js": """
                export default async function handle({ data, body, payload }) {
                  data.touched = true
                  return { events: [{ record: { id: 'b', same: data === body, seen: body.touched === true, payloadToo: payload === undefined || payload === data, n: body.n } }] }
                }
                """,
        ])
        let request = WebhookRequest(method: "POST", path: "/", headers: ["content-type": "application/json"], rawBody: Data(#"{"n":3}"#.utf8))
        let handled = try await runtime.handle(thing, request: request)
        #expect(handled.events.first?.record == ["id": "b", "same": true, "seen": true, "payloadToo": true, "n": 3])
        let fromPayload = try await runtime.handlePayload(thing, payload: ["n": 4])
        #expect(fromPayload.events.first?.record == ["id": "b", "same": true, "seen": true, "payloadToo": true, "n": 4])

        let mapping = try RuntimeFixtures.acme([
            "subscribe.js": RuntimeFixtures.noopSubscribe, "unsubscribe.js": RuntimeFixtures.noopUnsubscribe,
            "handle.map.yml": """
                events:
                  - record:
                      id: {$var: body.id}
                      fromData: {$var: data.id}

                """,
        ])
        let mapped = try await mapping.handle(thing, request: WebhookRequest(method: "POST", path: "/", headers: ["content-type": "application/json"], rawBody: Data(#"{"id":"m1"}"#.utf8)))
        #expect(mapped.events.first?.record == ["id": "m1", "fromData": "m1"])
    }

    @Test("rawBody reaches JavaScript whole: quotes, non-ASCII text, a NUL and invalid UTF-8 (replaced)")
    func rawBodyText() async throws {
        let runtime = try RuntimeFixtures.acme([
            "subscribe.js": RuntimeFixtures.noopSubscribe, "unsubscribe.js": RuntimeFixtures.noopUnsubscribe,
            "handle.js": "export default async function handle({ rawBody }) { return { events: [{ record: { id: 'r', rawBody, length: rawBody.length } }] } }",
        ])
        var bytes = Data("\"quoted\" é ✓ \u{0} end ".utf8)
        bytes.append(0xFF)
        let result = try await runtime.handle(thing, request: WebhookRequest(method: "POST", path: "/", headers: ["content-type": "text/plain"], rawBody: bytes))
        let expected = String(decoding: bytes, as: UTF8.self)
        #expect(result.events.first?.record["rawBody"] == .string(expected))
        #expect(result.events.first?.record["length"] == .integer(Int64(expected.utf16.count)))
    }

    @Test("a JSON body reaches JavaScript as Swift parses it (JavaScriptCore parses rawBody): nesting, escapes, the largest exact integer and fractions; one Swift refuses stays a string; one JavaScriptCore refuses (a byte-order mark) still arrives parsed")
    func jsonBodyParsedInJavaScript() async throws {
        let runtime = try RuntimeFixtures.acme([
            "subscribe.js": RuntimeFixtures.noopSubscribe, "unsubscribe.js": RuntimeFixtures.noopUnsubscribe,
            "handle.js": """
                export default async function handle({ data, body, rawBody }) {
                  const first = typeof data?.s === 'string' ? data.s.charCodeAt(0) : null
                  return { events: [{ record: { id: 'j', data, same: data === body, kind: typeof data, rawLength: rawBody.length, first } }] }
                }
                """,
        ])
        func handled(_ text: String, contentType: String? = "application/json", bom: Bool = false) async throws -> JSONValue? {
            var bytes = Data(bom ? [0xEF, 0xBB, 0xBF] : [])
            bytes.append(Data(text.utf8))
            let headers = contentType.map { ["content-type": $0] } ?? [:]
            let request = WebhookRequest(method: "POST", path: "/", headers: headers, rawBody: bytes)
            let record = try await runtime.handle(thing, request: request).events.first?.record
            #expect(record?["same"] == true)
            // What JavaScript received is what Swift parsed (`data` is also what mappings see).
            #expect(record?["data"] == request.data, "\(text)")
            return record
        }
        let nested = #"{"a":[1,2.5,-0.125,{"b":null,"c":true}],"s":"quote \" slash \/ tab \t \u00e9 \ud83d\ude00 ✓","big":9007199254740991,"e":1e3,"empty":{},"list":[]}"#
        _ = try await handled(nested)
        _ = try await handled(nested, contentType: nil)
        _ = try await handled(nested, contentType: "application/vnd.github+json; charset=utf-8")
        _ = try await handled(#"[1,"two",{"three":3}]"#)
        let refused = try await handled(#"{"unterminated": "#)
        #expect(refused?["kind"] == "string")
        let bom = try await handled(#"{"n":1}"#, bom: true)
        #expect(bom?["data"] == ["n": 1])
        #expect(bom?["rawLength"] == 8, "the byte-order mark stays in rawBody")
        // An unpaired surrogate escape: Swift's parse makes it U+FFFD, and so does what
        // JavaScript gets (JavaScriptCore would keep the lone code unit).
        let lone = try await handled(#"{"s":"\ud800 lone"}"#)
        #expect(lone?["first"] == 0xFFFD)
        let paired = try await handled(#"{"s":"\uD83D\uDE00 pair"}"#)
        #expect(paired?["first"] == 0xD83D)
    }

    @Test("a record without an id is a malformed result naming the file and the pointer")
    func recordWithoutID() async throws {
        let runtime = try RuntimeFixtures.acme([
            "subscribe.js": RuntimeFixtures.noopSubscribe, "unsubscribe.js": RuntimeFixtures.noopUnsubscribe,
            "handle.js": "export default async function handle() { return { events: [{ record: { name: 'no id' } }] } }",
        ])
        let error = await connectorError { _ = try await runtime.handle(thing, request: WebhookRequest(method: "POST", path: "/")) }
        #expect(error?.code == "malformed-result")
        #expect(error?.file == "connectors/acme/events/thing/handle.js")
        #expect(error?.message.hasPrefix("connectors/acme/events/thing/handle.js: ") == true)
        #expect(error?.message.contains("/events/0/record/id") == true)
        #expect(error?.details == ["pointer": "/events/0/record/id"])
    }

    @Test("an unknown event type, a missing events list and a bad response status are malformed")
    func malformedHandleResults() throws {
        let contract = MethodResultContract.handle
        let cases: [(JSONValue, String)] = [
            (["events": [["type": "modified", "record": ["id": "1"]]]], "/events/0/type"),
            (["response": ["status": 200]], "/events"),
            (["events": [], "response": ["status": 42]], "/response/status"),
            (["events": [["record": ["id": ""]]]], "/events/0/record/id"),
            (["events": [["record": ["id": "1"]]], "state": "x"], "/state"),
            (nil, ""),
        ]
        for (result, pointer) in cases {
            #expect(throws: ConnectorMethodError.self) { _ = try contract.validate(result, file: "h.js") }
            do {
                _ = try contract.validate(result, file: "h.js")
            } catch {
                #expect(error.details == ["pointer": .string(pointer)], "for \(result.jsonText)")
            }
        }
        #expect(throws: Never.self) { _ = try contract.validate(["events": [["type": "deleted", "record": ["id": 3]]], "state": nil], file: "h.js") }
    }

    @Test("subscribe must wrap its state; a custom pull's subscribe may return the state itself")
    func subscribeContracts() throws {
        #expect(throws: ConnectorMethodError.self) { _ = try MethodResultContract.subscribe.validate(["webhookId": 1], file: "s.js") }
        #expect(throws: ConnectorMethodError.self) { _ = try MethodResultContract.subscribe.validate(["nextRefreshTimestamp": "soon"], file: "s.js") }
        #expect(try MethodResultContract.subscribe.validate(nil, file: "s.js") == [:])
        #expect(try MethodResultContract.customPullSubscribe.validate(["deltaLink": "x"], file: "s.js") == ["state": ["deltaLink": "x"]])
        #expect(try MethodResultContract.customPullSubscribe.validate(["state": ["deltaLink": "x"]], file: "s.js") == ["state": ["deltaLink": "x"]])
        #expect(throws: ConnectorMethodError.self) { _ = try MethodResultContract.pull.validate(["events": []], file: "p.js") }
        #expect(throws: ConnectorMethodError.self) { _ = try MethodResultContract.recordPage.validate(["records": [["name": "x"]]], file: "l.js") }
        #expect(throws: ConnectorMethodError.self) { _ = try MethodResultContract.getEventSelector.validate(["globalWebhookKey": "app"], file: "g.map.yml") }
        #expect(throws: ConnectorMethodError.self) {
            _ = try MethodResultContract.globalWebhookHandle.validate(["events": [["selector": 1, "payload": [:]]]], file: "g.js")
        }
    }

    @Test("subscribe checks parameters against parametersSchema before running")
    func invalidParameters() async throws {
        let runtime = try RuntimeFixtures.acme([
            "subscribe.js": "export default async function subscribe() { throw new Error('must not run') }",
            "unsubscribe.js": RuntimeFixtures.noopUnsubscribe,
            "handle.js": "export default async function handle() { return { events: [] } }",
        ])
        var context = thing
        context.parameters = ["project": 5]
        let error = await connectorError { _ = try await runtime.subscribe(context, webhookUri: "https://inlet.test/w/1") }
        #expect(error?.code == "invalid-parameters")
        #expect(error?.file == "connectors/acme/events/thing/spec.yml")
    }

    @Test("a method that throws fails with handle-error at its file and line")
    func thrownError() async throws {
        let runtime = try RuntimeFixtures.acme([
            "subscribe.js": RuntimeFixtures.noopSubscribe, "unsubscribe.js": RuntimeFixtures.noopUnsubscribe,
            "handle.js": "export default async function handle() {\n  // nothing\n  throw new Error('boom')\n}\n",
        ])
        let error = await connectorError { _ = try await runtime.handle(thing, request: WebhookRequest(method: "POST", path: "/")) }
        #expect(error?.code == "handle-error")
        #expect(error?.line == 3)
        #expect(error?.message.hasPrefix("connectors/acme/events/thing/handle.js:3: ") == true)
        #expect(error?.message.contains("boom") == true)
    }

    @Test("a mapping handle runs against the same arguments; a response string becomes text/plain")
    func mappingHandle() async throws {
        let runtime = try RuntimeFixtures.acme([
            "subscribe.js": RuntimeFixtures.noopSubscribe, "unsubscribe.js": RuntimeFixtures.noopUnsubscribe,
            "handle.map.yml": """
                events:
                  - type: updated
                    record:
                      id: {$var: data.thing.id}
                      name: {$var: query.label}
                response:
                  data: {$var: query.label}

                """,
        ])
        let request = WebhookRequest(method: "POST", path: "/", query: ["label": "hello"], headers: ["content-type": "application/json"],
                                     rawBody: Data(#"{"thing":{"id":"t1"}}"#.utf8))
        let result = try await runtime.handle(thing, request: request)
        #expect(result.events == [ExtractedEvent(type: "updated", record: ["id": "t1", "name": "hello"])])
        #expect(result.response == WebhookResponse(status: 200, headers: [:], body: Data("hello".utf8), contentType: "text/plain; charset=utf-8"))
    }

    @Test("subscribe passes webhookUri and returns state and nextRefreshTimestamp; unsubscribe gets the state")
    func subscribeAndUnsubscribe() async throws {
        let runtime = try RuntimeFixtures.acme([
            "subscribe.js": "export default async function subscribe({ webhookUri, parameters }) { return { state: { uri: webhookUri, p: parameters.project }, nextRefreshTimestamp: 1700000000000 } }",
            "unsubscribe.js": "export default async function unsubscribe({ state }) { if (state.cursor !== 7) throw new Error('no state') }",
            "handle.js": "export default async function handle() { return { events: [] } }",
        ])
        let subscribed = try await runtime.subscribe(thing, webhookUri: "https://inlet.test/w/1")
        #expect(subscribed.state == ["uri": "https://inlet.test/w/1", "p": "p1"])
        #expect(subscribed.nextRefreshTimestamp == 1_700_000_000_000)
        try await runtime.unsubscribe(thing)
        let refreshed = try await runtime.refresh(thing, webhookUri: "https://inlet.test/w/1")
        #expect(refreshed == RefreshResult(state: nil, nextRefreshTimestamp: nil))
    }

    @Test("an unknown connector or method is method-not-found")
    func methodNotFound() async throws {
        let runtime = try RuntimeFixtures.acme([
            "subscribe.js": RuntimeFixtures.noopSubscribe, "unsubscribe.js": RuntimeFixtures.noopUnsubscribe,
            "handle.js": "export default async function handle() { return { events: [] } }",
        ])
        var context = thing
        context.connectorKey = "nope"
        #expect(await connectorError { _ = try await runtime.handle(context, request: WebhookRequest(method: "POST", path: "/")) }?.code == "method-not-found")
        #expect(await connectorError { _ = try await runtime.pull(thing) }?.code == "method-not-found")
        #expect(runtime.hasMethod(.event("thing"), "handle", connectorKey: "acme"))
        #expect(!runtime.hasMethod(.event("thing"), "refresh", connectorKey: "acme"))
    }

    @Test("run() builds handle's data from rawBody and content-type, and checks the result")
    func genericRun() async throws {
        let runtime = try RuntimeFixtures.acme([
            "subscribe.js": RuntimeFixtures.noopSubscribe, "unsubscribe.js": RuntimeFixtures.noopUnsubscribe,
            "handle.js": "export default async function handle({ data, body }) { return { events: [{ record: { id: data.a, same: data === body } }] } }",
        ])
        let result = try await runtime.run(connectorKey: "acme", owner: .event("thing"), method: "handle",
                                           arguments: ["rawBody": "a=x&b=y", "headers": ["Content-Type": "application/x-www-form-urlencoded"]], credentials: nil)
        #expect(result == ["events": [["record": ["id": "x", "same": true]]]])
    }
}

@Suite("Webhook request and response")
struct WebhookRequestTests {
    @Test("bodies are parsed by content type")
    func bodyParsing() {
        #expect(WebhookRequest.parseBody(Data(#"{"a":[1]}"#.utf8), contentType: "application/json; charset=utf-8") == ["a": [1]])
        #expect(WebhookRequest.parseBody(Data(#"{"a":1}"#.utf8), contentType: "application/vnd.api+json") == ["a": 1])
        #expect(WebhookRequest.parseBody(Data("not json".utf8), contentType: "application/json") == "not json")
        #expect(WebhookRequest.parseBody(Data("a=1&b=x+y%21&a=2".utf8), contentType: "application/x-www-form-urlencoded") == ["a": ["1", "2"], "b": "x y!"])
        #expect(WebhookRequest.parseBody(Data("token".utf8), contentType: "text/plain") == "token")
        #expect(WebhookRequest.parseBody(Data("<a/>".utf8), contentType: "application/xml") == "<a/>")
        #expect(WebhookRequest.parseBody(Data(#"[1]"#.utf8), contentType: nil) == [1])
        #expect(WebhookRequest.parseBody(Data(), contentType: "application/json") == [:])
        #expect(WebhookRequest.parseBody(Data(), contentType: "text/plain") == "")
        #expect(WebhookRequest.parseBody(Data([0xff, 0x00, 0xfe]), contentType: "application/octet-stream") == .string(Data([0xff, 0x00, 0xfe]).base64EncodedString()))
        #expect(WebhookRequest.parseBody(Data(#"{"a":2}"#.utf8), contentType: " \tApplication/JSON \t; charset=utf-8") == ["a": 2])
    }

    @Test("the media type of a Content-Type: lowercased, without parameters or the spaces and tabs around it")
    func mediaType() {
        #expect(WebhookRequest.mediaTypeOf(" \tApplication/JSON \t; charset=utf-8") == "application/json")
        #expect(WebhookRequest.mediaTypeOf("text/plain") == "text/plain")
        #expect(WebhookRequest.mediaTypeOf("\t") == "")
        #expect(WebhookRequest.mediaTypeOf("; charset=utf-8") == "")
        #expect(WebhookRequest.mediaTypeOf("") == "")
    }

    @Test("a surrogate escape is found wherever it starts, in any case, and nothing else is taken for one")
    func surrogateEscapes() {
        // What the scan must answer: a backslash, `u`, then `d8`–`df` in any case, starting
        // where six bytes still fit.
        func reference(_ bytes: [UInt8]) -> Bool {
            guard bytes.count >= 6 else { return false }
            return (0...(bytes.count - 6)).contains { index in
                bytes[index] == UInt8(ascii: "\\") && bytes[index + 1] == UInt8(ascii: "u")
                    && bytes[index + 2] | 0x20 == UInt8(ascii: "d") && Array("89abcdef".utf8).contains(bytes[index + 3] | 0x20)
            }
        }
        let cases = [
            #"\ud800"#, #"x\uD83D"#, #"\uDFFF"#, #"\uDbff!"#, #"{"s":"\u00e9 \uD83D\uDE00"}"#,
            #"\ud7ff"#, #"\ue000"#, #"\\\\uzzzz"#, #"\u"#, #"ab\ud8"#, #"abcde\ud800"#, #"\\\\\\\\\\"#, "", "\\",
            String(repeating: "\\n", count: 3000) + #"\uD800"#, String(repeating: "\\n", count: 3000),
        ]
        for text in cases {
            let bytes = Array(text.utf8)
            #expect(WebhookRequest.hasSurrogateEscape(Data(bytes)) == reference(bytes), "\(text.prefix(40))")
        }
        // Every position and length near the end, with an escape at every start.
        for length in 0..<12 {
            for start in 0..<length {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                for (offset, byte) in "\\uDA".utf8.enumerated() where start + offset < length { bytes[start + offset] = byte }
                #expect(WebhookRequest.hasSurrogateEscape(Data(bytes)) == reference(bytes), "\(length) \(start)")
                #expect(WebhookRequest.hasSurrogateEscape(Data(bytes)[1...]) == reference(Array(bytes.dropFirst())), "a slice, \(length) \(start)")
            }
        }
        #expect(WebhookRequest.hasSurrogateEscape(Data(#"\ud800"#.utf8)))
        #expect(!WebhookRequest.hasSurrogateEscape(Data(#"\u00e9"#.utf8)))
    }

    @Test("headers are lower-cased and the content type comes from them when not given")
    func headers() {
        let request = WebhookRequest(method: "post", path: "/", headers: ["Content-Type": "text/plain", "X-A": "1"], rawBody: Data("hi".utf8))
        #expect(request.method == "POST")
        #expect(request.headers == ["content-type": "text/plain", "x-a": "1"])
        #expect(request.contentType == "text/plain")
        #expect(request.data == "hi")
        // Names already lower-case are kept, others lower-cased (non-ASCII too), repeats joined.
        var mixed = WebhookRequest(method: "POST", path: "/", headers: ["x-b": "2", "X-B": "3", "Ü-Name": "4", "ok": "5"])
        #expect(mixed.headers["ü-name"] == "4" && mixed.headers["ok"] == "5")
        #expect(mixed.headers["x-b"] == "2, 3" || mixed.headers["x-b"] == "3, 2")
        #expect(mixed.headersValue == .object(mixed.headers.mapValues(JSONValue.string)))
        mixed.headers["x-new"] = "6"
        #expect(mixed.headersValue["x-new"] == "6", "what methods see follows a changed header")
    }

    @Test("a response's data becomes JSON or text unless its headers name a content type")
    func responses() {
        let json = WebhookResponse(response: ["data": ["challenge": "c"]])
        #expect(json.status == 200)
        #expect(json.contentType == "application/json")
        #expect(json.body == Data(#"{"challenge":"c"}"#.utf8))
        let text = WebhookResponse(response: ["status": 201, "headers": ["Content-Type": "text/html"], "data": "<b>ok</b>"])
        #expect(text.status == 201)
        #expect(text.contentType == "text/html")
        #expect(text.headers == ["Content-Type": "text/html"])
        let empty = WebhookResponse(response: ["status": 202])
        #expect(empty.body.isEmpty && empty.contentType == nil)
    }
}
