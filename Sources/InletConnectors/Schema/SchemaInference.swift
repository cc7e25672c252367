import Foundation

extension JSONSchema {
    /// Infers a draft 2020-12 schema describing `example`.
    ///
    /// Objects get `properties` and `required` (every key present in the example); array items are
    /// merged into one `items` schema (keys missing from some elements become optional, differing types
    /// become a `type` list, integers merged with numbers become `number`). An empty array gets no `items`.
    public static func infer(fromExample example: JSONValue) -> JSONValue {
        var schema = InferredShape(example).schema
        if case .object(var root) = schema {
            root["$schema"] = .string(SchemaDialect.draft2020_12.metaSchemaURI)
            schema = .object(root)
        }
        return schema
    }
}

/// The accumulated shape of one or more example values.
struct InferredShape {
    var types: Set<String> = []
    /// Member shapes when an object was seen.
    var properties: [String: InferredShape] = [:]
    /// Keys present in every object seen.
    var required: Set<String>?
    /// Merged element shape (zero or one element; an array gives the struct indirection) when an
    /// array with elements was seen.
    var items: [InferredShape] = []

    init() {}

    init(_ value: JSONValue) {
        switch value {
        case .null: types = ["null"]
        case .bool: types = ["boolean"]
        case .integer: types = ["integer"]
        case .number: types = ["number"]
        case .string: types = ["string"]
        case .array(let elements):
            types = ["array"]
            if let first = elements.first {
                var merged = InferredShape(first)
                for e in elements.dropFirst() { merged.merge(InferredShape(e)) }
                items = [merged]
            }
        case .object(let members):
            types = ["object"]
            properties = members.mapValues { InferredShape($0) }
            required = Set(members.keys)
        }
    }

    mutating func merge(_ other: InferredShape) {
        let hadObject = types.contains("object")
        types.formUnion(other.types)
        if other.types.contains("object") {
            for (k, v) in other.properties {
                if var existing = properties[k] {
                    existing.merge(v)
                    properties[k] = existing
                } else {
                    properties[k] = v
                }
            }
            if hadObject, let mine = required {
                required = mine.intersection(other.required ?? [])
            } else {
                required = other.required
            }
        }
        if let otherItems = other.items.first {
            if var merged = items.first {
                merged.merge(otherItems)
                items = [merged]
            } else {
                items = [otherItems]
            }
        }
    }

    var schema: JSONValue {
        var out: [String: JSONValue] = [:]
        var names = types
        if names.contains("number") { names.remove("integer") }
        let order = ["object", "array", "string", "integer", "number", "boolean", "null"]
        let sorted = order.filter { names.contains($0) }
        if sorted.count == 1 {
            out["type"] = .string(sorted[0])
        } else if !sorted.isEmpty {
            out["type"] = .array(sorted.map { .string($0) })
        }
        if names.contains("object") {
            out["properties"] = .object(properties.mapValues(\.schema))
            if let required, !required.isEmpty { out["required"] = .array(required.sorted().map { .string($0) }) }
        }
        if names.contains("array"), let element = items.first { out["items"] = element.schema }
        return .object(out)
    }
}
