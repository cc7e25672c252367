import Foundation
import InletConnectors
import InletJSON

/// One event a connector method produced for a subscription, before normalization (topic
/// `records`, key: subscription id; read by the dispatcher).
///
/// The handler writes one `RecordEvent` per element of a method result's `events` (or per
/// record a pull strategy found). Its ``id`` is derived from the input's Kafka position and
/// the element's index (``deterministicId(topic:partition:offset:index:)``), so reprocessing
/// the same input yields the same ids and consumers can de-duplicate.
public struct RecordEvent: TopicMessage {
    /// Where in Kafka the input that produced this event was, and which element of the
    /// method's result it is.
    public struct Source: Codable, Sendable, Hashable {
        /// The input topic, as consumed (with prefix), e.g. `"inlet.ingress"`.
        public var topic: String
        /// The input partition.
        public var partition: Int
        /// The input offset.
        public var offset: Int64
        /// The position of this event in the method result (0-based).
        public var index: Int

        public init(topic: String, partition: Int, offset: Int64, index: Int) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
            self.index = index
        }
    }

    /// Deterministic event id (see ``deterministicId(topic:partition:offset:index:)``).
    public var id: String
    /// The subscription the event belongs to (also the Kafka key).
    public var subscriptionId: String
    /// The subscription's customer.
    public var customerId: String
    /// The subscription's connector.
    public var connectorKey: String
    /// The subscription's target (event, collection event or app event).
    public var target: SubscriptionTarget
    /// The change type the method gave (`created` / `updated` / `deleted`), if any.
    public var type: RecordChangeType?
    /// The record: a JSON object that always has an `id` (string or integer); for collections,
    /// the record shape `id`, `name`, `createdTime`, `updatedTime`, `deletedTime`, `fields`.
    public var record: JSONValue
    /// The input's position and this event's index in the result.
    public var source: Source
    /// When the event happened (the input's receive time, or the pull time).
    public var occurredAt: Date
    /// The ingress request that carried the input, if any.
    public var requestId: String?

    /// Creates an event; `id` defaults to the deterministic id of `source`.
    public init(
        id: String? = nil,
        subscriptionId: String,
        customerId: String,
        connectorKey: String,
        target: SubscriptionTarget,
        type: RecordChangeType? = nil,
        record: JSONValue,
        source: Source,
        occurredAt: Date,
        requestId: String? = nil
    ) {
        self.id = id ?? Self.deterministicId(
            topic: source.topic, partition: source.partition, offset: source.offset, index: source.index)
        self.subscriptionId = subscriptionId
        self.customerId = customerId
        self.connectorKey = connectorKey
        self.target = target
        self.type = type
        self.record = record
        self.source = source
        self.occurredAt = occurredAt
        self.requestId = requestId
    }

    public static let topics = ["records"]
    public static let schemaFile = "record-event.schema.json"

    public var kafkaKey: String? { subscriptionId }

    /// The id of the event at position `index` of the result of processing the input at
    /// `topic`/`partition`/`offset`: the first 128 bits of SHA-256 over
    /// `"<topic>␟<partition>␟<offset>␟<index>"` (␟ = U+001F) in lower-case hex, 32 characters.
    ///
    /// The same input position always yields the same id, in any process and on any
    /// platform; pass the topic name exactly as consumed (with its prefix).
    public static func deterministicId(topic: String, partition: Int, offset: Int64, index: Int) -> String {
        MessageDigest.id([topic, String(partition), String(offset), String(index)])
    }

    /// The id of the event at position `index`, for record `recordId`, of the result of a
    /// webhook delivery the sender identified as `deliveryId` (the event spec's `deliveryId`):
    /// a redelivery of the same webhook — a new input at another offset — yields the same ids,
    /// so it is dropped as a repeat within the dispatcher's de-duplication window. The record
    /// id is part of it so that a redelivery whose `handle` returns other records (its state
    /// moved on) is not mistaken for a repeat.
    public static func deterministicId(subscriptionId: String, deliveryId: String, index: Int, recordId: String) -> String {
        MessageDigest.id(["delivery", subscriptionId, deliveryId, String(index), recordId])
    }

    /// The record's `id` as a string (an integer id is written in decimal).
    public var recordId: String {
        Self.recordId(of: record) ?? ""
    }

    /// The change type a normalized event gets: the method's ``type``, else the target's
    /// collection event, else `created`.
    public var effectiveType: RecordChangeType {
        type ?? target.collectionEvent ?? .created
    }

    static func recordId(of record: JSONValue) -> String? {
        switch record["id"] {
        case .string(let id)?: id
        case .integer(let id)?: String(id)
        default: nil
        }
    }

    private enum CodingKeys: String, CodingKey {
        case id, subscriptionId, customerId, connectorKey, target, type, record, source, occurredAt, requestId
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        subscriptionId = try c.decode(String.self, forKey: .subscriptionId)
        customerId = try c.decode(String.self, forKey: .customerId)
        connectorKey = try c.decode(String.self, forKey: .connectorKey)
        target = try c.decode(SubscriptionTarget.self, forKey: .target)
        type = try c.decodeIfPresent(RecordChangeType.self, forKey: .type)
        record = try c.decode(JSONValue.self, forKey: .record)
        guard record.objectValue != nil, Self.recordId(of: record) != nil else {
            throw DecodingError.dataCorruptedError(
                forKey: .record, in: c,
                debugDescription: "expected an object with a string or integer \"id\"")
        }
        source = try c.decode(Source.self, forKey: .source)
        occurredAt = try c.decode(Date.self, forKey: .occurredAt)
        requestId = try c.decodeIfPresent(String.self, forKey: .requestId)
    }
}

