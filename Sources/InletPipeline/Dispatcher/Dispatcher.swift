import Foundation
import InletConnectors
import InletKafka
import Logging
import Synchronization

/// `inlet dispatcher`: turns `records` into normalized CloudEvents.
///
/// Per record event: validate the record against the event's `schema` (connector events) or
/// the collection's `fieldsSchema` (applied to `record.fields` when present); drop it if its id
/// was already emitted for the subscription (a replay); route it (`EventRouting`); emit a
/// `NormalizedEvent` with the record event's deterministic id. Invalid or undecodable
/// inputs go to `dlq` with the reason. The de-duplication window is rebuilt, when partitions
/// are assigned, from the tail of the output topics, so a restart does not forget what was
/// already emitted.
public final class Dispatcher: StreamTransform {
    public struct Configuration: Sendable {
        public var topics: InletTopics
        public var routing: EventRouting
        public var client: KafkaClientConfiguration
        /// Ids remembered per subscription.
        public var windowSize: Int
        /// Ids remembered over all subscriptions, the globally oldest forgotten first (about
        /// 200 bytes each: some 40 MB at the default of 200,000).
        public var totalWindowSize: Int
        /// The largest message the brokers accept (`message.max.bytes`): a larger event goes
        /// to the DLQ (`output-too-large`).
        public var maxMessageBytes = 1_000_000
        /// How many messages per output partition are read back on assignment.
        public var rebuildTail: Int64

        public init(
            topics: InletTopics, routing: EventRouting, client: KafkaClientConfiguration, windowSize: Int = 2000,
            totalWindowSize: Int = 200_000, rebuildTail: Int64 = 20_000
        ) {
            self.topics = topics
            self.routing = routing
            self.client = client
            self.windowSize = windowSize
            self.totalWindowSize = totalWindowSize
            self.rebuildTail = rebuildTail
        }
    }

    private struct State {
        var window: DeduplicationWindow
        /// Ids emitted in the batch in progress (tentative until committed).
        var pending: [(id: String, subscription: String)] = []
        /// `pending` for lookups: `<subscription>␟<id>`.
        var pendingKeys: Set<String> = []
        /// Events of the batch in progress by connector and type, for the metrics.
        var pendingTally: [EventMetrics.Key: Int] = [:]
        var partitionOf: [String: Int32] = [:]
        var duplicatesDropped = 0
        var invalid = 0
    }

    private let configuration: Configuration
    private let schemas: RecordSchemas
    private let logger: Logger
    private let state: Mutex<State>
    private let eventMetrics = EventMetrics()

    public init(configuration: Configuration, workspace: Workspace, logger: Logger) {
        self.configuration = configuration
        schemas = RecordSchemas(workspace: workspace)
        self.logger = logger
        state = Mutex(State(window: DeduplicationWindow(capacity: configuration.windowSize, totalCapacity: configuration.totalWindowSize)))
    }

    /// Repeats dropped so far (for logs and tests).
    public var duplicatesDropped: Int { state.withLock { $0.duplicatesDropped } }

    // MARK: - StreamTransform

    public func process(_ message: KafkaMessage) async throws -> [KafkaRecord] {
        guard let value = message.value else { return [] }
        let event: RecordEvent
        do {
            event = try RecordEvent.decoded(from: value)
        } catch {
            return [deadLetter(message, code: "decode-error", "not a record event: \(error)")]
        }
        switch schemas.validate(event) {
        case .invalid(let errors):
            state.withLock { $0.invalid += 1 }
            return [deadLetter(
                message, code: "schema-invalid",
                "record \(event.recordId) does not match the schema of \(event.connectorKey)/\(event.target.key)",
                details: JSONValue.array(errors.map { JSONValue.string($0.description) }), event: event
            )]
        case .unknownTarget:
            return [deadLetter(message, code: "unknown-target", "no event or collection \(event.target.key) in connector '\(event.connectorKey)' of the workspace", event: event)]
        case .valid:
            break
        }
        let normalized = NormalizedEvent(event)
        let output = KafkaRecord(
            topic: configuration.routing.topic(for: event), key: event.subscriptionId, value: normalized.encoded(),
            headers: normalized.kafkaHeaders
        )
        // Kafka would refuse it (message.max.bytes) and fail the batch for ever. Checked before
        // the id is remembered, so a replay after a fix is not dropped as a repeat.
        let size = PartitionRetention.countedBytes(of: output)
        guard size <= configuration.maxMessageBytes else {
            return [deadLetter(
                message, code: "output-too-large",
                "the event of record \(event.recordId) has \(size) bytes, over message.max.bytes (\(configuration.maxMessageBytes)); make the connector return smaller records",
                event: event
            )]
        }
        let isRepeat = state.withLock { state -> Bool in
            state.partitionOf[event.subscriptionId] = message.partition
            if state.window.contains(event.id, subscription: event.subscriptionId)
                || !state.pendingKeys.insert("\(event.subscriptionId)\u{1F}\(event.id)").inserted
            {
                state.duplicatesDropped += 1
                return true
            }
            state.pending.append((event.id, event.subscriptionId))
            state.pendingTally[.init(connector: event.connectorKey, type: event.type?.rawValue ?? "event"), default: 0] += 1
            return false
        }
        logger.debug(isRepeat ? "dispatcher: repeat dropped" : "dispatcher: event emitted", metadata: [
            "request.id": "\(event.requestId ?? "")", "subscription.id": "\(event.subscriptionId)", "connector": "\(event.connectorKey)",
            "event.id": "\(event.id)", "kafka.partition": "\(message.partition)", "kafka.offset": "\(message.offset)",
        ])
        return isRepeat ? [] : [output]
    }

