import Testing

@testable import InletConnectors

/// A test double of `APIClient`: records requests and answers from a closure.
actor MappingFakeAPIClient: APIClient {
    private(set) var requests: [APIRequest] = []
    private let respond: @Sendable (APIRequest) throws -> APIResponse

    init(_ respond: @escaping @Sendable (APIRequest) throws -> APIResponse) {
        self.respond = respond
    }

    init(status: Int = 200, headers: [String: String] = [:], data: JSONValue) {
        self.init { _ in APIResponse(status: status, headers: headers, data: data) }
    }

    func send(_ request: APIRequest) async throws -> APIResponse {
        requests.append(request)
        return try respond(request)
    }
}

@Suite("rest-api-mapping")
struct RestAPIMappingTests {
    private let subscribeSpec = #"""
        {"path": "/repos/{owner}/{repo}/hooks", "method": "post",
         "requestMapping": {
           "pathParameters": {"owner": {"$var": "parameters.owner"}, "repo": {"$var": "parameters.repo"}},
           "query": {"page": 1, "cursor": {"$var": "state.cursor"}, "none": null},
           "headers": {"X-Trace": {"$var": "parameters.trace"}, "X-Count": 3, "X-Missing": {"$var": "nope"}},
           "data": {"config": {"url": {"$var": "webhookUri"}}, "events": ["issues"]}},
         "responseMapping": {"state": {"webhookId": {"$var": "response.data.id"}, "etag": {"$var": "response.headers.etag"},
           "status": {"$var": "response.statusCode"}, "repo": {"$var": "parameters.repo"}}}}
        """#

    private let variables: JSONValue = [
        "webhookUri": "https://inlet.example/hooks/1",
        "parameters": ["owner": "inlet org", "repo": "a/b?c", "trace": "t-1"],
    ]

    @Test("the request is built from requestMapping with path parameters URL-encoded")
    func buildsRequest() async throws {
        let mapping = try RestAPIMapping(MappingTesting.json(subscribeSpec))
        let client = MappingFakeAPIClient(status: 201, headers: ["etag": "\"v1\""], data: ["id": 99])
        _ = try await mapping.run(variables: variables, client: client)
        let sent = await client.requests
        #expect(sent == [APIRequest(
            method: "POST", path: "/repos/inlet%20org/a%2Fb%3Fc/hooks", query: ["page": 1],
            headers: ["X-Trace": "t-1", "X-Count": "3"],
            body: ["config": ["url": "https://inlet.example/hooks/1"], "events": ["issues"]])])
    }

    @Test("responseMapping sees the variables and response data, headers and statusCode")
    func mapsResponse() async throws {
        let mapping = try RestAPIMapping(MappingTesting.json(subscribeSpec))
        let client = MappingFakeAPIClient(status: 201, headers: ["etag": "\"v1\""], data: ["id": 99])
        let result = try await mapping.run(variables: variables, client: client)
        #expect(result == ["state": ["webhookId": 99, "etag": "\"v1\"", "status": 201, "repo": "a/b?c"]])
    }

    @Test("without responseMapping the result is the response body; the method defaults to GET")
    func defaults() async throws {
        let mapping = try RestAPIMapping(["path": "/users/me"])
        #expect(mapping.method == "GET")
        let client = MappingFakeAPIClient(data: ["login": "ada"])
        #expect(try await mapping.run(variables: [:], client: client) == ["login": "ada"])
        #expect(await client.requests == [APIRequest(method: "GET", path: "/users/me")])
    }

    @Test("a path placeholder without a value fails before any request is sent")
    func missingPathParameter() async throws {
        let mapping = try RestAPIMapping(MappingTesting.json(#"{"path": "/hooks/{id}", "method": "DELETE", "requestMapping": {"pathParameters": {"id": {"$var": "state.webhookId"}}}}"#))
        let client = MappingFakeAPIClient(data: .null)
        await #expect(throws: MappingError(pointer: "/requestMapping/pathParameters", message: "path parameter 'id' has no value")) {
            try await mapping.run(variables: ["state": [:]], client: client)
        }
        #expect(await client.requests.isEmpty)
        #expect(try mapping.request(for: ["state": ["webhookId": 12]]).path == "/hooks/12")
    }

    @Test("API errors from the client reach the caller unchanged")
    func apiErrors() async throws {
        let mapping = try RestAPIMapping(["path": "/x"])
        let failure = APIError(code: APIError.accessTokenExpired, status: 401, message: "expired")
        let client = MappingFakeAPIClient { _ in throw failure }
        await #expect(throws: failure) { try await mapping.run(variables: [:], client: client) }
    }

    @Test("query and headers that do not evaluate to objects fail at their pointer")
    func nonObjectParts() throws {
        let mapping = try RestAPIMapping(MappingTesting.json(#"{"path": "/x", "requestMapping": {"query": {"$var": "q"}}}"#))
        #expect(throws: MappingError(pointer: "/requestMapping/query", message: "query must evaluate to an object, got a string")) {
            try mapping.request(for: ["q": "a=b"])
        }
        #expect(try mapping.request(for: ["q": ["a": "b"]]).query == ["a": "b"])
    }

    @Test("problems in a spec point into the spec")
    func problems() throws {
        let spec = try MappingTesting.json(#"""
            {"method": "FETCH", "requestMapping": {"body": {}, "data": {"$tpl": {}}}, "responseMapping": {"a": {"$lookup": 1}}, "extra": 1}
            """#)
        let found = RestAPIMapping.problems(in: spec)
        #expect(found.map(\.pointer) == ["/extra", "/method", "", "/requestMapping/body", "/requestMapping/data/$tpl", "/responseMapping/a"])
        #expect(found[2].message == "a rest-api-mapping needs path, e.g. /users/{id}")
        #expect(throws: MappingError(found[0])) { try RestAPIMapping(spec) }
    }

    @Test("path placeholders must have pathParameters entries")
    func placeholderProblems() throws {
        #expect(RestAPIMapping.problems(in: ["path": "/a/{id}"]) == [MappingProblem(pointer: "/path", message: "path placeholders {id} need requestMapping.pathParameters")])
        #expect(RestAPIMapping.problems(in: ["path": "/a/{id}/{sub}", "requestMapping": ["pathParameters": ["id": 1]]])
            == [MappingProblem(pointer: "/path", message: "path placeholder {sub} has no entry in requestMapping.pathParameters")])
        #expect(RestAPIMapping.problems(in: ["path": 5]).map(\.pointer) == ["/path"])
        #expect(RestAPIMapping.problems(in: "x").map(\.pointer) == [""])
    }
}

@Suite("graphql-api-mapping")
struct GraphQLAPIMappingTests {
    private let spec: JSONValue = [
        "query": "mutation($url: String!) { createWebhook(url: $url) { id } }",
        "variables": ["url": ["$var": "webhookUri"]],
        "responseMapping": ["state": ["webhookId": ["$var": "response.data.createWebhook.id"]],
                            "warnings": ["$var": "response.errors"], "cost": ["$var": "response.extensions.cost"]],
    ]

    @Test("the operation is POSTed to /graphql as {query, variables}")
    func request() async throws {
        let mapping = try GraphQLAPIMapping(spec)
        let client = MappingFakeAPIClient(data: ["data": ["createWebhook": ["id": "w1"]]])
        _ = try await mapping.run(variables: ["webhookUri": "https://h"], client: client)
        #expect(await client.requests == [APIRequest(method: "POST", path: "/graphql", body: [
            "query": "mutation($url: String!) { createWebhook(url: $url) { id } }", "variables": ["url": "https://h"],
        ])])
    }

    @Test("responseMapping sees data, errors and extensions")
    func responseMapping() async throws {
        let mapping = try GraphQLAPIMapping(spec)
        let client = MappingFakeAPIClient(data: ["data": ["createWebhook": ["id": "w1"]], "errors": [["message": "deprecated"]], "extensions": ["cost": 3]])
        let result = try await mapping.run(variables: ["webhookUri": "https://h"], client: client)
        #expect(result == ["state": ["webhookId": "w1"], "warnings": [["message": "deprecated"]], "cost": 3])
    }

    @Test("without responseMapping the result is the GraphQL data; path and variables are optional")
    func defaults() async throws {
        let mapping = try GraphQLAPIMapping(["query": "{ viewer { login } }", "path": "/api/v2/graphql"])
        let client = MappingFakeAPIClient(data: ["data": ["viewer": ["login": "ada"]]])
        #expect(try await mapping.run(variables: [:], client: client) == ["viewer": ["login": "ada"]])
        #expect(await client.requests.first?.path == "/api/v2/graphql")
        #expect(await client.requests.first?.body == ["query": "{ viewer { login } }"])
    }

    @Test("errors without data fail with the error messages")
    func errorsWithoutData() async throws {
        let mapping = try GraphQLAPIMapping(spec)
        let client = MappingFakeAPIClient(data: ["data": nil, "errors": [["message": "Not found"], ["message": "Forbidden", "path": ["x"]]]])
        await #expect(throws: MappingError(pointer: "/query", message: "GraphQL errors: Not found; Forbidden")) {
            try await mapping.run(variables: ["webhookUri": "u"], client: client)
        }
    }

    @Test("a response that is not a JSON object fails")
    func notAnObject() async throws {
        let mapping = try GraphQLAPIMapping(["query": "{ a }"])
        await #expect(throws: MappingError.self) {
            try await mapping.run(variables: [:], client: MappingFakeAPIClient(data: "<html>"))
        }
    }

    @Test("problems in a spec point into the spec")
    func problems() throws {
        #expect(GraphQLAPIMapping.problems(in: ["variables": ["a": ["$tpl": 1]], "operation": "x"]).map(\.pointer) == ["/operation", "", "/variables/a/$tpl"])
        #expect(GraphQLAPIMapping.problems(in: ["query": "  "]) == [MappingProblem(pointer: "/query", message: "query is empty")])
        #expect(GraphQLAPIMapping.problems(in: ["query": "{a}", "path": ""]).map(\.pointer) == ["/path"])
        #expect(throws: MappingError.self) { try GraphQLAPIMapping(["query": 1]) }
    }
}
