import Foundation
import InletConnectors
import InletJSON

/// A normalized `created` / `updated` / `deleted` event for your services (topics `events`
/// for connector events and `app-events` for your app's events; key: subscription id, so
/// events of one subscription stay in order).
///
/// The value is a CloudEvents 1.0 event in structured JSON mode:
/// ```json
/// {"specversion": "1.0", "id": "…", "source": "/inlet/connectors/github/subscriptions/sub_1",
///  "type": "github.issue-created.created", "subject": "1347", "time": "…",
///  "datacontenttype": "application/json", "data": {…}}
/// ```
/// and the record also carries the Kafka binding's `ce_*` headers (``ceHeaders``), so
/// consumers can route on headers without parsing the value. The `id` is deterministic: the
/// same input always yields the same id, so de-duplicate on it.
public struct NormalizedEvent: TopicMessage {
    /// The event's `data`.
    public struct Payload: Codable, Sendable, Hashable {
        /// What happened to the record.
        public var type: RecordChangeType
        /// The record (a JSON object with `id`).
        public var record: JSONValue
        /// The record's id (same as `record.id`, as a string).
        public var recordId: String
        /// The subscription that produced the event.
        public var subscriptionId: String
        /// The subscription's customer.
        public var customerId: String
        /// The connector.
        public var connectorKey: String
        /// For connector events: the event key.
        public var eventKey: String?
        /// For data collection events: the collection key.
        public var collectionKey: String?
        /// For app events: the app event type key.
        public var appEventKey: String?

        public init(
            type: RecordChangeType,
            record: JSONValue,
            recordId: String,
            subscriptionId: String,
            customerId: String,
            connectorKey: String,
            eventKey: String? = nil,
            collectionKey: String? = nil,
            appEventKey: String? = nil
        ) {
            self.type = type
            self.record = record
            self.recordId = recordId
            self.subscriptionId = subscriptionId
            self.customerId = customerId
            self.connectorKey = connectorKey
            self.eventKey = eventKey
            self.collectionKey = collectionKey
            self.appEventKey = appEventKey
        }
    }

    /// The CloudEvents version: always `"1.0"`.
    public static let specVersion = "1.0"
    /// The `datacontenttype`: always `"application/json"`.
    public static let dataContentType = "application/json"
    /// The Kafka `content-type` header of a structured-mode CloudEvent.
    public static let structuredContentType = "application/cloudevents+json; charset=UTF-8"

    /// CloudEvents `specversion`: `"1.0"`.
    public var specversion: String
    /// CloudEvents `id`: the deterministic event id (unique per `source`).
    public var id: String
    /// CloudEvents `source` (URI reference), e.g. `/inlet/connectors/github/subscriptions/sub_1`.
    public var source: String
    /// CloudEvents `type`: `<connectorKey>.<eventKey|collectionKey|appEventKey>.<type>`, e.g.
    /// `github.issue-created.created`.
    public var type: String
    /// CloudEvents `subject`: the record id.
    public var subject: String
    /// CloudEvents `time`: when the change happened.
    public var time: Date
    /// CloudEvents `datacontenttype`: `"application/json"`.
    public var datacontenttype: String
    /// CloudEvents `data`.
    public var data: Payload

    public init(
        id: String,
        source: String,
        type: String,
        subject: String,
        time: Date,
        data: Payload
    ) {
        self.specversion = Self.specVersion
        self.id = id
        self.source = source
        self.type = type
        self.subject = subject
        self.time = time
        self.datacontenttype = Self.dataContentType
        self.data = data
    }

    /// The normalized form of `recordEvent`: same id, `time` = `occurredAt`, type and source
    /// built by ``eventType(connectorKey:target:changeType:)`` and ``source(connectorKey:subscriptionId:)``.
    public init(_ recordEvent: RecordEvent) {
        let changeType = recordEvent.effectiveType
        let recordId = recordEvent.recordId
        self.init(
            id: recordEvent.id,
            source: Self.source(connectorKey: recordEvent.connectorKey, subscriptionId: recordEvent.subscriptionId),
            type: Self.eventType(connectorKey: recordEvent.connectorKey, target: recordEvent.target, changeType: changeType),
            subject: recordId,
            time: recordEvent.occurredAt,
            data: Payload(
                type: changeType,
                record: recordEvent.record,
                recordId: recordId,
                subscriptionId: recordEvent.subscriptionId,
                customerId: recordEvent.customerId,
                connectorKey: recordEvent.connectorKey,
                eventKey: recordEvent.target.eventKey,
                collectionKey: recordEvent.target.collectionKey,
                appEventKey: recordEvent.target.appEventKey))
    }

    public static let topics = ["events", "app-events"]
    public static let schemaFile = "normalized-event.schema.json"

    public var kafkaKey: String? { data.subscriptionId }

    /// `/inlet/connectors/<connectorKey>/subscriptions/<subscriptionId>` (each part
    /// percent-encoded as a path segment).
    public static func source(connectorKey: String, subscriptionId: String) -> String {
        "/inlet/connectors/\(pathSegment(connectorKey))/subscriptions/\(pathSegment(subscriptionId))"
    }

