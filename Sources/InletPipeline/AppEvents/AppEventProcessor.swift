import Foundation
import InletConnectors
import InletKafka
import Logging
import Synchronization

/// Turns the app events on `ingress.app-events` (seed 002: events your own product sends) into
/// CloudEvents on `app-events`: run by the handler role (consumer group `app-events`) and by
/// `inlet dev`.
///
/// Per event (each element of a batch): its type must be one of the workspace's app event
/// types; its customer is the message's `customerId` (set by ingress) or else the type's
/// `tenantIdFormula` / `userIdFormula`; it must match the type's schema. An event failing any of
/// these goes to the DLQ alone, with the reason (and the schema errors), as a message holding
/// just that event, so a replay re-sends only it; the other events of the batch go on.
///
/// The CloudEvent: `type` `app-event.<type key>`, `subject` the customer id, keyed by the
/// customer id (in order per customer), `id` from the type's `idFormula` (your app's event id:
/// a repeat keeps it) or else from the input's position and index (a replay repeats it).
///
/// Repeats are dropped: a window of the ids emitted per customer (the last 2,000 each, 200,000
/// in all), rebuilt when partitions are assigned from the tail of the same partition of
/// `app-events` (ingress keys both topics by customer, so they share partition numbers; a
/// message produced directly should be keyed by its customer too).
///
/// Per-customer subscriptions (a type with `subscriptionRequest`): the first time a customer
/// uses the type — an event of theirs, or a `subscribe` control message from
/// `POST /api/v1/subscriptions {customerId, appEventKey}` — the request is made to your app's
/// API, and the outcome written to `app-event-subscriptions` with the customer's webhook URI
/// for the type. A customer's messages share one partition and lane, and a message that may
/// make the request is alone in its batch and committed at once, so the request runs once per
/// customer (again only if the process dies between the request and that commit).
public final class AppEventProcessor: StreamTransform {
    let topics: InletTopics
    let workspace: Workspace
    let client: KafkaClientConfiguration?
    let logger: Logger
    let subscriptions: Subscriptions?

    /// What per-customer subscriptions need.
    public struct Subscriptions: Sendable {
        public var directory: AppEventSubscriptionDirectory
        public var customers: CustomerDirectory?
        public var subscriber: AppEventSubscriber
        /// The base of webhook URIs (`<publicURL>/app-events/<type>/<token>`).
        public var publicURL: String

        public init(directory: AppEventSubscriptionDirectory, customers: CustomerDirectory?, subscriber: AppEventSubscriber, publicURL: String) {
            self.directory = directory
            self.customers = customers
            self.subscriber = subscriber
            self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        }
    }

    private struct State {
        var window = DeduplicationWindow(capacity: 2000, totalCapacity: 200_000)
        /// Emitted in the batch in progress (tentative until committed): customer ␟ id.
        var pending: Set<String> = []
        var partitionOf: [String: Int32] = [:]
        var repeatsDropped = 0
        /// Subscriptions written by the batch in progress (tentative), and by committed ones
        /// (until the table shows them), by `<customer>/<type>`.
        var pendingSubscriptions: [String: AppEventSubscriptionRecord] = [:]
        var writtenSubscriptions: [String: AppEventSubscriptionRecord] = [:]
        /// The outcome of each request made for an input not committed yet, by input and
        /// customer: a batch rolled back and retried reuses it instead of calling your app again.
        var calls: [String: AppEventSubscriptionRecord] = [:]
    }

    private let state = Mutex(State())

    /// - Parameter client: where to read `app-events` back to rebuild the repeat window; `nil`
    ///   keeps the window only for the process's lifetime.
    public init(topics: InletTopics, workspace: Workspace, client: KafkaClientConfiguration? = nil, subscriptions: Subscriptions? = nil, logger: Logger) {
        self.topics = topics
        self.workspace = workspace
        self.client = client
        self.subscriptions = subscriptions
        self.logger = logger
    }

    /// Repeats dropped so far.
    public var repeatsDropped: Int { state.withLock { $0.repeatsDropped } }

