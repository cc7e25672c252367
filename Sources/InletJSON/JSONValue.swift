import Foundation

/// A JSON document: the one JSON type used across Inlet (method arguments and results,
/// records, schemas, message payloads).
///
/// Numbers keep the distinction between integers and other numbers so that `1` round-trips
/// as `1` and JSON Schema's `integer` can be checked exactly.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}

// MARK: - Accessors

extension JSONValue {
    /// The member `key` of an object, or `nil` for anything else.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The element at `index` of an array, or `nil` when out of range or not an array.
    public subscript(index: Int) -> JSONValue? {
        if case .array(let elements) = self, elements.indices.contains(index) { return elements[index] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The value as a `Double` for both integer and non-integer numbers.
    public var doubleValue: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        default: return nil
        }
    }

    /// The value as an `Int64` when it is an integer (or a double with no fractional part).
    public var integerValue: Int64? {
        switch self {
        case .integer(let i): return i
        case .number(let d) where d.rounded() == d && abs(d) < 9.2e18: return Int64(d)
        default: return nil
        }
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

// MARK: - Literals

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

// MARK: - Codable

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        // Decodable cannot ask which token comes next, so each kind is tried in turn and a
        // failed try costs a thrown error: the most frequent kinds (strings, objects) first.
        // Documents parsed whole go through `init(parsing:)`, which has no such cost.
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let o = try? container.decode([String: JSONValue].self) {
            self = .object(o)
        } else if let a = try? container.decode([JSONValue].self) {
            self = .array(a)
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? container.decode(Int64.self) {
            self = .integer(i)
        } else if let d = try? container.decode(Double.self) {
            self = .number(d)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .integer(let i): try container.encode(i)
        case .number(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}

// MARK: - Parsing and serialising

extension JSONValue {
    /// Parses UTF-8 JSON text (RFC 8259). Fragments (a bare string or number) are accepted;
    /// integers that fit `Int64` become `.integer`, other numbers `.number`.
    ///
    /// - Throws: `JSONParseError` naming the byte offset and what was wrong there.
    public init(parsing data: Data) throws {
        self = try data.withUnsafeBytes { try JSONParser.parse(UnsafeRawBufferPointer($0)) }
    }

    /// Parses UTF-8 JSON text in memory someone else owns (e.g. a C library's buffer).
    public init(parsingUTF8 bytes: UnsafeRawBufferPointer) throws(JSONParseError) {
        self = try JSONParser.parse(bytes)
    }

    /// Parses JSON text.
    public init(parsing text: String) throws {
        var text = text
        self = try text.withUTF8 { try JSONParser.parse(UnsafeRawBufferPointer($0)) }
    }

    /// Compact JSON text with sorted keys, so equal values serialise to equal bytes.
    /// Slashes are not escaped; numbers JSON cannot represent (NaN, infinities) become `null`.
    public func serialized(pretty: Bool = false) -> Data {
        if pretty {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            // Encoding a JSONValue cannot fail: every case maps to a JSON token.
            return (try? encoder.encode(self)) ?? Data("null".utf8)
        }
        var writer = JSONWriter()
        writer.write(self)
        return Data(writer.bytes)
    }

    /// `serialized()` as a String.
    public var jsonText: String {
        var writer = JSONWriter()
        writer.write(self)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