extension RecordEvent: JSONValueMessage {
    var messageValue: JSONValue {
        .message([
            "id": .string(id), "subscriptionId": .string(subscriptionId), "customerId": .string(customerId),
            "connectorKey": .string(connectorKey), "target": target.messageValue, "type": type.map { .string($0.rawValue) },
            "record": record, "source": source.messageValue, "occurredAt": .string(RFC3339.string(from: occurredAt)),
            "requestId": requestId.map(JSONValue.string),
        ])
    }

    func write(to writer: inout JSONWriter) {
        // In the order of the keys' UTF-8 bytes, as `messageValue` is written.
        writer.writeObject { members in
            members.string("connectorKey", connectorKey)
            members.string("customerId", customerId)
            members.string("id", id)
            members.string("occurredAt", RFC3339.string(from: occurredAt))
            members.value("record", record)
            members.string("requestId", requestId)
            members.object("source") { source.writeMembers(&$0) }
            members.string("subscriptionId", subscriptionId)
            members.object("target") { target.writeMembers(&$0) }
            members.string("type", type?.rawValue)
        }
    }

    init(message fields: MessageFields) throws(MessageCodecError) {
        id = try fields.string("id")
        subscriptionId = try fields.string("subscriptionId")
        customerId = try fields.string("customerId")
        connectorKey = try fields.string("connectorKey")
        target = try SubscriptionTarget(message: fields.object("target"))
        type = try fields.optionalValue("type", as: RecordChangeType.self)
        record = try fields.required("record", expected: "an object")
        guard record.objectValue != nil, Self.recordId(of: record) != nil else {
            throw fields.error("record", "expected an object with a string or integer \"id\"")
        }
        source = try Source(message: fields.object("source"))
        occurredAt = try fields.date("occurredAt")
        requestId = try fields.optionalString("requestId")
    }
}

extension RecordEvent.Source: JSONValueMessage {
    var messageValue: JSONValue {
        .object(["topic": .string(topic), "partition": .integer(Int64(partition)), "offset": .integer(offset), "index": .integer(Int64(index))])
    }

    func writeMembers(_ members: inout JSONObjectMembers) {
        members.integer("index", Int64(index))
        members.integer("offset", offset)
        members.integer("partition", Int64(partition))
        members.string("topic", topic)
    }

    init(message fields: MessageFields) throws(MessageCodecError) {
        topic = try fields.string("topic")
        partition = try fields.int("partition")
        offset = try fields.integer("offset")
        index = try fields.int("index")
    }
}
