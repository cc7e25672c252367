import Foundation
import InletConnectors
import InletKafka

/// One event of a global webhook, routed to one subscription whose selector matched (topic
/// `ingress`, key: subscription id, header `inlet-message: global-event`).
///
/// The global handler writes one per matching subscription for each `{selector, payload}` its
/// `handle` returned; the subscription's owner then runs the event's own `handle` on
/// `payload` with the subscription's state, in order with everything else the subscription
/// gets. ``source`` names the global request's position and the event's index in the
/// result, so the record ids it yields are the same when a crash makes the global handler
/// route the request again.
public struct RoutedGlobalEvent: TopicMessage {
    /// The subscription it was routed to (also the Kafka key).
    public var subscriptionId: String
    /// The connector of the global webhook.
    public var connectorKey: String
    /// The global webhook's key.
    public var globalWebhookKey: String
    /// The selector the global `handle` gave, equal to the subscription's
    /// `globalWebhookEventSelector`.
    public var selector: String
    /// The payload the global `handle` gave for this selector.
    public var payload: JSONValue
    /// The global request on `ingress.global` and this event's index in its `handle` result.
    public var source: RecordEvent.Source
    /// When ingress received the global request.
    public var receivedAt: Date
    /// The ingress request id of the global request.
    public var requestId: String?
    /// The sender's id of the global request (the global webhook's `deliveryId` formula), if
    /// it has one: the same when the sender retries the request.
    public var deliveryId: String?

    public init(
        subscriptionId: String, connectorKey: String, globalWebhookKey: String, selector: String, payload: JSONValue,
        source: RecordEvent.Source, receivedAt: Date, requestId: String? = nil, deliveryId: String? = nil
    ) {
        self.deliveryId = deliveryId
        self.subscriptionId = subscriptionId
        self.connectorKey = connectorKey
        self.globalWebhookKey = globalWebhookKey
        self.selector = selector
        self.payload = payload
        self.source = source
        self.receivedAt = receivedAt
        self.requestId = requestId
    }

    public static let topics = ["ingress"]
    public static let schemaFile = "routed-global-event.schema.json"
    public var kafkaKey: String? { subscriptionId }

    /// The header that tells a routed global event from a raw request on `ingress`.
    public static let header = KafkaHeader(name: "inlet-message", value: Data("global-event".utf8))

    /// Whether a record on `ingress` carries a `RoutedGlobalEvent` (else a `RawRequest`).
    public static func isCarried(by headers: [KafkaHeader]) -> Bool {
        headers.contains { $0.name == header.name && $0.value == header.value }
    }

    /// The Kafka record on `topic` (`ingress`), keyed by subscription id, with ``header``.
    public func kafkaRecord(topic: String) -> KafkaRecord {
        KafkaRecord(topic: topic, key: subscriptionId, value: encoded(), headers: [Self.header])
    }

    /// What the ids of this event's records derive from (with the subscription id): the
    /// sender's delivery id and the event's index when there is one (a retried request keeps
    /// its ids), else the global request's position and the index (a re-run keeps them).
    public var idBasis: String {
        if let deliveryId { return "global:\(deliveryId):\(source.index)" }
        return "global:\(source.topic):\(source.partition):\(source.offset):\(source.index)"
    }
}
