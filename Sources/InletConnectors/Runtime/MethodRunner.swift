import Foundation
import Synchronization

/// Runs one connector method file, whatever its implementation type, and turns every failure
/// into a ``ConnectorMethodError`` naming the file (and line when known).
///
/// - `javascript` → ``ScriptEngine`` (the file name passed is the workspace-relative path);
/// - `mapping` → ``CompiledMapping`` evaluated against the arguments;
/// - `rest-api-mapping` → ``RestAPIMapping/run(variables:client:)``;
/// - `graphql-api-mapping` → ``GraphQLAPIMapping/run(variables:client:)``.
///
/// Mappings are compiled once per file and kept for the runner's life (a workspace is
/// immutable, so a file's content never changes under a path).
final class MethodRunner: Sendable {
    private enum Compiled: Sendable {
        case mapping(CompiledMapping)
        case rest(RestAPIMapping)
        case graphql(GraphQLAPIMapping)
    }

    private let scripts: ScriptEngine
    private let compiled = Mutex<[String: Compiled]>([:])
    private let metrics = MethodMetrics()

    init(scripts: ScriptEngine) {
        self.scripts = scripts
    }

    /// Runs `method` of `connector` with `arguments` (an object). `apiClient` backs `apiClient`
    /// in JavaScript and the request of REST/GraphQL mappings. JavaScript runs in the
    /// connector's own contexts.
    func run(_ method: MethodImplementation, of connector: String, arguments: MethodArguments, apiClient: (any APIClient)?, logMetadata: [String: String]) async throws(ConnectorMethodError) -> JSONValue {
        let started = ContinuousClock.now
        do {
            let result = try await call(method, of: connector, arguments: arguments, apiClient: apiClient, logMetadata: logMetadata)
            metrics.record(connector: connector, method: method.name, outcome: "ok", since: started)
            return result
        } catch {
            metrics.record(connector: connector, method: method.name, outcome: error.code, since: started)
            throw error
        }
    }

    private func call(_ method: MethodImplementation, of connector: String, arguments: MethodArguments, apiClient: (any APIClient)?, logMetadata: [String: String]) async throws(ConnectorMethodError) -> JSONValue {
        do {
            switch method.kind {
            case .javascript:
                let host = ScriptHost(connector: connector, apiClient: apiClient, logMetadata: logMetadata)
                return try await scripts.call(source: method.source ?? "", fileName: method.path, arguments: arguments, host: host)
            case .mapping:
                guard case .mapping(let mapping) = try compile(method) else { preconditionFailure("compiled kind follows the method kind") }
                return try mapping.evaluate(variables: arguments.object)
            case .restAPIMapping:
                guard case .rest(let rest) = try compile(method) else { preconditionFailure("compiled kind follows the method kind") }
                return try await rest.run(variables: arguments.object, client: try Self.require(apiClient, for: method))
            case .graphqlAPIMapping:
                guard case .graphql(let graphql) = try compile(method) else { preconditionFailure("compiled kind follows the method kind") }
                return try await graphql.run(variables: arguments.object, client: try Self.require(apiClient, for: method))
            }
        } catch {
            throw Self.methodError(error, in: method)
        }
    }

    private func compile(_ method: MethodImplementation) throws -> Compiled {
        if let cached = compiled.withLock({ $0[method.path] }) { return cached }
        let mapping = method.mapping ?? .null
        let made: Compiled = switch method.kind {
        case .javascript: preconditionFailure("JavaScript methods run in the script engine, not compiled here")
        case .mapping: .mapping(try CompiledMapping(mapping))
        case .restAPIMapping: .rest(try RestAPIMapping(mapping))
        case .graphqlAPIMapping: .graphql(try GraphQLAPIMapping(mapping))
        }
        compiled.withLock { $0[method.path] = made }
        return made
    }

    private static func require(_ client: (any APIClient)?, for method: MethodImplementation) throws(ConnectorMethodError) -> any APIClient {
        guard let client else {
            throw ConnectorMethodError(
                code: ConnectorMethodError.apiError,
                message: ConnectorMethodError.located(method.path, line: nil, "\(method.kind.rawValue) needs the connection's API client, but this call has none (no connection)"),
                file: method.path)
        }
        return client
    }

    // MARK: - Errors

    /// `error` as a ``ConnectorMethodError`` located in `method`'s file.
    static func methodError(_ error: any Error, in method: MethodImplementation) -> ConnectorMethodError {
        let file = method.path
        switch error {
        case let error as ConnectorMethodError:
            return error
        case let error as ScriptError:
            let code = switch error.kind {
            case .timeout: ConnectorMethodError.timeout
            case .memoryLimit: ConnectorMethodError.memoryLimit
            case .apiError: ConnectorMethodError.apiError
            case .syntax, .thrown, .unsupported: ConnectorMethodError.handleError
            }
            return ConnectorMethodError(code: code, message: ConnectorMethodError.located(file, line: error.line, error.message),
                                        file: file, line: error.line, details: error.data)
        case let error as MappingError:
            let line = method.document?.line(of: error.pointer)
            let pointer = error.pointer.isEmpty ? "/" : error.pointer
            return ConnectorMethodError(code: ConnectorMethodError.handleError,
                                        message: ConnectorMethodError.located(file, line: line, "\(error.message) (at \(pointer))"),
                                        file: file, line: line, details: .object(["pointer": .string(error.pointer)]))
        case let error as APIError:
            return apiError(error, file: file)
        case is CancellationError:
            return ConnectorMethodError(code: ConnectorMethodError.cancelled, message: ConnectorMethodError.located(file, line: nil, "cancelled"), file: file)
        default:
            return ConnectorMethodError(code: ConnectorMethodError.handleError, message: ConnectorMethodError.located(file, line: nil, "\(error)"), file: file)
        }
    }

    /// An API failure as a ``ConnectorMethodError`` with `details: {code, status, data}`.
    static func apiError(_ error: APIError, file: String, line: Int? = nil) -> ConnectorMethodError {
        var details: [String: JSONValue] = ["code": .string(error.code)]
        details["status"] = error.status.map { .integer(Int64($0)) }
        details["data"] = error.data
        return ConnectorMethodError(code: ConnectorMethodError.apiError, message: ConnectorMethodError.located(file, line: line, error.description),
                                    file: file, line: line, details: .object(details))
    }
}
