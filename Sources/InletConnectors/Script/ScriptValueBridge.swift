import CJavaScriptCore
import Foundation

/// Conversions between JavaScriptCore values and Swift values (`String`, `JSONValue`, bytes).
///
/// Every function takes the context it works in and must be called on that context's thread.
/// JSON crosses the boundary as text: JavaScriptCore's own `JSON.parse` / `JSON.stringify`
/// are much faster than walking objects property by property through the C API.
enum ScriptValueBridge {
    // MARK: - Strings

    /// A new JavaScriptCore string (release it with `JSStringRelease`). Text without NUL
    /// characters goes in as UTF-8 (JavaScriptCore transcodes it); text with NULs is built
    /// from UTF-16, so it survives whole.
    static func makeString(_ string: String) -> JSStringRef {
        var string = string
        let hasNUL = string.withUTF8 { $0.contains(0) }
        if !hasNUL { return string.withCString { JSStringCreateWithUTF8CString($0) } }
        let utf16 = Array(string.utf16)
        return JSStringCreateWithCharacters(utf16, utf16.count)
    }

    /// A JavaScriptCore string as a Swift `String`; ASCII text (the common case: JSON, hex,
    /// base64, identifiers) is narrowed unit by unit, anything else decoded from UTF-16
    /// (lone surrogates become U+FFFD).
    static func string(_ jsString: JSStringRef) -> String {
        let length = JSStringGetLength(jsString)
        guard length > 0, let characters = JSStringGetCharactersPtr(jsString) else { return "" }
        let units = UnsafeBufferPointer(start: characters, count: length)
        var isASCII = true
        for unit in units where unit >= 0x80 {
            isASCII = false
            break
        }
        guard isASCII else { return String(decoding: units, as: UTF16.self) }
        return String(unsafeUninitializedCapacity: length) { bytes in
            for index in 0..<length { bytes[index] = UInt8(truncatingIfNeeded: units[index]) }
            return length
        }
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
    /// `JSON.stringify` writes the text, JavaScriptCore transcodes it to UTF-8 and
    /// ``JSONValue/init(parsingUTF8:)`` reads it (the text is well-formed: lone surrogates are
    /// escaped, so the UTF-8 is lossless).
    ///
    /// - Throws: the JavaScript exception `JSON.stringify` raised (a cycle, a BigInt, a
    ///   throwing `toJSON`), or a `RangeError` for a value nested deeper than JSON values may
    ///   be, as a `JSValueRef` wrapped in `ThrownValue`.
    static func json(_ ctx: JSContextRef, _ value: JSValueRef?) throws(ThrownValue) -> JSONValue {
        guard let value, !JSValueIsUndefined(ctx, value) else { return .null }
        var exception: JSValueRef?
        guard let text = JSValueCreateJSONString(ctx, value, 0, &exception) else {
            if let exception { throw ThrownValue(value: exception) }
            return .null
        }
        defer { JSStringRelease(text) }
        let capacity = JSStringGetMaximumUTF8CStringSize(text)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        defer { buffer.deallocate() }
        // The count includes the terminating NUL.
        let written = JSStringGetUTF8CString(text, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), capacity)
        do throws(JSONParseError) {
            return try JSONValue(parsingUTF8: UnsafeRawBufferPointer(rebasing: buffer[0..<max(0, written - 1)]))
        } catch {
            var message: JSValueRef? = makeValue(ctx, "the value cannot be converted to JSON: \(error.reason)")
            let rangeError = JSObjectMakeError(ctx, 1, &message, nil)
            if let rangeError { setProperty(ctx, rangeError, "name", makeValue(ctx, "RangeError")) }
            throw ThrownValue(value: rangeError ?? message!)
        }
    }

    /// A fresh JavaScript value equal to `json`.
    /// `json` without the members `omissions` names (an object's; anything else whole).
    static func makeValue(_ ctx: JSContextRef, json: JSONValue, omitting omissions: [String: JSONWriter.Omission]) -> JSValueRef {
        guard case .object = json else { return makeValue(ctx, json: json) }
        var writer = JSONWriter(capacity: 1024, sortedKeys: false)
        writer.write(json, omitting: omissions)
        let jsText = writer.withNullTerminatedBytes { JSStringCreateWithUTF8CString($0) }
        defer { JSStringRelease(jsText) }
        return JSValueMakeFromJSONString(ctx, jsText) ?? JSValueMakeNull(ctx)
    }

    static func makeValue(_ ctx: JSContextRef, json: JSONValue) -> JSValueRef {
        switch json {
        case .null: return JSValueMakeNull(ctx)
        case .bool(let b): return JSValueMakeBoolean(ctx, b)
        case .integer(let i): return JSValueMakeNumber(ctx, Double(i))
        case .number(let d): return JSValueMakeNumber(ctx, d)
        case .string(let s): return makeValue(ctx, s)
        case .array, .object:
            // JSON text has no raw NUL (the writer escapes it), so it can travel as a C string.
            var writer = JSONWriter(capacity: 1024, sortedKeys: false)
            writer.write(json)
            let jsText = writer.withNullTerminatedBytes { JSStringCreateWithUTF8CString($0) }
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
