import Foundation
import InletConnectors

/// Leaves out of admin API answers every value a JSON Schema marks as secret: a property whose
/// schema says `writeOnly: true` or `format: password` (JSON Schema's own words for "accepted
/// on input, never shown"), at any depth: through `properties`, `patternProperties` (matched
/// as a prefix-free regular expression), `additionalProperties`, `items`, `prefixItems`,
/// `allOf`/`anyOf`/`oneOf` and local `$ref`s (`#/$defs/...`). A secret element of an array is
/// replaced by `null`, so positions stay.
///
/// Connector authors mark signing secrets and client secrets this way in `parametersSchema`
/// (docs/connectors.md); the values stay sealed or in the subscription, and methods get them.
enum SecretRedaction {
    /// `value` without the members `schema` marks secret.
    static func redacting(_ value: JSONValue, schema: JSONValue?) -> JSONValue {
        guard let schema else { return value }
        return redacting(value, schema: schema, root: schema, depth: 0)
    }

    private static func redacting(_ value: JSONValue, schema: JSONValue, root: JSONValue, depth: Int) -> JSONValue {
        // Every schema that applies here: the schema, what it refers to, and its combinators.
        let schemas = applicable(schema, root: root, depth: depth)
        switch value {
        case .object(var members):
            for (name, member) in members {
                let governing = schemas.flatMap { schema in memberSchemas(of: schema, forMember: name) }
                if governing.contains(where: { isSecret($0, root: root) }) {
                    members[name] = nil
                } else {
                    members[name] = governing.reduce(member) { redacting($0, schema: $1, root: root, depth: depth + 1) }
                }
            }
            return .object(members)
        case .array(let elements):
            return .array(elements.enumerated().map { index, element in
                let governing = schemas.compactMap { schema -> JSONValue? in
                    if let prefix = schema["prefixItems"]?.arrayValue, index < prefix.count { return prefix[index] }
                    return schema["items"].flatMap { $0.objectValue != nil ? $0 : nil }
                }
                if governing.contains(where: { isSecret($0, root: root) }) { return .null }
                return governing.reduce(element) { redacting($0, schema: $1, root: root, depth: depth + 1) }
            })
        default:
            return value
        }
    }

    /// The schemas that govern member `name` of an object under `schema`.
    private static func memberSchemas(of schema: JSONValue, forMember name: String) -> [JSONValue] {
        if let property = schema["properties"]?[name] { return [property] }
        var found: [JSONValue] = []
        for (pattern, subschema) in schema["patternProperties"]?.objectValue ?? [:] where name.range(of: pattern, options: .regularExpression) != nil {
            found.append(subschema)
        }
        if found.isEmpty, let additional = schema["additionalProperties"], additional.objectValue != nil { found.append(additional) }
        return found
    }

    /// `schema` with its local `$ref` and its `allOf`/`anyOf`/`oneOf` branches, flattened.
    private static func applicable(_ schema: JSONValue, root: JSONValue, depth: Int) -> [JSONValue] {
        guard depth < 32, schema.objectValue != nil else { return [] }
        var all = [schema]
        if let reference = schema["$ref"]?.stringValue, let target = resolve(reference, in: root) {
            all += applicable(target, root: root, depth: depth + 1)
        }
        for keyword in ["allOf", "anyOf", "oneOf"] {
            for branch in schema[keyword]?.arrayValue ?? [] { all += applicable(branch, root: root, depth: depth + 1) }
        }
        return all
    }

    /// A local reference such as `#/$defs/secret` in `root`.
    private static func resolve(_ reference: String, in root: JSONValue) -> JSONValue? {
        guard reference.hasPrefix("#") else { return nil }
        var node = root
        for token in reference.dropFirst().split(separator: "/") {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = node[key] else { return nil }
            node = next
        }
        return node
    }

    static func isSecret(_ schema: JSONValue, root: JSONValue? = nil) -> Bool {
        applicable(schema, root: root ?? schema, depth: 0).contains { $0["writeOnly"] == .bool(true) || $0["format"] == .string("password") }
    }
}
