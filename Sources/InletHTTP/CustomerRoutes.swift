import Foundation
import Hummingbird
import InletConnectors
import InletKafka
import InletPipeline

/// `/api/v1/customers` (seed 002): the customers of your product, and customer tokens
/// (`POST /api/v1/customers/<id>/token`) your front end sends app events with.
struct CustomerRoutes: Sendable {
    let admin: AdminRoutes
    let customers: CustomerDirectory
    let tokens: CustomerTokens
    let topics: InletTopics
    let producer: KafkaProducer

    /// Longest a token may live: a day.
    static let maxLifetimeSeconds = 86_400

    func register(on api: RouterGroup<BasicRequestContext>) {
        api.post("customers") { request, context in try await create(request, context: context) }
        api.get("customers") { _, _ in Response.json(["customers": .array(customers.all().map(present))]) }
        api.get("customers/:id") { _, context in Response.json(present(try await existing(context))) }
        api.patch("customers/:id") { request, context in try await update(request, context: context) }
        api.delete("customers/:id") { _, context in try await delete(context) }
        api.post("customers/:id/token") { request, context in try await token(request, context: context) }
    }

    private func create(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await admin.jsonBody(request, context: context)
        guard let id = body["id"]?.stringValue, !id.isEmpty, id.count <= 200 else {
            throw admin.unprocessable("give the customer's id (your id of it, a non-empty string of at most 200 characters)")
        }
        try? await customers.sync(timeout: .seconds(10))
        if let current = customers[id] {
            throw ProblemDetails(.conflict, title: "Customer exists", detail: "customer '\(id)' exists; change it with PATCH /api/v1/customers/\(id)",
                                 extensions: ["customer": present(current)])
        }
        let now = Date()
        let record = CustomerRecord(id: id, name: try name(body), fields: try fields(body) ?? [:], createdAt: now, updatedAt: now)
        try await store(record)
        return .json(present(record), status: .created)
    }

    private func update(_ request: Request, context: BasicRequestContext) async throws -> Response {
        var record = try await existing(context)
        let body = try await admin.jsonBody(request, context: context)
        if body["name"] != nil { record.name = try name(body) }
        if let fields = try fields(body) { record.fields = fields }
        record.updatedAt = Date()
        try await store(record)
        return .json(present(record))
    }

    /// `DELETE /api/v1/customers/<id>`: the customer and everything Inlet keeps for them. Their
    /// subscriptions are unsubscribed (each connector removes its hook at the external app) and
    /// archived, their app event subscriptions unsubscribed at your app, then their connections
    /// (sealed credentials and all) and the customer record are deleted, in that order. Each
    /// unsubscribe is waited for up to the admin wait: while one is pending the answer is 202
    /// and nothing further is deleted (send the same DELETE again to go on); when one fails, a
    /// 502 problem names it. Answers 404 only when nothing at all is kept for the id.
    ///
    /// Every table is read up to its end first (503 when that fails): a subscription made
    /// through another replica moments ago must not lose its connection while its hook is still
    /// registered at the app.
    private func delete(_ context: BasicRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        try await caughtUp()
        let record = customers[id]
        let connections = admin.connections.all().filter { $0.customerId == id }.sorted { $0.id < $1.id }
        let appEventSubscriptions = (admin.appEventSubscriptions?.all() ?? []).filter { $0.customerId == id && $0.status != .archived }
        let subscriptions = liveSubscriptions(of: id, connections: connections)
        guard record != nil || !subscriptions.isEmpty || !appEventSubscriptions.isEmpty || !connections.isEmpty else {
            throw ProblemDetails(.notFound, title: "Unknown customer", detail: "no customer '\(id)', and no connection or subscription of theirs")
        }
        func pending(_ what: String) -> Response {
            .json([
                "customerId": .string(id), "status": "pending",
                "detail": .string("\(what) is still being unsubscribed; send the same DELETE again to finish deleting the customer's data"),
            ], status: .accepted)
        }
        for subscription in subscriptions {
            if try await admin.unsubscribe(subscription).status == .accepted { return pending("subscription \(subscription.id)") }
        }
        if let routes = admin.appEventSubscriptionRoutes {
            for subscription in appEventSubscriptions {
                if try await routes.remove(subscription) == nil { return pending("app event subscription \(subscription.id)") }
            }
        }
        // A subscription made meanwhile (through another replica) is unsubscribed by the next
        // DELETE; its connection stays until then.
        try await caughtUp()
        if let newer = liveSubscriptions(of: id, connections: connections).first {
            return pending("subscription \(newer.id), made while the others were deleted,")
        }
        for connection in connections {
            try await producer.appendOrUnavailable(KafkaRecord(topic: topics.connections, key: connection.id, value: nil))
        }
        // Written even when this replica has no record of the customer: a tombstone for an
        // absent key changes nothing.
        try await producer.appendOrUnavailable(KafkaRecord(topic: topics.customers, key: id, value: nil))
        try await customers.sync(timeout: .seconds(10))
        return Response(status: .noContent)
    }

