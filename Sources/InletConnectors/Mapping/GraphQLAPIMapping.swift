import Foundation

/// A `graphql-api-mapping` method (`<method>.graphql.yml`): one GraphQL operation POSTed to
/// the connector's API, and a mapping of its result.
///
/// ```yaml
/// query: 'mutation($url: String!) { createWebhook(url: $url) { id } }'
/// variables:
///   url: {$var: webhookUri}
/// responseMapping:
///   state: {webhookId: {$var: response.data.createWebhook.id}}
/// ```
///
/// The request is `POST <path>` (default `/graphql`) with body `{query, variables}`, the
/// variables mapping evaluated against the method's variables. The response is exposed to
/// `responseMapping` as `response: {data, errors, extensions, headers, statusCode}` next to
/// the method's variables; without a `responseMapping` the result is the GraphQL `data`. A
/// response with errors and no data fails with a `MappingError` carrying the error messages.
public struct GraphQLAPIMapping: Sendable {
    /// Where the operation is POSTed, relative to the connection's base URI.
    public let path: String
    private let query: MappingNode
    private let variables: MappingNode?
    private let responseMapping: MappingNode?

    /// Compiles a spec `{query, variables, responseMapping, path}`.
    ///
    /// - Throws: `MappingError` for the first of `problems(in: spec)`.
    public init(_ spec: JSONValue) throws {
        var compiler = MappingCompiler()
        let compiled = Self.compile(spec, with: &compiler)
        if let problem = compiler.problems.first { throw MappingError(problem) }
        self = compiled!
    }

    /// Everything wrong with a spec (pointers into the spec), empty when it is valid.
    public static func problems(in spec: JSONValue) -> [MappingProblem] {
        var compiler = MappingCompiler()
        _ = compile(spec, with: &compiler)
        return compiler.problems
    }

    private init(path: String, query: MappingNode, variables: MappingNode?, responseMapping: MappingNode?) {
        self.path = path
        self.query = query
        self.variables = variables
        self.responseMapping = responseMapping
    }

    // MARK: - Running

    /// The request this method sends for `variables`.
    public func request(for variables: JSONValue) throws -> APIRequest {
        let scope = MappingScope(variables: variables, siblings: nil)
        guard case .string(let text)? = try query.evaluate(in: scope) else {
            throw MappingError(pointer: "/query", message: "query must yield a string")
        }
        var body: [String: JSONValue] = ["query": .string(text)]
        if let operationVariables = try self.variables?.evaluate(in: scope) { body["variables"] = operationVariables }
        return APIRequest(method: "POST", path: path, body: .object(body))
    }

    /// Sends the operation through `client` and maps the result.
    ///
    /// - Throws: `MappingError` for a response that is not a GraphQL result or has errors and
    ///   no data, and from the mappings; whatever `client` throws (`APIError`).
    public func run(variables: JSONValue, client: any APIClient) async throws -> JSONValue {
        let response = try await client.send(try request(for: variables))
        guard case .object(let result) = response.data else {
            throw MappingError(pointer: "/query", message: "the GraphQL response is not a JSON object: \(response.data.jsonText.prefix(200))")
        }
        let data = result["data"] ?? .null
        if case .array(let errors)? = result["errors"], !errors.isEmpty, data.isNull {
            let messages = errors.map { $0["message"]?.stringValue ?? $0.jsonText }
            throw MappingError(pointer: "/query", message: "GraphQL errors: \(messages.joined(separator: "; "))")
        }
        guard let responseMapping else { return data }
        var exposed: [String: JSONValue] = [
            "data": data,
            "headers": .object(response.headers.mapValues(JSONValue.string)),
            "statusCode": .integer(Int64(response.status)),
        ]
        exposed["errors"] = result["errors"]
        exposed["extensions"] = result["extensions"]
        let scope = MappingScope(variables: variables.adding(response: .object(exposed)), siblings: nil)
        return try responseMapping.evaluate(in: scope) ?? .null
    }

    // MARK: - Compiling

    private static func compile(_ spec: JSONValue, with compiler: inout MappingCompiler) -> GraphQLAPIMapping? {
        guard case .object(let members) = spec else {
            compiler.report("", "a graphql-api-mapping is {query, variables, responseMapping}, got \(spec.formulaTypeName)")
            return nil
        }
        compiler.reportUnknownKeys(in: members, allowed: ["path", "query", "variables", "responseMapping"], of: "a graphql-api-mapping", at: "")
        var path = "/graphql"
        switch members["path"] {
        case nil: break
        case .string(let text)? where !text.isEmpty: path = text
        case let other?: compiler.report("/path", "path must be a non-empty string, got \(other.jsonText)")
        }
        var query: MappingNode?
        switch members["query"] {
        case nil: compiler.report("", "a graphql-api-mapping needs query (the GraphQL document)")
        case .string(let text)? where text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty:
            compiler.report("/query", "query is empty")
        case let value? where value.stringValue != nil || MappingCompiler.isFormula(value):
            query = compiler.compile(value, at: "/query")
        case let other?: compiler.report("/query", "query must be a string, got \(other.formulaTypeName)")
        }
        let variables = members["variables"].map { compiler.compile($0, at: "/variables") }
        let responseMapping = members["responseMapping"].map { compiler.compile($0, at: "/responseMapping") }
        guard let query else { return nil }
        return GraphQLAPIMapping(path: path, query: query, variables: variables, responseMapping: responseMapping)
    }
}
