import Foundation
import InletJSON

/// The one JSON configuration used for every message on every Inlet topic.
///
/// - Object keys are sorted, so equal messages serialise to equal bytes.
/// - Slashes are not escaped (`"/inlet/connectors/github"`, not `"\/inlet\/..."`).
/// - `Date` fields are RFC 3339 timestamps in UTC with exactly three fractional digits,
///   e.g. `"2026-11-25T09:35:31.123Z"`. Decoding accepts any RFC 3339 timestamp (0–9
///   fractional digits, `Z` or a numeric offset) and converts it to UTC.
/// - `Data` fields are standard base64 with padding.
/// - Fields documented as "timestamp in milliseconds" (the connector contract's
///   `nextRefreshTimestamp`, ...) are plain `Int64` epoch milliseconds, not `Date`s.
/// - Optional fields that are `nil` are left out; on input, a missing field and `null`
///   both decode as `nil`.
///
/// ```swift
/// let bytes = MessageCodec.encode(command)
/// let again = try MessageCodec.decode(Command.self, from: bytes)
/// ```
public enum MessageCodec {
    /// Encodes `message` as compact JSON with the Inlet configuration.
    ///
    /// Encoding cannot fail for Inlet's message types: dates, data and strings always have a
    /// JSON form, and non-finite numbers inside a ``JSONValue`` (which JSON cannot represent)
    /// are written as the strings `"NaN"`, `"Infinity"` and `"-Infinity"`.
    public static func encode<Message: Encodable>(_ message: Message) -> Data {
        if let message = message as? any JSONValueMessage {
            var writer = JSONWriter(capacity: 1024, nonFiniteAsStrings: true)
            message.write(to: &writer)
            return Data(writer.bytes)
        }
        do {
            return try makeEncoder().encode(message)
        } catch {
            // Unreachable for the message types in this module (see above); a custom
            // Encodable that throws on purpose is a programming error.
            preconditionFailure("MessageCodec could not encode \(Message.self): \(error)")
        }
    }

    /// Encodes `message` as indented JSON (for `inlet` CLI output and docs); same field
    /// formats as ``encode(_:)``.
    public static func encodePretty<Message: Encodable>(_ message: Message) -> Data {
        let encoder = makeEncoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        do {
            return try encoder.encode(message)
        } catch {
            preconditionFailure("MessageCodec could not encode \(Message.self): \(error)")
        }
    }

    /// Decodes a message of type `type` from UTF-8 JSON.
    ///
    /// - Throws: ``MessageCodecError`` naming the message type and the path of the field
    ///   that failed (e.g. `SubscriptionRecord.target.collectionEvent`).
    public static func decode<Message: Decodable>(_ type: Message.Type, from data: Data) throws(MessageCodecError) -> Message {
        if let fast = type as? any JSONValueMessage.Type {
            // The runtime's cached name, not `String(describing:)`, which reflects on the type
            // every time: about a tenth of reading a record event (docs/benchmarks.md).
            let name = _typeName(Message.self, qualified: false)
            let document: JSONValue
            do {
                document = try JSONValue(parsing: data)
            } catch {
                throw MessageCodecError(messageType: name, fieldPath: "", reason: "not valid JSON (\(error))")
            }
            return try fast.init(message: MessageFields(messageType: name, value: document)) as! Message
        }
        do {
            return try makeDecoder().decode(Message.self, from: data)
        } catch let error as DecodingError {
            throw MessageCodecError(messageType: String(describing: Message.self), decodingError: error)
        } catch {
            throw MessageCodecError(messageType: String(describing: Message.self), fieldPath: "", reason: "\(error)")
        }
    }

    /// A new encoder with the Inlet configuration (for callers that need an `Encoder`, e.g.
    /// to embed a message in a larger document). Prefer ``encode(_:)``.
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339.string(from: date))
        }
        encoder.dataEncodingStrategy = .base64
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }

    /// A new decoder with the Inlet configuration. Prefer ``decode(_:from:)``.
    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = RFC3339.date(from: text) else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "expected an RFC 3339 timestamp like \"2026-11-25T09:35:31.123Z\", found \"\(text)\"")
            }
            return date
        }
        decoder.dataDecodingStrategy = .base64
        return decoder
    }

    /// `true` when a Kafka record value is a tombstone (a `null` value on a compacted topic:
    /// the key was deleted). An empty value is treated as a tombstone too.
    public static func isTombstone(_ value: Data?) -> Bool {
        value == nil || value?.isEmpty == true
    }

    /// Formats `date` the way every message does: RFC 3339, UTC, milliseconds.
    public static func timestamp(_ date: Date) -> String {
        RFC3339.string(from: date)
    }

    /// Parses any RFC 3339 timestamp; `nil` when `text` is not one.
    public static func date(fromTimestamp text: String) -> Date? {
        RFC3339.date(from: text)
    }
}

// MARK: - Errors