    /// `<connectorKey>.<eventKey|collectionKey|appEventKey>.<created|updated|deleted>`.
    public static func eventType(connectorKey: String, target: SubscriptionTarget, changeType: RecordChangeType) -> String {
        "\(connectorKey).\(target.key).\(changeType.rawValue)"
    }

    /// The CloudEvents Kafka protocol binding headers for this event, in this order:
    /// `ce_specversion`, `ce_id`, `ce_source`, `ce_type`, `ce_subject`, `ce_time`, and
    /// `content-type` (`application/cloudevents+json; charset=UTF-8`, since the value is the
    /// structured event). Values are UTF-8 strings.
    public var ceHeaders: [(String, String)] {
        [
            ("ce_specversion", specversion),
            ("ce_id", id),
            ("ce_source", source),
            ("ce_type", type),
            ("ce_subject", subject),
            ("ce_time", MessageCodec.timestamp(time)),
            ("content-type", Self.structuredContentType),
        ]
    }

    private enum CodingKeys: String, CodingKey {
        case specversion, id, source, type, subject, time, datacontenttype, data
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        specversion = try c.decode(String.self, forKey: .specversion)
        guard specversion == Self.specVersion else {
            throw DecodingError.dataCorruptedError(
                forKey: .specversion, in: c, debugDescription: "expected \"1.0\", found \"\(specversion)\"")
        }
        id = try c.decode(String.self, forKey: .id)
        source = try c.decode(String.self, forKey: .source)
        type = try c.decode(String.self, forKey: .type)
        subject = try c.decode(String.self, forKey: .subject)
        time = try c.decode(Date.self, forKey: .time)
        datacontenttype = try c.decode(String.self, forKey: .datacontenttype)
        guard datacontenttype == Self.dataContentType else {
            throw DecodingError.dataCorruptedError(
                forKey: .datacontenttype, in: c,
                debugDescription: "expected \"application/json\", found \"\(datacontenttype)\"")
        }
        data = try c.decode(Payload.self, forKey: .data)
    }

    private static func pathSegment(_ text: String) -> String {
        // Keys and subscription ids are nearly always letters, digits, `-` and `_`, which
        // need no encoding: skip Foundation's (a measurable part of a dispatcher's time).
        if text.utf8.allSatisfy({ byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x7E
        }) {
            return text
        }
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove("/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

extension NormalizedEvent: JSONValueMessage {
    var messageValue: JSONValue {
        .object([
            "specversion": .string(specversion), "id": .string(id), "source": .string(source), "type": .string(type),
            "subject": .string(subject), "time": .string(RFC3339.string(from: time)), "datacontenttype": .string(datacontenttype),
            "data": data.messageValue,
        ])
    }

    func write(to writer: inout JSONWriter) {
        // In the order of the keys' UTF-8 bytes, as `messageValue` is written.
        writer.writeObject { members in
            members.object("data") { data.writeMembers(&$0) }
            members.string("datacontenttype", datacontenttype)
            members.string("id", id)
            members.string("source", source)
            members.string("specversion", specversion)
            members.string("subject", subject)
            members.string("time", RFC3339.string(from: time))
            members.string("type", type)
        }
    }

    init(message fields: MessageFields) throws(MessageCodecError) {
        specversion = try fields.string("specversion")
        guard specversion == Self.specVersion else { throw fields.error("specversion", "expected \"1.0\", found \"\(specversion)\"") }
        id = try fields.string("id")
        source = try fields.string("source")
        type = try fields.string("type")
        subject = try fields.string("subject")
        time = try fields.date("time")
        datacontenttype = try fields.string("datacontenttype")
        guard datacontenttype == Self.dataContentType else {
            throw fields.error("datacontenttype", "expected \"application/json\", found \"\(datacontenttype)\"")
        }
        data = try Payload(message: fields.object("data"))
    }
}

extension NormalizedEvent.Payload: JSONValueMessage {
    var messageValue: JSONValue {
        .message([
            "type": .string(type.rawValue), "record": record, "recordId": .string(recordId), "subscriptionId": .string(subscriptionId),
            "customerId": .string(customerId), "connectorKey": .string(connectorKey), "eventKey": eventKey.map(JSONValue.string),
            "collectionKey": collectionKey.map(JSONValue.string), "appEventKey": appEventKey.map(JSONValue.string),
        ])
    }

    func writeMembers(_ members: inout JSONObjectMembers) {
        members.string("appEventKey", appEventKey)
        members.string("collectionKey", collectionKey)
        members.string("connectorKey", connectorKey)
        members.string("customerId", customerId)
        members.string("eventKey", eventKey)
        members.value("record", record)
        members.string("recordId", recordId)
        members.string("subscriptionId", subscriptionId)
        members.string("type", type.rawValue)
    }

    init(message fields: MessageFields) throws(MessageCodecError) {
        type = try fields.value("type", as: RecordChangeType.self)
        guard let record = fields.members["record"] else { throw fields.error("record", "required field is missing") }
        self.record = record
        recordId = try fields.string("recordId")
        subscriptionId = try fields.string("subscriptionId")
        customerId = try fields.string("customerId")
        connectorKey = try fields.string("connectorKey")
        eventKey = try fields.optionalString("eventKey")
        collectionKey = try fields.optionalString("collectionKey")
        appEventKey = try fields.optionalString("appEventKey")
    }
}
