import Foundation

/// The compiled, immutable form of a schema and everything it references: an array of nodes that
/// refer to each other by index, so reference cycles need no reference types.
struct SchemaGraph: Sendable {
    /// All compiled (sub)schemas.
    let nodes: [SchemaNode]
    /// Index of the root schema in `nodes`.
    let root: Int
    /// Per schema resource (by resource index): `$dynamicAnchor` name → node index.
    let dynamicAnchors: [[String: Int]]
    /// Whether any node uses `unevaluatedProperties` / `unevaluatedItems`, i.e. whether evaluated
    /// properties and items must be tracked during validation.
    let tracksEvaluation: Bool
}

/// One compiled schema: a boolean schema or a list of keywords.
struct SchemaNode: Sendable {
    /// `true` / `false` for boolean schemas, `nil` for object schemas.
    let constant: Bool?
    /// The keywords in evaluation order (`unevaluated*` last).
    let keywords: [SchemaKeyword]
    /// Index of the schema resource (`$id` scope) the node belongs to; used for the dynamic scope.
    let resource: Int
}

/// A compiled keyword and the name under which it appears in keyword locations.
struct SchemaKeyword: Sendable {
    let name: String
    let check: KeywordCheck
}

/// A `patternProperties` entry.
struct PatternSchema: Sendable {
    let regex: SchemaRegex
    let node: Int
}

/// The JSON Schema primitive types.
enum SchemaType: String, Sendable, CaseIterable {
    case null, boolean, integer, number, string, array, object

    func matches(_ value: JSONValue) -> Bool {
        switch (self, value) {
        case (.null, .null), (.boolean, .bool), (.string, .string), (.array, .array), (.object, .object): return true
        case (.number, .integer), (.number, .number), (.integer, .integer): return true
        case (.integer, .number(let d)): return d.isFinite && d.rounded() == d
        default: return false
        }
    }
}

/// What a compiled keyword checks; child schemas are node indices into ``SchemaGraph/nodes``.
enum KeywordCheck: Sendable {
    case type([SchemaType])
    case enumeration(values: [JSONValue], normalized: Set<JSONValue>)
    case constant(JSONValue)
    case multipleOf(JSONValue)
    case maximum(JSONValue, exclusive: Bool)
    case minimum(JSONValue, exclusive: Bool)
    case maxLength(Int)
    case minLength(Int)
    case pattern(SchemaRegex)
    case format(String)
    case maxItems(Int)
    case minItems(Int)
    case uniqueItems
    case maxProperties(Int)
    case minProperties(Int)
    case required([String])
    case dependentRequired([(property: String, required: [String])])

    case ref(Int)
    case dynamicRef(target: Int, anchor: String?)
    case allOf([Int])
    case anyOf([Int])
    case oneOf([Int])
    case not(Int)
    case conditional(if: Int, then: Int?, else: Int?)
    case properties([(name: String, node: Int)])
    case patternProperties([PatternSchema])
    case additionalProperties(Int, known: Set<String>, patterns: [SchemaRegex])
    case propertyNames(Int)
    case dependentSchemas([(property: String, node: Int)])
    /// `prefixItems` (draft 2020-12) or array-form `items` (draft-07).
    case prefixItems([Int])
    /// `items` (2020-12: after `prefixItems`), schema-form `items` or `additionalItems` (draft-07).
    case items(Int, from: Int)
    case contains(Int, min: Int, max: Int?)
    case unevaluatedProperties(Int)
    case unevaluatedItems(Int)
}
