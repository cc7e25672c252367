import Foundation

/// One customer's subscription to one app event type (compacted topic
/// `app-event-subscriptions`, key `<customerId>/<appEventKey>`), for types with a
/// `subscriptionRequest`: your app was asked, once, to send that customer's events of the type
/// to the customer's own webhook URI (`<public URL>/app-events/<type>/<webhookToken>`).
///
/// Written only by the app-events processor that owns the customer's partition of
/// `ingress.app-events`, so the request runs once per customer however many events or API
/// calls arrive at once.
public struct AppEventSubscriptionRecord: TopicMessage {
    public enum Status: String, Codable, Sendable, Hashable {
        /// Your app answered the subscription request with a 2xx.
        case active
        /// The subscription request failed; `subscribe.error` says why. Creating the
        /// subscription again (`POST /api/v1/subscriptions`) tries again.
        case error
        /// Deleted; `unsubscribe` holds the unsubscribe request, if the type has one.
        case archived
    }

    /// A request made to your app's API, and its outcome.
    public struct Call: Codable, Sendable, Hashable {
        public var method: String
        /// The path under `INLET_APP_API_URL`.
        public var uri: String
        /// The HTTP status of the answer, when there was one.
        public var status: Int?
        /// The start of the answer's body (at most 2,000 characters).
        public var response: String?
        /// Why the call failed, when it did.
        public var error: String?
        public var at: Date

        public init(method: String, uri: String, status: Int? = nil, response: String? = nil, error: String? = nil, at: Date) {
            self.method = method
            self.uri = uri
            self.status = status
            self.response = response
            self.error = error
            self.at = at
        }

        public var succeeded: Bool { error == nil && (200..<300).contains(status ?? 0) }
    }

    /// Derived from customer and type (``id(customerId:appEventKey:)``).
    public var id: String
    public var customerId: String
    public var appEventKey: String
    /// The token of the customer's webhook URI for this type; empty once archived.
    public var webhookToken: String
    public var status: Status
    /// The subscription request, when the type has one.
    public var subscribe: Call?
    /// The unsubscribe request, when it ran.
    public var unsubscribe: Call?
    public var createdAt: Date
    public var updatedAt: Date
    /// The `requestId` of the control message (or event) that wrote this version, so the admin
    /// API that sent it knows its outcome.
    public var requestId: String?

    public init(
        customerId: String, appEventKey: String, webhookToken: String, status: Status, subscribe: Call? = nil, unsubscribe: Call? = nil,
        createdAt: Date, updatedAt: Date
    ) {
        self.id = Self.id(customerId: customerId, appEventKey: appEventKey)
        self.customerId = customerId
        self.appEventKey = appEventKey
        self.webhookToken = webhookToken
        self.status = status
        self.subscribe = subscribe
        self.unsubscribe = unsubscribe
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public static let topics = ["app-event-subscriptions"]
    public static let schemaFile = "app-event-subscription-record.schema.json"
    public var kafkaKey: String? { Self.key(customerId: customerId, appEventKey: appEventKey) }

    public static func key(customerId: String, appEventKey: String) -> String { "\(customerId)/\(appEventKey)" }

    /// `aes_` and a digest of customer and type: the same on every replica.
    public static func id(customerId: String, appEventKey: String) -> String {
        "aes_" + MessageDigest.id(["app-event-subscription", customerId, appEventKey])
    }
}
