import Foundation

/// What `subscribe` returned: the state to store on the subscription and when to call `refresh`.
public struct SubscribeResult: Sendable, Hashable {
    /// Saved on the subscription and passed to `handle`, `refresh`, `unsubscribe` and `pull`.
    public var state: JSONValue?
    /// Milliseconds since 1970 when `refresh` should run; `nil` for never.
    public var nextRefreshTimestamp: Int64?

    /// Creates a value from its parts.
    public init(state: JSONValue?, nextRefreshTimestamp: Int64?) {
        self.state = state
        self.nextRefreshTimestamp = nextRefreshTimestamp
    }
}

/// What `refresh` returned.
public struct RefreshResult: Sendable, Hashable {
    /// The new state; `nil` leaves the stored state unchanged.
    public var state: JSONValue?
    /// Milliseconds since 1970 of the next refresh; `nil` for no further refresh.
    public var nextRefreshTimestamp: Int64?

    /// Creates a value from its parts.
    public init(state: JSONValue?, nextRefreshTimestamp: Int64?) {
        self.state = state
        self.nextRefreshTimestamp = nextRefreshTimestamp
    }
}

/// One record event a method extracted (from a webhook, a routed payload or a pull).
public struct ExtractedEvent: Sendable, Hashable {
    /// `created`, `updated` or `deleted`; `nil` when the method did not say (the dispatcher
    /// decides from the event or collection).
    public var type: String?
    /// The record: an object with `id` (string or number) and usually `name`, `fields`, ...
    public var record: JSONValue

    /// Creates a value from its parts.
    public init(type: String?, record: JSONValue) {
        self.type = type
        self.record = record
    }
}

/// The HTTP answer a method asked for (`response: {status?, headers?, data?}` in its result).
///
/// `data` becomes the body: an object or array as JSON (`application/json`), a string as is
/// (`text/plain`), a number or boolean as its JSON text; a `Content-Type` in `headers` wins.
public struct WebhookResponse: Sendable, Hashable {
    /// HTTP status; 200 when the method gave none.
    public var status: Int
    /// Headers as the method gave them (case preserved; `Content-Type` is also in ``contentType``).
    public var headers: [String: String]
    /// The body bytes.
    public var body: Data
    /// The body's content type, `nil` when there is no body.
    public var contentType: String?

    /// Creates a value from its parts.
    public init(status: Int, headers: [String: String], body: Data, contentType: String?) {
        self.status = status
        self.headers = headers
        self.body = body
        self.contentType = contentType
    }

    /// Builds the response from a validated `response` value.
    init(response: JSONValue) {
        var headers: [String: String] = [:]
        for (name, value) in response["headers"]?.objectValue ?? [:] {
            headers[name] = value.stringValue ?? value.jsonText
        }
        let declared = headers.first { $0.key.lowercased() == "content-type" }?.value
        var body = Data()
        var contentType: String?
        switch response["data"] {
        case nil, .null?:
            contentType = declared
        case .string(let text)?:
            body = Data(text.utf8)
            contentType = declared ?? "text/plain; charset=utf-8"
        case let value?:
            body = value.serialized()
            contentType = declared ?? "application/json"
        }
        self.init(status: response["status"]?.integerValue.map { Int($0) } ?? 200, headers: headers, body: body, contentType: contentType)
    }
}

/// What `handle` (of a webhook event, a collection webhook event or a global-webhook event) returned.
public struct HandleResult: Sendable, Hashable {
    /// The record events, in order.
    public var events: [ExtractedEvent]
    /// The HTTP answer the external app should get; `nil` for the default (200, empty body).
    public var response: WebhookResponse?
    /// The new subscription state; `nil` leaves it unchanged.
    public var state: JSONValue?

    /// Creates a value from its parts.
    public init(events: [ExtractedEvent], response: WebhookResponse?, state: JSONValue?) {
        self.events = events
        self.response = response
        self.state = state
    }
}

/// What a global-webhook event's `getEventSelector` returned: where its payloads come from.
public struct EventSelector: Sendable, Hashable {
    /// The connector's global webhook (`global-webhooks/<key>/`).
    public var globalWebhookKey: String
    /// Payloads whose selector equals this string go to the subscription.
    public var selector: String

    /// Creates a value from its parts.
    public init(globalWebhookKey: String, selector: String) {
        self.globalWebhookKey = globalWebhookKey
        self.selector = selector
    }
}

/// What a global webhook's `handle` returned.
public struct GlobalHandleResult: Sendable, Hashable {
    /// One payload for the subscriptions whose selector equals `selector`.
    public struct GlobalEvent: Sendable, Hashable {
        /// Compared (exact string match) with each subscription's `globalWebhookEventSelector`.
        public var selector: String
        /// Passed to the matching subscriptions' event `handle` (or used as the record).
        public var payload: JSONValue

        /// Creates a value from its parts.
        public init(selector: String, payload: JSONValue) {
            self.selector = selector
            self.payload = payload
        }
    }

    /// The payloads to route, in order.
    public var events: [GlobalEvent]
    /// The HTTP answer the external app should get; `nil` for the default.
    public var response: WebhookResponse?

    /// Creates a value from its parts.
    public init(events: [GlobalEvent], response: WebhookResponse?) {
        self.events = events
        self.response = response
    }
}

/// What a custom pull's `pull` returned.
public struct PullResult: Sendable, Hashable {
    /// The record events since the previous pull.
    public var events: [ExtractedEvent]
    /// The state for the next pull.
    public var state: JSONValue?

    /// Creates a value from its parts.
    public init(events: [ExtractedEvent], state: JSONValue?) {
        self.events = events
        self.state = state
    }
}

/// One page of records from `list` or `pullLatestRecords`.
public struct RecordPage: Sendable, Hashable {
    /// The records of the page (`pullLatestRecords`: newest first).
    public var records: [JSONValue]
    /// Passed back as `cursor` for the next page; `nil` on the last page.
    public var cursor: String?

    /// Creates a value from its parts.
    public init(records: [JSONValue], cursor: String?) {
        self.records = records
        self.cursor = cursor
    }
}
