import CJavaScriptCore
import Foundation

/// Conversions between JavaScriptCore values and Swift values (`String`, `JSONValue`, bytes).
///
/// Every function takes the context it works in and must be called on that context's thread.
/// JSON crosses the boundary as text: JavaScriptCore's own `JSON.parse` / `JSON.stringify`
/// are much faster than walking objects property by property through the C API.
enum ScriptValueBridge {
    // MARK: - Strings

    /// A new JavaScriptCore string (release it with `JSStringRelease`). Built from UTF-16,
    /// not a C string, so text containing NUL characters survives.
    static func makeString(_ string: String) -> JSStringRef {
        var utf16 = Array(string.utf16)
        if utf16.isEmpty { utf16.append(0); return JSStringCreateWithCharacters(utf16, 0) }
        return JSStringCreateWithCharacters(utf16, utf16.count)
    }

    static func string(_ jsString: JSStringRef) -> String {
        let length = JSStringGetLength(jsString)
        guard let characters = JSStringGetCharactersPtr(jsString) else { return "" }
        return String(utf16CodeUnits: characters, count: length)
    }

    static func makeValue(_ ctx: JSContextRef, _ string: String) -> JSValueRef {
        let jsString = makeString(string)
        defer { JSStringRelease(jsString) }
        return JSValueMakeString(ctx, jsString)
    }

    /// `String(value)` as JavaScript would compute it; `nil` when that throws.
    static func toString(_ ctx: JSContextRef, _ value: JSValueRef?) -> String? {
        guard let value else { return nil }
        guard let jsString = JSValueToStringCopy(ctx, value, nil) else { return nil }
        defer { JSStringRelease(jsString) }
        return string(jsString)
    }

    static func property(_ ctx: JSContextRef, _ object: JSObjectRef, _ name: String) -> JSValueRef? {
        let jsName = makeString(name)
        defer { JSStringRelease(jsName) }
        return JSObjectGetProperty(ctx, object, jsName, nil)
    }

    static func setProperty(_ ctx: JSContextRef, _ object: JSObjectRef, _ name: String, _ value: JSValueRef?, attributes: JSPropertyAttributes = JSPropertyAttributes(kJSPropertyAttributeNone)) {
        let jsName = makeString(name)
        defer { JSStringRelease(jsName) }
        JSObjectSetProperty(ctx, object, jsName, value, attributes, nil)
    }

    static func isUndefinedOrNull(_ ctx: JSContextRef, _ value: JSValueRef?) -> Bool {
        guard let value else { return true }
        return JSValueIsUndefined(ctx, value) || JSValueIsNull(ctx, value)
    }

    // MARK: - JSON

    /// `value` as JSON; `undefined` (and functions, symbols) become `.null`.
    ///
    /// - Throws: the JavaScript exception `JSON.stringify` raised (a cycle, a BigInt, a
    ///   throwing `toJSON`), as a `JSValueRef` wrapped in `ThrownValue`.
    static func json(_ ctx: JSContextRef, _ value: JSValueRef?) throws(ThrownValue) -> JSONValue {
        guard let value, !JSValueIsUndefined(ctx, value) else { return .null }
        var exception: JSValueRef?
        guard let text = JSValueCreateJSONString(ctx, value, 0, &exception) else {
            if let exception { throw ThrownValue(value: exception) }
            return .null
        }
        defer { JSStringRelease(text) }
        let length = JSStringGetLength(text)
        guard let characters = JSStringGetCharactersPtr(text) else { return .null }
        var parser = JSONTextParser(UnsafeBufferPointer(start: characters, count: length))
        return parser.parse()
    }

