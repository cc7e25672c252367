import Foundation
import Logging

/// Runs a workspace's connector methods for the pipeline: the webhook lifecycle (`subscribe`,
/// `handle`, `refresh`, `unsubscribe`), global webhooks and their events, and the pull
/// strategies of data collections. One instance per process; share it between tasks.
///
/// Every call looks the method up, builds its arguments exactly as the seeds define them,
/// runs it (``MethodRunner``: JavaScript, mapping, REST or GraphQL mapping) with the
/// connection's API client (``APIClientFactory``, built lazily on the first request), and
/// checks the result against the method's contract (``MethodResultContract``). Any failure is a
/// ``ConnectorMethodError`` naming the method file.
///
/// Arguments per method (`apiClient` is added for JavaScript):
///
/// | method | arguments |
/// | --- | --- |
/// | `subscribe` | `webhookUri`, `parameters`, `state`, `connectorParameters` |
/// | `handle` | `query`, `data`, `body` (= `data`), `headers`, `rawBody`, `state`, `parameters`, `connectorParameters` |
/// | `unsubscribe` | `state`, `parameters`, `connectorParameters` |
/// | `refresh` | `state`, `webhookUri`, `parameters`, `connectorParameters` |
/// | `getEventSelector` | `parameters`, `connectorParameters` |
/// | global webhook `handle` | `query`, `data`, `body`, `headers`, `rawBody`, `parameters` (= connector parameters), `connectorParameters` |
/// | global-webhook event `handle` | `payload`, `data` and `body` (= `payload`), `state`, `parameters`, `connectorParameters` |
/// | `pull` | `state`, `parameters`, `connectorParameters` |
/// | `pullLatestRecords`, `list` | `cursor`, `parameters`, `connectorParameters` |
public final class ConnectorRuntime: Sendable {
    /// The workspace whose connectors this runtime runs.
    public let workspace: Workspace
    private let runner: MethodRunner
    private let clients: APIClientFactory
    private let logger: Logger

    /// Where tasks that run many methods (a handler's lanes) should run: the script engine's
    /// threads, on which JavaScript methods run in place.
    public let methodExecutor: ScriptExecutor

    /// Creates a runtime.
    ///
    /// - Parameters:
    ///   - workspace: A loaded workspace (``WorkspaceLoader``).
    ///   - scripts: Runs JavaScript methods; its time limits apply to every JavaScript call.
    ///   - logger: Receives one debug line per call and a warning per failure.
    ///   - apiBaseOverride: Replaces every API client's base URI (and absolute URLs under it),
    ///     e.g. `http://127.0.0.1:8080` for `inlet connector test --api` and tests; private
    ///     addresses are then allowed.
    ///   - networkAccess: Which addresses connector APIs may reach (``NetworkAccess``): by
    ///     default public ones only (`--allow-private-networks` allows the rest).
    public init(workspace: Workspace, scripts: ScriptEngine, logger: Logger, apiBaseOverride: String? = nil, networkAccess: NetworkAccess = .publicAddressesOnly) {
        self.methodExecutor = scripts.executor
        self.workspace = workspace
        self.runner = MethodRunner(scripts: scripts)
        self.clients = APIClientFactory(runner: runner, apiBaseOverride: apiBaseOverride, networkAccess: networkAccess)
        self.logger = logger
    }

    // MARK: - Webhook lifecycle

    /// Runs `subscribe` for a new subscription after checking its parameters against the
    /// owner's `parametersSchema`. An owner without `subscribe` (a global-webhook event, a
    /// pull-latest-records or full-scan collection event) subscribes to nothing: empty result.
    ///
    /// - Throws: ``ConnectorMethodError`` (`invalid-parameters`, or from the method).
    public func subscribe(_ context: MethodContext, webhookUri: String?) async throws -> SubscribeResult {
        let connector = try connector(context.connectorKey)
        try checkParameters(context, connector)
        guard connector.method(for: context.owner, name: "subscribe") != nil else {
            if requiresSubscribe(context.owner, connector) { throw missing("subscribe", context.owner, connector) }
            return SubscribeResult(state: nil, nextRefreshTimestamp: nil)
        }
        var arguments = commonArguments(context)
        if let webhookUri { arguments["webhookUri"] = .string(webhookUri) }
        let result = try await call(connector, context, "subscribe", arguments)
        return SubscribeResult(state: Self.nonNull(result["state"]), nextRefreshTimestamp: Self.timestamp(result["nextRefreshTimestamp"]))
    }

