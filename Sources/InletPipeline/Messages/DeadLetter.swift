import Foundation
import InletConnectors

/// An input a stage could not process, with the reason and the original Kafka record
/// byte for byte (topic `dlq`, key: the original record's key).
///
/// `inlet dlq` lists these; `inlet dlq replay` produces ``original`` back to its topic with
/// the same key, headers and value.
public struct DeadLetter: TopicMessage {
    /// The stage that gave up.
    public enum Stage: String, Codable, Sendable, Hashable, CaseIterable {
        case ingress
        case handler
        case dispatcher
    }

    /// A machine-readable failure code: a lower-case, hyphenated string. The known codes are
    /// constants; stages may add new ones without a schema change.
    public struct Code: RawRepresentable, Codable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        public init(from decoder: any Decoder) throws {
            rawValue = try decoder.singleValueContainer().decode(String.self)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }

        /// A connector method (`handle`, `subscribe`, `pull`, ...) threw.
        public static let handleError: Code = "handle-error"
        /// A connector method exceeded its time limit.
        public static let timeout: Code = "timeout"
        /// A connector method returned something that is not a valid result.
        public static let malformedResult: Code = "malformed-result"
        /// The normalized event or app event does not match its schema.
        public static let schemaInvalid: Code = "schema-invalid"
        /// The input names a subscription that does not exist (or is archived).
        public static let unknownSubscription: Code = "unknown-subscription"
        /// The input is not a valid Inlet message (see ``MessageCodecError``).
        public static let decodeError: Code = "decode-error"
        /// The connector, event, collection or app event type is not in the workspace.
        public static let unknownConnector: Code = "unknown-connector"
        /// A connector method kept failing transiently (API unreachable, 5xx, rate limited)
        /// for the handler's whole retry period.
        public static let retriesExhausted: Code = "retries-exhausted"
        /// Producing the output failed after retries.
        public static let produceError: Code = "produce-error"
    }

    /// Why the input failed.
    public struct Reason: Codable, Sendable, Hashable {
        /// The failure code.
        public var code: Code
        /// What went wrong, for people (e.g. the thrown error's message).
        public var message: String
        /// Anything else that helps: schema errors, the method name, a stack trace.
        public var details: JSONValue?

        public init(code: Code, message: String, details: JSONValue? = nil) {
            self.code = code
            self.message = message
            self.details = details
        }
    }

    /// One Kafka record header: header keys may repeat and their order matters, and values
    /// are bytes (JSON: base64; `null` for a header without a value).
    public struct Header: Codable, Sendable, Hashable {
        public var key: String
        public var value: Data?

        public init(key: String, value: Data?) {
            self.key = key
            self.value = value
        }

        /// A header with a UTF-8 text value.
        public init(key: String, text: String) {
            self.init(key: key, value: Data(text.utf8))
        }

        /// The value as UTF-8 text, if it is valid UTF-8.
        public var text: String? { value.flatMap { String(data: $0, encoding: .utf8) } }

        private enum CodingKeys: String, CodingKey { case key, value }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(key, forKey: .key)
            try container.encode(value, forKey: .value)  // explicit null for "no value"
        }
    }

    /// The failed Kafka record, complete enough to produce again byte for byte.
    public struct Original: Codable, Sendable, Hashable {
        /// Its topic, as consumed (with prefix), e.g. `"inlet.records"`.
        public var topic: String
        /// Its partition.
        public var partition: Int
        /// Its offset.
        public var offset: Int64
        /// Its key (Inlet keys are UTF-8 strings), or `nil` when it had none.
        public var key: String?
        /// Its headers, in order.
        public var headers: [Header]
        /// Its value bytes (JSON: base64); empty when ``valueOmitted`` (too large to embed).
        public var value: Data
        /// Its Kafka timestamp, when known.
        public var timestamp: Date?
        /// Set when the value was too large to embed: `value` is empty, and `inlet dlq replay`
        /// reads the record from `topic`/`partition`/`offset` instead (while the topic still
        /// holds it). Absent in dead letters written before this field existed.
        public var valueOmitted: Bool?
        /// The value's size in bytes, when ``valueOmitted``.
        public var valueBytes: Int?

        public init(
            topic: String,
            partition: Int,
            offset: Int64,
            key: String? = nil,
            headers: [Header] = [],
            value: Data,
            timestamp: Date? = nil
        ) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
            self.key = key
            self.headers = headers
            self.value = value
            self.timestamp = timestamp
        }
    }

    /// A dead letter small enough to produce whatever failed: values over `maxValueBytes`
    /// are left out (replay reads them from their topic), the reason's message is cut at
    /// 8 KiB and its details at 16 KiB (lists keep their first 20 entries).
    public static func bounded(
        failedAt: Date, stage: Stage, reason: Reason, original: Original, subscriptionId: String? = nil, connectorKey: String? = nil,
        maxValueBytes: Int = 256 * 1024
    ) -> DeadLetter {
        var original = original
        if original.value.count > maxValueBytes {
            original.valueBytes = original.value.count
            original.valueOmitted = true
            original.value = Data()
        }
        var reason = reason
        if reason.message.utf8.count > 8192 {
            reason.message = String(decoding: Data(reason.message.utf8).prefix(8192), as: UTF8.self) + "… (cut)"
        }
        reason.details = reason.details.map(Self.capped)
        DeadLetterMetrics.shared.made(stage: stage, code: reason.code)
        return DeadLetter(failedAt: failedAt, stage: stage, reason: reason, original: original, subscriptionId: subscriptionId, connectorKey: connectorKey)
    }

    /// `details` with lists cut to their first 20 entries, and replaced by a summary when
    /// still over 16 KiB.
    static func capped(_ details: JSONValue) -> JSONValue {
        func cut(_ value: JSONValue) -> JSONValue {
            switch value {
            case .array(let items) where items.count > 20:
                return .array(items.prefix(20).map(cut) + [.string("… \(items.count - 20) more")])
            case .array(let items):
                return .array(items.map(cut))
            case .object(let members):
                return .object(members.mapValues(cut))
            default:
                return value
            }
        }
        let shorter = cut(details)
        let text = shorter.serialized()
        guard text.count > 16 * 1024 else { return shorter }
        return ["cut": true, "bytes": .integer(Int64(text.count)), "preview": .string(String(decoding: text.prefix(4096), as: UTF8.self))]
    }

    /// The dead letter's id (by default ``deterministicId(stage:original:)``, so a failure that
    /// is reprocessed after a crash does not appear twice).
    public var id: String
    /// When the stage gave up.
    public var failedAt: Date
    /// The stage that gave up.
    public var stage: Stage
    /// Why.
    public var reason: Reason
    /// The input record.
    public var original: Original
    /// The subscription concerned, when known.
    public var subscriptionId: String?
    /// The connector concerned, when known.
    public var connectorKey: String?

    public init(
        id: String? = nil,
        failedAt: Date,
        stage: Stage,
        reason: Reason,
        original: Original,
        subscriptionId: String? = nil,
        connectorKey: String? = nil
    ) {
        self.id = id ?? Self.deterministicId(stage: stage, original: original)
        self.failedAt = failedAt
        self.stage = stage
        self.reason = reason
        self.original = original
        self.subscriptionId = subscriptionId
        self.connectorKey = connectorKey
    }

    public static let topics = ["dlq"]
    public static let schemaFile = "dead-letter.schema.json"

    /// The original record's key.
    public var kafkaKey: String? { original.key }

    /// The id of the dead letter for `original` failing in `stage`: 32 hex characters of
    /// SHA-256 over `"dlq␟<stage>␟<topic>␟<partition>␟<offset>"`.
    public static func deterministicId(stage: Stage, original: Original) -> String {
        MessageDigest.id(["dlq", stage.rawValue, original.topic, String(original.partition), String(original.offset)])
    }
}
