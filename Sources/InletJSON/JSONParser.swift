/// Text that is not JSON: where (byte offset from the start) and what was wrong there.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var offset: Int
    public var reason: String

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// A single-pass RFC 8259 parser straight from UTF-8 bytes into `JSONValue`.
///
/// Foundation's `JSONDecoder` reaches `JSONValue` only through `Decodable`, which has no way
/// to ask what the next token is: every value was tried as each type in turn, and each failed
/// try built and threw an error. On the webhook path that was a fifth of the CPU time.
///
/// Strings must be valid UTF-8 without raw control characters; nesting is limited to
/// `maxDepth` levels so hostile input cannot exhaust the stack; duplicate keys keep the last
/// value.
enum JSONParser {
    static let maxDepth = 512

    static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        var parser = Cursor(bytes: bytes)
        // A UTF-8 byte order mark is allowed (and ignored) before the text, as Foundation did.
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { parser.index = 3 }
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("unexpected \(parser.describeCurrent()) after the value") }
        return value
    }

    /// An object member read, before its object is complete (a struct rather than a tuple:
    /// the array's code is then specialized instead of going through the runtime's generic
    /// tuple handling).
    private struct Member {
        let key: String
        let value: JSONValue
    }

    private struct Cursor {
        let bytes: UnsafeRawBufferPointer
        var index = 0
        /// The members of the objects being read, innermost last: an object's dictionary is
        /// made once with its final size, instead of growing (and rehashing) member by member.
        var pendingMembers: [Member] = []
        /// The same for the elements of the arrays being read.
        var pendingElements: [JSONValue] = []

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        func error(_ reason: String) -> JSONParseError { JSONParseError(offset: index, reason: reason) }

        func describeCurrent() -> String {
            guard index < bytes.count else { return "end of input" }
            let byte = bytes[index]
            if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
            return "byte 0x\(String(byte, radix: 16))"
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
            guard index < bytes.count else { throw error("expected a value, found end of input") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw error("expected a value, found \(describeCurrent())")
            }
        }

        mutating func literal(_ word: StaticString) throws(JSONParseError) {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { throw error("expected '\(word)'") }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
                throw error("expected '\(word)'")
            }
            index += count
        }

        mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
            guard depth <= JSONParser.maxDepth else { throw error("nested deeper than \(JSONParser.maxDepth) levels") }
            index += 1
            skipWhitespace()
            if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object([:])
            }
            let first = pendingMembers.count
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw error("expected a member name in quotes, found \(describeCurrent())")
                }
                let key = try string()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after a member name, found \(describeCurrent())") }
                index += 1
                skipWhitespace()
                let member = try value(depth: depth)
                pendingMembers.append(Member(key: key, value: member))
                skipWhitespace()
                guard index < bytes.count else { throw error("unterminated object") }
                switch bytes[index] {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"):
                    index += 1
                    var members = [String: JSONValue](minimumCapacity: pendingMembers.count - first)
                    // In order: a repeated key keeps its last value.
                    for position in first..<pendingMembers.count { members[pendingMembers[position].key] = pendingMembers[position].value }
                    pendingMembers.removeSubrange(first...)
                    return .object(members)
                default: throw error("expected ',' or '}' in an object, found \(describeCurrent())")
                }
            }
        }

        mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
            guard depth <= JSONParser.maxDepth else { throw error("nested deeper than \(JSONParser.maxDepth) levels") }
            index += 1
            skipWhitespace()
            if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array([])
            }
            let first = pendingElements.count
            while true {
                skipWhitespace()
                let element = try value(depth: depth)
                pendingElements.append(element)
                skipWhitespace()
                guard index < bytes.count else { throw error("unterminated array") }
                switch bytes[index] {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"):
                    index += 1
                    // Copied at its own size: `Array(slice)` of the whole stack would take the
                    // stack's buffer, at its largest capacity, for every such array.
                    var elements: [JSONValue] = []
                    elements.reserveCapacity(pendingElements.count - first)
                    elements.append(contentsOf: pendingElements[first...])
                    pendingElements.removeSubrange(first...)
                    return .array(elements)
                default: throw error("expected ',' or ']' in an array, found \(describeCurrent())")
                }
            }
        }

        /// A string starting at the opening quote; the common case (no escapes) is one scan
        /// and one validated copy.
        mutating func string() throws(JSONParseError) -> String {
            let start = index + 1
            var end = start
            var ascii = true
            while end < bytes.count {
                let byte = bytes[end]
                if byte == UInt8(ascii: "\"") {
                    index = end + 1
                    // ASCII is valid UTF-8 as it is: skip validation (most keys and values).
                    if ascii { return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self) }
                    return try text(start..<end)
                }
                if byte >= 0x80 { ascii = false }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 {
                    index = end
                    throw error("a raw control character (0x\(String(byte, radix: 16))) in a string; escape it")
                }
                end += 1
            }
            guard end < bytes.count else {
                index = start - 1
                throw error("unterminated string")
            }
            // Escapes: collect bytes, decoding each escape.
            var buffer = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            index = end
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    guard let decoded = String(validating: buffer, as: UTF8.self) else { throw error("a string is not valid UTF-8") }
                    return decoded
                case UInt8(ascii: "\\"):
                    index += 1
                    guard index < bytes.count else { break }
                    let escaped = bytes[index]
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(escaped)
                    case UInt8(ascii: "b"): buffer.append(0x08)
                    case UInt8(ascii: "f"): buffer.append(0x0C)
                    case UInt8(ascii: "n"): buffer.append(0x0A)
                    case UInt8(ascii: "r"): buffer.append(0x0D)
                    case UInt8(ascii: "t"): buffer.append(0x09)
                    case UInt8(ascii: "u"): buffer.append(contentsOf: String(try unicodeEscape()).utf8)
                    default:
                        index -= 1
                        throw error("unknown escape '\\\(Character(Unicode.Scalar(escaped)))' in a string")
                    }
                default:
                    if byte < 0x20 { throw error("a raw control character (0x\(String(byte, radix: 16))) in a string; escape it") }
                    buffer.append(byte)
                    index += 1
                }
            }
            throw error("unterminated string")
        }

        /// After `\u`: four hex digits, and a second escape for a surrogate pair. A lone
        /// surrogate (valid JSON grammar, but no Unicode scalar) becomes U+FFFD, as decoding
        /// UTF-16 or JavaScript's `TextEncoder` would make it.
        mutating func unicodeEscape() throws(JSONParseError) -> Character {
            let first = try hex4()
            if (0xD800..<0xDC00).contains(first) {
                let resume = index
                if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                    index += 2
                    let second = try hex4()
                    if (0xDC00..<0xE000).contains(second) {
                        return Character(Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))!)
                    }
                }
                // Not a pair: the next escape, if any, is read on its own.
                index = resume
                return "\u{FFFD}"
            }
            return Character(Unicode.Scalar(first) ?? "\u{FFFD}")
        }

        mutating func hex4() throws(JSONParseError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw error("\\u needs four hex digits") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw error("\\u needs four hex digits")
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }

        func text(_ range: Range<Int>) throws(JSONParseError) -> String {
            guard let decoded = String(validating: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self) else {
                throw JSONParseError(offset: range.lowerBound, reason: "a string is not valid UTF-8")
            }
            return decoded
        }

        /// RFC 8259 number grammar; an integer that fits `Int64` stays exact.
        mutating func number() throws(JSONParseError) -> JSONValue {
            let start = index
            var isInteger = true
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("a '-' must be followed by digits") }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
                if index < bytes.count && isDigit(bytes[index]) { throw error("a number cannot have leading zeros") }
            } else {
                while index < bytes.count && isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
                isInteger = false
                index += 1
                guard index < bytes.count, isDigit(bytes[index]) else { throw error("a '.' in a number must be followed by digits") }
                while index < bytes.count && isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
                isInteger = false
                index += 1
                if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
                guard index < bytes.count, isDigit(bytes[index]) else { throw error("an exponent must have digits") }
                while index < bytes.count && isDigit(bytes[index]) { index += 1 }
            }
            if isInteger, let integer = integer(start..<index) { return .integer(integer) }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            guard let double = Double(text), double.isFinite else { throw JSONParseError(offset: start, reason: "the number \(text) is out of range") }
            // `1.0` and `1e2` are integers, as they were when JSONDecoder read them as Int64.
            if !isInteger, let integer = Int64(exactly: double) { return .integer(integer) }
            return .number(double)
        }

        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

        /// An integer's digits (with an optional `-`, checked by `number()`) as `Int64`, `nil`
        /// when it does not fit; counted negative so `Int64.min` fits too.
        func integer(_ range: Range<Int>) -> Int64? {
            var position = range.lowerBound
            let negative = bytes[position] == UInt8(ascii: "-")
            if negative { position += 1 }
            var value: Int64 = 0
            while position < range.upperBound {
                let (shifted, overflowShift) = value.multipliedReportingOverflow(by: 10)
                let (next, overflowAdd) = shifted.subtractingReportingOverflow(Int64(bytes[position] - UInt8(ascii: "0")))
                if overflowShift || overflowAdd { return nil }
                value = next
                position += 1
            }
            if negative { return value }
            return value == .min ? nil : -value
        }
    }
}
