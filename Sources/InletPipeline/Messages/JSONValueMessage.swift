import Foundation
import InletJSON

/// A message written and read through `JSONValue` (InletJSON's parser and writer) instead of
/// `JSONEncoder`/`JSONDecoder`, for the messages every webhook passes through (record and
/// normalized events): with `Codable`, every field of a record was boxed and tried type by type,
/// which took a third of a handler's and dispatcher's CPU time under load
/// (docs/benchmarks.md).
///
/// The bytes are exactly what ``MessageCodec``'s `JSONEncoder` writes for the same message
/// (keys sorted, slashes unescaped, timestamps RFC 3339 with milliseconds, non-finite numbers
/// as strings), and reading accepts everything the `Decodable` conformance accepts, with the
/// same field paths in errors. `MessageTests` compares both ways on every sample.
protocol JSONValueMessage {
    /// The message as the JSON document `MessageCodec.encode` writes.
    var messageValue: JSONValue { get }
    /// Reads the message from a parsed document.
    init(message fields: MessageFields) throws(MessageCodecError)
    /// Writes ``messageValue``'s bytes; messages written once per webhook write their
    /// members straight into the writer instead of building the tree first.
    func write(to writer: inout JSONWriter)
}

extension JSONValueMessage {
    func write(to writer: inout JSONWriter) {
        writer.write(messageValue)
    }
}

/// The members of one JSON object in a message being read, and where it sits in the message
/// (for errors such as `RecordEvent.source.offset: expected an integer`).
struct MessageFields {
    let messageType: String
    let path: String
    let members: [String: JSONValue]

    init(messageType: String, path: String = "", value: JSONValue) throws(MessageCodecError) {
        guard case .object(let members) = value else {
            throw MessageCodecError(messageType: messageType, fieldPath: path, reason: path.isEmpty ? "expected a JSON object" : "expected an object")
        }
        self.messageType = messageType
        self.path = path
        self.members = members
    }

    func error(_ key: String, _ reason: String) -> MessageCodecError {
        MessageCodecError(messageType: messageType, fieldPath: fieldPath(key), reason: reason)
    }

    func fieldPath(_ key: String) -> String {
        path.isEmpty ? key : path + "." + key
    }

    /// The member `key`, `nil` when it is missing or `null`.
    func optional(_ key: String) -> JSONValue? {
        switch members[key] {
        case nil, .null?: nil
        case let value?: value
        }
    }

    func required(_ key: String, expected: String) throws(MessageCodecError) -> JSONValue {
        switch members[key] {
        case nil: throw error(key, "required field is missing")
        case .null?: throw error(key, "expected \(expected), found null")
        case let value?: return value
        }
    }

    func string(_ key: String) throws(MessageCodecError) -> String {
        try string(key, in: required(key, expected: "a string"))
    }

    func optionalString(_ key: String) throws(MessageCodecError) -> String? {
        guard let value = optional(key) else { return nil }
        return try string(key, in: value)
    }

    private func string(_ key: String, in value: JSONValue) throws(MessageCodecError) -> String {
        guard case .string(let text) = value else { throw error(key, "expected a string") }
        return text
    }

    func integer(_ key: String) throws(MessageCodecError) -> Int64 {
        // The parser already reads 3.0 as an integer (as JSONDecoder did), never 3.5.
        guard case .integer(let number) = try required(key, expected: "an integer") else { throw error(key, "expected an integer") }
        return number
    }

    func int(_ key: String) throws(MessageCodecError) -> Int {
        Int(try integer(key))
    }

    func date(_ key: String) throws(MessageCodecError) -> Date {
        let text = try string(key)
        guard let date = RFC3339.date(from: text) else {
            throw error(key, "expected an RFC 3339 timestamp like \"2026-11-25T09:35:31.123Z\", found \"\(text)\"")
        }
        return date
    }

    func object(_ key: String) throws(MessageCodecError) -> MessageFields {
        try MessageFields(messageType: messageType, path: fieldPath(key), value: required(key, expected: "an object"))
    }

    func value<Raw: RawRepresentable>(_ key: String, as type: Raw.Type) throws(MessageCodecError) -> Raw where Raw.RawValue == String {
        let text = try string(key)
        guard let value = Raw(rawValue: text) else { throw error(key, "unknown value \"\(text)\"") }
        return value
    }

    func optionalValue<Raw: RawRepresentable>(_ key: String, as type: Raw.Type) throws(MessageCodecError) -> Raw? where Raw.RawValue == String {
        guard let text = try optionalString(key) else { return nil }
        guard let value = Raw(rawValue: text) else { throw error(key, "unknown value \"\(text)\"") }
        return value
    }
}

extension JSONValue {
    /// An object of the members that are not `nil` (optional fields are left out, as
    /// `JSONEncoder` leaves them out).
    static func message(_ members: [String: JSONValue?]) -> JSONValue {
        .object(members.compactMapValues { $0 })
    }
}
