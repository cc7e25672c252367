import Foundation

/// What a method must return, per the seeds, and the check that its result does.
///
/// | method | result |
/// | --- | --- |
/// | `handle` (events) | `{events: [{type?, record}], response?: {status?, headers?, data?}, state?}` |
/// | `handle` (global webhook) | `{events: [{selector, payload}], response?}` |
/// | `subscribe` (webhook) | `{state?, nextRefreshTimestamp?}` or nothing |
/// | `subscribe` (custom pull) | `{state}`, or the state object itself (the seed's own example) |
/// | `refresh` | `{state?, nextRefreshTimestamp?}` or nothing |
/// | `getEventSelector` | `{globalWebhookKey, globalWebhookEventSelector}`, both strings |
/// | `pull` | `{events: [{type?, record}], state}` |
/// | `pullLatestRecords`, `list` | `{records: [record], cursor?}` |
/// | `make-api-client` | `{baseUri?, headers?, query?, auth?: {username, password}, allowedHosts?}` |
/// | `refresh-credentials` | the new credentials (an object) |
///
/// A record is an object whose `id` is a non-empty string or a number; an event `type` is
/// `created`, `updated` or `deleted`. Any other method's result is not checked. A violation is a
/// ``ConnectorMethodError`` with code `malformed-result`, naming the file and the JSON pointer
/// of the offending value (`details: {pointer}`).
public enum MethodResultContract: String, Sendable, Hashable, CaseIterable {
    /// A webhook, collection-webhook or global-webhook event's `handle`.
    case handle
    /// A global webhook's `handle`.
    case globalWebhookHandle
    /// A webhook `subscribe`.
    case subscribe
    /// A custom pull's `subscribe`.
    case customPullSubscribe
    /// `refresh`.
    case refresh
    /// `getEventSelector`.
    case getEventSelector
    /// A custom pull's `pull`.
    case pull
    /// `pullLatestRecords` and `list`.
    case recordPage
    /// `auth/make-api-client`.
    case makeAPIClient
    /// `auth/refresh-credentials`.
    case refreshCredentials
    /// Not checked (`unsubscribe`, collection methods other than `list`, ...).
    case unchecked

    /// The contract of method `name` of `owner` in `connector`.
    public static func of(method name: String, owner: MethodOwner, in connector: Connector?) -> MethodResultContract {
        switch (name, owner) {
        case ("handle", .globalWebhook): .globalWebhookHandle
        case ("handle", _): .handle
        case ("subscribe", .collectionEvent(let key, let type)):
            connector?.dataCollections[key]?.events[type]?.implementationType == .customPull ? .customPullSubscribe : .subscribe
        case ("subscribe", _): .subscribe
        case ("refresh", _): .refresh
        case ("getEventSelector", _): .getEventSelector
        case ("pull", _): .pull
        case ("pullLatestRecords", _), ("list", .collection): .recordPage
        case ("make-api-client", .auth): .makeAPIClient
        case ("refresh-credentials", .auth): .refreshCredentials
        default: .unchecked
        }
    }

