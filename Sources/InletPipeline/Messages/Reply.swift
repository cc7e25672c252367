import Foundation
import InletConnectors
import InletKafka

/// The HTTP response for a request ingress is holding open (topic `replies`, key: request
/// id): a webhook whose `handle` returned a `response` (e.g. a verification challenge), or an
/// admin API request waiting for a command's outcome.
public struct Reply: TopicMessage {
    /// The ``RawRequest/requestId`` (or ``Command/requestId``) this answers; also the Kafka key.
    public var requestId: String
    /// The HTTP status code.
    public var status: Int
    /// Response headers by name.
    public var headers: [String: String]
    /// The response body bytes (JSON: base64).
    public var body: Data
    /// The `Content-Type` of ``body``, when there is one.
    public var contentType: String?
    /// When the reply was produced.
    public var createdAt: Date

    public init(
        requestId: String,
        status: Int = 200,
        headers: [String: String] = [:],
        body: Data = Data(),
        contentType: String? = nil,
        createdAt: Date
    ) {
        self.requestId = requestId
        self.status = status
        self.headers = headers
        self.body = body
        self.contentType = contentType
        self.createdAt = createdAt
    }

    public static let topics = ["replies"]
    public static let schemaFile = "reply.schema.json"

    public var kafkaKey: String? { requestId }

    /// The reply carrying a `handle`'s own `response` to request `requestId`.
    public init(requestId: String, response: WebhookResponse, createdAt: Date = Date()) {
        self.init(
            requestId: requestId, status: response.status, headers: response.headers, body: response.body, contentType: response.contentType,
            createdAt: createdAt)
    }

    /// The answer for a stored request whose `handle` gave no response of its own (or failed):
    /// 200 with `{"status": "accepted", "requestId": ...}`, what ingress answers by itself.
    public static func accepted(requestId: String, createdAt: Date = Date()) -> Reply {
        let body: JSONValue = ["status": "accepted", "requestId": .string(requestId)]
        return Reply(requestId: requestId, status: 200, body: body.serialized(), contentType: "application/json", createdAt: createdAt)
    }

    /// `outputs` of handling `request`, plus the plain acknowledgement on `topic` when the
    /// sender is held open for a reply and `outputs` has none: whatever happened (the request
    /// is stored; a failure is in the DLQ), it never waits for the whole reply timeout.
    public static func ensured(in outputs: [KafkaRecord], for request: RawRequest, topic: String) -> [KafkaRecord] {
        guard request.replyExpected, !outputs.contains(where: { $0.topic == topic }) else { return outputs }
        return outputs + [accepted(requestId: request.requestId).kafkaRecord(topic: topic)]
    }

    /// This reply as a Kafka record on `topic` (`replies`), keyed by request id.
    public func kafkaRecord(topic: String) -> KafkaRecord {
        KafkaRecord(topic: topic, key: requestId, value: encoded())
    }

    /// The body as UTF-8 text, or `nil` when it is not valid UTF-8.
    public var bodyText: String? { String(data: body, encoding: .utf8) }
}
