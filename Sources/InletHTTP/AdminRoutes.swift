import Foundation
import Hummingbird
import InletConnectors
import InletKafka
import InletPipeline
import Logging

/// The admin API under `/api/v1`: connections and subscriptions (schemas/openapi.yml).
///
/// Writes go through Kafka: a connection is appended to `connections`; a subscription is a
/// `subscribe` command on `commands`, run by the handler that owns it (the single writer of
/// `subscriptions`). Creating and deleting wait, bounded, for the handler's outcome.
struct AdminRoutes: Sendable {
    let configuration: AdminConfiguration
    let topics: InletTopics
    let workspace: Workspace
    let producer: KafkaProducer
    let subscriptions: SubscriptionDirectory
    let connections: ConnectionDirectory
    let vault: CredentialVault
    let globalWebhooks: GlobalWebhookDirectory?
    let connectorParameters: ConnectorParametersDirectory?
    var customers: CustomerDirectory? = nil
    var appEventSubscriptions: AppEventSubscriptionDirectory? = nil
    /// The dead-letter topic (`/api/v1/dead-letters`), when this process may read it.
    var deadLetters: DeadLetterStore? = nil

    func register(on router: Router<BasicRequestContext>) {
        let audit = AdminAudit(producer: producer, topic: topics.audit, logger: Logger(label: "inlet.audit"))
        let api = router.group("api/v1").add(middleware: AdminAuthMiddleware(tokens: configuration.tokens, audit: audit))
        api.post("connections") { request, context in try await createConnection(request, context: context) }
        api.get("connections") { request, _ in listConnections(request) }
        api.get("connections/:id") { _, context in try connection(context) }
        api.delete("connections/:id") { _, context in try await deleteConnection(context) }
        api.patch("connections/:id") { request, context in try await updateConnection(request, context: context) }
        api.post("subscriptions") { request, context in try await createSubscription(request, context: context) }
        api.get("subscriptions") { request, _ in listSubscriptions(request) }
        api.get("subscriptions/:id") { _, context in try subscription(context) }
        api.delete("subscriptions/:id") { _, context in try await deleteSubscription(context) }
        api.patch("subscriptions/:id") { request, context in try await updateSubscription(request, context: context) }
        api.post("subscriptions/:id/pull") { _, context in try await pullSubscription(context) }
        api.get("global-webhooks") { _, _ in try listGlobalWebhooks() }
        api.put("connectors/:key/parameters") { request, context in try await putConnectorParameters(request, context: context) }
        if let customers {
            CustomerRoutes(admin: self, customers: customers, tokens: CustomerTokens(vault: vault), topics: topics, producer: producer).register(on: api)
        }
        appEventSubscriptionRoutes?.register(on: api)
        if let deadLetters {
            DeadLetterRoutes(admin: self, store: deadLetters, producer: producer).register(on: api)
        }
        api.get("openapi.yml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.text)))
        }
    }

    // MARK: - Connector parameters

    /// `PUT /api/v1/connectors/<key>/parameters`: the connector parameters for the workspace
    /// (what a global webhook's `handle` gets as `parameters`), validated against connector.yml's
    /// `parametersSchema` and stored sealed. The answer never repeats them.
    private func putConnectorParameters(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let connectorKey = context.parameters.get("key") ?? ""
        guard let connector = workspace.connectors[connectorKey] else {
            throw ProblemDetails(
                .notFound, title: "Unknown connector",
                detail: "'\(connectorKey)' is not a connector of this workspace; known: \(workspace.connectors.keys.sorted().joined(separator: ", "))")
        }
        guard let connectorParameters else {
            throw ProblemDetails(.notFound, title: "Not served here", detail: "this process does not keep connector parameters")
        }
        let body = try await jsonBody(request, context: context)
        guard body.objectValue != nil else { throw unprocessable("the body must be a JSON object of the connector's parameters") }
        if let schema = connector.validParametersSchema {
            let errors = schema.validate(body)
            if !errors.isEmpty { throw schemaProblem("the parameters do not match connector \(connectorKey)'s parametersSchema", errors, in: body, schema: connector.parametersSchema) }
        }
        let record = ConnectorParametersRecord(
            connectorKey: connectorKey, parameters: try vault.seal(body, boundTo: ConnectorParametersRecord.binding(connectorKey: connectorKey)),
            updatedAt: Date())
        try await producer.send(KafkaRecord(topic: topics.connectorParameters, key: connectorKey, value: record.encoded()))
        try await connectorParameters.sync()
        return .json(["connectorKey": .string(connectorKey), "updatedAt": .string(Self.timestamp(record.updatedAt))])
    }

    // MARK: - Global webhooks

