import Foundation
import Hummingbird
import InletConnectors
import InletKafka
import InletPipeline

/// Per-customer app event subscriptions (seed 002): `POST /api/v1/subscriptions
/// {customerId, appEventKey}`, `GET /api/v1/app-event-subscriptions[/<id>]` and
/// `DELETE /api/v1/app-event-subscriptions/<id>`.
///
/// Creating and deleting go through the app-events processor that owns the customer (a
/// `subscribe` / `unsubscribe` message on `ingress.app-events`, keyed by the customer), which
/// makes the type's request to your app once; the answer waits for its outcome (201, or 502
/// when your app's API refused it) up to the admin wait, else 202 with where to look.
struct AppEventSubscriptionRoutes: Sendable {
    let admin: AdminRoutes
    let directory: AppEventSubscriptionDirectory

    func register(on api: RouterGroup<BasicRequestContext>) {
        api.get("app-event-subscriptions") { request, _ in
            let customer = request.uri.queryParameters["customerId"].map(String.init)
            return Response.json(["appEventSubscriptions": .array(directory.all().filter { customer == nil || $0.customerId == customer }.map(present))])
        }
        api.get("app-event-subscriptions/:id") { _, context in Response.json(present(try await existing(context))) }
        api.delete("app-event-subscriptions/:id") { _, context in try await delete(context) }
    }

    func create(_ body: JSONValue) async throws -> Response {
        guard let customerId = body["customerId"]?.stringValue, !customerId.isEmpty else {
            throw admin.unprocessable("give customerId (the customer the subscription is for) with appEventKey")
        }
        guard let typeKey = body["appEventKey"]?.stringValue, let type = admin.workspace.appEventTypes[typeKey] else {
            let known = admin.workspace.appEventTypes.keys.sorted().joined(separator: ", ")
            throw admin.unprocessable("appEventKey must be an app event type of this workspace (app-events/<type>.yml); known: \(known.isEmpty ? "none" : known)")
        }
        try? await directory.sync(timeout: .seconds(5))
        if let current = directory.subscription(customerId: customerId, appEventKey: type.key), current.status == .active {
            return .json(present(current))
        }
        let asked = try await send(.subscribe, customerId: customerId, type: type.key)
        guard let done = try await outcome(customerId, type.key, of: asked, orOnce: { $0.status == .active }) else { return pending(customerId, type.key) }
        if done.status == .error {
            throw ProblemDetails(.badGateway, title: "Subscription request failed",
                                 detail: "your app's API did not accept the subscription request of \(type.key) for \(customerId): \(done.subscribe?.error ?? "HTTP \(done.subscribe?.status ?? 0)"); fix it and create the subscription again",
                                 extensions: ["appEventSubscription": present(done)])
        }
        return .json(present(done), status: .created)
    }

    private func delete(_ context: BasicRequestContext) async throws -> Response {
        let record = try await existing(context)
        guard let done = try await remove(record) else { return pending(record.customerId, record.appEventKey) }
        return .json(present(done))
    }

    /// Unsubscribes `record` (your app's `unsubscribeRequest`) and waits (bounded) until it is
    /// archived; `nil` while pending, a 502 problem when your app's API refused it.
    func remove(_ record: AppEventSubscriptionRecord) async throws -> AppEventSubscriptionRecord? {
        guard record.status != .archived else { return record }
        let asked = try await send(.unsubscribe, customerId: record.customerId, type: record.appEventKey)
        guard let done = try await outcome(record.customerId, record.appEventKey, of: asked, orOnce: { $0.status == .archived }) else {
            return nil
        }
        if done.status == .error {
            throw ProblemDetails(.badGateway, title: "Unsubscribe request failed",
                                 detail: "your app's API did not accept the unsubscribe request of \(done.appEventKey) for \(done.customerId): \(done.unsubscribe?.error ?? "HTTP \(done.unsubscribe?.status ?? 0)"); the subscription still receives events; fix it and delete it again",
                                 extensions: ["appEventSubscription": present(done)])
        }
        return done
    }

    /// Appends the control message; returns its request id.
    private func send(_ control: AppEventMessage.Control, customerId: String, type: String) async throws -> String {
        var message = AppEventMessage(type: type, customerId: customerId, payload: [], receivedAt: Date(), requestId: RandomUUID.make())
        message.control = control
        try await admin.producer.appendOrUnavailable(KafkaRecord(topic: admin.topics.ingressAppEvents, key: customerId, value: message.encoded()))
        return message.requestId ?? ""
    }

    /// The subscription once the processor has applied the request `requestId`, or once it is
    /// in the state the request asks for (another request got there first), waiting at most
    /// the admin wait.
    private func outcome(
        _ customerId: String, _ type: String, of requestId: String, orOnce reached: (AppEventSubscriptionRecord) -> Bool
    ) async throws -> AppEventSubscriptionRecord? {
        let deadline = ContinuousClock.now + admin.configuration.waitTimeout
        while ContinuousClock.now < deadline {
            try? await directory.sync(timeout: .seconds(2))
            if let record = directory.subscription(customerId: customerId, appEventKey: type), record.requestId == requestId || reached(record) {
                return record
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    private func pending(_ customerId: String, _ type: String) -> Response {
        let id = AppEventSubscriptionRecord.id(customerId: customerId, appEventKey: type)
        return .json(["id": .string(id), "status": "pending", "poll": .string("/api/v1/app-event-subscriptions/\(id)")], status: .accepted)
    }

    private func existing(_ context: BasicRequestContext) async throws -> AppEventSubscriptionRecord {
        let id = context.parameters.get("id") ?? ""
        if let record = directory[id] { return record }
        try? await directory.sync(timeout: .seconds(5))
        guard let record = directory[id] else {
            throw ProblemDetails(.notFound, title: "Unknown app event subscription", detail: "no app event subscription '\(id)'")
        }
        return record
    }

    /// The record as the API shows it: the webhook URL instead of its token.
    func present(_ record: AppEventSubscriptionRecord) -> JSONValue {
        guard case .object(var members) = (try? JSONValue(parsing: record.encoded())) ?? .null else { return .null }
        members["webhookToken"] = nil
        members["webhookUrl"] = record.status == .archived ? .null : .string("\(admin.configuration.publicURL)/app-events/\(record.appEventKey)/\(record.webhookToken)")
        return .object(members)
    }
}

extension AdminRoutes {
    var appEventSubscriptionRoutes: AppEventSubscriptionRoutes? {
        appEventSubscriptions.map { AppEventSubscriptionRoutes(admin: self, directory: $0) }
    }
}
