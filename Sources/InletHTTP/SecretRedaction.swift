import Foundation
import InletConnectors

/// Leaves out of admin API answers every value a JSON Schema marks as secret: a property whose
/// schema says `writeOnly: true` or `format: password` (JSON Schema's own words for "accepted
/// on input, never shown"), at any depth: through `properties` and `patternProperties` (matched
/// as a prefix-free regular expression) together, `additionalProperties` /
/// `unevaluatedProperties` for the others, `items`, `prefixItems`, draft-7 tuple `items` and
/// `additionalItems`, `unevaluatedItems`, `allOf`/`anyOf`/`oneOf`, `if`/`then`/`else` and
/// `dependentSchemas` / draft-7 `dependencies` (every branch, whichever applies: hiding too
/// much is safe), `contains` (for every element), and local references (`$ref` and
/// `$dynamicRef` by JSON pointer such as `#/$defs/...` or `#/definitions/...`, or by `$anchor`
/// / `$dynamicAnchor` / draft-7 `"$id": "#name"`). It fails closed: a value under a reference
/// it cannot resolve, or deeper than it follows, counts as secret. A secret element of an array
/// is replaced by `null`, so positions stay.
///
/// Connector authors mark signing secrets and client secrets this way in `parametersSchema`
/// (docs/connectors.md); the values stay sealed or in the subscription, and methods get them.
enum SecretRedaction {
    /// `value` without the members `schema` marks secret.
    static func redacting(_ value: JSONValue, schema: JSONValue?) -> JSONValue {
        guard let schema else { return value }
        return redacting(value, schema: schema, root: schema, depth: 0)
    }

    /// How deep into a value its schema is followed; a governed object or array below that is
    /// left out whole (it might hold a secret the schema marks further down).
    private static let maxValueDepth = 32

    private static func redacting(_ value: JSONValue, schema: JSONValue, root: JSONValue, depth: Int) -> JSONValue {
        // Every schema that applies here: the schema, what it refers to, and its combinators.
        let schemas = applicable(schema, root: root, depth: 0)
        // Part of what applies here could not be followed: any member might be its secret.
        let unknown = schemas.contains(failClosed)
        func hidden(_ governing: [JSONValue], _ member: JSONValue) -> Bool {
            if unknown { return true }
            guard !governing.isEmpty else { return false }
            if governing.contains(where: { isSecret($0, root: root) }) { return true }
            let isContainer = member.objectValue != nil || member.arrayValue != nil
            return isContainer && depth + 1 >= maxValueDepth
        }
        switch value {
        case .object(var members):
            for (name, member) in members {
                let governing = schemas.flatMap { schema in memberSchemas(of: schema, forMember: name) }
                if hidden(governing, member) {
                    members[name] = nil
                } else {
                    members[name] = governing.reduce(member) { redacting($0, schema: $1, root: root, depth: depth + 1) }
                }
            }
            return .object(members)
        case .array(let elements):
            return .array(elements.enumerated().map { index, element in
                let governing = schemas.flatMap { schema in elementSchemas(of: schema, at: index) }
                if hidden(governing, element) { return .null }
                return governing.reduce(element) { redacting($0, schema: $1, root: root, depth: depth + 1) }
            })
        default:
            return value
        }
    }

    /// The schemas that govern member `name` of an object under `schema`: its property and
    /// every matching pattern (both apply), else `additionalProperties` and
    /// `unevaluatedProperties`.
    private static func memberSchemas(of schema: JSONValue, forMember name: String) -> [JSONValue] {
        var found: [JSONValue] = []
        if let property = schema["properties"]?[name] { found.append(property) }
        for (pattern, subschema) in schema["patternProperties"]?.objectValue ?? [:] where name.range(of: pattern, options: .regularExpression) != nil {
            found.append(subschema)
        }
        if found.isEmpty {
            for keyword in ["additionalProperties", "unevaluatedProperties"] {
                if let other = schema[keyword], other.objectValue != nil { found.append(other) }
            }
        }
        return found
    }

