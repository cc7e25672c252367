import Foundation

/// RFC 3986 URI-reference parsing and resolution, used for `$id` / `$ref` instead of `URL`
/// so that URNs, empty bases and fragments behave exactly as the JSON Schema spec expects.
struct SchemaURI: Hashable, Sendable {
    var scheme: String?
    var authority: String?
    var path: String
    var query: String?
    var fragment: String?

    init(parsing text: String) {
        var rest = Substring(text)
        if let hash = rest.firstIndex(of: "#") {
            fragment = String(rest[rest.index(after: hash)...])
            rest = rest[..<hash]
        }
        if let q = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: q)...])
            rest = rest[..<q]
        }
        if let colon = rest.firstIndex(of: ":") {
            let candidate = rest[..<colon]
            if let first = candidate.first, first.isASCII, first.isLetter,
                candidate.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == ".") })
            {
                scheme = String(candidate)
                rest = rest[rest.index(after: colon)...]
            }
        }
        if rest.hasPrefix("//") {
            let afterSlashes = rest.dropFirst(2)
            let end = afterSlashes.firstIndex(of: "/") ?? afterSlashes.endIndex
            authority = String(afterSlashes[..<end])
            rest = afterSlashes[end...]
        }
        path = String(rest)
    }

    private init(scheme: String?, authority: String?, path: String, query: String?, fragment: String?) {
        self.scheme = scheme
        self.authority = authority
        self.path = path
        self.query = query
        self.fragment = fragment
    }

    /// The URI text (RFC 3986 §5.3 recomposition).
    var text: String {
        var out = ""
        if let scheme { out += scheme + ":" }
        if let authority { out += "//" + authority }
        out += path
        if let query { out += "?" + query }
        if let fragment { out += "#" + fragment }
        return out
    }

    /// The URI without its fragment.
    var withoutFragment: SchemaURI {
        var copy = self
        copy.fragment = nil
        return copy
    }

    /// Resolves `reference` against this base (RFC 3986 §5.2.2).
    func resolving(_ reference: SchemaURI) -> SchemaURI {
        let r = reference
        if r.scheme != nil {
            return SchemaURI(scheme: r.scheme, authority: r.authority, path: Self.removeDotSegments(r.path), query: r.query, fragment: r.fragment)
        }
        if r.authority != nil {
            return SchemaURI(scheme: scheme, authority: r.authority, path: Self.removeDotSegments(r.path), query: r.query, fragment: r.fragment)
        }
        if r.path.isEmpty {
            return SchemaURI(scheme: scheme, authority: authority, path: path, query: r.query ?? query, fragment: r.fragment)
        }
        let merged: String
        if r.path.hasPrefix("/") {
            merged = r.path
        } else if authority != nil && path.isEmpty {
            merged = "/" + r.path
        } else if let slash = path.lastIndex(of: "/") {
            merged = String(path[...slash]) + r.path
        } else {
            merged = r.path
        }
        return SchemaURI(scheme: scheme, authority: authority, path: Self.removeDotSegments(merged), query: r.query, fragment: r.fragment)
    }

    /// Resolves a reference string against a base URI string and returns the text.
    static func resolve(_ reference: String, against base: String) -> String {
        SchemaURI(parsing: base).resolving(SchemaURI(parsing: reference)).text
    }

    /// Splits `uri` into the part before `#` and the (percent-decoded) fragment, if any.
    static func split(_ uri: String) -> (base: String, fragment: String?) {
        guard let hash = uri.firstIndex(of: "#") else { return (uri, nil) }
        let raw = String(uri[uri.index(after: hash)...])
        return (String(uri[..<hash]), raw.removingPercentEncoding ?? raw)
    }

    static func removeDotSegments(_ path: String) -> String {
        guard path.contains(".") else { return path }
        var input = Substring(path)
        var output: [Substring] = []
        var result = ""
        // Segment-based variant of RFC 3986 §5.2.4.
        let absolute = input.hasPrefix("/")
        if absolute { input = input.dropFirst() }
        let segments = input.split(separator: "/", omittingEmptySubsequences: false)
        for (i, segment) in segments.enumerated() {
            let isLast = i == segments.count - 1
            if segment == "." {
                if isLast { output.append("") }
            } else if segment == ".." {
                if !output.isEmpty { output.removeLast() }
                if isLast { output.append("") }
            } else {
                output.append(segment)
            }
        }
        result = (absolute ? "/" : "") + output.joined(separator: "/")
        return result
    }
}
