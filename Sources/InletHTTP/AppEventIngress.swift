import Foundation
import HTTPTypes
import Hummingbird
import InletConnectors
import InletKafka
import InletPipeline

/// `/app-events/<type>` (seed 002): your own product tells Inlet what happened in it, with a
/// request of any method. The body is one event (a JSON object) or a batch (an array); a
/// request without a body sends its query parameters as the event.
///
/// 1. Authenticated with the workspace app key (`Authorization: Bearer <INLET_APP_KEY>`),
///    compared in constant time; anything else is 401.
/// 2. The type must be one of the workspace's app event types (404 names the known ones).
/// 3. Each event's customer: the `X-Inlet-Customer-Id` header (one customer for the whole
///    body), else the type's `tenantIdFormula`, then `userIdFormula`, over the event. An event
///    without a customer, or not matching the type's schema, is rejected with the reason.
/// 4. The accepted events are appended to `ingress.app-events`, one message per customer, keyed
///    by the customer id (so each customer's events stay in order), and answered only once the
///    broker acknowledged them.
///
/// Answers: a single event 200 (accepted) or 422 (rejected); a batch 200 when every event was
/// accepted, 207 with a result per element when some were rejected (the rejected ones also go to
/// the DLQ with the reason, since the rest of the request succeeded), 422 when none was.
struct AppEventIngress: Sendable {
    let topics: InletTopics
    let configuration: IngressConfiguration
    let appender: IngressAppender
    let workspace: Workspace?
    let customers: CustomerDirectory?
    let tokens: CustomerTokens?
    /// Per-customer subscriptions: their webhook URIs (`/app-events/<type>/<token>`) send
    /// that customer's events without any other credential.
    var appEventSubscriptions: AppEventSubscriptionDirectory? = nil

    /// Who sends: your backend (the app key) or one customer (a customer token).
    private enum Caller {
        case app
        case customer(String)
    }

    /// Names the customer of every event of a request sent with the app key.
    static let customerIdHeader = HTTPField.Name("X-Inlet-Customer-Id")!

    /// Your app's id of the request: a retry with the same key stores the same event ids, so
    /// the repeats are dropped (also of a batch stored in part before a failure).
    static let idempotencyKeyHeader = HTTPField.Name("Idempotency-Key")!

    private struct Rejection {
        var index: Int
        var customer: String? = nil
        var code: DeadLetter.Code
        var reason: String
        var errors: [SchemaValidationError] = []

        var json: JSONValue {
            var members: [String: JSONValue] = ["index": .integer(Int64(index)), "status": "rejected", "code": .string(code.rawValue), "reason": .string(reason)]
            if !errors.isEmpty {
                members["errors"] = .array(errors.prefix(20).map { ["path": .string($0.instancePath), "message": .string($0.message)] })
            }
            return .object(members)
        }
    }

