import InletConnectors

/// Leaves out of admin API answers every value a JSON Schema marks as secret: a property whose
/// schema says `writeOnly: true` or `format: password` (JSON Schema's own words for "accepted
/// on input, never shown"), at any depth of `properties` and `items`.
///
/// Connector authors mark signing secrets and client secrets this way in `parametersSchema`
/// (docs/connectors.md); the values stay sealed or in the subscription, and methods get them.
enum SecretRedaction {
    /// `value` without the members `schema` marks secret.
    static func redacting(_ value: JSONValue, schema: JSONValue?) -> JSONValue {
        guard let schema else { return value }
        switch value {
        case .object(var members):
            guard let properties = schema["properties"]?.objectValue else { return value }
            for (name, member) in members {
                guard let property = properties[name] else { continue }
                if isSecret(property) {
                    members[name] = nil
                } else {
                    members[name] = redacting(member, schema: property)
                }
            }
            return .object(members)
        case .array(let elements):
            guard let items = schema["items"] else { return value }
            return .array(elements.map { redacting($0, schema: items) })
        default:
            return value
        }
    }

    static func isSecret(_ schema: JSONValue) -> Bool {
        schema["writeOnly"] == .bool(true) || schema["format"] == .string("password")
    }
}
