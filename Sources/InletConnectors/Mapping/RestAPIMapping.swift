import Foundation

/// A `rest-api-mapping` method (`<method>.rest.yml` / `<method>.api.yml`): one HTTP request
/// built from the method's variables, and a mapping of its response.
///
/// ```yaml
/// path: /repos/{owner}/{repo}/hooks/{id}
/// method: DELETE
/// requestMapping:
///   pathParameters: {owner: {$var: parameters.owner}, repo: {$var: parameters.repo}, id: {$var: state.webhookId}}
///   query: {...}
///   headers: {...}
///   data: {...}
/// responseMapping:
///   state: {webhookId: {$var: response.data.id}}
/// ```
///
/// `requestMapping`'s parts are mappings evaluated against the method's variables; `path`'s
/// `{placeholders}` are filled from the evaluated `pathParameters`, URL-encoded. The response
/// is exposed to `responseMapping` as the variable `response: {data, headers, statusCode}` next
/// to the method's variables; without a `responseMapping` the result is the response body.
/// The spec is compiled once, in `init`.
public struct RestAPIMapping: Sendable {
    /// Upper-case HTTP method; `GET` when the spec has none.
    public let method: String
    private let path: MappingNode
    private let query: MappingNode?
    private let data: MappingNode?
    private let headers: MappingNode?
    private let pathParameters: MappingNode?
    private let responseMapping: MappingNode?

    static let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    static let requestParts = ["query", "data", "headers", "pathParameters"]

    /// Compiles a spec `{path, method, requestMapping: {query, data, headers, pathParameters},
    /// responseMapping}`.
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

    private init(method: String, path: MappingNode, request: [String: MappingNode], responseMapping: MappingNode?) {
        self.method = method
        self.path = path
        self.query = request["query"]
        self.data = request["data"]
        self.headers = request["headers"]
        self.pathParameters = request["pathParameters"]
        self.responseMapping = responseMapping
    }

    // MARK: - Running

    /// The request this method sends for `variables`.
    ///
    /// - Throws: `MappingError` when a path placeholder has no value, or `query`/`headers`/
    ///   `pathParameters` do not evaluate to objects.
    public func request(for variables: JSONValue) throws -> APIRequest {
        let scope = MappingScope(variables: variables, siblings: nil)
        let parameters = try Self.object(pathParameters, named: "pathParameters", in: scope)
        guard case .string(let template)? = try path.evaluate(in: scope) else {
            throw MappingError(pointer: "/path", message: "path must yield a string")
        }
        let filledPath = try Self.fill(template, with: parameters)
        let query = try Self.object(query, named: "query", in: scope).filter { !$0.value.isNull }
        let headers = try Self.object(headers, named: "headers", in: scope).compactMapValues { value in
            value.isNull ? nil : Optional(value).formulaText
        }
        let body = try data?.evaluate(in: scope)
        return APIRequest(method: method, path: filledPath, query: query, headers: headers, body: body)
    }

    /// Sends the request through `client` and maps the response.
    ///
    /// - Throws: `MappingError` from the mappings; whatever `client` throws (`APIError`).
    public func run(variables: JSONValue, client: any APIClient) async throws -> JSONValue {
        let response = try await client.send(try request(for: variables))
        guard let responseMapping else { return response.data }
        let exposed: JSONValue = .object([
            "data": response.data,
            "headers": .object(response.headers.mapValues(JSONValue.string)),
            "statusCode": .integer(Int64(response.status)),
        ])
        let scope = MappingScope(variables: variables.adding(response: exposed), siblings: nil)
        return try responseMapping.evaluate(in: scope) ?? .null
    }

    // MARK: - Compiling

    private static func compile(_ spec: JSONValue, with compiler: inout MappingCompiler) -> RestAPIMapping? {
        guard case .object(let members) = spec else {
            compiler.report("", "a rest-api-mapping is {path, method, requestMapping, responseMapping}, got \(spec.formulaTypeName)")
            return nil
        }
        compiler.reportUnknownKeys(in: members, allowed: ["path", "method", "requestMapping", "responseMapping"], of: "a rest-api-mapping", at: "")

        var method = "GET"
        switch members["method"] {
        case nil: break
        case .string(let name)? where methods.contains(name.uppercased()): method = name.uppercased()
        case let other?: compiler.report("/method", "method must be one of \(methods.joined(separator: ", ")), got \(other.jsonText)")
        }

        var path: MappingNode?
        switch members["path"] {
        case nil: compiler.report("", "a rest-api-mapping needs path, e.g. /users/{id}")
        case let value? where value.stringValue != nil || MappingCompiler.isFormula(value): path = compiler.compile(value, at: "/path")
        case let other?: compiler.report("/path", "path must be a string, got \(other.formulaTypeName)")
        }

        var request: [String: MappingNode] = [:]
        switch members["requestMapping"] {
        case nil: break
        case .object(let parts)?:
            compiler.reportUnknownKeys(in: parts, allowed: requestParts, of: "requestMapping", at: "/requestMapping")
            for key in requestParts {
                if let part = parts[key] { request[key] = compiler.compile(part, at: "/requestMapping/\(key)") }
            }
        case let other?: compiler.report("/requestMapping", "requestMapping must be an object {query, data, headers, pathParameters}, got \(other.formulaTypeName)")
        }

        if case .string(let template)? = members["path"] {
            let declared = members["requestMapping"]?["pathParameters"]
            let names = placeholders(in: template)
            if !names.isEmpty, declared == nil {
                compiler.report("/path", "path placeholders \(names.map { "{\($0)}" }.joined(separator: ", ")) need requestMapping.pathParameters")
            } else if case .object(let entries)? = declared, !MappingCompiler.isFormula(declared!) {
                for name in names where entries[name] == nil {
                    compiler.report("/path", "path placeholder {\(name)} has no entry in requestMapping.pathParameters")
                }
            }
        }

        let responseMapping = members["responseMapping"].map { compiler.compile($0, at: "/responseMapping") }
        guard let path else { return nil }
        return RestAPIMapping(method: method, path: path, request: request, responseMapping: responseMapping)
    }

    // MARK: - Helpers

    /// An optional part that must evaluate to an object (nothing is an empty object).
    private static func object(_ node: MappingNode?, named name: String, in scope: MappingScope) throws -> [String: JSONValue] {
        switch try node?.evaluate(in: scope) {
        case nil, .null?: return [:]
        case .object(let members)?: return members
        case let other?: throw MappingError(pointer: "/requestMapping/\(name)", message: "\(name) must evaluate to an object, got \(other.formulaTypeName)")
        }
    }

    /// The `{name}` placeholders of a path, in order.
    static func placeholders(in path: String) -> [String] {
        Formula.placeholders(in: path)
    }

    /// `path` with each `{name}` replaced by the URL-encoded text of `parameters[name]`.
    private static func fill(_ path: String, with parameters: [String: JSONValue]) throws -> String {
        var result = ""
        var rest = Substring(path)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            let name = String(rest[rest.index(after: open)..<close])
            result += rest[..<open]
            guard let value = parameters[name], !value.isNull else {
                throw MappingError(pointer: "/requestMapping/pathParameters", message: "path parameter '\(name)' has no value")
            }
            result += Optional(value).formulaText.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }

    /// RFC 3986 unreserved characters: everything else in a path parameter is percent-encoded.
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}

extension JSONValue {
    /// The method's variables with `response` added, for a `responseMapping`.
    func adding(response: JSONValue) -> JSONValue {
        var members = objectValue ?? [:]
        members["response"] = response
        return .object(members)
    }
}