    /// A fresh JavaScript value equal to `json`.
    static func makeValue(_ ctx: JSContextRef, json: JSONValue) -> JSValueRef {
        switch json {
        case .null: return JSValueMakeNull(ctx)
        case .bool(let b): return JSValueMakeBoolean(ctx, b)
        case .integer(let i): return JSValueMakeNumber(ctx, Double(i))
        case .number(let d): return JSValueMakeNumber(ctx, d)
        case .string(let s): return makeValue(ctx, s)
        case .array, .object:
            var text = ""
            JSONTextWriter.write(json, into: &text)
            let jsText = makeString(text)
            defer { JSStringRelease(jsText) }
            return JSValueMakeFromJSONString(ctx, jsText) ?? JSValueMakeNull(ctx)
        }
    }

    // MARK: - Bytes

    /// The bytes of a typed array / ArrayBuffer, or the UTF-8 of anything else's `String()`.
    static func bytes(_ ctx: JSContextRef, _ value: JSValueRef?) -> [UInt8] {
        guard let value else { return [] }
        let type = JSValueGetTypedArrayType(ctx, value, nil)
        if type != kJSTypedArrayTypeNone, let object = JSValueToObject(ctx, value, nil) {
            if type == kJSTypedArrayTypeArrayBuffer {
                let count = JSObjectGetArrayBufferByteLength(ctx, object, nil)
                guard count > 0, let pointer = JSObjectGetArrayBufferBytesPtr(ctx, object, nil) else { return [] }
                return Array(UnsafeRawBufferPointer(start: pointer, count: count))
            }
            let count = JSObjectGetTypedArrayByteLength(ctx, object, nil)
            // The pointer already accounts for the view's byte offset.
            guard count > 0, let pointer = JSObjectGetTypedArrayBytesPtr(ctx, object, nil) else { return [] }
            return Array(UnsafeRawBufferPointer(start: pointer, count: count))
        }
        return Array((toString(ctx, value) ?? "").utf8)
    }

    /// A new `Uint8Array` holding `bytes`.
    static func makeUint8Array(_ ctx: JSContextRef, _ bytes: [UInt8]) -> JSValueRef {
        guard let array = JSObjectMakeTypedArray(ctx, kJSTypedArrayTypeUint8Array, bytes.count, nil) else {
            return JSValueMakeUndefined(ctx)
        }
        if !bytes.isEmpty, let pointer = JSObjectGetTypedArrayBytesPtr(ctx, array, nil) {
            bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
        return array
    }
}

/// A JavaScript exception caught on the Swift side, still owned by its context.
///
/// `@unchecked Sendable` only because `Error` requires `Sendable`: a `ThrownValue` is thrown
/// and caught within one host call on the context's own thread and never stored or sent
/// elsewhere, so the value is never touched off that thread.
struct ThrownValue: Error, @unchecked Sendable {
    let value: JSValueRef
}

// MARK: - JSON text

/// Parses the JSON that `JSON.stringify` produced (so: valid JSON) straight from UTF-16.
/// Numbers without a fraction or exponent that fit in `Int64` become `.integer`.
struct JSONTextParser {
    private let text: UnsafeBufferPointer<UInt16>
    private var index = 0

    init(_ text: UnsafeBufferPointer<UInt16>) {
        self.text = text
    }

    mutating func parse() -> JSONValue {
        skipWhitespace()
        guard index < text.count else { return .null }
        switch text[index] {
        case 0x7B: // {
            index += 1
            var members: [String: JSONValue] = [:]
            skipWhitespace()
            if index < text.count, text[index] == 0x7D { index += 1; return .object(members) }
            while index < text.count {
                skipWhitespace()
                let key = parseString()
                skipWhitespace()
                index += 1 // :
                members[key] = parse()
                skipWhitespace()
                guard index < text.count else { break }
                let separator = text[index]
                index += 1
                if separator == 0x7D { break }
            }
            return .object(members)
        case 0x5B: // [
            index += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if index < text.count, text[index] == 0x5D { index += 1; return .array(elements) }
            while index < text.count {
                elements.append(parse())
                skipWhitespace()
                guard index < text.count else { break }
                let separator = text[index]
                index += 1
                if separator == 0x5D { break }
            }
            return .array(elements)
        case 0x22:
            return .string(parseString())
        case 0x74: index += 4; return .bool(true)
        case 0x66: index += 5; return .bool(false)
        case 0x6E: index += 4; return .null
        default:
            return parseNumber()
        }
    }

