import InletJSON
/// What a subscription listens to: a connector event, one change type of a connector data
/// collection, or one of your app's app event types.
///
/// JSON (a tagged object; `kind` picks the case):
/// ```json
/// {"kind": "event", "eventKey": "issue-created"}
/// {"kind": "collection", "collectionKey": "issues", "collectionEvent": "updated"}
/// {"kind": "app-event", "appEventKey": "order-placed"}
/// ```
public enum SubscriptionTarget: Codable, Sendable, Hashable {
    /// A connector event (`connectors/<connector>/events/<eventKey>/`).
    case event(eventKey: String)
    /// One change type of a data collection (`connectors/<connector>/data/<collectionKey>/`).
    case collection(collectionKey: String, collectionEvent: RecordChangeType)
    /// An app event type of your own app (`app-events/<appEventKey>.yml`).
    case appEvent(appEventKey: String)

    /// The `kind` discriminator values.
    public enum Kind: String, Codable, Sendable, Hashable, CaseIterable {
        case event
        case collection
        case appEvent = "app-event"
    }

    public var kind: Kind {
        switch self {
        case .event: .event
        case .collection: .collection
        case .appEvent: .appEvent
        }
    }

    /// The event key for `.event`, otherwise `nil`.
    public var eventKey: String? {
        if case .event(let key) = self { return key }
        return nil
    }

    /// The collection key for `.collection`, otherwise `nil`.
    public var collectionKey: String? {
        if case .collection(let key, _) = self { return key }
        return nil
    }

    /// The change type for `.collection`, otherwise `nil`.
    public var collectionEvent: RecordChangeType? {
        if case .collection(_, let event) = self { return event }
        return nil
    }

    /// The app event type key for `.appEvent`, otherwise `nil`.
    public var appEventKey: String? {
        if case .appEvent(let key) = self { return key }
        return nil
    }

    /// `eventKey`, `collectionKey` or `appEventKey`: the middle part of a normalized event's
    /// CloudEvents `type`.
    public var key: String {
        switch self {
        case .event(let key), .collection(let key, _), .appEvent(let key): key
        }
    }

    private enum CodingKeys: String, CodingKey {
        case kind, eventKey, collectionKey, collectionEvent, appEventKey
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kindText = try container.decode(String.self, forKey: .kind)
        guard let kind = Kind(rawValue: kindText) else {
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: container,
                debugDescription: "unknown target kind \"\(kindText)\" (expected event, collection or app-event)")
        }
        switch kind {
        case .event:
            self = .event(eventKey: try container.decode(String.self, forKey: .eventKey))
        case .collection:
            self = .collection(
                collectionKey: try container.decode(String.self, forKey: .collectionKey),
                collectionEvent: try container.decode(RecordChangeType.self, forKey: .collectionEvent))
        case .appEvent:
            self = .appEvent(appEventKey: try container.decode(String.self, forKey: .appEventKey))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        switch self {
        case .event(let eventKey):
            try container.encode(eventKey, forKey: .eventKey)
        case .collection(let collectionKey, let collectionEvent):
            try container.encode(collectionKey, forKey: .collectionKey)
            try container.encode(collectionEvent, forKey: .collectionEvent)
        case .appEvent(let appEventKey):
            try container.encode(appEventKey, forKey: .appEventKey)
        }
    }
}

extension SubscriptionTarget: JSONValueMessage {
    var messageValue: JSONValue {
        switch self {
        case .event(let eventKey): .object(["kind": .string(Kind.event.rawValue), "eventKey": .string(eventKey)])
        case .collection(let collectionKey, let collectionEvent):
            .object(["kind": .string(Kind.collection.rawValue), "collectionKey": .string(collectionKey), "collectionEvent": .string(collectionEvent.rawValue)])
        case .appEvent(let appEventKey): .object(["kind": .string(Kind.appEvent.rawValue), "appEventKey": .string(appEventKey)])
        }
    }

    /// ``messageValue``'s members, keys in the order they are written.
    func writeMembers(_ members: inout JSONObjectMembers) {
        switch self {
        case .event(let eventKey):
            members.string("eventKey", eventKey)
            members.string("kind", Kind.event.rawValue)
        case .collection(let collectionKey, let collectionEvent):
            members.string("collectionEvent", collectionEvent.rawValue)
            members.string("collectionKey", collectionKey)
            members.string("kind", Kind.collection.rawValue)
        case .appEvent(let appEventKey):
            members.string("appEventKey", appEventKey)
            members.string("kind", Kind.appEvent.rawValue)
        }
    }

    init(message fields: MessageFields) throws(MessageCodecError) {
        let kindText = try fields.string("kind")
        guard let kind = Kind(rawValue: kindText) else {
            throw fields.error("kind", "unknown target kind \"\(kindText)\" (expected event, collection or app-event)")
        }
        switch kind {
        case .event: self = .event(eventKey: try fields.string("eventKey"))
        case .collection:
            self = .collection(collectionKey: try fields.string("collectionKey"), collectionEvent: try fields.value("collectionEvent", as: RecordChangeType.self))
        case .appEvent: self = .appEvent(appEventKey: try fields.string("appEventKey"))
        }
    }
}