    /// The schemas that govern element `index` of an array under `schema`: its `prefixItems`
    /// entry (or draft-7 tuple `items` entry), else `items` / `additionalItems` /
    /// `unevaluatedItems`.
    private static func elementSchemas(of schema: JSONValue, at index: Int) -> [JSONValue] {
        let tuple = schema["prefixItems"]?.arrayValue ?? schema["items"]?.arrayValue
        if let tuple, index < tuple.count { return [tuple[index]] }
        let rest = tuple == nil ? ["items", "unevaluatedItems"] : ["items", "additionalItems", "unevaluatedItems"]
        // `contains` governs some elements, which ones is not known here: all of them.
        return (rest + ["contains"]).compactMap { schema[$0].flatMap { $0.objectValue != nil ? $0 : nil } }
    }

    /// `schema` with what its local references point to and every branch of its combinators,
    /// flattened. Fails closed: a reference that does not resolve here, a chain deeper than 32
    /// and more than 256 schemas all count as a secret (``failClosed``), so nothing is shown
    /// (or left unsealed) because the schema was too clever to follow.
    private static func applicable(_ schema: JSONValue, root: JSONValue, depth: Int) -> [JSONValue] {
        var found: [JSONValue] = []
        collect(schema, root: root, depth: depth, into: &found)
        return found
    }

    /// What a schema counts as when it cannot be followed: a secret.
    private static let failClosed: JSONValue = ["writeOnly": true]
    private static let maxApplicable = 256

    private static func collect(_ schema: JSONValue, root: JSONValue, depth: Int, into found: inout [JSONValue]) {
        guard schema.objectValue != nil else { return }
        guard depth < 32, found.count < maxApplicable else {
            found.append(failClosed)
            return
        }
        found.append(schema)
        for keyword in ["$ref", "$dynamicRef"] {
            guard let reference = schema[keyword]?.stringValue else { continue }
            if let target = resolve(reference, in: root) {
                collect(target, root: root, depth: depth + 1, into: &found)
            } else {
                found.append(failClosed)
            }
        }
        for keyword in ["allOf", "anyOf", "oneOf"] {
            for branch in schema[keyword]?.arrayValue ?? [] { collect(branch, root: root, depth: depth + 1, into: &found) }
        }
        for keyword in ["if", "then", "else"] {
            if let branch = schema[keyword] { collect(branch, root: root, depth: depth + 1, into: &found) }
        }
        // `dependentSchemas`, and draft-7 `dependencies` in their schema form.
        for keyword in ["dependentSchemas", "dependencies"] {
            for branch in (schema[keyword]?.objectValue ?? [:]).values { collect(branch, root: root, depth: depth + 1, into: &found) }
        }
    }

    /// A local reference in `root`: a JSON pointer such as `#/$defs/secret` (percent-encoded
    /// or not), or an anchor such as `#secret` (`$anchor` or `$dynamicAnchor`).
    private static func resolve(_ reference: String, in root: JSONValue) -> JSONValue? {
        guard reference.hasPrefix("#") else { return nil }
        let fragment = String(reference.dropFirst()).removingPercentEncoding ?? String(reference.dropFirst())
        guard fragment.isEmpty || fragment.hasPrefix("/") else { return anchored(fragment, in: root, depth: 0) }
        var node = root
        for token in fragment.split(separator: "/") {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            if let next = node[key] {
                node = next
            } else if let position = Int(key), let element = node.arrayValue, position >= 0, position < element.count {
                node = element[position]
            } else {
                return nil
            }
        }
        return node
    }

    /// The subschema of `node` named `name` by `$anchor` or `$dynamicAnchor`.
    private static func anchored(_ name: String, in node: JSONValue, depth: Int) -> JSONValue? {
        guard depth < 32 else { return nil }
        switch node {
        case .object(let members):
            // `$anchor`, `$dynamicAnchor`, and draft-7's `"$id": "#name"`.
            if members["$anchor"]?.stringValue == name || members["$dynamicAnchor"]?.stringValue == name || members["$id"]?.stringValue == "#" + name {
                return node
            }
            for key in members.keys.sorted() {
                if let found = anchored(name, in: members[key] ?? .null, depth: depth + 1) { return found }
            }
            return nil
        case .array(let elements):
            for element in elements {
                if let found = anchored(name, in: element, depth: depth + 1) { return found }
            }
            return nil
        default:
            return nil
        }
    }

    static func isSecret(_ schema: JSONValue, root: JSONValue? = nil) -> Bool {
        applicable(schema, root: root ?? schema, depth: 0).contains { $0["writeOnly"] == .bool(true) || $0["format"] == .string("password") }
    }
}