    /// The customer's subscriptions not yet archived: theirs by id, or through one of their
    /// connections.
    private func liveSubscriptions(of customerId: String, connections: [ConnectionRecord]) -> [SubscriptionRecord] {
        let connectionIds = Set(connections.map(\.id))
        return admin.subscriptions.all().filter { ($0.customerId == customerId || connectionIds.contains($0.connectionId)) && $0.isLive }.sorted { $0.id < $1.id }
    }

    /// Reads the customers, connections, subscriptions and app event subscriptions tables up to
    /// their ends; a 503 problem when one cannot be.
    private func caughtUp() async throws {
        do {
            try await customers.sync(timeout: .seconds(10))
            try await admin.connections.sync(timeout: .seconds(10))
            try await admin.subscriptions.sync(timeout: .seconds(10))
            try await admin.appEventSubscriptions?.sync(timeout: .seconds(10))
        } catch {
            throw ProblemDetails.notCaughtUp(reading: "customers, connections and subscriptions", error, then: "nothing was deleted, retry")
        }
    }

    /// A token for the customer, valid `expiresInSeconds` (default and most: a day).
    private func token(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let record = try await existing(context)
        var request = request
        let buffer = try await request.collectBody(upTo: 1 << 16, tooLarge: "a token request body may hold at most 65536 bytes")
        let body = buffer.readableBytes == 0 ? JSONValue.object([:]) : ((try? JSONValue(parsing: Data(buffer.readableBytesView))) ?? .null)
        let seconds: Int
        switch body["expiresInSeconds"] {
        case nil, .null?: seconds = Self.maxLifetimeSeconds
        case .integer(let value)? where value >= 60 && value <= Int64(Self.maxLifetimeSeconds): seconds = Int(value)
        default: throw admin.unprocessable("expiresInSeconds must be a whole number from 60 to \(Self.maxLifetimeSeconds)")
        }
        let issued = try await tokens.issue(for: record, lifetime: .seconds(seconds))
        return .json(["token": .string(issued.token), "customerId": .string(record.id), "expiresAt": .string(AdminRoutes.timestamp(issued.expiresAt))], status: .created)
    }

    private func existing(_ context: BasicRequestContext) async throws -> CustomerRecord {
        let id = context.parameters.get("id") ?? ""
        if customers[id] == nil {
            // Created moments ago, perhaps through another replica: read the table up to its
            // end before answering that the customer does not exist.
            try await customers.sync(timeout: .seconds(10))
        }
        guard let record = customers[id] else {
            throw ProblemDetails(.notFound, title: "Unknown customer", detail: "no customer '\(id)'; create it with POST /api/v1/customers")
        }
        return record
    }

    private func store(_ record: CustomerRecord) async throws {
        try await producer.appendOrUnavailable(KafkaRecord(topic: topics.customers, key: record.id, value: record.encoded()))
        try await customers.sync(timeout: .seconds(10))
    }

    private func name(_ body: JSONValue) throws -> String? {
        switch body["name"] {
        case nil, .null?: return nil
        case .string(let name)?: return name
        default: throw admin.unprocessable("name must be a string")
        }
    }

    private func fields(_ body: JSONValue) throws -> JSONValue? {
        guard let fields = body["fields"], !fields.isNull else { return nil }
        guard fields.objectValue != nil else { throw admin.unprocessable("fields must be a JSON object") }
        return fields
    }

    private func present(_ record: CustomerRecord) -> JSONValue {
        var members = record.json.objectValue ?? [:]
        members["createdAt"] = .string(AdminRoutes.timestamp(record.createdAt))
        members["updatedAt"] = .string(AdminRoutes.timestamp(record.updatedAt))
        return .object(members)
    }
}