    /// - Parameter token: the token of a customer's webhook URI for the type
    ///   (`/app-events/<type>/<token>`), which names the customer instead of credentials.
    func receive(_ request: Request, body: Data, type typeKey: String, token: String? = nil) async throws -> Response {
        let caller = if let token { try await subscribedCustomer(token: token, type: typeKey) } else { try await authenticate(request) }
        guard let type = workspace?.appEventTypes[typeKey] else {
            let known = (workspace?.appEventTypes.keys.sorted() ?? []).joined(separator: ", ")
            throw ProblemDetails(.notFound, title: "Unknown app event type",
                                 detail: "'\(typeKey)' is not an app event type of this workspace (app-events/<type>.yml); known: \(known.isEmpty ? "none" : known)")
        }
        let payload = try self.payload(request, body: body)
        let batch = payload.arrayValue
        let events = batch ?? [payload]
        guard events.count <= configuration.maxAppEventBatch else {
            throw ProblemDetails(.contentTooLarge, title: "Batch too large",
                                 detail: "a batch holds at most \(configuration.maxAppEventBatch) events (INLET_APP_EVENT_MAX_BATCH), this one \(events.count); split it")
        }
        var headerCustomer = request.headers[Self.customerIdHeader].flatMap { $0.isEmpty ? nil : $0 }
        if case .customer(let id) = caller {
            // A customer token sends its own customer's events only.
            if let named = headerCustomer, named != id {
                throw ProblemDetails(.forbidden, title: "Another customer",
                                     detail: "the customer token is for '\(id)', the request names '\(named)' in X-Inlet-Customer-Id; a token sends its own customer's events only")
            }
            headerCustomer = id
        }
        var groups: [(customer: String, events: [JSONValue])] = []
        var rejections: [Rejection] = []
        for (index, event) in events.enumerated() {
            guard let customer = headerCustomer ?? type.customerId(of: event) else {
                rejections.append(Rejection(index: index, code: "no-customer",
                                            reason: "no customer: send X-Inlet-Customer-Id, or give the type a tenantIdFormula or userIdFormula that finds one in this event"))
                continue
            }
            if let schema = type.validSchema {
                let errors = schema.validate(event)
                if !errors.isEmpty {
                    rejections.append(Rejection(index: index, customer: customer, code: "schema-invalid",
                                                reason: "does not match the schema of app event type \(type.key)", errors: errors))
                    continue
                }
            }
            if let group = groups.firstIndex(where: { $0.customer == customer }) {
                groups[group].events.append(event)
            } else {
                groups.append((customer, [event]))
            }
        }

        let requestId = RandomUUID.make()
        let receivedAt = Date()
        if batch == nil, let rejection = rejections.first {
            throw ProblemDetails(.unprocessableContent, title: "App event rejected", detail: "the event \(rejection.reason)",
                                 extensions: rejection.errors.isEmpty ? [:] : ["errors": rejection.json["errors"] ?? .null])
        }
        let idempotencyKey = request.headers[Self.idempotencyKeyHeader].flatMap { $0.isEmpty ? nil : String($0.prefix(200)) }
        var records = groups.map { group in
            let message = AppEventMessage(
                type: type.key, customerId: group.customer, payload: batch == nil ? group.events[0] : .array(group.events),
                receivedAt: receivedAt, requestId: requestId, id: idempotencyKey.map { "\($0)@\(group.customer)" })
            return KafkaRecord(topic: topics.ingressAppEvents, key: group.customer, value: message.encoded())
        }
        if !groups.isEmpty {
            records += rejections.map { deadLetter($0, event: events[$0.index], type: type.key, requestId: requestId, receivedAt: receivedAt) }
        }
        for (index, record) in records.enumerated() {
            do {
                try await appender.append(record)
            } catch var problem as ProblemDetails where index > 0 {
                // Part of the request is stored: say so, and how to retry without repeats.
                problem.detail = "\(problem.detail) Part of this request was already stored: retry it with the same Idempotency-Key header"
                    + " (or give the type an idFormula) so the events stored once are not repeated."
                throw problem
            }
        }

        let accepted = events.count - rejections.count
        if rejections.isEmpty {
            return .json(["status": "accepted", "requestId": .string(requestId), "events": .integer(Int64(accepted))])
        }
        let rejected = Dictionary(uniqueKeysWithValues: rejections.map { ($0.index, $0) })
        let results: [JSONValue] = events.indices.map { index in
            rejected[index]?.json ?? ["index": .integer(Int64(index)), "status": "accepted"]
        }
        let body: JSONValue = [
            "requestId": .string(requestId), "accepted": .integer(Int64(accepted)), "rejected": .integer(Int64(rejections.count)), "results": .array(results),
        ]
        return .json(body, status: accepted == 0 ? .unprocessableContent : HTTPResponse.Status(code: 207, reasonPhrase: "Multi-Status"))
    }