    /// Runs `handle` for a request to a subscription's webhook. An event without `handle` (seed
    /// 000's example declares only `subscribe` and `unsubscribe`) takes the request's parsed body
    /// as the record of one event (type left to the dispatcher: `created` for an event).
    public func handle(_ context: MethodContext, request: WebhookRequest) async throws -> HandleResult {
        let connector = try connector(context.connectorKey)
        guard connector.method(for: context.owner, name: "handle") != nil else {
            let folder = Self.folder(of: context.owner, in: connector)
            let id = request.data["id"]
            let usable: Bool = switch id {
            case .string(let text)?: !text.isEmpty
            case .integer?: true
            default: false
            }
            guard request.data.objectValue != nil, usable else {
                throw ConnectorMethodError(
                    code: ConnectorMethodError.malformedResult,
                    message: "\(folder): the webhook body is not a record (an object with a string or integer id), and the event has no handle method to extract records from it; add \(folder)/handle.js or handle.map.yml",
                    file: folder + "/spec.yml", details: .object(["pointer": "/id"]))
            }
            return HandleResult(events: [ExtractedEvent(type: nil, record: request.data)], response: nil, state: nil)
        }
        var arguments = commonArguments(context)
        arguments.merge(request.methodArguments) { _, new in new }
        let result = try await call(
            connector, context, "handle", arguments, aliases: WebhookRequest.bodyAlias, texts: request.methodTexts, parsedTexts: request.methodParsedTexts)
        return Self.handleResult(result)
    }

    /// Runs `unsubscribe`; an owner without one has nothing to undo.
    public func unsubscribe(_ context: MethodContext) async throws {
        let connector = try connector(context.connectorKey)
        guard connector.method(for: context.owner, name: "unsubscribe") != nil else { return }
        _ = try await call(connector, context, "unsubscribe", commonArguments(context))
    }

    /// Runs `refresh` (when `nextRefreshTimestamp` came due). Without a `refresh` method the
    /// result is empty: state unchanged, no further refresh.
    public func refresh(_ context: MethodContext, webhookUri: String?) async throws -> RefreshResult {
        let connector = try connector(context.connectorKey)
        guard connector.method(for: context.owner, name: "refresh") != nil else {
            return RefreshResult(state: nil, nextRefreshTimestamp: nil)
        }
        var arguments = commonArguments(context)
        arguments["webhookUri"] = webhookUri.map(JSONValue.string) ?? .null
        let result = try await call(connector, context, "refresh", arguments)
        return RefreshResult(state: Self.nonNull(result["state"]), nextRefreshTimestamp: Self.timestamp(result["nextRefreshTimestamp"]))
    }

    /// Runs the connector's `auth/refresh-credentials` with `credentials` (what a 401 triggers
    /// inside a method, for a worker that refreshes on another replica's behalf): the new
    /// credentials merged over the old ones.
    ///
    /// - Throws: ``ConnectorMethodError``; `method-not-found` when the connector has no
    ///   `refresh-credentials`.
    public func refreshCredentials(
        connectorKey: String, credentials: JSONValue, connectorParameters: JSONValue?, logMetadata: [String: String] = [:]
    ) async throws(ConnectorMethodError) -> JSONValue {
        let connector = try connector(connectorKey)
        guard let method = connector.auth["refresh-credentials"] else {
            throw ConnectorMethodError(code: ConnectorMethodError.methodNotFound,
                                       message: "connectors/\(connectorKey)/auth: no refresh-credentials method, so its credentials cannot be refreshed; PATCH the connection with new ones",
                                       file: "connectors/\(connectorKey)/auth")
        }
        var metadata = logMetadata
        metadata["connector"] = connectorKey
        metadata["method"] = method.path
        return try await clients.refreshedCredentials(
            connector, method, credentials: credentials, connectorParameters: connectorParameters ?? .object([:]), logMetadata: metadata)
    }

    // MARK: - Global webhooks