    /// `{"globalWebhooks": [{connectorKey, key, name, url}]}`: the URL of every global webhook
    /// of the workspace, to paste into the external app's settings.
    private func listGlobalWebhooks() throws -> Response {
        guard let globalWebhooks else { return .json(["globalWebhooks": []]) }
        guard globalWebhooks.isIssued else {
            throw ProblemDetails(
                .serviceUnavailable, title: "Starting", detail: "the global webhook URLs are still being loaded or made; retry after 1 s",
                headers: [.retryAfter: "1"])
        }
        let listed: [JSONValue] = globalWebhooks.all(in: workspace).map { webhook, record in
            [
                "connectorKey": .string(record.connectorKey), "key": .string(record.key), "name": .string(webhook.name),
                "url": .string(configuration.globalWebhookURL(record)),
            ]
        }
        return .json(["globalWebhooks": .array(listed)])
    }

    // MARK: - Connections

    private func createConnection(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await jsonBody(request, context: context)
        let connectorKey = try requiredString(body, "connectorKey")
        let customerId = try requiredString(body, "customerId")
        guard let connector = workspace.connectors[connectorKey] else {
            throw unprocessable("connectorKey '\(connectorKey)' is not a connector of this workspace; known: \(workspace.connectors.keys.sorted().joined(separator: ", "))")
        }
        guard let credentials = body["credentials"], credentials.objectValue != nil else {
            throw unprocessable("credentials must be an object (what the connector's auth/make-api-client expects)")
        }
        let connectorParameters = body["connectorParameters"].flatMap { $0.isNull ? nil : $0 }
        try checkIsObject(connectorParameters)
        if let schema = connector.validParametersSchema {
            let errors = schema.validate(connectorParameters ?? .object([:]))
            if !errors.isEmpty {
                throw schemaProblem("connectorParameters do not match connector \(connectorKey)'s parametersSchema", errors, in: connectorParameters ?? .object([:]), schema: connector.parametersSchema)
            }
        }
        let now = Date()
        let record = try ConnectionRecord.sealing(
            id: "con_" + RandomToken.make(bytes: 12), connectorKey: connectorKey, customerId: customerId,
            name: body["name"]?.stringValue, credentials: credentials, connectorParameters: connectorParameters, vault: vault, at: now
        )
        try await producer.appendOrUnavailable(KafkaRecord(topic: topics.connections, key: record.id, value: record.encoded()))
        // Answer once this process can see it, so a subscription may use it right away.
        try? await connections.sync(timeout: configuration.waitTimeout)
        return .json(present(record), status: .created)
    }

    /// A connection's connector parameters are the connector's parameters by name, whether or
    /// not connector.yml has a `parametersSchema` to say which.
    private func checkIsObject(_ connectorParameters: JSONValue?) throws {
        if let connectorParameters, connectorParameters.objectValue == nil {
            throw unprocessable("connectorParameters must be an object of the connector's parameters by name (or null for none)")
        }
    }

    /// `PATCH /api/v1/connections/<id>`: replaces the credentials, name or connector
    /// parameters of a connection (fields left out are kept) without touching its
    /// subscriptions, which use the new values from their next method call on. Everything is
    /// sealed again with the current key, so `PATCH {}` moves a connection to the key that
    /// seals now (after a key rotation) and binds it to its record.
    private func updateConnection(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        let body = try await jsonBody(request, context: context)
        guard case .object(let members) = body else { throw unprocessable("the body must be an object with any of credentials, name, connectorParameters") }
        let unknown = Set(members.keys).subtracting(["credentials", "name", "connectorParameters"])
        if !unknown.isEmpty {
            throw unprocessable("unknown fields \(unknown.sorted().joined(separator: ", ")); a connection's credentials, name and connectorParameters can be changed (its connector and customer cannot: create another connection)")
        }
        // This replica's table may lag (a connection just created, changed or deleted
        // elsewhere): catch up first, or refuse rather than write from a stale copy.
        do {
            try await connections.sync(timeout: configuration.waitTimeout)
        } catch {
            throw ProblemDetails.notCaughtUp(reading: "connections", error)
        }
        guard let existing = connections[id] else { throw ProblemDetails(.notFound, detail: "no connection '\(id)'") }
        let connector = workspace.connectors[existing.connectorKey]
        let credentials: JSONValue
        if let given = members["credentials"] {
            guard given.objectValue != nil else { throw unprocessable("credentials must be an object (what the connector's auth/make-api-client expects)") }
            credentials = given
        } else {
            do {
                credentials = try existing.openedCredentials(vault)
            } catch {
                throw unprocessable("the stored credentials do not open with this process's keys (\(error)); send new credentials")
            }
        }
        let connectorParameters: JSONValue?
        if let given = members["connectorParameters"] {
            connectorParameters = given.isNull ? nil : given
            try checkIsObject(connectorParameters)
            if let schema = connector?.validParametersSchema {
                let errors = schema.validate(connectorParameters ?? .object([:]))
                if !errors.isEmpty {
                    throw schemaProblem(
                        "connectorParameters do not match connector \(existing.connectorKey)'s parametersSchema", errors, in: connectorParameters ?? .object([:]),
                        schema: connector?.parametersSchema)
                }
            }
        } else {
            do {
                connectorParameters = try existing.openedConnectorParameters(vault)
            } catch {
                throw unprocessable("the stored connectorParameters do not open with this process's keys (\(error)); send them again")
            }
        }
        var name = existing.name
        if let given = members["name"] {
            guard given.isNull || given.stringValue != nil else { throw unprocessable("name must be a string or null") }
            name = given.stringValue
        }
        var record = try ConnectionRecord.sealing(
            id: existing.id, connectorKey: existing.connectorKey, customerId: existing.customerId, name: name, credentials: credentials,
            connectorParameters: connectorParameters, vault: vault, at: existing.createdAt)
        record.updatedAt = Date()
        record.archivedAt = existing.archivedAt
        try await producer.appendOrUnavailable(KafkaRecord(topic: topics.connections, key: record.id, value: record.encoded()))
        try? await connections.sync(timeout: configuration.waitTimeout)
        return .json(present(record))
    }