    /// Checks `result` and returns it normalised (a custom pull's bare state wrapped as
    /// `{state}`, nothing turned into `{}` where nothing is allowed).
    ///
    /// - Throws: ``ConnectorMethodError`` `malformed-result` naming `file` and the pointer.
    public func validate(_ result: JSONValue, file: String) throws(ConnectorMethodError) -> JSONValue {
        let check = ResultCheck(file: file, contract: self)
        switch self {
        case .unchecked:
            return result
        case .handle:
            let object = try check.object(result, "", expected: "{events: [{type?, record}], response?, state?}")
            try check.keys(object, "", allowed: ["events", "response", "state"])
            try check.recordEvents(object["events"], "/events")
            try check.response(object["response"], "/response")
            try check.state(object["state"], "/state", required: false)
            return result
        case .globalWebhookHandle:
            let object = try check.object(result, "", expected: "{events: [{selector, payload}], response?}")
            try check.keys(object, "", allowed: ["events", "response"])
            let events = try check.array(object["events"], "/events", expected: "a list of {selector, payload}")
            for (index, event) in events.enumerated() {
                let pointer = "/events/\(index)"
                let members = try check.object(event, pointer, expected: "{selector, payload}")
                _ = try check.string(members["selector"], pointer + "/selector", expected: "the selector string subscriptions are matched by")
                if members["payload"] == nil { throw check.violation(pointer + "/payload", "is missing, expected the payload to route") }
            }
            try check.response(object["response"], "/response")
            return result
        case .subscribe, .refresh:
            if result.isNull { return .object([:]) }
            let object = try check.object(result, "", expected: "{state?, nextRefreshTimestamp?}")
            try check.keys(object, "", allowed: ["state", "nextRefreshTimestamp"],
                           hint: "; return the state wrapped as {state: {...}}")
            try check.state(object["state"], "/state", required: false)
            try check.timestamp(object["nextRefreshTimestamp"], "/nextRefreshTimestamp")
            return result
        case .customPullSubscribe:
            let object = try check.object(result, "", expected: "{state} or the state object")
            if object.keys.contains("state") {
                try check.keys(object, "", allowed: ["state"])
                try check.state(object["state"], "/state", required: true)
                return result
            }
            return .object(["state": result])
        case .getEventSelector:
            let object = try check.object(result, "", expected: "{globalWebhookKey, globalWebhookEventSelector}")
            _ = try check.string(object["globalWebhookKey"], "/globalWebhookKey", expected: "the key of one of the connector's global webhooks")
            _ = try check.string(object["globalWebhookEventSelector"], "/globalWebhookEventSelector", expected: "the selector string payloads are matched by")
            return result
        case .pull:
            let object = try check.object(result, "", expected: "{events: [{type?, record}], state}")
            try check.keys(object, "", allowed: ["events", "state"])
            try check.recordEvents(object["events"], "/events")
            try check.state(object["state"], "/state", required: true)
            return result
        case .recordPage:
            let object = try check.object(result, "", expected: "{records: [...], cursor?}")
            try check.keys(object, "", allowed: ["records", "cursor"])
            let records = try check.array(object["records"], "/records", expected: "a list of records")
            for (index, record) in records.enumerated() { try check.record(record, "/records/\(index)") }
            if let cursor = object["cursor"], !cursor.isNull, cursor.stringValue == nil, cursor.integerValue == nil {
                throw check.violation("/cursor", "is \(ResultCheck.describe(cursor)), expected a string (or nothing on the last page)")
            }
            return result
        case .makeAPIClient:
            let object = try check.object(result, "", expected: "{baseUri, headers, query, auth}")
            try check.keys(object, "", allowed: ["baseUri", "headers", "query", "auth", "allowedHosts", "responseHandlers"])
            if let base = object["baseUri"], !base.isNull {
                let text = try check.string(base, "/baseUri", expected: "an absolute http(s) URI such as https://api.github.com")
                guard let scheme = URLComponents(string: text)?.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
                    throw check.violation("/baseUri", "'\(HTTPAPIClient.redacted(text))' is not an absolute http(s) URI, expected e.g. https://api.github.com")
                }
            }
            for key in ["headers", "query"] {
                guard let value = object[key], !value.isNull else { continue }
                let members = try check.object(value, "/\(key)", expected: "an object of strings")
                for (name, member) in members where !member.isNull && member.stringValue == nil && member.doubleValue == nil && member.boolValue == nil {
                    throw check.violation("/\(key)/\(ResultCheck.escape(name))", "is \(ResultCheck.describe(member)), expected a string")
                }
            }
            if let auth = object["auth"], !auth.isNull {
                let members = try check.object(auth, "/auth", expected: "{username, password}")
                _ = try check.string(members["username"], "/auth/username", expected: "the basic-auth user name")
                _ = try check.string(members["password"] ?? .string(""), "/auth/password", expected: "the basic-auth password")
            }
            if let hosts = object["allowedHosts"], !hosts.isNull {
                for (index, host) in try check.array(hosts, "/allowedHosts", expected: "a list of host names").enumerated() {
                    _ = try check.string(host, "/allowedHosts/\(index)", expected: "a host name such as api.github.com")
                }
            }
            return result
        case .refreshCredentials:
            _ = try check.object(result, "", expected: "the refreshed credentials, e.g. {access_token, refresh_token}")
            return result
        }
    }

    /// The method's result as prose, for messages.
    var methodDescription: String {
        switch self {
        case .handle: "handle"
        case .globalWebhookHandle: "global webhook handle"
        case .subscribe: "subscribe"
        case .customPullSubscribe: "custom-pull subscribe"
        case .refresh: "refresh"
        case .getEventSelector: "getEventSelector"
        case .pull: "pull"
        case .recordPage: "records page"
        case .makeAPIClient: "make-api-client"
        case .refreshCredentials: "refresh-credentials"
        case .unchecked: "method"
        }
    }
}

// MARK: - Checks

/// The checks behind ``MethodResultContract/validate(_:file:)``; each throws the first violation.
private struct ResultCheck {
    let file: String
    let contract: MethodResultContract

    static let eventTypes = DataCollection.EventType.allCases.map(\.rawValue)