    /// Runs a global-webhook event's `getEventSelector`: which global webhook feeds the
    /// subscription and the selector its payloads carry. Computed once, at subscription.
    ///
    /// - Throws: ``ConnectorMethodError``; `malformed-result` also when the key names no global
    ///   webhook of the connector.
    public func eventSelector(_ context: MethodContext) async throws -> EventSelector {
        let connector = try connector(context.connectorKey)
        try checkParameters(context, connector)
        let result = try await call(connector, context, "getEventSelector", commonArguments(context))
        let key = result["globalWebhookKey"]?.stringValue ?? ""
        guard connector.globalWebhooks[key] != nil else {
            let file = connector.method(for: context.owner, name: "getEventSelector")?.path ?? ""
            let known = connector.globalWebhooks.keys.sorted().joined(separator: ", ")
            throw ConnectorMethodError(
                code: ConnectorMethodError.malformedResult,
                message: ConnectorMethodError.located(file, line: nil, "getEventSelector returned a malformed result: result at /globalWebhookKey '\(key)' is not a global webhook of \(connector.key), expected one of: \(known)"),
                file: file, details: .object(["pointer": "/globalWebhookKey"]))
        }
        return EventSelector(globalWebhookKey: key, selector: result["globalWebhookEventSelector"]?.stringValue ?? "")
    }

    /// Runs a global webhook's `handle` for a request to its URL. There is no connection here
    /// (the webhook serves the whole connector), so `apiClient` is not available.
    public func handleGlobalWebhook(connectorKey: String, globalWebhookKey: String, request: WebhookRequest, connectorParameters: JSONValue) async throws -> GlobalHandleResult {
        let connector = try connector(connectorKey)
        var arguments = request.methodArguments
        arguments["parameters"] = connectorParameters
        let context = MethodContext(connectorKey: connectorKey, owner: .globalWebhook(globalWebhookKey), connectorParameters: connectorParameters,
                                    logMetadata: ["globalWebhook": globalWebhookKey])
        let result = try await call(
            connector, context, "handle", arguments, aliases: WebhookRequest.bodyAlias.merging(["connectorParameters": "parameters"]) { $1 },
            texts: request.methodTexts, parsedTexts: request.methodParsedTexts, connection: false)
        let events = (result["events"]?.arrayValue ?? []).map { event in
            GlobalHandleResult.GlobalEvent(selector: event["selector"]?.stringValue ?? "", payload: event["payload"] ?? .null)
        }
        return GlobalHandleResult(events: events, response: Self.nonNull(result["response"]).map(WebhookResponse.init(response:)))
    }

    /// Turns a payload routed from a global webhook into record events with the event's
    /// `handle`; without one, the payload itself is the record of a single event (type left
    /// to the dispatcher).
    public func handlePayload(_ context: MethodContext, payload: JSONValue) async throws -> HandleResult {
        let connector = try connector(context.connectorKey)
        guard connector.method(for: context.owner, name: "handle") != nil else {
            return HandleResult(events: [ExtractedEvent(type: nil, record: payload)], response: nil, state: nil)
        }
        var arguments = commonArguments(context)
        arguments["payload"] = payload
        let result = try await call(connector, context, "handle", arguments, aliases: ["data": "payload", "body": "payload"])
        return Self.handleResult(result)
    }

    // MARK: - Pull strategies

    /// Runs a custom pull's `pull`: the events since the state was made, and the next state.
    public func pull(_ context: MethodContext) async throws -> PullResult {
        let connector = try connector(context.connectorKey)
        let result = try await call(connector, context, "pull", commonArguments(context))
        return PullResult(events: Self.events(result["events"]), state: Self.nonNull(result["state"]))
    }

    /// Runs `pullLatestRecords` for one page (newest records first).
    public func pullLatestRecords(_ context: MethodContext, cursor: String?) async throws -> RecordPage {
        let connector = try connector(context.connectorKey)
        var arguments = commonArguments(context)
        arguments["cursor"] = cursor.map(JSONValue.string) ?? .null
        return Self.page(try await call(connector, context, "pullLatestRecords", arguments))
    }

    /// Runs a collection's `list` for one page (full scan). `context.owner` may be the
    /// collection or one of its events.
    public func list(_ context: MethodContext, cursor: String?) async throws -> RecordPage {
        let connector = try connector(context.connectorKey)
        var listContext = context
        if case .collectionEvent(let key, _) = context.owner { listContext.owner = .collection(key) }
        var arguments = commonArguments(listContext)
        arguments["cursor"] = cursor.map(JSONValue.string) ?? .null
        return Self.page(try await call(connector, listContext, "list", arguments))
    }

    // MARK: - Generic

