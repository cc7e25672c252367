import Foundation
import InletConnectors

/// An event your own app sent to Inlet (topic `ingress.app-events`, key: the customer id when
/// known, else the app event type; see ``kafkaKey``).
///
/// Your app can send it over HTTP (ingress wraps the body in this message) or produce it to
/// Kafka directly. When `payload` is a JSON array it is a batch: each element is one event,
/// and each may belong to a different customer (the type's customer-id formula is applied
/// per element).
public struct AppEventMessage: TopicMessage {
    /// The app event type key (`app-events/<type>.yml`), e.g. `"order-placed"`.
    public var type: String
    /// The customer the event belongs to. When absent, the handler computes it from the
    /// payload with the type's customer-id formula.
    public var customerId: String?
    /// The event's contents (validated against the type's schema by the handler); an array
    /// is a batch of events.
    public var payload: JSONValue
    /// When Inlet received the event (for events produced directly: when your app sent it).
    public var receivedAt: Date
    /// The ingress request that carried the event, when it came over HTTP.
    public var requestId: String?
    /// A caller-supplied idempotency id: events with the same `type` and `id` are delivered
    /// once. When absent, ids are derived from the Kafka position.
    public var id: String?
    /// Not an event: create or delete `customerId`'s subscription to the type (its
    /// `subscriptionRequest` / `unsubscribeRequest`); `payload` is then `[]`.
    public var control: Control?

    public enum Control: String, Codable, Sendable, Hashable {
        /// Create the subscription (the admin API), or try a failed or deleted one again.
        case subscribe
        /// The customer used the type (an event keyed by the type, whose customer a formula
        /// found): create the subscription only if there never was one.
        case firstUse = "first-use"
        /// Delete it (the admin API).
        case unsubscribe
    }

    public init(
        type: String,
        customerId: String? = nil,
        payload: JSONValue,
        receivedAt: Date,
        requestId: String? = nil,
        id: String? = nil
    ) {
        self.type = type
        self.customerId = customerId
        self.payload = payload
        self.receivedAt = receivedAt
        self.requestId = requestId
        self.id = id
    }

    public static let topics = ["ingress.app-events"]
    public static let schemaFile = "app-event-message.schema.json"

    /// The customer id when known, else the app event type.
    public var kafkaKey: String? { customerId ?? type }

    /// Whether ``payload`` is a batch (a JSON array).
    public var isBatch: Bool { payload.arrayValue != nil }

    /// The individual event payloads: the elements of a batch, or the payload itself.
    public var events: [JSONValue] { payload.arrayValue ?? [payload] }
}
