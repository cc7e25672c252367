import Foundation
import InletConnectors
import InletKafka

/// How a `RawRequest` is stored on `ingress` and `ingress.global`.
///
/// - `.raw`: the Kafka value is the request body exactly as received, and everything else —
///   the `RawRequest` fields but `body` — is one JSON object in the header `inlet-raw-request`.
///   No base64, no escaping of the body: ingress writes a quarter fewer bytes and does a
///   fraction of the work per request.
/// - `.json`: the whole `RawRequest` as one JSON document in the value, the body in base64
///   (the only format before raw records).
///
/// Readers take both, told apart by the header. Writers: `inlet dev` writes `.raw`; `inlet
/// ingress` writes `.json` unless told otherwise (`INLET_INGRESS_RECORD_FORMAT=raw`), because
/// a handler that predates raw records would dead-letter them (`decode-error`) and drop those
/// with an empty body without a trace. Switch to `.raw` once every handler runs this version.
public enum RawRequestRecordFormat: String, Sendable, CaseIterable {
    case raw
    case json

    /// The header holding the metadata of a `.raw` record.
    public static let metadataHeader = "inlet-raw-request"

    /// The format of a record with these headers: `.raw` when it carries `metadataHeader`.
    public static func of(_ headers: [KafkaHeader]) -> RawRequestRecordFormat {
        metadata(in: headers) == nil ? .json : .raw
    }

    static func metadata(in headers: [KafkaHeader]) -> KafkaHeader? {
        headers.last { $0.name == metadataHeader }
    }
}

extension RawRequest {
    /// The request as a connector's `handle` sees it (the body parsed by content type, once).
    public var webhookRequest: WebhookRequest {
        WebhookRequest(
            method: method, path: path, query: query.mapValues(\.jsonValue), headers: headers, rawBody: body, contentType: contentType)
    }

    /// The Kafka record of this request on `topic`, keyed by `kafkaKey`.
    public func kafkaRecord(topic: String, format: RawRequestRecordFormat = .raw) -> KafkaRecord {
        switch format {
        case .json:
            return KafkaRecord(topic: topic, key: kafkaKey, value: encoded())
        case .raw:
            var writer = JSONWriter(capacity: 512)
            writeMetadata(to: &writer)
            return KafkaRecord(topic: topic, key: kafkaKey, value: body, headers: [KafkaHeader(name: RawRequestRecordFormat.metadataHeader, value: Data(writer.bytes))])
        }
    }

    /// Reads a request from a record in either format (`RawRequestRecordFormat`).
    public static func decoded(from message: KafkaMessage) throws(MessageCodecError) -> RawRequest {
        try decoded(value: message.value, headers: message.headers)
    }

    /// Reads a request from a record's value and headers in either format.
    public static func decoded(value: Data?, headers: [KafkaHeader]) throws(MessageCodecError) -> RawRequest {
        guard let header = RawRequestRecordFormat.metadata(in: headers) else {
            return try decoded(from: value ?? Data())
        }
        return try RawRequest(metadata: header.value ?? Data(), body: value ?? Data())
    }

    /// Every field but `body`, as its JSON form in `RawRequest`'s schema.
    var metadata: JSONValue {
        var members: [String: JSONValue] = [
            "requestId": .string(requestId),
            "receivedAt": .string(MessageCodec.timestamp(receivedAt)),
            "method": .string(method),
            "path": .string(path),
            "rawQuery": .string(rawQuery),
            "query": .object(query.mapValues(\.jsonValue)),
            "headers": .object(headers.mapValues(JSONValue.string)),
            "replyExpected": .bool(replyExpected),
        ]
        members["contentType"] = contentType.map(JSONValue.string)
        members["subscriptionId"] = subscriptionId.map(JSONValue.string)
        members["connectorKey"] = connectorKey.map(JSONValue.string)
        members["globalWebhookKey"] = globalWebhookKey.map(JSONValue.string)
        members["remoteAddress"] = remoteAddress.map(JSONValue.string)
        return .object(members)
    }

    /// Writes ``metadata`` as `JSONWriter` writes it (the same bytes, keys sorted), without
    /// building its tree first: ingress does this for every request.
    func writeMetadata(to writer: inout JSONWriter) {
        // In the order of the keys' UTF-8 bytes, as the tree is written.
        writer.writeObject { members in
            members.string("connectorKey", connectorKey)
            members.string("contentType", contentType)
            members.string("globalWebhookKey", globalWebhookKey)
            members.strings("headers", headers)
            members.string("method", method)
            members.string("path", path)
            members.object("query", sorting: query) { $0.value($1, $2.jsonValue) }
            members.string("rawQuery", rawQuery)
            members.string("receivedAt", MessageCodec.timestamp(receivedAt))
            members.string("remoteAddress", remoteAddress)
            members.bool("replyExpected", replyExpected)
            members.string("requestId", requestId)
            members.string("subscriptionId", subscriptionId)
        }
    }

    /// A request from the metadata header of a `.raw` record and its value.
    init(metadata data: Data, body: Data) throws(MessageCodecError) {
        let metadata: JSONValue
        do {
            metadata = try JSONValue(parsing: data)
        } catch {
            throw MessageCodecError(messageType: "RawRequest", fieldPath: "", reason: "the \(RawRequestRecordFormat.metadataHeader) header is not valid JSON (\(error))")
        }
        let fields: MessageFields
        do {
            fields = try MessageFields(messageType: "RawRequest", value: metadata)
        } catch {
            throw MessageCodecError(messageType: "RawRequest", fieldPath: "", reason: "the \(RawRequestRecordFormat.metadataHeader) header must be a JSON object")
        }
        let receivedAt = try fields.date("receivedAt")
        var headers: [String: String] = [:]
        for (name, value) in fields.members["headers"]?.objectValue ?? [:] {
            guard case .string(let text) = value else { throw MessageCodecError(messageType: "RawRequest", fieldPath: "headers.\(name)", reason: "expected a string") }
            headers[name] = text
        }
        var query: [String: QueryValue]?
        if let members = fields.members["query"]?.objectValue {
            var parsed: [String: QueryValue] = [:]
            for (name, value) in members {
                switch value {
                case .string(let text): parsed[name] = .single(text)
                case .array(let items) where items.allSatisfy({ $0.stringValue != nil }): parsed[name] = .multiple(items.compactMap(\.stringValue))
                default: throw MessageCodecError(messageType: "RawRequest", fieldPath: "query.\(name)", reason: "expected a string or an array of strings")
                }
            }
            query = parsed
        }
        let replyExpected: Bool
        switch fields.members["replyExpected"] {
        case nil, .null?: replyExpected = false
        case .bool(let flag)?: replyExpected = flag
        default: throw MessageCodecError(messageType: "RawRequest", fieldPath: "replyExpected", reason: "expected a boolean")
        }
        self.init(
            requestId: try fields.string("requestId"), receivedAt: receivedAt, method: try fields.string("method"), path: try fields.string("path"),
            rawQuery: try fields.optionalString("rawQuery") ?? "", query: query, headers: headers, contentType: try fields.optionalString("contentType"),
            body: body, replyExpected: replyExpected, subscriptionId: try fields.optionalString("subscriptionId"),
            connectorKey: try fields.optionalString("connectorKey"), globalWebhookKey: try fields.optionalString("globalWebhookKey"),
            remoteAddress: try fields.optionalString("remoteAddress")
        )
    }
}