    /// Whether connector `connectorKey` has method `name` for `owner`.
    public func hasMethod(_ owner: MethodOwner, _ name: String, connectorKey: String) -> Bool {
        workspace.connectors[connectorKey]?.method(for: owner, name: name) != nil
    }

    /// Runs any method with the given arguments (`inlet connector test`) and returns its
    /// result, checked against its contract. `arguments.connectorParameters` and
    /// `credentials` build the API client. For `handle`, `data` and `body` stand for each
    /// other, and a `rawBody` alone is parsed by the `content-type` in `headers`.
    public func run(connectorKey: String, owner: MethodOwner, method: String, arguments: JSONValue, credentials: JSONValue?) async throws -> JSONValue {
        let connector = try connector(connectorKey)
        var members = arguments.objectValue ?? [:]
        var aliases: [String: String] = [:]
        if method == "handle" {
            if members["data"] == nil, members["body"] == nil, let raw = members["rawBody"]?.stringValue {
                let contentType = members["headers"]?.objectValue?.first { $0.key.lowercased() == "content-type" }?.value.stringValue
                members["data"] = WebhookRequest.parseBody(Data(raw.utf8), contentType: contentType)
            }
            if members["data"] == nil { members["data"] = members["body"] }
            // As in production: `body` is `data` under another name.
            members["body"] = nil
            aliases = WebhookRequest.bodyAlias
        }
        let context = MethodContext(connectorKey: connectorKey, owner: owner, parameters: members["parameters"] ?? .object([:]),
                                    state: members["state"], credentials: credentials ?? .object([:]),
                                    connectorParameters: members["connectorParameters"])
        return try await call(connector, context, method, members, aliases: aliases)
    }

    // MARK: - Calling

    /// Looks `name` up, runs it with `arguments` and `texts` (string arguments) and checks its
    /// result. Each alias in `aliases` (alias → argument name) is another name of that
    /// argument's value; each of `parsedTexts` (argument → text) an argument that is that
    /// text's JSON (see ``MethodArguments``).
    private func call(
        _ connector: Connector, _ context: MethodContext, _ name: String, _ arguments: [String: JSONValue], aliases: [String: String] = [:],
        texts: [String: String] = [:], parsedTexts: [String: String] = [:], connection: Bool = true
    ) async throws(ConnectorMethodError) -> JSONValue {
        guard let method = connector.method(for: context.owner, name: name) else { throw missing(name, context.owner, connector) }
        var metadata = context.logMetadata
        metadata["connector"] = connector.key
        metadata["method"] = method.path
        var apiClient: (any APIClient)?
        if connection {
            apiClient = LazyAPIClient { [clients, metadata] () async throws(ConnectorMethodError) -> any APIClient in
                try await clients.client(
                    for: connector, credentials: context.credentials, connectorParameters: context.connectorParameters, logMetadata: metadata,
                    connectionId: context.connectionId, refresher: context.refreshCredentials)
            }
        }
        let started = ContinuousClock.now
        do {
            let raw = try await runner.run(
                method, of: connector.key, arguments: MethodArguments(arguments, aliases: aliases, texts: texts, parsedTexts: parsedTexts), apiClient: apiClient, logMetadata: metadata)
            let contract = MethodResultContract.of(method: name, owner: context.owner, in: connector)
            let result = try contract.validate(raw, file: method.path)
            logger.debug("connector method ran", metadata: Self.loggable(metadata, elapsed: ContinuousClock.now - started))
            return result
        } catch {
            var failed = Self.loggable(metadata, elapsed: ContinuousClock.now - started)
            failed["error"] = "\(error)"
            logger.warning("connector method failed", metadata: failed)
            throw error
        }
    }

    private func connector(_ key: String) throws(ConnectorMethodError) -> Connector {
        guard let connector = workspace.connectors[key] else {
            let known = workspace.connectors.keys.sorted().joined(separator: ", ")
            throw ConnectorMethodError(code: ConnectorMethodError.methodNotFound,
                                       message: "connectors/\(key): no such connector in the workspace, expected one of: \(known)",
                                       file: "connectors/\(key)")
        }
        return connector
    }

    private func missing(_ name: String, _ owner: MethodOwner, _ connector: Connector) -> ConnectorMethodError {
        let folder = Self.folder(of: owner, in: connector)
        return ConnectorMethodError(code: ConnectorMethodError.methodNotFound,
                                    message: "\(folder): no \(name) method (\(name).js, \(name).map.yml, \(name).rest.yml or \(name).graphql.yml), or no such owner",
                                    file: folder)
    }

