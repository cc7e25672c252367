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
public final class AppEventProcessor: StreamTransform {
    let topics: InletTopics
    let workspace: Workspace
    let client: KafkaClientConfiguration?
    let logger: Logger

    private struct State {
        var window = DeduplicationWindow(capacity: 2000, totalCapacity: 200_000)
        /// Emitted in the batch in progress (tentative until committed): customer ␟ id.
        var pending: Set<String> = []
        var partitionOf: [String: Int32] = [:]
        var repeatsDropped = 0
    }

    private let state = Mutex(State())

    /// - Parameter client: where to read `app-events` back to rebuild the repeat window; `nil`
    ///   keeps the window only for the process's lifetime.
    public init(topics: InletTopics, workspace: Workspace, client: KafkaClientConfiguration? = nil, logger: Logger) {
        self.topics = topics
        self.workspace = workspace
        self.client = client
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
        return appEvent.events.enumerated().map { index, event in
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

    public func batchCommitted() async {
        state.withLock { state in
            for key in state.pending {
                let parts = key.split(separator: "\u{1F}", maxSplits: 1).map(String.init)
                if parts.count == 2 { state.window.insert(parts[1], subscription: parts[0]) }
            }
            state.pending.removeAll()
        }
    }

    public func batchAborted() async {
        state.withLock { $0.pending.removeAll() }
    }

    public func partitionsAssigned(_ partitions: [TopicPartition]) async throws {
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