    public func process(_ message: KafkaMessage) async throws -> [KafkaRecord] {
        guard let value = message.value else { return [] }
        let appEvent: AppEventMessage
        do {
            appEvent = try AppEventMessage.decoded(from: value)
        } catch {
            return [deadLetter(message, code: "decode-error", "not an app event message (schemas/app-event-message.schema.json): \(error)")]
        }
        guard let type = workspace.appEventTypes[appEvent.type] else {
            let known = workspace.appEventTypes.keys.sorted().joined(separator: ", ")
            return [deadLetter(message, code: "unknown-app-event-type",
                               "'\(appEvent.type)' is not an app event type of this workspace (app-events/<type>.yml); known: \(known.isEmpty ? "none" : known)")]
        }
        if let control = appEvent.control {
            guard let customerId = appEvent.customerId, !customerId.isEmpty else {
                return [deadLetter(message, code: "no-customer", "a \(control.rawValue) message for app event type \(type.key) names no customerId")]
            }
            switch control {
            case .subscribe: return try await subscribe(customerId, to: type, asked: true, by: message, requestId: appEvent.requestId)
            case .firstUse: return try await subscribe(customerId, to: type, asked: false, by: message, requestId: appEvent.requestId)
            case .unsubscribe: return try await unsubscribe(customerId, from: type, by: message, requestId: appEvent.requestId)
            }
        }
        var subscribed: [KafkaRecord] = []
        if let subscriptions, type.subscriptionRequest != nil {
            if let customerId = appEvent.customerId {
                // Keyed by its customer: this lane owns them.
                subscribed = try await subscribe(customerId, to: type, asked: false, by: message, requestId: appEvent.requestId)
            } else {
                // Keyed by the type, customers found by formula: their own partitions' owners
                // make the request, told by a message keyed by each customer.
                var seen = Set<String>()
                for event in appEvent.events {
                    guard let customerId = type.customerId(of: event), seen.insert(customerId).inserted,
                        current(customerId, type.key, in: subscriptions) == nil
                    else { continue }
                    var use = AppEventMessage(type: type.key, customerId: customerId, payload: [], receivedAt: appEvent.receivedAt, requestId: appEvent.requestId)
                    use.control = .firstUse
                    subscribed.append(KafkaRecord(topic: topics.ingressAppEvents, key: customerId, value: use.encoded()))
                }
            }
        }
        return subscribed + appEvent.events.enumerated().map { index, event in
            guard let customerId = appEvent.customerId ?? type.customerId(of: event) else {
                return deadLetter(message, element: event, of: appEvent, index: index, code: "no-customer",
                                  "app event \(index) of type \(type.key) has no customer: no customerId on the message, and the type's tenantIdFormula / userIdFormula give none for it")
            }
            if let schema = type.validSchema {
                let errors = schema.validate(event)
                if !errors.isEmpty {
                    return deadLetter(message, element: event, of: appEvent, index: index, code: "schema-invalid",
                                      "app event \(index) does not match the schema of app event type \(type.key)",
                                      details: .array(errors.prefix(20).map { ["path": .string($0.instancePath), "message": .string($0.message)] }))
                }
            }
            return cloudEvent(event, index: index, of: appEvent, type: type, customerId: customerId, message: message)
        }.filter { record in
            guard record.topic == topics.appEvents, let key = record.key, let id = record.headers.first(named: "ce_id") else { return true }
            let customer = String(decoding: key, as: UTF8.self)
            return state.withLock { state in
                state.partitionOf[customer] = message.partition
                if state.window.contains(id, subscription: customer) || !state.pending.insert("\(customer)\u{1F}\(id)").inserted {
                    state.repeatsDropped += 1
                    return false
                }
                return true
            }
        }
    }

    /// A message that may call your app's API (a subscription request) is alone in its batch
    /// and committed as soon as it is processed, so a failure later cannot make it run again.
    public func isolates(_ message: KafkaMessage) -> Bool {
        guard let subscriptions, let value = message.value, let appEvent = try? AppEventMessage.decoded(from: value),
            let type = workspace.appEventTypes[appEvent.type]
        else { return false }
        if appEvent.control != nil { return true }
        // Without a customer on the message, the request is left to the customers' own lanes.
        guard type.subscriptionRequest != nil, let customerId = appEvent.customerId else { return false }
        return current(customerId, type.key, in: subscriptions) == nil
    }

    public func batchCommitted() async {
        state.withLock { state in
            state.writtenSubscriptions.merge(state.pendingSubscriptions) { $1 }
            state.pendingSubscriptions.removeAll()
            state.calls.removeAll()
            for key in state.pending {
                let parts = key.split(separator: "\u{1F}", maxSplits: 1).map(String.init)
                if parts.count == 2 { state.window.insert(parts[1], subscription: parts[0]) }
            }
            state.pending.removeAll()
        }
    }

    public func batchAborted() async {
        state.withLock { state in
            state.pending.removeAll()
            state.pendingSubscriptions.removeAll()
        }
    }

