/// A path into a mapping's variables: `$.a.b[0]`, or the same without the leading `$.`
/// (`a.b[0]`).
///
/// `.` separates field names and `[n]` addresses an array index. A `.`, `[` or `\` inside a
/// field name is escaped with a backslash: `$.dot\.field.bracket\[field[0]` is field
/// `dot.field`, then field `bracket[field`, then index 0. `$` alone is the whole variables
/// object.
///
/// Resolving never fails: a path that leads nowhere yields `nil` ("nothing"). Parsing is linear
/// in the text; resolving is linear in the number of segments.
public struct Locator: Sendable, Hashable, CustomStringConvertible {
    /// One step of a locator.
    public enum Segment: Sendable, Hashable {
        /// A field of an object (or, when the name is all digits, an index of an array).
        case field(String)
        /// An index of an array (or, on an object, the field with that decimal name).
        case index(Int)
    }

    /// The steps from the root, in order; empty for `$`.
    public var segments: [Segment]

    /// A locator from already separated segments.
    public init(segments: [Segment]) {
        self.segments = segments
    }

    /// Parses locator text.
    ///
    /// - Throws: `Locator.SyntaxError` for an empty text, an empty field name (`a..b`, `a.`),
    ///   an index that is not a non-negative integer (`a[x]`), an unclosed `[`, text right
    ///   after `]`, or a trailing backslash.
    public init(parsing text: String) throws(SyntaxError) {
        if text.isEmpty { throw SyntaxError(locator: text, reason: "a locator cannot be empty; use $ for all variables") }
        var body = Substring(text)
        if body == "$" {
            self.segments = []
            return
        }
        if body.hasPrefix("$.") {
            body = body.dropFirst(2)
        } else if body.hasPrefix("$[") {
            body = body.dropFirst()
        }
        self.segments = try Self.parseSegments(body, text: text)
    }

    /// The value at this path inside `root`, or `nil` when some step does not exist.
    public func resolve(in root: JSONValue) -> JSONValue? {
        var current = root
        for segment in segments {
            switch (segment, current) {
            case (.field(let name), .object(let members)):
                guard let next = members[name] else { return nil }
                current = next
            case (.field(let name), .array(let elements)):
                guard let index = Int(name), name.allSatisfy(\.isASCIIDigit), elements.indices.contains(index) else { return nil }
                current = elements[index]
            case (.index(let index), .array(let elements)):
                guard elements.indices.contains(index) else { return nil }
                current = elements[index]
            case (.index(let index), .object(let members)):
                guard let next = members[String(index)] else { return nil }
                current = next
            default:
                return nil
            }
        }
        return current
    }

    /// The canonical text, `$.a.b[0]`, with `.`, `[` and `\` in field names escaped.
    public var description: String {
        var text = "$"
        for segment in segments {
            switch segment {
            case .field(let name):
                text += "."
                for character in name {
                    if character == "." || character == "[" || character == "\\" { text += "\\" }
                    text.append(character)
                }
            case .index(let index):
                text += "[\(index)]"
            }
        }
        return text
    }

    /// Why a locator's text could not be parsed.
    public struct SyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
        /// The text as written.
        public var locator: String
        /// What is wrong, in words.
        public var reason: String

        /// `invalid locator '<text>': <reason>`.
        public var description: String { "invalid locator '\(locator)': \(reason)" }
    }

    // MARK: - Parsing

    private static func parseSegments(_ body: Substring, text: String) throws(SyntaxError) -> [Segment] {
        var segments: [Segment] = []
        var name = ""
        var nameStarted = false
        // After `]` only `.`, `[` or the end may follow; after `.` a field name must follow.
        var justClosedIndex = false
        var afterDot = false
        var index = body.startIndex

        func finishName() throws(SyntaxError) {
            if nameStarted {
                segments.append(.field(name))
            } else if afterDot || segments.isEmpty {
                throw SyntaxError(locator: text, reason: "empty field name")
            }
            name = ""
            nameStarted = false
            afterDot = false
        }

        while index < body.endIndex {
            let character = body[index]
            switch character {
            case "\\":
                let next = body.index(after: index)
                guard next < body.endIndex else { throw SyntaxError(locator: text, reason: "a backslash must escape a character") }
                if justClosedIndex { throw SyntaxError(locator: text, reason: "expected '.' or '[' after ']'") }
                name.append(body[next])
                nameStarted = true
                index = body.index(after: next)
                continue
            case ".":
                if justClosedIndex {
                    justClosedIndex = false
                } else {
                    try finishName()
                }
                afterDot = true
            case "[":
                if !justClosedIndex {
                    if nameStarted || afterDot { try finishName() }
                }
                guard let close = body[index...].firstIndex(of: "]") else {
                    throw SyntaxError(locator: text, reason: "unclosed '['")
                }
                let digits = body[body.index(after: index)..<close]
                guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let value = Int(digits) else {
                    throw SyntaxError(locator: text, reason: "'[\(digits)]' is not an array index (a non-negative integer); escape a literal '[' as '\\['")
                }
                segments.append(.index(value))
                justClosedIndex = true
                afterDot = false
                index = body.index(after: close)
                continue
            default:
                if justClosedIndex { throw SyntaxError(locator: text, reason: "expected '.' or '[' after ']'") }
                name.append(character)
                nameStarted = true
            }
            index = body.index(after: index)
        }
        if justClosedIndex { return segments }
        try finishName()
        return segments
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