    private func listConnections(_ request: Request) -> Response {
        let query = request.uri.queryParameters
        let matching = connections.all().filter { record in
            query["customerId"].map { record.customerId == String($0) } ?? true
                && query["connectorKey"].map { record.connectorKey == String($0) } ?? true
        }
        return .json(["connections": .array(matching.sorted { $0.createdAt < $1.createdAt }.map(present))])
    }

    private func connection(_ context: BasicRequestContext) throws -> Response {
        let id = context.parameters.get("id") ?? ""
        guard let record = connections[id] else { throw ProblemDetails(.notFound, detail: "no connection '\(id)'") }
        return .json(present(record))
    }

    private func deleteConnection(_ context: BasicRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        guard connections[id] != nil else { throw ProblemDetails(.notFound, detail: "no connection '\(id)'") }
        if let user = subscriptions.all().first(where: { $0.connectionId == id && $0.isLive }) {
            throw ProblemDetails(.conflict, detail: "subscription \(user.id) still uses this connection; delete it first")
        }
        try await producer.appendOrUnavailable(KafkaRecord(topic: topics.connections, key: id, value: nil))
        return Response(status: .noContent)
    }

    private func present(_ record: ConnectionRecord) -> JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(record.id), "connectorKey": .string(record.connectorKey), "customerId": .string(record.customerId),
            "createdAt": .string(Self.timestamp(record.createdAt)),
        ]
        if let name = record.name { members["name"] = .string(name) }
        // Without its connector in the workspace, which parameters are secret is unknown:
        // none is shown.
        if let parameters = try? record.openedConnectorParameters(vault), let connector = workspace.connectors[record.connectorKey] {
            members["connectorParameters"] = SecretRedaction.redacting(parameters, schema: connector.parametersSchema)
        }
        return .object(members)
    }

    // MARK: - Subscriptions

    /// `POST /api/v1/subscriptions`. A collection subscription may name several record events
    /// (`collectionEvents: [created, updated, deleted]`): one subscription each, answered
    /// together as `{subscriptions: [...]}` (201; 200 when all existed; 202 while any is pending).
    private func createSubscription(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await jsonBody(request, context: context)
        if body["appEventKey"] != nil {
            guard let routes = appEventSubscriptionRoutes else {
                throw ProblemDetails(.notFound, title: "Not served here", detail: "this process does not keep app event subscriptions")
            }
            return try await routes.create(body)
        }
        guard let several = body["collectionEvents"], !several.isNull else { return try await createSubscription(body).response }
        guard case .object(var members) = body, members["collectionEvent"] == nil, members["collectionKey"] != nil, members["eventKey"] == nil,
              let names = several.arrayValue?.compactMap(\.stringValue), !names.isEmpty, names.count == several.arrayValue?.count,
              Set(names).count == names.count, names.allSatisfy({ RecordChangeType(rawValue: $0) != nil })
        else {
            throw unprocessable("collectionEvents must be a list of distinct record events (created, updated, deleted), given with collectionKey instead of collectionEvent")
        }
        members["collectionEvents"] = nil
        var outcomes: [SubscriptionOutcome] = []
        for name in names {
            members["collectionEvent"] = .string(name)
            outcomes.append(try await createSubscription(.object(members)))
        }
        let status: HTTPResponse.Status = outcomes.contains { $0.status == .accepted } ? .accepted
            : outcomes.allSatisfy { $0.status == .ok } ? .ok : .created
        return .json(["subscriptions": .array(outcomes.map(\.body))], status: status)
    }

    private func createSubscription(_ body: JSONValue) async throws -> SubscriptionOutcome {
        let connectionId = try requiredString(body, "connectionId")
        if connections[connectionId] == nil { try? await connections.sync(timeout: configuration.waitTimeout) }
        guard let connection = connections[connectionId] else {
            throw unprocessable("connectionId '\(connectionId)' is not a connection; create it with POST /api/v1/connections")
        }
        guard let connector = workspace.connectors[connection.connectorKey] else {
            throw unprocessable("connector '\(connection.connectorKey)' of the connection is not in this workspace")
        }
        let target: SubscriptionTarget
        let parametersSchema: JSONSchema?
        let receivesWebhooks: Bool
        if let eventKey = body["eventKey"]?.stringValue {
            guard let spec = connector.events[eventKey] else {
                throw unprocessable("eventKey '\(eventKey)' is not an event of \(connector.key); known: \(connector.events.keys.sorted().joined(separator: ", "))")
            }
            target = .event(eventKey: eventKey)
            parametersSchema = spec.validParametersSchema
            receivesWebhooks = spec.implementationType == .webhook
        } else if let collectionKey = body["collectionKey"]?.stringValue {
            guard let collection = connector.dataCollections[collectionKey] else {
                throw unprocessable("collectionKey '\(collectionKey)' is not a data collection of \(connector.key)")
            }
            let changeText = body["collectionEvent"]?.stringValue ?? "created"
            guard let change = RecordChangeType(rawValue: changeText) else {
                throw unprocessable("collectionEvent must be created, updated or deleted")
            }
            target = .collection(collectionKey: collectionKey, collectionEvent: change)
            parametersSchema = collection.validParametersSchema
            receivesWebhooks = collection.events[DataCollection.EventType(rawValue: change.rawValue) ?? .created]?.implementationType == .webhook
        } else {
            throw unprocessable("give eventKey (a connector event) or collectionKey (+ collectionEvent) to subscribe to")
        }
        let parameters = body["parameters"] ?? .object([:])
        if let schema = parametersSchema {
            let errors = schema.validate(parameters)
            if !errors.isEmpty {
                throw schemaProblem("parameters do not match the parametersSchema of \(connector.key)/\(target.key)", errors, in: parameters, schema: schemaDocument(of: connector, target: target))
            }
        }
        var config = SubscriptionRecord.Config(parameters: parameters, ignoredFields: try strings(body, "ignoredFields"), backfill: try flag(body, "backfill"))
        let pullInterval = try seconds(body, "pullUpdatesIntervalSeconds")
        let fullSyncInterval = try seconds(body, "fullSyncIntervalSeconds")
        // Full-scan subscriptions alike in all but their record event share one scan per pull.
        if case .collection(let key, let change) = target,
            connector.dataCollections[key]?.events[DataCollection.EventType(rawValue: change.rawValue) ?? .created]?.implementationType == .fullScan
        {
            config.scanGroup = SubscriptionRecord.scanGroup(connectionId: connectionId, collectionKey: key, config: config,
                                                            pullUpdatesIntervalSeconds: pullInterval, fullSyncIntervalSeconds: fullSyncInterval)
        }
        // The same request names the same subscription: an identical one that is live is the
        // answer (200), not a second external hook. One deleted is subscribed anew; one in error
        // may still have its hook at the app (a failed unsubscribe), so it must be deleted first.
        let id = SubscriptionRecord.id(connectionId: connectionId, target: target, config: config,
                                       pullUpdatesIntervalSeconds: pullInterval, fullSyncIntervalSeconds: fullSyncInterval)
        // This replica's table may lag (a DELETE answered by another replica): catch up first.
        try? await subscriptions.sync(timeout: configuration.waitTimeout)
        if let existing = subscriptions[id], existing.isLive {
            if existing.status == .error, existing.hasState {
                var problem = ProblemDetails(
                    .conflict, title: "Subscription in error",
                    detail: "subscription \(id) is in error and may still be registered at the app (\(existing.error?.message ?? "no reason recorded")); DELETE /api/v1/subscriptions/\(id) first, then subscribe again")
                problem.extensions["subscription"] = present(existing)
                throw problem
            }
            if existing.status != .error {
                return try await outcome(of: id, created: true, status: .ok) { $0.status != .pending }
            }
        }
        // Secret parameters travel sealed (bound to the subscription), on the command and on
        // the subscription the handler makes of it.
        let redacted = SecretRedaction.redacting(parameters, schema: schemaDocument(of: connector, target: target) ?? .null)
        let command = Command(
            type: .subscribe, subscriptionId: id, issuedAt: Date(),
            subscription: .init(
                connectionId: connectionId, customerId: connection.customerId, connectorKey: connector.key, target: target,
                config: try config.sealing(redacted: redacted, vault: vault, subscriptionId: id), pullUpdatesIntervalSeconds: pullInterval, fullSyncIntervalSeconds: fullSyncInterval,
                webhookToken: receivesWebhooks ? RandomToken.make(bytes: 24) : ""
            )
        )
        let stored = try await producer.appendOrUnavailable(KafkaRecord(topic: topics.commands, key: id, value: command.encoded()))
        let response = try await outcome(of: id, created: true) {
            $0.status != .pending && $0.hasApplied(topic: stored.topic, partition: Int(stored.partition), offset: stored.offset)
        }
        // An older handler (a rolling upgrade) refuses to revive a deleted subscription.
        if let record = subscriptions[id], record.status == .archived, record.hasApplied(topic: stored.topic, partition: Int(stored.partition), offset: stored.offset) {
            throw ProblemDetails(.serviceUnavailable, title: "Not revived",
                                 detail: "subscription \(id) was deleted and the handler that owns it (an older version) did not subscribe it anew; retry once every handler runs this version",
                                 headers: [.retryAfter: "30"])
        }
        return response
    }

    private func listSubscriptions(_ request: Request) -> Response {
        let query = request.uri.queryParameters
        let matching = subscriptions.all().filter { record in
            query["customerId"].map { record.customerId == String($0) } ?? true
                && query["connectorKey"].map { record.connectorKey == String($0) } ?? true
                && query["status"].map { record.status.rawValue == String($0) } ?? true
        }
        return .json(["subscriptions": .array(matching.sorted { $0.createdAt < $1.createdAt }.map(present))])
    }

    private func subscription(_ context: BasicRequestContext) throws -> Response {
        let id = context.parameters.get("id") ?? ""
        guard let record = subscriptions[id] else { throw ProblemDetails(.notFound, detail: "no subscription '\(id)'") }
        return .json(present(record))
    }

    /// Asks the owning handler to pull now (202): the pull runs in the subscription's order
    /// with its other inputs; `lastPull` on the subscription shows its outcome.
    private func pullSubscription(_ context: BasicRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        guard let record = subscriptions[id] else { throw ProblemDetails(.notFound, detail: "no subscription '\(id)'") }
        guard case .collection(let key, let change) = record.target,
            let event = workspace.connectors[record.connectorKey]?.dataCollections[key]?.events[DataCollection.EventType(rawValue: change.rawValue) ?? .created],
            event.implementationType != .webhook
        else {
            throw ProblemDetails(.conflict, detail: "subscription '\(id)' does not pull: its events come by webhook; only pull-latest-records, custom-pull and full-scan collection events can be pulled")
        }
        guard record.isReceiving else {
            throw ProblemDetails(.conflict, detail: "subscription '\(id)' is \(record.status.rawValue); only an active or degraded subscription pulls")
        }
        // A full scan shared by a scan group runs in its leader's pull.
        let scanner = ScanGroup.leader(of: ScanGroup.members(of: record, among: subscriptions.all())) ?? record
        let command = Command(type: .pull, subscriptionId: scanner.id, issuedAt: Date())
        try await producer.appendOrUnavailable(KafkaRecord(topic: topics.commands, key: scanner.id, value: command.encoded()))
        var body: [String: JSONValue] = ["id": .string(id), "status": "pull-requested", "poll": .string("/api/v1/subscriptions/\(id)")]
        if scanner.id != id { body["scannedBy"] = .string(scanner.id) }
        var response = Response.json(.object(body), status: .accepted)
        response.headers[.location] = "/api/v1/subscriptions/\(id)"
        return response
    }

    /// `PATCH /api/v1/subscriptions/<id>`: new parameters or settings. A subscription is what
    /// its request names (its id derives from it), so a change is a new subscription: it is
    /// subscribed (a new hook registered at the app) and, once active, the old one is deleted
    /// (its hook removed). The answer is the new subscription with `replaces: <old id>`;
    /// `parameters`, when given, replace the old ones whole.
    private func updateSubscription(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        let body = try await jsonBody(request, context: context)
        let settable = ["parameters", "ignoredFields", "backfill", "pullUpdatesIntervalSeconds", "fullSyncIntervalSeconds"]
        guard case .object(let members) = body else { throw unprocessable("the body must be an object with any of \(settable.joined(separator: ", "))") }
        let unknown = Set(members.keys).subtracting(settable)
        if !unknown.isEmpty {
            throw unprocessable("unknown fields \(unknown.sorted().joined(separator: ", ")); a subscription's \(settable.joined(separator: ", ")) can be changed (for another connection or event, create another subscription)")
        }
        try? await subscriptions.sync(timeout: configuration.waitTimeout)
        guard let existing = subscriptions[id] else { throw ProblemDetails(.notFound, detail: "no subscription '\(id)'") }
        guard existing.isLive, existing.status != .error else {
            throw ProblemDetails(.conflict, detail: "subscription '\(id)' is \(existing.status.rawValue); only a pending, active or degraded one can be changed (DELETE it, then subscribe anew)")
        }
        // A pulled collection's new subscription starts from a baseline of its own: the old one
        // is deleted only after a pull of its own that began once that baseline was there.
        var pulled: DataCollection.EventImplementationType?
        if case .collection(let key, let change) = existing.target,
            let event = workspace.connectors[existing.connectorKey]?.dataCollections[key]?.events[DataCollection.EventType(rawValue: change.rawValue) ?? .created],
            event.implementationType != .webhook
        {
            pulled = event.implementationType
        }
        guard case .object(var made) = try creationRequest(of: existing) else { throw unprocessable("subscription '\(id)' cannot be changed: its parameters do not open with this process's keys") }
        for (key, value) in members { made[key] = value.isNull ? nil : value }
        let replacement = try await createSubscription(.object(made))
        guard let newId = replacement.body["id"]?.stringValue else { return replacement.response }
        if newId == id { return replacement.response }
        var answer = replacement.body.objectValue ?? [:]
        answer["replaces"] = .string(id)
        guard replacement.status != .accepted else {
            // Not active yet: the old one stays until it is, so no event is missed.
            answer["detail"] = .string("the new subscription is still being subscribed; \(id) stays (both receive events meanwhile): DELETE /api/v1/subscriptions/\(id) once the new one is active")
            var response = Response.json(.object(answer), status: .accepted)
            response.headers[.location] = "/api/v1/subscriptions/\(newId)"
            return response
        }
        if let pulled, let waiting = try await handOverPulls(from: existing, to: newId, strategy: pulled) {
            answer["detail"] = .string(waiting + "; \(id) stays (both receive events meanwhile): send the same PATCH again to finish the change")
            var response = Response.json(.object(answer), status: .accepted)
            response.headers[.location] = "/api/v1/subscriptions/\(newId)"
            return response
        }
        let removed: SubscriptionOutcome
        do {
            removed = try await unsubscribe(existing)
        } catch var problem as ProblemDetails {
            // The new subscription is live: say so, or the client would lose track of it.
            problem.detail += "; the new subscription \(newId) is active and the old one \(id) is still registered: fix the cause and DELETE /api/v1/subscriptions/\(id) again"
            problem.extensions["replacement"] = replacement.body
            throw problem
        }
        answer["replaced"] = removed.body
        var response = Response.json(.object(answer), status: .ok)
        response.headers[.location] = "/api/v1/subscriptions/\(newId)"
        return response
    }

    /// Before a pulled subscription is replaced: waits for the new one's baseline (its first
    /// successful pull; for a full scan, the scan of its group that served it; a custom pull has
    /// it from `subscribe`), then has the old one pulled once more by its scan group's scanning
    /// member, to the end of any backlog. Whatever changed before the new one's baseline is then
    /// reported by the old one (a change in between may come from both). `nil` when done; else
    /// what it still waits for. All waits together stay within the admin wait.
    private func handOverPulls(from old: SubscriptionRecord, to newId: String, strategy: DataCollection.EventImplementationType) async throws -> String? {
        let deadline = ContinuousClock.now + configuration.waitTimeout
        switch strategy {
        case .customPull, .webhook:
            break
        case .pullLatestRecords:
            let based = try await waitUntil(newId, deadline) { $0.pullState?.lastPull?.finishedAt != nil && $0.pullState?.failures == nil }
            guard based else { return "the new subscription \(newId) has not finished a first pull yet" }
        case .fullScan:
            // Its group's scanning member (itself, or the one an existing group already has).
            guard let new = subscriptions[newId] else { return "the new subscription \(newId) is not read yet" }
            let newScanner = ScanGroup.leader(of: ScanGroup.members(of: new, among: subscriptions.all())) ?? new
            let served: (SubscriptionRecord) -> Bool = { $0.pullState?.servedMembers?.contains(newId) == true && $0.pullState?.failures == nil }
            if newScanner.id != newId, !served(newScanner) {
                try await requestPull(of: newScanner.id)
            }
            guard try await waitUntil(newScanner.id, deadline, served) else { return "the new subscription \(newId) has no baseline from a full scan yet" }
        }
        let scanner = ScanGroup.leader(of: ScanGroup.members(of: old, among: subscriptions.all())) ?? old
        let stored = try await requestPull(of: scanner.id)
        // Applied is not enough: the pull must have scanned (not deferred to another member),
        // succeeded, and read to the end of its backlog (pull-latest-records reads 20 pages a
        // run, and runs again at once while one is left).
        let finished = try await waitUntil(scanner.id, deadline) { record in
            record.hasApplied(topic: stored.topic, partition: Int(stored.partition), offset: stored.offset)
                && (record.pullState?.failures != nil || record.pullState?.cursor == nil)
        }
        guard finished, let record = subscriptions[scanner.id] else { return "the last pull of \(old.id) has not finished yet" }
        if let failures = record.pullState?.failures {
            return "the last pull of \(old.id) failed (\(failures) in a row: \(record.pullState?.lastPull?.error ?? "no reason recorded"))"
        }
        if let other = record.pullState?.lastPull?.scannedBy {
            return "the last pull of \(old.id) was left to \(other), whose scan has not run yet"
        }
        return nil
    }

    /// Appends a `pull` command for `id` (run now, in order with its other inputs).
    @discardableResult
    private func requestPull(of id: String) async throws -> KafkaDeliveryReport {
        let command = Command(type: .pull, subscriptionId: id, issuedAt: Date())
        return try await producer.appendOrUnavailable(KafkaRecord(topic: topics.commands, key: id, value: command.encoded()))
    }

    /// Waits (until `deadline`) until the subscription `id` satisfies `done`.
    private func waitUntil(_ id: String, _ deadline: ContinuousClock.Instant, _ done: (SubscriptionRecord) -> Bool) async throws -> Bool {
        while ContinuousClock.now < deadline {
            if let record = subscriptions[id], done(record) { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// The create request that made `record` (its parameters opened when sealed).
    private func creationRequest(of record: SubscriptionRecord) throws -> JSONValue {
        var body: [String: JSONValue] = ["connectionId": .string(record.connectionId)]
        switch record.target {
        case .event(let eventKey): body["eventKey"] = .string(eventKey)
        case .collection(let key, let change):
            body["collectionKey"] = .string(key)
            body["collectionEvent"] = .string(change.rawValue)
        case .appEvent: throw unprocessable("app event subscriptions are changed at /api/v1/app-event-subscriptions")
        }
        guard let parameters = try? record.config.openedParameters(vault, subscriptionId: record.id) else { return .null }
        body["parameters"] = parameters
        if let ignored = record.config.ignoredFields { body["ignoredFields"] = .array(ignored.map { .string($0) }) }
        if let backfill = record.config.backfill { body["backfill"] = .bool(backfill) }
        if let seconds = record.pullUpdatesIntervalSeconds { body["pullUpdatesIntervalSeconds"] = .integer(Int64(seconds)) }
        if let seconds = record.fullSyncIntervalSeconds { body["fullSyncIntervalSeconds"] = .integer(Int64(seconds)) }
        return .object(body)
    }

    private func deleteSubscription(_ context: BasicRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        guard let record = subscriptions[id] else { throw ProblemDetails(.notFound, detail: "no subscription '\(id)'") }
        return try await unsubscribe(record).response
    }

    /// Asks the handler that owns `record` to unsubscribe (the connector removes its hook at
    /// the external app) and archive it, and waits (bounded) for the outcome: the archived
    /// subscription, 202 while it is pending, a 502 problem when the connector's `unsubscribe`
    /// failed.
    func unsubscribe(_ record: SubscriptionRecord) async throws -> SubscriptionOutcome {
        if record.status == .archived { return SubscriptionOutcome(status: .ok, body: present(record)) }
        let command = Command(type: .unsubscribe, subscriptionId: record.id, issuedAt: Date())
        let stored = try await producer.appendOrUnavailable(KafkaRecord(topic: topics.commands, key: record.id, value: command.encoded()))
        // Done once the handler applied this command: archived, or in error (the hook may still
        // be registered at the app; the reason says what to do).
        return try await outcome(of: record.id, created: false) {
            $0.status == .archived || $0.hasApplied(topic: stored.topic, partition: Int(stored.partition), offset: stored.offset)
        }
    }

    /// What a subscription request came to: the answer's status and body.
    struct SubscriptionOutcome {
        var status: HTTPResponse.Status
        var body: JSONValue
        var pendingId: String?

        var response: Response {
            var response = Response.json(body, status: status)
            if let pendingId { response.headers[.location] = "/api/v1/subscriptions/\(pendingId)" }
            return response
        }
    }

    /// Waits (bounded) until the handler wrote a subscription record satisfying `done`.
    private func outcome(of id: String, created: Bool, status success: HTTPResponse.Status? = nil, done: (SubscriptionRecord) -> Bool) async throws -> SubscriptionOutcome {
        let deadline = ContinuousClock.now + configuration.waitTimeout
        while ContinuousClock.now < deadline {
            if let record = subscriptions[id], done(record) {
                if record.status == .error {
                    let method = created ? "subscribe" : "unsubscribe"
                    var problem = ProblemDetails(
                        .badGateway, title: created ? "Subscribe failed" : "Unsubscribe failed",
                        detail: "the connector's \(method) method failed: \(record.error?.message ?? "unknown error")"
                    )
                    problem.extensions["subscription"] = present(record)
                    throw problem
                }
                return SubscriptionOutcome(status: success ?? (created ? .created : .ok), body: present(record))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return SubscriptionOutcome(
            status: .accepted, body: ["id": .string(id), "status": "pending", "poll": .string("/api/v1/subscriptions/\(id)")], pendingId: id)
    }

    private func present(_ record: SubscriptionRecord) -> JSONValue {
        guard case .object(var members) = (try? JSONValue(parsing: record.encoded())) ?? .null else { return .null }
        members["webhookToken"] = nil
        members["appliedOffsets"] = nil
        // State is the connector's own (hook secrets, cursors): never shown.
        members["state"] = nil
        members["sealedState"] = nil
        if case .object(var config)? = members["config"], let parameters = config["parameters"] {
            config["sealedParameters"] = nil
            // Without its event or collection in the workspace, which parameters are secret is
            // unknown: none is shown.
            config["parameters"] = parametersSchema(of: record).map { SecretRedaction.redacting(parameters, schema: $0) } ?? nil
            members["config"] = .object(config)
        }
        // A full scan's snapshot is bookkeeping (thousands of digests), not for people.
        if case .object(var pull)? = members["pullState"] {
            pull["snapshot"] = nil
            members["pullState"] = .object(pull)
        }
        if record.receivesWebhooks { members["webhookUrl"] = .string(configuration.webhookURL(token: record.webhookToken)) }
        return .object(members)
    }

    /// The `parametersSchema` of what `record` subscribes to (`.null` when it declares none);
    /// `nil` when its connector, event or collection is not in the workspace.
    private func parametersSchema(of record: SubscriptionRecord) -> JSONValue? {
        guard let connector = workspace.connectors[record.connectorKey] else { return nil }
        return schemaDocument(of: connector, target: record.target)
    }

    /// The `parametersSchema` document of `target` in `connector` (`.null` when it declares
    /// none); `nil` when the event or collection does not exist.
    private func schemaDocument(of connector: Connector, target: SubscriptionTarget) -> JSONValue? {
        switch target {
        case .event(let key): return connector.events[key].map { $0.parametersSchema ?? .null }
        case .collection(let key, _): return connector.dataCollections[key].map { $0.parametersSchema ?? .null }
        case .appEvent: return .null
        }
    }

    // MARK: - Helpers

    func jsonBody(_ request: Request, context: BasicRequestContext) async throws -> JSONValue {
        var request = request
        let buffer = try await request.collectBody(upTo: Self.maxBodyBytes, tooLarge: "an admin request body may hold at most \(Self.maxBodyBytes) bytes")
        do {
            let value = try JSONValue(parsing: Data(buffer.readableBytesView))
            guard value.objectValue != nil else { throw unprocessable("the body must be a JSON object") }
            return value
        } catch let problem as ProblemDetails {
            throw problem
        } catch {
            throw ProblemDetails(.badRequest, title: "Invalid JSON", detail: "the body is not JSON: \(error)")
        }
    }

    private func strings(_ body: JSONValue, _ name: String) throws -> [String]? {
        guard let value = body[name], !value.isNull else { return nil }
        guard let items = value.arrayValue?.compactMap(\.stringValue), items.count == value.arrayValue?.count else {
            throw unprocessable("\(name) must be a list of strings, e.g. [\"viewCount\", \"links.downloadUrl\"]")
        }
        return items
    }

    private func flag(_ body: JSONValue, _ name: String) throws -> Bool? {
        guard let value = body[name], !value.isNull else { return nil }
        guard let flag = value.boolValue else { throw unprocessable("\(name) must be true or false") }
        return flag
    }

    private func seconds(_ body: JSONValue, _ name: String) throws -> Int? {
        guard let value = body[name], !value.isNull else { return nil }
        guard case .integer(let seconds) = value, seconds >= 1, seconds <= 366 * 24 * 3600 else {
            throw unprocessable("\(name) must be a whole number of seconds from 1 to 31622400, such as 300")
        }
        return Int(seconds)
    }

    /// The largest admin request body.
    static let maxBodyBytes = 1 << 20

    private func requiredString(_ body: JSONValue, _ name: String) throws -> String {
        guard let value = body[name]?.stringValue, !value.isEmpty else { throw unprocessable("'\(name)' is required (a non-empty string)") }
        return value
    }

    func unprocessable(_ detail: String) -> ProblemDetails {
        ProblemDetails(.unprocessableContent, detail: detail)
    }

    /// A 422 listing `errors` of `instance`. A message about a value the schema marks secret
    /// (`writeOnly`, `format: password`) does not repeat the value (a pattern or enum error
    /// would quote it): problem bodies end up in logs and client error reports.
    private func schemaProblem(_ detail: String, _ errors: [SchemaValidationError], in instance: JSONValue, schema: JSONValue?) -> ProblemDetails {
        let redacted = schema.map { SecretRedaction.redacting(instance, schema: $0) }
        return ProblemDetails(.unprocessableContent, title: "Invalid parameters", detail: detail, extensions: [
            "errors": .array(errors.map { error in
                var message = error.message
                // Only these keywords' messages quote the value; at a path that holds a secret
                // (the value itself or something inside it), or one that does not resolve,
                // the message says only which rule failed.
                let quoting: Set<String> = ["enum", "const", "pattern", "format", "multipleOf", "maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum"]
                if let redacted, quoting.contains(error.keyword) {
                    let original = Self.value(at: error.instancePath, in: instance)
                    if original == nil || Self.value(at: error.instancePath, in: redacted) != original {
                        message = "the value fails '\(error.keyword)' (it is or holds a secret, so it is not repeated here)"
                    }
                }
                return ["path": .string(error.instancePath), "keyword": .string(error.keyword), "message": .string(message)]
            }),
        ])
    }

    /// The value at JSON Pointer `pointer` in `document`, if there is one.
    static func value(at pointer: String, in document: JSONValue) -> JSONValue? {
        guard !pointer.isEmpty else { return document }
        var current = document
        for token in pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            let name = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch current {
            case .object(let members):
                guard let next = members[name] else { return nil }
                current = next
            case .array(let elements):
                guard let index = Int(name), elements.indices.contains(index) else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }

    static func timestamp(_ date: Date) -> String {
        (try? JSONValue(parsing: MessageCodec.encode(TimestampBox(value: date))))?["value"]?.stringValue ?? ""
    }

    private struct TimestampBox: Codable { var value: Date }
}
