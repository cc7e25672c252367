import Foundation
import HTTPTypes
import Hummingbird
import InletConnectors
import InletKafka
import InletPipeline
import Logging
import NIOCore

/// Receives webhooks and app events and appends them, raw, to the ingress topics. A request
/// is answered 2xx only after the broker acknowledged the append, so nothing accepted is lost.
struct IngressRoutes: Sendable {
    let topics: InletTopics
    let configuration: IngressConfiguration
    let appender: IngressAppender
    let subscriptions: SubscriptionDirectory
    /// Present when webhook responses from `handle` are supported (needs the workspace).
    let replies: ReplyWaiter?
    let workspace: Workspace?
    /// Present when ingress can answer handshakes of pending subscriptions itself.
    let handshakes: PendingHandshakes?
    /// Present when ingress serves global webhooks (`/webhooks/global/...`).
    let globalWebhooks: GlobalWebhookDirectory?
    /// The methods whose `handle` may answer the request itself, found once at start.
    let responders: Set<Responder>
    /// Customer tokens app events may be sent with, and the customers they name.
    let customers: CustomerDirectory?
    let tokens: CustomerTokens?
    /// Per-customer app event subscriptions, whose webhook URIs name their customer.
    let appEventSubscriptions: AppEventSubscriptionDirectory?

    struct Responder: Hashable {
        var connectorKey: String
        var owner: MethodOwner
    }

    init(
        topics: InletTopics, configuration: IngressConfiguration, appender: IngressAppender, subscriptions: SubscriptionDirectory,
        replies: ReplyWaiter?, workspace: Workspace?, handshakes: PendingHandshakes?, globalWebhooks: GlobalWebhookDirectory? = nil,
        customers: CustomerDirectory? = nil, tokens: CustomerTokens? = nil, appEventSubscriptions: AppEventSubscriptionDirectory? = nil
    ) {
        self.appEventSubscriptions = appEventSubscriptions
        self.customers = customers
        self.tokens = tokens
        self.globalWebhooks = globalWebhooks
        self.topics = topics
        self.configuration = configuration
        self.appender = appender
        self.subscriptions = subscriptions
        self.replies = replies
        self.workspace = workspace
        self.handshakes = handshakes
        responders = Self.responders(in: workspace)
    }

