import Foundation

/// Writes `JSONValue`s as compact UTF-8 JSON, object keys sorted by their UTF-8 bytes — the
/// same bytes `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]` writes, without
/// going through `Encodable` for every value.
///
/// Non-finite numbers, which JSON cannot represent, are written as `null`, or as the strings
/// `"NaN"`, `"Infinity"` and `"-Infinity"` (as `JSONEncoder` with `.convertToString` does)
/// when `nonFiniteAsStrings` is set.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    private let sortedKeys: Bool
    private let nonFiniteAsStrings: Bool

    /// - Parameters:
    ///   - sortedKeys: Whether object keys are written sorted (equal values give equal
    ///     bytes); `false` writes them in the dictionary's order, which is cheaper when the
    ///     text is only read back.
    ///   - nonFiniteAsStrings: Write NaN and infinities as strings instead of `null`.
    public init(capacity: Int = 256, sortedKeys: Bool = true, nonFiniteAsStrings: Bool = false) {
        bytes.reserveCapacity(capacity)
        self.sortedKeys = sortedKeys
        self.nonFiniteAsStrings = nonFiniteAsStrings
    }

    /// Members to leave out when writing an object, by key: ``whole`` leaves the member out,
    /// ``members(_:)`` leaves those members out of its value when that is an object.
    public indirect enum Omission: Sendable, Hashable {
        case whole
        case members([String: Omission])

        /// The omissions for dotted paths (`viewCount`, `links.downloadUrl`): each path's last
        /// key is left out of the object its earlier keys lead to. A path that leaves out a
        /// member whole covers every longer path through it.
        public static func paths(_ paths: [String]) -> [String: Omission] {
            var tree: [String: Omission] = [:]
            for path in paths {
                let keys = path.split(separator: ".").map(String.init)
                if !keys.isEmpty { insert(keys[...], into: &tree) }
            }
            return tree
        }

        private static func insert(_ keys: ArraySlice<String>, into tree: inout [String: Omission]) {
            guard let first = keys.first else { return }
            if keys.count == 1 {
                tree[first] = .whole
                return
            }
            switch tree[first] {
            case .whole?:
                return
            case .members(var children)?:
                insert(keys.dropFirst(), into: &children)
                tree[first] = .members(children)
            case nil:
                var children: [String: Omission] = [:]
                insert(keys.dropFirst(), into: &children)
                tree[first] = .members(children)
            }
        }
    }

    public mutating func write(_ value: JSONValue) {
        write(value, omitting: [:])
    }

    /// Writes `value` without the members `omissions` names (for an object value; other
    /// values are written whole): the same bytes as writing a copy with them removed.
    public mutating func write(_ value: JSONValue, omitting omissions: [String: Omission]) {
        switch value {
        case .null: append("null")
        case .bool(let flag): append(flag ? "true" : "false")
        case .integer(let integer): writeInteger(integer)
        case .number(let double): writeNumber(double)
        case .string(let text): writeString(text)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { bytes.append(UInt8(ascii: ",")) }
                write(element)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            var first = true
            func member(_ key: String, _ member: JSONValue) {
                var nested: [String: Omission] = [:]
                if !omissions.isEmpty {
                    switch omissions[key] {
                    case .whole?: return
                    case .members(let children)?: nested = children
                    case nil: break
                    }
                }
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                writeString(key)
                bytes.append(UInt8(ascii: ":"))
                write(member, omitting: nested)
            }
            if sortedKeys && members.count > 1 {
                // By UTF-8 bytes, as JSONEncoder's `.sortedKeys` orders them (Swift's `<` compares
                // canonical equivalents, which puts a decomposed "ä" after "b"). The positions are
                // sorted in a buffer on the stack: no array of copied pairs per object.
                withUnsafeTemporaryAllocation(of: Dictionary<String, JSONValue>.Index.self, capacity: members.count) { positions in
                    var count = 0
                    var position = members.startIndex
                    while position != members.endIndex {
                        positions.initializeElement(at: count, to: position)
                        count += 1
                        members.formIndex(after: &position)
                    }
                    var sortable = positions
                    sortable.sort { Self.precedes(members[$0].key, members[$1].key) }
                    for position in positions {
                        let (key, value) = members[position]
                        member(key, value)
                    }
                    positions.deinitialize()
                }
            } else {
                for (key, value) in members { member(key, value) }
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// Whether `a` sorts before `b` by their UTF-8 bytes: `memcmp` over the strings' own
    /// storage where they have it (native strings do), else byte by byte.
    public static func precedes(_ a: String, _ b: String) -> Bool {
        let compared = a.utf8.withContiguousStorageIfAvailable { left in
            b.utf8.withContiguousStorageIfAvailable { right -> Bool in
                let common = min(left.count, right.count)
                let order = common == 0 ? 0 : memcmp(left.baseAddress!, right.baseAddress!, common)
                return order != 0 ? order < 0 : left.count < right.count
            }
        }
        return (compared ?? nil) ?? a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// Calls `body` with the text written so far as a NUL-terminated C string. JSON text
    /// never holds a raw NUL (``writeString(_:)`` escapes it), so the C string is the whole text.
    public mutating func withNullTerminatedBytes<Result>(_ body: (UnsafePointer<CChar>) throws -> Result) rethrows -> Result {
        bytes.append(0)
        defer { bytes.removeLast() }
        return try bytes.withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    public mutating func writeString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var runStart = 0
            for (offset, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<offset]))
                runStart = offset + 1
                switch byte {
                case UInt8(ascii: "\""): append("\\\"")
                case UInt8(ascii: "\\"): append("\\\\")
                case 0x0A: append("\\n")
                case 0x0D: append("\\r")
                case 0x09: append("\\t")
                case 0x08: append("\\b")
                case 0x0C: append("\\f")
                default:
                    append("\\u00")
                    bytes.append(Self.hexDigits[Int(byte >> 4)])
                    bytes.append(Self.hexDigits[Int(byte & 0xF)])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func writeNumber(_ double: Double) {
        guard double.isFinite else {
            guard nonFiniteAsStrings else { return append("null") }
            return append(double.isNaN ? "\"NaN\"" : double > 0 ? "\"Infinity\"" : "\"-Infinity\"")
        }
        // Doubles are rare in Inlet's documents: Foundation formats them, so the text stays
        // exactly what JSONEncoder wrote before.
        if let text = try? JSONEncoder().encode(double) {
            bytes.append(contentsOf: text)
        } else {
            append("null")
        }
    }

    /// The decimal digits of `value`, as `String(value)` writes them, without making a string.
    private mutating func writeInteger(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = 20
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    /// Empties the writer, keeping its storage for the next document.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
    }

    /// Appends `text` as it is: punctuation (`{`, `,`, `:`) or a literal (`true`) of a
    /// document written member by member with ``writeString(_:)`` and ``write(_:)``.
    public mutating func append(raw text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    private mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