    func violation(_ pointer: String, _ text: String) -> ConnectorMethodError {
        let location = pointer.isEmpty ? "the result" : "result at \(pointer)"
        return ConnectorMethodError(
            code: ConnectorMethodError.malformedResult,
            message: ConnectorMethodError.located(file, line: nil, "\(contract.methodDescription) returned a malformed result: \(location) \(text)"),
            file: file, details: .object(["pointer": .string(pointer)]))
    }

    func object(_ value: JSONValue?, _ pointer: String, expected: String) throws(ConnectorMethodError) -> [String: JSONValue] {
        guard let value else { throw violation(pointer, "is missing, expected \(expected)") }
        guard let members = value.objectValue else { throw violation(pointer, "is \(Self.describe(value)), expected \(expected)") }
        return members
    }

    func array(_ value: JSONValue?, _ pointer: String, expected: String) throws(ConnectorMethodError) -> [JSONValue] {
        guard let value else { throw violation(pointer, "is missing, expected \(expected)") }
        guard let items = value.arrayValue else { throw violation(pointer, "is \(Self.describe(value)), expected \(expected)") }
        return items
    }

    func string(_ value: JSONValue?, _ pointer: String, expected: String) throws(ConnectorMethodError) -> String {
        guard let value else { throw violation(pointer, "is missing, expected \(expected)") }
        guard let text = value.stringValue else { throw violation(pointer, "is \(Self.describe(value)), expected \(expected)") }
        return text
    }

    func keys(_ object: [String: JSONValue], _ pointer: String, allowed: [String], hint: String = "") throws(ConnectorMethodError) {
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw violation(pointer + "/" + Self.escape(unknown), "is not part of the result, expected only \(allowed.joined(separator: ", "))\(hint)")
        }
    }

    func recordEvents(_ value: JSONValue?, _ pointer: String) throws(ConnectorMethodError) {
        let events = try array(value, pointer, expected: "a list of {type?, record}")
        for (index, event) in events.enumerated() {
            let eventPointer = "\(pointer)/\(index)"
            let members = try object(event, eventPointer, expected: "{type?, record}")
            try keys(members, eventPointer, allowed: ["type", "record"])
            if let type = members["type"], !type.isNull {
                guard let name = type.stringValue, Self.eventTypes.contains(name) else {
                    throw violation(eventPointer + "/type", "is \(Self.describe(type)), expected created, updated or deleted")
                }
            }
            try record(members["record"], eventPointer + "/record")
        }
    }

    func record(_ value: JSONValue?, _ pointer: String) throws(ConnectorMethodError) {
        let members = try object(value, pointer, expected: "a record object with an id")
        switch members["id"] {
        case .string(let id)? where !id.isEmpty: return
        case .integer?, .number?: return
        case nil: throw violation(pointer + "/id", "is missing, expected the record's id (a string or number)")
        case let other?: throw violation(pointer + "/id", "is \(Self.describe(other)), expected a non-empty string or a number")
        }
    }

    func response(_ value: JSONValue?, _ pointer: String) throws(ConnectorMethodError) {
        guard let value, !value.isNull else { return }
        let members = try object(value, pointer, expected: "{status?, headers?, data?}")
        try keys(members, pointer, allowed: ["status", "headers", "data"])
        if let status = members["status"], !status.isNull {
            guard let code = status.integerValue, (100...599).contains(code) else {
                throw violation(pointer + "/status", "is \(Self.describe(status)), expected an HTTP status between 100 and 599")
            }
        }
        if let headers = members["headers"], !headers.isNull {
            for (name, header) in try object(headers, pointer + "/headers", expected: "an object of strings") where header.stringValue == nil && header.doubleValue == nil {
                throw violation(pointer + "/headers/" + Self.escape(name), "is \(Self.describe(header)), expected a string")
            }
        }
    }

    func state(_ value: JSONValue?, _ pointer: String, required: Bool) throws(ConnectorMethodError) {
        guard let value else {
            if required { throw violation(pointer, "is missing, expected the state object for the next call") }
            return
        }
        if value.isNull || value.objectValue != nil { return }
        throw violation(pointer, "is \(Self.describe(value)), expected an object")
    }

    func timestamp(_ value: JSONValue?, _ pointer: String) throws(ConnectorMethodError) {
        guard let value, !value.isNull else { return }
        guard let number = value.doubleValue, number >= 0, number < 1e15 else {
            throw violation(pointer, "is \(Self.describe(value)), expected milliseconds since 1970 (e.g. Date.now() + 3600000)")
        }
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let b): "the boolean \(b)"
        case .integer, .number: "the number \(value.jsonText)"
        case .string(let s): "the string \"\(s.count > 40 ? s.prefix(40) + "…" : s)\""
        case .array(let a): "a list of \(a.count)"
        case .object: "an object"
        }
    }

    /// RFC 6901 escaping of one pointer segment.
    static func escape(_ segment: String) -> String {
        segment.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}
