import Foundation

// JSON helpers the schema code needs: JSON Pointer handling, JSON Schema's numeric equality and
// human-readable type names. Kept internal so they do not widen JSONValue's public surface.

extension JSONValue {
    /// The JSON Schema type name of the value (`integer` for numbers without a fractional part).
    var schemaTypeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .integer: return "integer"
        case .number(let d): return d.isFinite && d.rounded() == d ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// The value with every integral `Double` turned into `.integer` (and `-0.0` into `0`), so that the
    /// synthesised `Hashable`/`Equatable` of `JSONValue` match JSON Schema equality (`1 == 1.0`).
    var schemaNormalized: JSONValue {
        switch self {
        case .number(let d):
            if d.rounded() == d, abs(d) < 9.2e18 { return .integer(Int64(d)) }
            return self
        case .array(let a): return .array(a.map(\.schemaNormalized))
        case .object(let o): return .object(o.mapValues(\.schemaNormalized))
        default: return self
        }
    }

    /// JSON Schema equality: numbers compare by mathematical value, arrays in order, objects by member set.
    func schemaEquals(_ other: JSONValue) -> Bool {
        switch (self, other) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.integer, .number), (.number, .integer), (.number, .number):
            if case .integer(let a) = self, case .number(let b) = other { return b.rounded() == b && abs(b) < 9.2e18 && Int64(b) == a }
            if case .number(let a) = self, case .integer(let b) = other { return a.rounded() == a && abs(a) < 9.2e18 && Int64(a) == b }
            return doubleValue == other.doubleValue
        case (.string(let a), .string(let b)):
            // Code-point equality: Swift's `==` would equate canonically equivalent strings.
            return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.schemaEquals($1) }
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for (k, v) in a {
                guard let w = b[k], v.schemaEquals(w) else { return false }
            }
            return true
        default: return false
        }
    }

    /// The value at a JSON Pointer (`""` is the value itself), or `nil` when the pointer does not resolve.
    func schemaValue(atPointer pointer: String) -> JSONValue? {
        if pointer.isEmpty { return self }
        guard pointer.hasPrefix("/") else { return nil }
        var current = self
        for raw in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let token = SchemaPointer.unescape(String(raw))
            switch current {
            case .object(let o):
                guard let next = o[token] else { return nil }
                current = next
            case .array(let a):
                guard let i = Int(token), String(i) == token, a.indices.contains(i) else { return nil }
                current = a[i]
            default:
                return nil
            }
        }
        return current
    }

    /// Short JSON text for messages, truncated when long.
    var schemaSnippet: String {
        let text = jsonText
        return text.count > 60 ? String(text.prefix(57)) + "..." : text
    }
}

/// JSON Pointer (RFC 6901) token escaping.
enum SchemaPointer {
    static func escape(_ token: String) -> String {
        guard token.contains("~") || token.contains("/") else { return token }
        return token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    static func unescape(_ token: String) -> String {
        guard token.contains("~") else { return token }
        return token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
    }

    static func append(_ pointer: String, _ token: String) -> String { pointer + "/" + escape(token) }
}

/// A persistent path (instance path or keyword location) built while validating and rendered as a
/// JSON Pointer only when an error is reported.
indirect enum SchemaPath: Sendable {
    case root
    case key(SchemaPath, String)
    case index(SchemaPath, Int)

    func appending(_ key: String) -> SchemaPath { .key(self, key) }
    func appending(_ index: Int) -> SchemaPath { .index(self, index) }

    var pointer: String {
        var tokens: [String] = []
        var current = self
        while true {
            switch current {
            case .root:
                return tokens.reversed().map { "/" + $0 }.joined()
            case .key(let parent, let k):
                tokens.append(SchemaPointer.escape(k))
                current = parent
            case .index(let parent, let i):
                tokens.append(String(i))
                current = parent
            }
        }
    }
}