    public func partitionsAssigned(_ partitions: [TopicPartition]) async throws {
        // The previous owner's subscriptions, before acting for its customers.
        if let subscriptions {
            try await subscriptions.directory.sync()
            try await subscriptions.customers?.sync()
            state.withLock { $0.writtenSubscriptions.removeAll() }
        }
        guard let client else { return }
        let assigned = partitions.filter { $0.topic == topics.ingressAppEvents }.map(\.partition)
        guard !assigned.isEmpty else { return }
        let reader = KafkaSnapshotReader(client: client, logger: logger)
        let tail = try await reader.read(topic: topics.appEvents, partitions: assigned) { _, high in high - 20_000 }
        let found = tail.compactMap { message -> (String, String, Int32)? in
            guard let customer = message.keyString, let value = message.value, let event = try? NormalizedEvent.decoded(from: value) else { return nil }
            return (event.id, customer, message.partition)
        }
        state.withLock { state in
            for (id, customer, partition) in found {
                state.window.insert(id, subscription: customer)
                state.partitionOf[customer] = partition
            }
        }
        logger.info("app events: repeat window for partitions \(assigned.sorted()) rebuilt from \(found.count) emitted events")
    }

    public func partitionsRevoked(_ partitions: [TopicPartition]) async {
        let revoked = Set(partitions.map(\.partition))
        state.withLock { state in
            let gone = Set(state.partitionOf.filter { revoked.contains($0.value) }.keys)
            state.window.forget(subscriptions: gone)
            for customer in gone { state.partitionOf[customer] = nil }
        }
    }

    // MARK: - Per-customer subscriptions

    /// The customer's subscription to the type as this processor knows it: written by the
    /// batch in progress, by an earlier batch, or in the table.
    private func current(_ customerId: String, _ typeKey: String, in subscriptions: Subscriptions) -> AppEventSubscriptionRecord? {
        let key = AppEventSubscriptionRecord.key(customerId: customerId, appEventKey: typeKey)
        return state.withLock { $0.pendingSubscriptions[key] ?? $0.writtenSubscriptions[key] }
            ?? subscriptions.directory.subscription(customerId: customerId, appEventKey: typeKey)
    }

    /// Makes the customer's subscription to the type if it has none: runs the type's
    /// `subscriptionRequest` and writes the outcome. An event does so only the first time
    /// (never after a failed request or a deletion, so your API is not called per event);
    /// `asked` (the admin API) tries a failed or deleted one again.
    private func subscribe(_ customerId: String, to type: AppEventType, asked: Bool, by message: KafkaMessage, requestId: String?) async throws -> [KafkaRecord] {
        guard let subscriptions else { return [] }
        let existing = current(customerId, type.key, in: subscriptions)
        if let existing, existing.status == .active || !asked { return [] }
        if let made = madeFor(message, customerId) { return [stage(made)] }
        let token = existing.flatMap { $0.status == .error ? $0.webhookToken : nil } ?? RandomToken.make(bytes: 24)
        let webhookUri = "\(subscriptions.publicURL)/app-events/\(type.key)/\(token)"
        var call: AppEventSubscriptionRecord.Call?
        if let request = type.subscriptionRequest {
            call = try await subscriptions.subscriber.call(request, defaultMethod: "POST", webhookUri: webhookUri, customer: customer(customerId, subscriptions))
            if let call, !call.succeeded {
                logger.warning("app events: the subscription request of \(customerId) to \(type.key) failed: \(call.error ?? "HTTP \(call.status ?? 0)")")
            }
        }
        let now = Date()
        var record = AppEventSubscriptionRecord(
            customerId: customerId, appEventKey: type.key, webhookToken: token, status: call.map { $0.succeeded ? .active : .error } ?? .active,
            subscribe: call, createdAt: existing?.createdAt ?? now, updatedAt: now)
        record.requestId = requestId
        return [stage(made(record, for: message))]
    }

    /// Deletes the customer's subscription: runs the type's `unsubscribeRequest` if the
    /// subscription was active (or its last unsubscribe request failed), and archives it (its
    /// webhook URI stops accepting events). A refused unsubscribe request leaves it in `error`
    /// with the answer, still receiving, since your app may still send to it.
    private func unsubscribe(_ customerId: String, from type: AppEventType, by message: KafkaMessage, requestId: String?) async throws -> [KafkaRecord] {
        guard let subscriptions, var record = current(customerId, type.key, in: subscriptions), record.status != .archived else { return [] }
        if let made = madeFor(message, customerId) { return [stage(made)] }
        let wasSubscribed = record.status == .active || record.unsubscribe != nil
        record.status = .archived
        if wasSubscribed, let request = type.unsubscribeRequest {
            let webhookUri = "\(subscriptions.publicURL)/app-events/\(type.key)/\(record.webhookToken)"
            let call = try await subscriptions.subscriber.call(request, defaultMethod: "DELETE", webhookUri: webhookUri, customer: customer(customerId, subscriptions))
            record.unsubscribe = call
            if !call.succeeded {
                record.status = .error
                logger.warning("app events: the unsubscribe request of \(customerId) from \(type.key) failed: \(call.error ?? "HTTP \(call.status ?? 0)")")
            }
        }
        // Archived, its webhook URI accepts nothing, and subscribing anew makes a new one: the
        // token, a bearer secret of the customer's URI, is not kept.
        if record.status == .archived { record.webhookToken = "" }
        record.requestId = requestId
        record.updatedAt = Date()
        return [stage(made(record, for: message))]
    }