    /// The app key, or else a customer token of an existing customer; anything else is 401.
    /// The customer whose webhook URI for the type has this token (404 otherwise).
    private func subscribedCustomer(token: String, type: String) async throws -> Caller {
        var found = appEventSubscriptions?.subscription(token: token)
        if found == nil, let appEventSubscriptions {
            try? await appEventSubscriptions.sync(timeout: .seconds(5))
            found = appEventSubscriptions.subscription(token: token)
        }
        guard let found, found.appEventKey == type else {
            throw ProblemDetails(.notFound, title: "Unknown webhook", detail: "no live app event subscription has this webhook URI")
        }
        return .customer(found.customerId)
    }

    private func authenticate(_ request: Request) async throws -> Caller {
        let presented = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst("Bearer ".count)) : nil } ?? ""
        if let appKey = configuration.appKey, ConstantTime.equal(Array(presented.utf8), Array(appKey.utf8)) { return .app }
        if let tokens, CustomerTokens.looksLikeToken(presented) {
            let claims: CustomerTokens.Claims
            do {
                claims = try await tokens.verify(presented)
            } catch {
                throw ProblemDetails(.unauthorized, title: "Not authenticated", detail: "\(error)", headers: [.wwwAuthenticate: "Bearer"])
            }
            let id = claims.sub.value
            guard let customers else { throw ProblemDetails(.unauthorized, title: "Not authenticated", detail: "customer tokens are not accepted here") }
            if customers[id] == nil { try? await customers.sync(timeout: .seconds(5)) }
            // A token older than the customer (deleted and created again) was for the old one.
            guard let customer = customers[id], claims.iat.value.timeIntervalSince1970 + 1 >= customer.createdAt.timeIntervalSince1970 else {
                throw ProblemDetails(.unauthorized, title: "Unknown customer",
                                     detail: "the customer token is for '\(id)', which is not a customer (deleted?); ask your backend for a new token", headers: [.wwwAuthenticate: "Bearer"])
            }
            return .customer(id)
        }
        throw ProblemDetails(
            .unauthorized, title: "Not authenticated",
            detail: configuration.appKey == nil && tokens == nil
                ? "app events are not enabled: set INLET_APP_KEY on ingress and send it as Authorization: Bearer <INLET_APP_KEY>"
                : "send the workspace app key (Authorization: Bearer <INLET_APP_KEY>) or a customer token (POST /api/v1/customers/<id>/token)",
            headers: [.wwwAuthenticate: "Bearer"])
    }

    private func payload(_ request: Request, body: Data) throws -> JSONValue {
        if body.isEmpty {
            let query = request.uri.queryParameters
            guard !query.isEmpty else {
                throw ProblemDetails(.badRequest, title: "No event", detail: "send the event as a JSON body (an object, or an array for a batch), or as query parameters")
            }
            var members: [String: JSONValue] = [:]
            for (name, value) in query { members[String(name)] = .string(String(value)) }
            return .object(members)
        }
        do {
            return try JSONValue(parsing: body)
        } catch {
            throw ProblemDetails(.badRequest, title: "Invalid JSON", detail: "the body of an app event must be JSON (an object, or an array for a batch): \(error)")
        }
    }

    private func deadLetter(_ rejection: Rejection, event: JSONValue, type: String, requestId: String, receivedAt: Date) -> KafkaRecord {
        let single = AppEventMessage(type: type, customerId: rejection.customer, payload: event, receivedAt: receivedAt, requestId: requestId)
        var letter = DeadLetter.bounded(
            failedAt: Date(), stage: .ingress,
            reason: .init(code: rejection.code, message: "app event \(rejection.index) of request \(requestId) \(rejection.reason)",
                          details: rejection.json["errors"]),
            // Rejected before it was stored: the original is the message it would have been
            // (position 0/0), so a replay once the type or the event is fixed appends it.
            original: .init(topic: topics.ingressAppEvents, partition: 0, offset: 0, key: single.kafkaKey, value: single.encoded(), timestamp: receivedAt))
        // Its own id (the position above is not a real one): request and index.
        letter.id = MessageDigest.id(["dlq", "ingress", "app-event", requestId, String(rejection.index)])
        return KafkaRecord(topic: topics.dlq, key: single.kafkaKey, value: letter.encoded())
    }
}