    /// `state`, `parameters` and `connectorParameters`: what every subscription method receives.
    private func commonArguments(_ context: MethodContext) -> [String: JSONValue] {
        ["state": context.state ?? .null, "parameters": context.parameters, "connectorParameters": context.connectorParameters ?? .object([:])]
    }

    private func checkParameters(_ context: MethodContext, _ connector: Connector) throws(ConnectorMethodError) {
        let schema: JSONSchema? = switch context.owner {
        case .event(let key): connector.events[key]?.validParametersSchema
        case .collection(let key), .collectionEvent(let key, _): connector.dataCollections[key]?.validParametersSchema
        case .globalWebhook, .auth: nil
        }
        guard let schema else { return }
        let errors = schema.validate(context.parameters)
        guard !errors.isEmpty else { return }
        let folder = Self.folder(of: context.owner, in: connector)
        let lines = errors.map { "\($0.instancePath.isEmpty ? "/" : $0.instancePath): \($0.message)" }
        throw ConnectorMethodError(code: ConnectorMethodError.invalidParameters,
                                   message: "\(folder)/spec.yml: parameters do not match parametersSchema: \(lines.joined(separator: "; "))",
                                   file: "\(folder)/spec.yml", details: .array(lines.map(JSONValue.string)))
    }

    private func requiresSubscribe(_ owner: MethodOwner, _ connector: Connector) -> Bool {
        switch owner {
        case .event(let key): connector.events[key]?.implementationType == .webhook
        case .collectionEvent(let key, let type):
            [.webhook, .customPull].contains(connector.dataCollections[key]?.events[type]?.implementationType)
        case .collection, .globalWebhook, .auth: false
        }
    }

    /// The owner's folder relative to the workspace, e.g. `connectors/github/events/issues`.
    static func folder(of owner: MethodOwner, in connector: Connector) -> String {
        let base = "connectors/\(connector.key)"
        return switch owner {
        case .event(let key): "\(base)/events/\(key)"
        case .globalWebhook(let key): "\(base)/global-webhooks/\(key)"
        case .collection(let key): "\(base)/data/\(key)"
        case .collectionEvent(let key, let type): "\(base)/data/\(key)/events/\(type.rawValue)"
        case .auth: "\(base)/auth"
        }
    }

    // MARK: - Results (already checked by the contract)

    private static func handleResult(_ result: JSONValue) -> HandleResult {
        HandleResult(events: events(result["events"]), response: nonNull(result["response"]).map(WebhookResponse.init(response:)),
                     state: nonNull(result["state"]))
    }

    private static func events(_ value: JSONValue?) -> [ExtractedEvent] {
        (value?.arrayValue ?? []).map { ExtractedEvent(type: $0["type"]?.stringValue, record: $0["record"] ?? .null) }
    }

    private static func page(_ result: JSONValue) -> RecordPage {
        let cursor: String? = switch result["cursor"] {
        case .string(let text)?: text.isEmpty ? nil : text
        case .integer(let number)?: String(number)
        default: nil
        }
        return RecordPage(records: result["records"]?.arrayValue ?? [], cursor: cursor)
    }

    private static func nonNull(_ value: JSONValue?) -> JSONValue? {
        guard let value, !value.isNull else { return nil }
        return value
    }

    private static func timestamp(_ value: JSONValue?) -> Int64? {
        value?.doubleValue.map { Int64($0) }
    }

    private static func loggable(_ metadata: [String: String], elapsed: Duration) -> Logger.Metadata {
        var result = metadata.mapValues { Logger.MetadataValue.string($0) }
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        result["elapsedMs"] = .string(String(format: "%.1f", milliseconds))
        return result
    }
}

// MARK: - Lazy API client

/// Builds the connection's API client on the first request, so methods that never call the
/// API (most `handle`s) do not run `make-api-client`.
private struct LazyAPIClient: APIClient {
    let make: @Sendable () async throws(ConnectorMethodError) -> any APIClient

    func send(_ request: APIRequest) async throws -> APIResponse {
        let client: any APIClient
        do {
            client = try await make()
        } catch {
            // The method sees an API failure it can catch; the message names make-api-client's file.
            throw APIError(code: "API_CLIENT_UNAVAILABLE", message: error.message)
        }
        return try await client.send(request)
    }
}