    private mutating func skipWhitespace() {
        while index < text.count, text[index] == 0x20 || text[index] == 0x0A || text[index] == 0x0D || text[index] == 0x09 { index += 1 }
    }

    private mutating func parseString() -> String {
        index += 1 // opening quote
        let start = index
        var hasEscape = false
        while index < text.count, text[index] != 0x22 {
            if text[index] == 0x5C { hasEscape = true; index += 1 }
            index += 1
        }
        defer { index += 1 }
        let raw = UnsafeBufferPointer(rebasing: text[start..<min(index, text.count)])
        guard hasEscape else { return String(decoding: raw, as: UTF16.self) }
        var units: [UInt16] = []
        units.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            let unit = raw[i]
            guard unit == 0x5C, i + 1 < raw.count else { units.append(unit); i += 1; continue }
            let escaped = raw[i + 1]
            i += 2
            switch escaped {
            case 0x6E: units.append(0x0A)
            case 0x74: units.append(0x09)
            case 0x72: units.append(0x0D)
            case 0x62: units.append(0x08)
            case 0x66: units.append(0x0C)
            case 0x75: // \uXXXX
                var code: UInt16 = 0
                for _ in 0..<4 where i < raw.count {
                    code = code << 4 + UInt16(Self.hexValue(raw[i]))
                    i += 1
                }
                units.append(code)
            default: units.append(escaped) // \" \\ \/
            }
        }
        return String(decoding: units, as: UTF16.self)
    }

    private mutating func parseNumber() -> JSONValue {
        let start = index
        var isInteger = true
        while index < text.count {
            let unit = text[index]
            if unit == 0x2E || unit == 0x65 || unit == 0x45 { isInteger = false } else if !(unit == 0x2D || unit == 0x2B || (0x30...0x39).contains(unit)) { break }
            index += 1
        }
        let literal = String(decoding: UnsafeBufferPointer(rebasing: text[start..<index]), as: UTF16.self)
        if isInteger, let integer = Int64(literal) { return .integer(integer) }
        return .number(Double(literal) ?? 0)
    }

    private static func hexValue(_ unit: UInt16) -> UInt8 {
        switch unit {
        case 0x30...0x39: return UInt8(unit - 0x30)
        case 0x41...0x46: return UInt8(unit - 0x41 + 10)
        case 0x61...0x66: return UInt8(unit - 0x61 + 10)
        default: return 0
        }
    }
}

/// Writes JSON text for `JSONValue` without Foundation's encoder (key order is irrelevant here).
enum JSONTextWriter {
    static func write(_ value: JSONValue, into text: inout String) {
        switch value {
        case .null: text += "null"
        case .bool(let b): text += b ? "true" : "false"
        case .integer(let i): text += String(i)
        case .number(let d): text += d.isFinite ? "\(d)" : "null"
        case .string(let s): writeString(s, into: &text)
        case .array(let elements):
            text += "["
            for (offset, element) in elements.enumerated() {
                if offset > 0 { text += "," }
                write(element, into: &text)
            }
            text += "]"
        case .object(let members):
            text += "{"
            var first = true
            for (key, member) in members {
                if !first { text += "," }
                first = false
                writeString(key, into: &text)
                text += ":"
                write(member, into: &text)
            }
            text += "}"
        }
    }

    private static func writeString(_ string: String, into text: inout String) {
        text += "\""
        var needsEscaping = false
        for unit in string.utf8 where unit < 0x20 || unit == 0x22 || unit == 0x5C {
            needsEscaping = true
            break
        }
        guard needsEscaping else {
            text += string
            text += "\""
            return
        }
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