    public func batchCommitted() async {
        let tally = state.withLock { state in
            for (id, subscription) in state.pending { state.window.insert(id, subscription: subscription) }
            state.pending.removeAll()
            state.pendingKeys.removeAll()
            defer { state.pendingTally.removeAll() }
            return state.pendingTally
        }
        eventMetrics.committed(tally)
    }

    public func batchAborted() async {
        state.withLock {
            $0.pending.removeAll()
            $0.pendingKeys.removeAll()
            $0.pendingTally.removeAll()
        }
    }

    public func partitionsAssigned(_ partitions: [TopicPartition]) async throws {
        for partition in partitions where partition.topic == configuration.topics.records {
            try await rebuild(partition: partition.partition)
        }
    }

    public func partitionsRevoked(_ partitions: [TopicPartition]) async {
        let revoked = Set(partitions.map(\.partition))
        state.withLock { state in
            let gone = Set(state.partitionOf.filter { revoked.contains($0.value) }.keys)
            state.window.forget(subscriptions: gone)
            for subscription in gone { state.partitionOf[subscription] = nil }
        }
    }

    // MARK: - Rebuilding the window

    /// Reads back the last `rebuildTail` events of each output topic's partition `partition`
    /// (outputs are keyed by subscription like the inputs, so they share partition numbers).
    private func rebuild(partition: Int32) async throws {
        let reader = KafkaSnapshotReader(client: configuration.client, logger: logger)
        var found: [(String, String)] = []
        for topic in configuration.routing.allTopics {
            let tail = try await reader.read(topic: topic, partitions: [partition]) { _, high in high - configuration.rebuildTail }
            for message in tail {
                if let value = message.value, let event = try? NormalizedEvent.decoded(from: value) {
                    found.append((event.id, event.data.subscriptionId))
                }
            }
        }
        state.withLock { state in
            for (id, subscription) in found {
                state.window.insert(id, subscription: subscription)
                state.partitionOf[subscription] = partition
            }
        }
        logger.info("dispatcher: de-duplication window for partition \(partition) rebuilt from \(found.count) emitted events")
    }

    // MARK: - Dead letters

    private func deadLetter(_ message: KafkaMessage, code: DeadLetter.Code, _ text: String, details: JSONValue? = nil, event: RecordEvent? = nil) -> KafkaRecord {
        logger.warning("dispatcher: \(code): \(text)")
        let letter = DeadLetter.bounded(
            failedAt: Date(), stage: .dispatcher, reason: .init(code: code, message: text, details: details),
            original: .init(message: message), subscriptionId: event?.subscriptionId, connectorKey: event?.connectorKey
        )
        return KafkaRecord(topic: configuration.topics.dlq, key: message.key, value: letter.encoded())
    }
}

/// The compiled record schemas of a workspace, by connector and target.
struct RecordSchemas: Sendable {
    enum Verdict {
        case valid
        case invalid([SchemaValidationError])
        case unknownTarget
    }

    let workspace: Workspace

    func validate(_ event: RecordEvent) -> Verdict {
        guard let connector = workspace.connectors[event.connectorKey] else { return .unknownTarget }
        switch event.target {
        case .event(let eventKey):
            guard let spec = connector.events[eventKey] else { return .unknownTarget }
            guard let schema = spec.validSchema else { return .valid }
            let errors = schema.validate(event.record)
            return errors.isEmpty ? .valid : .invalid(errors)
        case .collection(let collectionKey, _):
            guard let collection = connector.dataCollections[collectionKey] else { return .unknownTarget }
            guard let schema = collection.validFieldsSchema else { return .valid }
            let errors = schema.validate(event.record["fields"] ?? event.record)
            return errors.isEmpty ? .valid : .invalid(errors)
        case .appEvent:
            return .valid
        }
    }
}
