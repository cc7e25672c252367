import Foundation

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

    /// The body as UTF-8 text, or `nil` when it is not valid UTF-8.
    public var bodyText: String? { String(data: body, encoding: .utf8) }
}
