import Foundation

/// A message type carried on one or more Inlet topics, with a JSON Schema in `schemas/`.
///
/// Every conforming type encodes and decodes through ``MessageCodec`` (sorted keys,
/// RFC 3339 millisecond UTC timestamps, base64 bytes), so the schema in ``schemaFile``
/// describes exactly what is on the wire.
public protocol TopicMessage: Codable, Sendable, Hashable {
    /// The topics this message is carried on, without the configurable prefix
    /// (`"ingress"`, not `"inlet.ingress"`).
    static var topics: [String] { get }

    /// The file name of this message's JSON Schema in the `schemas/` folder, e.g.
    /// `"raw-request.schema.json"`.
    static var schemaFile: String { get }

    /// The Kafka record key this message is produced with (its partitioning key), or `nil`
    /// when it has none.
    var kafkaKey: String? { get }
}

extension TopicMessage {
    /// The schema's `$id`, e.g. `https://inlet.dev/schemas/raw-request.schema.json`.
    public static var schemaID: String { "https://inlet.dev/schemas/\(schemaFile)" }

    /// This message as Kafka record value bytes (``MessageCodec/encode(_:)``).
    public func encoded() -> Data { MessageCodec.encode(self) }

    /// Decodes a Kafka record value (``MessageCodec/decode(_:from:)``).
    public static func decoded(from value: Data) throws(MessageCodecError) -> Self {
        try MessageCodec.decode(Self.self, from: value)
    }
}

/// Every message type, in topic order (useful for docs, schema checks and `inlet` tooling).
public enum TopicMessages {
    public static let all: [any TopicMessage.Type] = [
        RawRequest.self,
        RoutedGlobalEvent.self,
        AppEventMessage.self,
        Command.self,
        SubscriptionRecord.self,
        ConnectionRecord.self,
        GlobalWebhookRecord.self,
        ConnectorParametersRecord.self,
        CustomerRecord.self,
        ScanSnapshotChunk.self,
        AppEventSubscriptionRecord.self,
        RecordEvent.self,
        NormalizedEvent.self,
        Reply.self,
        DeadLetter.self,
        AuditRecord.self,
    ]
}