    /// What a request made for this input (and customer) gave, if it was made already in a
    /// batch that was rolled back.
    private func madeFor(_ message: KafkaMessage, _ customerId: String) -> AppEventSubscriptionRecord? {
        state.withLock { $0.calls["\(message.topic)/\(message.partition)/\(message.offset)/\(customerId)"] }
    }

    private func made(_ record: AppEventSubscriptionRecord, for message: KafkaMessage) -> AppEventSubscriptionRecord {
        state.withLock { $0.calls["\(message.topic)/\(message.partition)/\(message.offset)/\(record.customerId)"] = record }
        return record
    }

    private func stage(_ record: AppEventSubscriptionRecord) -> KafkaRecord {
        state.withLock { $0.pendingSubscriptions[record.kafkaKey ?? record.id] = record }
        return KafkaRecord(topic: topics.appEventSubscriptions, key: record.kafkaKey, value: record.encoded())
    }

    /// `{id, name, fields}` of a customer, as request mappings see it (`{id}` alone for a
    /// customer not created through the API).
    private func customer(_ id: String, _ subscriptions: Subscriptions) -> JSONValue {
        subscriptions.customers?[id]?.json ?? ["id": .string(id)]
    }

    /// The CloudEvent of `event`, keyed by its customer.
    func cloudEvent(_ event: JSONValue, index: Int, of appEvent: AppEventMessage, type: AppEventType, customerId: String, message: KafkaMessage) -> KafkaRecord {
        let ownId = type.eventId(of: event) ?? appEvent.id.map { appEvent.isBatch ? "\($0)/\(index)" : $0 }
        let id = ownId.map { MessageDigest.id(["app-event", type.key, customerId, $0]) }
            ?? RecordEvent.deterministicId(topic: message.topic, partition: Int(message.partition), offset: message.offset, index: index)
        let normalized = NormalizedEvent(
            id: id,
            source: "/inlet/app-events/\(type.key)",
            type: "app-event.\(type.key)",
            subject: customerId,
            time: appEvent.receivedAt,
            data: .init(
                type: .created, record: event, recordId: ownId ?? id, subscriptionId: "app-events/\(type.key)",
                customerId: customerId, connectorKey: "app", appEventKey: type.key
            )
        )
        return KafkaRecord(topic: topics.appEvents, key: customerId, value: normalized.encoded(), headers: normalized.kafkaHeaders)
    }

    private func deadLetter(_ message: KafkaMessage, code: DeadLetter.Code, _ text: String) -> KafkaRecord {
        let letter = DeadLetter.bounded(failedAt: Date(), stage: .handler, reason: .init(code: code, message: text), original: .init(message: message))
        return KafkaRecord(topic: topics.dlq, key: message.key, value: letter.encoded())
    }

    /// A dead letter for one event of a message: its original is a message holding only that
    /// event (same type, customer, time and request), so `inlet dlq replay` re-sends just it.
    private func deadLetter(
        _ message: KafkaMessage, element: JSONValue, of appEvent: AppEventMessage, index: Int, code: DeadLetter.Code, _ text: String, details: JSONValue? = nil
    ) -> KafkaRecord {
        var single = appEvent
        single.payload = element
        single.id = appEvent.id.map { appEvent.isBatch ? "\($0)/\(index)" : $0 }
        var original = DeadLetter.Original(message: message)
        original.value = single.encoded()
        var letter = DeadLetter.bounded(
            failedAt: Date(), stage: .handler, reason: .init(code: code, message: text, details: details), original: original)
        // One dead letter per event of the message: the position and the index name it.
        letter.id = MessageDigest.id(["dlq", "handler", message.topic, String(message.partition), String(message.offset), String(index)])
        return KafkaRecord(topic: topics.dlq, key: message.key, value: letter.encoded())
    }
}