    func register(on router: Router<BasicRequestContext>) {
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("/webhooks/:token", method: method) { request, context in
                try await webhook(request, context: context)
            }
            router.on("/webhooks/global/:connectorKey/:globalWebhookKey/:token", method: method) { request, context in
                try await globalWebhook(request, context: context)
            }
        }
        // Seed 002: "a request of any type".
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("/app-events/:type", method: method) { request, context in
                let body = try await collectBody(request)
                return try await appEventIngress.receive(request, body: body, type: context.parameters.get("type") ?? "")
            }
            // A customer's own webhook URI for a type (per-customer subscriptions).
            router.on("/app-events/:type/:token", method: method) { request, context in
                let body = try await collectBody(request)
                return try await appEventIngress.receive(request, body: body, type: context.parameters.get("type") ?? "", token: context.parameters.get("token") ?? "")
            }
        }
    }

    private var appEventIngress: AppEventIngress {
        AppEventIngress(
            topics: topics, configuration: configuration, appender: appender, workspace: workspace, customers: customers, tokens: tokens,
            appEventSubscriptions: appEventSubscriptions)
    }

    // MARK: - Per-subscription webhooks

    private func webhook(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        var found = subscriptions.subscription(forToken: token)
        if found == nil && subscriptions.isLoaded {
            // A subscription created a moment ago (its handshake may come while subscribe is
            // still running) may be stored but not read here yet: catch up before a 404.
            try? await subscriptions.sharedSync()
            found = subscriptions.subscription(forToken: token)
        }
        guard let subscription = found else {
            if !subscriptions.isLoaded {
                // The token may belong to a subscription not read yet; senders such as GitHub
                // do not redeliver after a 404, so ask for a retry instead.
                throw ProblemDetails(
                    .serviceUnavailable, title: "Starting",
                    detail: "ingress is still loading its subscriptions; nothing was accepted, retry after 1 s",
                    headers: [.retryAfter: "1"]
                )
            }
            throw ProblemDetails(.notFound, title: "Unknown webhook", detail: "no active subscription has this webhook URL; it may have been deleted")
        }
        let raw = Self.rawRequest(request, body: try await collectBody(request), subscriptionId: subscription.id)
        if subscription.status == .pending, let handshakes {
            try await appender.append(raw.kafkaRecord(topic: topics.ingress, format: configuration.recordFormat))
            guard let response = await handshakes.response(for: subscription, request: raw) else { return Self.accepted(raw) }
            return Self.httpResponse(status: response.status, headers: response.headers, body: response.body, contentType: response.contentType)
        }
        let response = try await store(raw, on: topics.ingress, holdForReply: mayRespond(subscription))
        context.logger.debug(
            "ingress: webhook stored",
            metadata: ["request.id": "\(raw.requestId)", "subscription.id": "\(subscription.id)", "connector": "\(subscription.connectorKey)"])
        return response
    }

    /// Appends `raw` to `topic` and answers: with the handler's reply when `holdForReply` (and
    /// replies are being read), else — or when no reply came in time — with the plain
    /// acknowledgement once the broker has the request.
    private func store(_ raw: RawRequest, on topic: String, holdForReply: Bool) async throws -> Response {
        var raw = raw
        guard let replies, replies.isReady, holdForReply else {
            try await appender.append(raw.kafkaRecord(topic: topic, format: configuration.recordFormat))
            return Self.accepted(raw)
        }
        raw.replyExpected = true
        let appended = raw
        let reply = try await replies.reply(to: raw.requestId, timeout: configuration.replyTimeout) {
            try await appender.append(appended.kafkaRecord(topic: topic, format: configuration.recordFormat))
        }
        guard let reply else { return Self.accepted(raw) }
        return Self.httpResponse(status: reply.status, headers: reply.headers, body: reply.body, contentType: reply.contentType)
    }

    /// The answer for a stored request: `{"status": "accepted", "requestId": ...}`.
    static func accepted(_ raw: RawRequest) -> Response {
        // Written member by member: no dictionary and tree for every stored request.
        .jsonObject { members in
            members.string("requestId", raw.requestId)
            members.string("status", "accepted")
        }
    }

    // MARK: - Global webhooks

    /// `/webhooks/global/<connectorKey>/<globalWebhookKey>/<token>`: appended to
    /// `ingress.global`, keyed by `<connectorKey>/<globalWebhookKey>`; held open for the global
    /// `handle`'s response when its spec says `respondsToWebhook: true`.
    private func globalWebhook(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let connectorKey = context.parameters.get("connectorKey") ?? ""
        let webhookKey = context.parameters.get("globalWebhookKey") ?? ""
        let token = context.parameters.get("token") ?? ""
        // Read before the lookup: a table that finished loading in between would otherwise
        // turn "not read yet" into a 404.
        let loaded = globalWebhooks?.isLoaded ?? true
        let known = workspace.map { $0.connectors[connectorKey]?.globalWebhooks[webhookKey] != nil } ?? true
        guard let globalWebhooks, known, globalWebhooks.accepts(token, connectorKey: connectorKey, key: webhookKey) else {
            if !loaded {
                throw ProblemDetails(
                    .serviceUnavailable, title: "Starting",
                    detail: "ingress is still loading its global webhooks; nothing was accepted, retry after 1 s",
                    headers: [.retryAfter: "1"]
                )
            }
            throw ProblemDetails(.notFound, title: "Unknown webhook", detail: "no global webhook has this URL; GET /api/v1/global-webhooks lists them")
        }
        let raw = Self.rawRequest(request, body: try await collectBody(request), connectorKey: connectorKey, globalWebhookKey: webhookKey)
        let responds = responders.contains(Responder(connectorKey: connectorKey, owner: .globalWebhook(webhookKey)))
        return try await store(raw, on: topics.ingressGlobal, holdForReply: responds)
    }

    /// Headers a connector's answer may not set: the server frames the response itself, and a
    /// connector's value would contradict the body actually sent (or smuggle another response).
    static let framingHeaders: Set<String> = ["content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer"]

    /// A connector's own answer (`handle`'s `response`) as the HTTP response: a status outside
    /// 200–599 becomes 502 (the connector's mistake, not the sender's), framing headers are
    /// dropped, and so is a header whose name or value HTTP cannot carry.
    static func httpResponse(status: Int, headers: [String: String], body: Data, contentType: String?) -> Response {
        var fields = HTTPFields()
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) where !framingHeaders.contains(name.lowercased()) {
            guard let field = HTTPField.Name(name), HTTPField.isValidValue(value) else { continue }
            fields[field] = value
        }
        if let contentType, HTTPField.isValidValue(contentType) { fields[.contentType] = contentType }
        let code = (200...599).contains(status) ? status : 502
        return Response(status: .init(code: code), headers: fields, body: .init(byteBuffer: ByteBuffer(data: body)))
    }

    /// Whether the subscription's `handle` can answer the HTTP request itself (a handshake
    /// such as a validation token or a challenge).
    private func mayRespond(_ subscription: SubscriptionRecord) -> Bool {
        guard let owner = subscription.target.methodOwner else { return false }
        return responders.contains(Responder(connectorKey: subscription.connectorKey, owner: owner))
    }

    /// The `handle` methods that may answer the HTTP request themselves: what the connector
    /// declares with `respondsToWebhook: true` in the event, collection event or global webhook
    /// spec (or a `handle` mapping with a `response` member). The others are answered as soon
    /// as the request is stored.
    static func responders(in workspace: Workspace?) -> Set<Responder> {
        var found: Set<Responder> = []
        for (key, connector) in workspace?.connectors ?? [:] {
            for (eventKey, event) in connector.events where event.respondsToWebhook {
                found.insert(Responder(connectorKey: key, owner: .event(eventKey)))
            }
            for (webhookKey, webhook) in connector.globalWebhooks where webhook.respondsToWebhook {
                found.insert(Responder(connectorKey: key, owner: .globalWebhook(webhookKey)))
            }
            for (collectionKey, collection) in connector.dataCollections {
                for (type, event) in collection.events where event.respondsToWebhook {
                    found.insert(Responder(connectorKey: key, owner: .collectionEvent(collectionKey, type)))
                }
            }
        }
        return found
    }

    // MARK: - Helpers

    private func collectBody(_ request: Request) async throws -> Data {
        var request = request
        let buffer = try await request.collectBody(
            upTo: configuration.maxBodyBytes, tooLarge: "the body exceeds \(configuration.maxBodyBytes) bytes (INLET_INGRESS_MAX_BODY_BYTES)")
        return Data(buffer.readableBytesView)
    }

    /// The request as it is stored on an ingress topic, received now.
    static func rawRequest(
        _ request: Request, body: Data, subscriptionId: String? = nil, connectorKey: String? = nil, globalWebhookKey: String? = nil
    ) -> RawRequest {
        RawRequest(
            receivedAt: Date(), method: request.method.rawValue, path: request.uri.path, rawQuery: request.uri.query ?? "",
            headers: headers(of: request), contentType: request.headers[.contentType], body: body,
            subscriptionId: subscriptionId, connectorKey: connectorKey, globalWebhookKey: globalWebhookKey
        )
    }

    static func headers(of request: Request) -> [String: String] {
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
        }
        return headers
    }
}
