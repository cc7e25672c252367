import Foundation

/// Checks for the common `format` values, used when format assertion is enabled
/// (``JSONSchema/Options/assertFormats``). By default `format` is only an annotation, as the spec says.
enum SchemaFormat {
    /// The formats that can be asserted.
    static let supported: Set<String> = ["date-time", "date", "time", "email", "uri", "uri-reference", "uuid", "ipv4", "ipv6", "hostname", "regex"]

    /// `true`/`false` for a supported format, `nil` for unknown formats (which always pass).
    static func check(_ format: String, _ s: String) -> Bool? {
        switch format {
        case "date-time": return isDateTime(s)
        case "date": return isDate(s)
        case "time": return isTime(s)
        case "email": return isEmail(s)
        case "uri": return isURI(s, requireScheme: true)
        case "uri-reference": return isURI(s, requireScheme: false)
        case "uuid": return isUUID(s)
        case "ipv4": return isIPv4(s)
        case "ipv6": return isIPv6(s)
        case "hostname": return isHostname(s)
        case "regex": return (try? SchemaRegex(s)) != nil
        default: return nil
        }
    }

    private static func digits(_ s: Substring, count: Int) -> Int? {
        guard s.count == count, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(s)
    }

    /// RFC 3339 `full-date`.
    static func isDate(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, let y = digits(parts[0], count: 4), let m = digits(parts[1], count: 2),
            let d = digits(parts[2], count: 2), (1...12).contains(m), d >= 1
        else { return false }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return d <= days[m - 1]
    }

    /// RFC 3339 `full-time` (offset required; leap second allowed).
    static func isTime(_ s: String) -> Bool {
        let u = s.uppercased()
        var body = Substring(u)
        if body.hasSuffix("Z") {
            body = body.dropLast()
        } else if let sign = body.lastIndex(where: { $0 == "+" || $0 == "-" }) {
            let offset = body[body.index(after: sign)...].split(separator: ":", omittingEmptySubsequences: false)
            guard offset.count == 2, let oh = digits(offset[0], count: 2), let om = digits(offset[1], count: 2), oh < 24, om < 60 else {
                return false
            }
            body = body[..<sign]
        } else {
            return false
        }
        var fraction: Substring = ""
        if let dot = body.firstIndex(of: ".") {
            fraction = body[body.index(after: dot)...]
            guard !fraction.isEmpty, fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            body = body[..<dot]
        }
        let hms = body.split(separator: ":", omittingEmptySubsequences: false)
        guard hms.count == 3, let h = digits(hms[0], count: 2), let m = digits(hms[1], count: 2), let sec = digits(hms[2], count: 2) else {
            return false
        }
        return h < 24 && m < 60 && sec <= 60
    }

    /// RFC 3339 `date-time`.
    static func isDateTime(_ s: String) -> Bool {
        guard let t = s.firstIndex(where: { $0 == "T" || $0 == "t" }) else { return false }
        return isDate(String(s[..<t])) && isTime(String(s[s.index(after: t)...]))
    }

    /// A pragmatic RFC 5321 mailbox check: `local@domain`, no spaces, dot rules on the local part.
    static func isEmail(_ s: String) -> Bool {
        guard let at = s.lastIndex(of: "@") else { return false }
        let local = s[..<at]
        let domain = s[s.index(after: at)...]
        guard !local.isEmpty, !domain.isEmpty, local.count <= 64,
            !local.hasPrefix("."), !local.hasSuffix("."), !local.contains(".."),
            !s.contains(where: { $0.isWhitespace })
        else { return false }
        if domain.hasPrefix("[") && domain.hasSuffix("]") {
            let literal = domain.dropFirst().dropLast()
            return isIPv4(String(literal)) || (literal.hasPrefix("IPv6:") && isIPv6(String(literal.dropFirst(5))))
        }
        return isHostname(String(domain))
    }

    /// RFC 1123 host name.
    static func isHostname(_ s: String) -> Bool {
        let name = s.hasSuffix(".") ? String(s.dropLast()) : s
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// RFC 3986 URI (absolute when `requireScheme`) or URI-reference.
    static func isURI(_ s: String, requireScheme: Bool) -> Bool {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%")
        guard s.allSatisfy({ allowed.contains($0) }) else { return false }
        var chars = Array(s.utf8)[...]
        while let p = chars.firstIndex(of: UInt8(ascii: "%")) {
            let hex = chars.dropFirst(p - chars.startIndex + 1).prefix(2)
            guard hex.count == 2, hex.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0 | 0x20) }) else {
                return false
            }
            chars = chars[(p + 3)...]
        }
        guard requireScheme else { return true }
        guard let scheme = SchemaURI(parsing: s).scheme, !scheme.isEmpty else { return false }
        return true
    }

    /// RFC 4122 textual UUID.
    static func isUUID(_ s: String) -> Bool {
        let groups = s.split(separator: "-", omittingEmptySubsequences: false)
        guard groups.map(\.count) == [8, 4, 4, 4, 12] else { return false }
        return groups.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }

    /// Dotted-quad IPv4 without leading zeros.
    static func isIPv4(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { p in
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(p), v <= 255 else { return false }
            return p.count == 1 || !p.hasPrefix("0")
        }
    }

    /// RFC 4291 IPv6 text form, including `::` compression and an embedded IPv4 tail.
    static func isIPv6(_ s: String) -> Bool {
        guard !s.isEmpty, s.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return false }
        var groups = 8
        var text = s
        if let lastColon = text.lastIndex(of: ":"), text[lastColon...].contains(".") {
            guard isIPv4(String(text[text.index(after: lastColon)...])) else { return false }
            text = String(text[...lastColon]) + "0"
            groups = 7
        }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return false }
        func count(_ part: String) -> Int? {
            if part.isEmpty { return 0 }
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            guard pieces.allSatisfy({ !$0.isEmpty && $0.count <= 4 && $0.allSatisfy(\.isHexDigit) }) else { return nil }
            return pieces.count
        }
        if halves.count == 1 { return count(halves[0]) == groups }
        guard let a = count(halves[0]), let b = count(halves[1]) else { return false }
        return a + b < groups
    }
}