/// A message could not be decoded: which message type, which field, and why.
///
/// `description` reads like `SubscriptionRecord.target.kind: unknown target kind "webhook"`.
public struct MessageCodecError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The Swift message type that was being decoded, e.g. `"RawRequest"`.
    public var messageType: String
    /// Dotted path of the failing field, with array positions in brackets, e.g.
    /// `"original.headers[2].key"`; empty when the document itself is at fault (not JSON,
    /// or not an object).
    public var fieldPath: String
    /// What was wrong, in words.
    public var reason: String

    public init(messageType: String, fieldPath: String, reason: String) {
        self.messageType = messageType
        self.fieldPath = fieldPath
        self.reason = reason
    }

    public var description: String {
        fieldPath.isEmpty ? "\(messageType): \(reason)" : "\(messageType).\(fieldPath): \(reason)"
    }

    init(messageType: String, decodingError: DecodingError) {
        switch decodingError {
        case .keyNotFound(let key, let context):
            self.init(
                messageType: messageType,
                fieldPath: Self.path(context.codingPath + [key]),
                reason: "required field is missing")
        case .valueNotFound(let type, let context):
            self.init(
                messageType: messageType,
                fieldPath: Self.path(context.codingPath),
                reason: "expected \(Self.jsonTypeName(type)), found null")
        case .typeMismatch(let type, let context):
            self.init(
                messageType: messageType,
                fieldPath: Self.path(context.codingPath),
                reason: "expected \(Self.jsonTypeName(type)) (\(context.debugDescription))")
        case .dataCorrupted(let context):
            let underlying = context.underlyingError.map { " (\($0))" } ?? ""
            let reason = context.codingPath.isEmpty && context.underlyingError != nil
                ? "not valid JSON\(underlying)"
                : context.debugDescription
            self.init(messageType: messageType, fieldPath: Self.path(context.codingPath), reason: reason)
        @unknown default:
            self.init(messageType: messageType, fieldPath: "", reason: "\(decodingError)")
        }
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        var result = ""
        for key in codingPath {
            if let index = key.intValue, key.stringValue.hasPrefix("Index ") {
                result += "[\(index)]"
            } else {
                if !result.isEmpty { result += "." }
                result += key.stringValue
            }
        }
        return result
    }

    private static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type, is Date.Type, is Data.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int32.Type, is Int64.Type, is UInt.Type, is UInt64.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") || name.hasPrefix("[") { return "an array" }
            if name.hasPrefix("Dictionary") || name.contains(":") { return "an object" }
            return name
        }
    }
}

// MARK: - Epoch milliseconds

extension Date {
    /// The date `milliseconds` after 1970-01-01T00:00:00Z (the connector contract's
    /// "timestamp in milliseconds").
    public init(epochMilliseconds milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// Milliseconds since 1970-01-01T00:00:00Z, rounded to the nearest millisecond.
    public var epochMilliseconds: Int64 {
        Int64((timeIntervalSince1970 * 1000).rounded())
    }
}

// MARK: - RFC 3339

/// Hand-written RFC 3339 formatting and parsing: no locale, calendar or formatter state,
/// identical on every platform, and safe to call from any thread.
enum RFC3339 {
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, rounded to the nearest millisecond.
    static func string(from date: Date) -> String {
        let totalMilliseconds = date.epochMilliseconds
        let (days, millisOfDay) = floorDivide(totalMilliseconds, 86_400_000)
        let (year, month, day) = civil(fromDays: days)
        let hour = millisOfDay / 3_600_000
        let minute = millisOfDay / 60_000 % 60
        let second = millisOfDay / 1000 % 60
        let millisecond = millisOfDay % 1000
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(millisecond, 3))Z"
    }

    /// Parses `date-time` from RFC 3339 section 5.6 (`T`/`t` separator, `Z`/`z` or
    /// `±HH:MM` offset, any number of fractional digits; a leap second `:60` is accepted and
    /// folded into the next second).
    static func date(from text: String) -> Date? {
        let bytes = Array(text.utf8)
        var position = 0

        func number(_ width: Int) -> Int64? {
            guard position + width <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[position..<position + width] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            position += width
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard position < bytes.count, characters.utf8.contains(bytes[position]) else { return false }
            position += 1
            return true
        }

        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            expect("Tt"), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
            let second = number(2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }

        // Fraction: keep milliseconds exactly and the rest as a sub-millisecond remainder.
        var fractionMilliseconds: Int64 = 0
        var subMillisecond: Double = 0
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            var digits = 0
            var weight = 0.1  // the 4th fractional digit is worth 0.1 ms
            while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
                let digit = Int64(bytes[position] - UInt8(ascii: "0"))
                if digits < 3 {
                    fractionMilliseconds += digit * [100, 10, 1][digits]
                } else {
                    subMillisecond += Double(digit) * weight
                    weight /= 10
                }
                digits += 1
                position += 1
            }
            guard digits > 0 else { return nil }
        }

        var offsetMinutes: Int64 = 0
        if expect("Zz") {
            // UTC
        } else if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
            let sign: Int64 = bytes[position] == UInt8(ascii: "-") ? -1 : 1
            position += 1
            guard let offsetHours = number(2), expect(":"), let offsetMinute = number(2),
                offsetHours <= 23, offsetMinute <= 59
            else { return nil }
            offsetMinutes = sign * (offsetHours * 60 + offsetMinute)
        } else {
            return nil
        }
        guard position == bytes.count else { return nil }

        let days = self.days(fromCivilYear: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60
        let milliseconds = seconds * 1000 + fractionMilliseconds
        if subMillisecond == 0 { return Date(epochMilliseconds: milliseconds) }
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000 + subMillisecond / 1000)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let quotient = a / b
        let remainder = a % b
        return remainder < 0 ? (quotient - 1, remainder + b) : (quotient, remainder)
    }

    private static func isLeapYear(_ year: Int64) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    private static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    static func days(fromCivilYear year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date `days` after 1970-01-01 (H. Hinnant's civil_from_days).
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}
