import Foundation

/// A compiled `pattern` / `patternProperties` regular expression.
///
/// JSON Schema patterns are ECMA-262 regexes; they are translated to ICU syntax for
/// `NSRegularExpression` (`\d`, `\w` and their negations are ASCII-only as in ECMA-262, and `$`
/// only matches at the very end of the string). Patterns are unanchored, as the spec requires.
struct SchemaRegex: Sendable {
    /// The pattern as written in the schema.
    let source: String
    private let box: Box

    /// Holds the `NSRegularExpression`.
    ///
    /// `@unchecked Sendable` is safe: `NSRegularExpression` is immutable after creation and Apple
    /// documents it as safe to use from multiple threads concurrently; the box never mutates it.
    private final class Box: @unchecked Sendable {
        let regex: NSRegularExpression
        init(_ regex: NSRegularExpression) { self.regex = regex }
    }

    /// Compiles `pattern`; throws when it is not a valid regular expression.
    init(_ pattern: String) throws {
        source = pattern
        box = Box(try NSRegularExpression(pattern: Self.translate(pattern), options: []))
    }

    /// Whether the pattern matches anywhere in `string`.
    func matches(_ string: String) -> Bool {
        let ns = string as NSString
        return box.regex.firstMatch(in: string, options: [], range: NSRange(location: 0, length: ns.length)) != nil
    }

    /// Rewrites the ECMA-262 constructs whose ICU meaning differs.
    static func translate(_ pattern: String) -> String {
        var out = ""
        var inClass = false
        var iterator = pattern.makeIterator()
        while let c = iterator.next() {
            if c == "\\" {
                guard let next = iterator.next() else {
                    out.append("\\")
                    break
                }
                switch next {
                case "d": out += inClass ? "0-9" : "[0-9]"
                case "D": out += inClass ? "\\D" : "[^0-9]"
                case "w": out += inClass ? "a-zA-Z0-9_" : "[a-zA-Z0-9_]"
                case "W": out += inClass ? "\\W" : "[^a-zA-Z0-9_]"
                default:
                    out.append("\\")
                    out.append(next)
                }
                continue
            }
            if inClass {
                if c == "]" { inClass = false }
                out.append(c)
                continue
            }
            switch c {
            case "[":
                inClass = true
                out.append(c)
                // A leading `]` or `^]` is literal in ICU but an empty class in ECMA; keep as written.
            case "$":
                out += "(?![\\s\\S])"
            default:
                out.append(c)
            }
        }
        return out
    }
}
