import Foundation
import Testing

@testable import InletConnectors

@Suite("apiClient in scripts")
struct ScriptAPIClientBridgeTests {
    @Test("apiClient.get and post resolve with the fake client's data and pass path, query, body and options")
    func requestsResolve() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let client = FakeAPIClient { request in
            ["method": .string(request.method), "path": .string(request.path)]
        }
        let source = """
            export default async function subscribe({ apiClient, webhookUri, parameters }) {
              const listed = await apiClient.get('/hooks', { page: 2 }, { headers: { 'x-a': 'b' } })
              const created = await apiClient.post(parameters.path, { webhookUri }, { baseUri: 'https://other.example', auth: { username: 'u', password: 'p' } })
              return { listed, created }
            }
            """
        let result = try await engine.call(
            source: source, fileName: "subscribe.js",
            arguments: ["webhookUri": "https://inlet.example/w/1", "parameters": ["path": "/webhooks"]],
            host: ScriptHost(apiClient: client))
        #expect(result == ["listed": ["method": "GET", "path": "/hooks"], "created": ["method": "POST", "path": "/webhooks"]])
        let requests = client.received
        #expect(requests.count == 2)
        #expect(requests.first?.query == ["page": 2])
        #expect(requests.first?.headers == ["x-a": "b"])
        #expect(requests.last?.body == ["webhookUri": "https://inlet.example/w/1"])
        #expect(requests.last?.baseURI == "https://other.example")
        #expect(requests.last?.auth == APIBasicAuth(username: "u", password: "p"))
    }

    @Test("returnFullResponse gives status, headers and data")
    func fullResponse() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let client = FakeAPIClient { _ in ["ok": true] }
        let result = try await engine.call(
            source: "export default async function () { const r = await apiClient.delete('/x', undefined, { returnFullResponse: true }); return r }",
            fileName: "unsubscribe.js", arguments: [:], host: ScriptHost(apiClient: client))
        #expect(result == ["status": 200, "headers": ["content-type": "application/json"], "data": ["ok": true]])
    }

    @Test("a rejected request is an Error with code, status and data the method can catch")
    func rejectionVisibleInCatch() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let client = FakeAPIClient { _ in
            throw APIError(code: APIError.httpError, status: 404, data: ["message": "Not Found"], message: "GET /missing failed with HTTP 404")
        }
        let source = """
            export default async function () {
              try { await apiClient.get('/missing') } catch (e) {
                return { name: e.name, code: e.code, status: e.status, data: e.data, isError: e instanceof Error, message: e.message }
              }
            }
            """
        let result = try await engine.call(source: source, fileName: "get.js", arguments: [:], host: ScriptHost(apiClient: client))
        #expect(result == ["name": "APIError", "code": "HTTP_ERROR", "status": 404, "data": ["message": "Not Found"], "isError": true, "message": "GET /missing failed with HTTP 404"])
    }

    @Test("an uncaught API error fails the call as .apiError with its code")
    func uncaughtAPIError() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let client = FakeAPIClient { _ in throw APIError(code: APIError.accessTokenExpired, status: 401, message: "expired") }
        let error = await scriptError(engine, "export default async function () { await apiClient.get('/me') }", host: ScriptHost(apiClient: client))
        #expect(error?.kind == .apiError)
        #expect(error?.data?["code"] == "ACCESS_TOKEN_EXPIRED")
        #expect(error?.data?["status"] == 401)
    }

    @Test("without an API client, apiClient calls reject with a clear message")
    func noAPIClient() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let result = try await engine.call(
            source: "export default async function () { try { await apiClient.get('/x') } catch (e) { return [e.code, e.message] } }",
            fileName: "x.js", arguments: [:], host: .init())
        #expect(result[0] == "API_CLIENT_UNAVAILABLE")
        #expect(result[1]?.stringValue?.contains("no API client is configured") == true)
    }

    @Test("the custom-pull fixture awaits inside a loop until the API returns a deltaLink")
    func awaitInsideLoop() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let client = FakeAPIClient { request in
            let page = Int(request.path.split(separator: "=").last.flatMap { Int($0) } ?? 0)
            if page < 4 {
                return ["value": [["id": .string("r\(page)")]], "nextPageLink": .string("/delta?page=\(page + 1)")]
            }
            try await Task.sleep(for: .milliseconds(5))
            return ["value": [["id": "last"]], "deltaLink": "/delta?token=next"]
        }
        let result = try await engine.call(
            source: try ScriptFixtures.source("custom-pull.js"), fileName: "pull.js",
            arguments: ["state": ["deltaLink": "/delta?page=0"]], host: ScriptHost(apiClient: client))
        #expect(result["events"]?.arrayValue?.count == 5)
        #expect(result["state"] == ["deltaLink": "/delta?token=next"])
        #expect(client.received.map(\.path) == ["/delta?page=0", "/delta?page=1", "/delta?page=2", "/delta?page=3", "/delta?page=4"])
    }

    @Test("parallel requests with Promise.all inside one call all resolve")
    func promiseAll() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let client = FakeAPIClient { request in
            try await Task.sleep(for: .milliseconds(Int.random(in: 1...10)))
            return .string(request.path)
        }
        let result = try await engine.call(
            source: "export default async function () { return Promise.all([1,2,3,4,5].map((n) => apiClient.get('/item/' + n))) }",
            fileName: "all.js", arguments: [:], host: ScriptHost(apiClient: client))
        #expect(result == ["/item/1", "/item/2", "/item/3", "/item/4", "/item/5"])
    }

    @Test("many concurrent calls that each await the API get their own answers")
    func concurrentCallsWithAPI() async throws {
        let engine = makeScriptEngine(contexts: 2)
        defer { engine.shutdown() }
        let client = FakeAPIClient { request in ["id": .string(request.path)] }
        let source = "export default async function ({ n }) { const r = await apiClient.get('/n/' + n); return r.id }"
        try await withThrowingTaskGroup(of: (Int, JSONValue).self) { group in
            for n in 0..<200 {
                group.addTask {
                    (n, try await engine.call(source: source, fileName: "n.js", arguments: ["n": .integer(Int64(n))], host: ScriptHost(apiClient: client)))
                }
            }
            for try await (n, result) in group {
                #expect(result == .string("/n/\(n)"))
            }
        }
    }

    @Test("a request that never answers ends the call at the total time limit")
    func hangingRequestTimesOut() async throws {
        let engine = makeScriptEngine(totalTimeLimit: .milliseconds(300))
        defer { engine.shutdown() }
        let client = FakeAPIClient { _ in
            try await Task.sleep(for: .seconds(30))
            return nil
        }
        let error = await scriptError(engine, "export default async function () { return apiClient.get('/slow') }", fileName: "slow.js", host: ScriptHost(apiClient: client))
        #expect(error?.kind == .timeout)
        // The context is still usable.
        #expect(try await engine.call(source: "export default () => 1", fileName: "one.js", arguments: [:], host: .init()) == 1)
    }
}
