import Foundation
import Testing

@testable import InletConnectors

@Suite("JSON Schema inference")
struct JSONSchemaInferenceTests {
    @Test("infers types, properties and required keys")
    func objectExample() throws {
        let example = try JSONValue(parsing: #"{"id": 1, "name": "a", "score": 1.5, "ok": true, "note": null}"#)
        let schema = JSONSchema.infer(fromExample: example)
        #expect(schema["$schema"] == .string("https://json-schema.org/draft/2020-12/schema"))
        #expect(schema["type"] == "object")
        #expect(schema["required"] == ["id", "name", "note", "ok", "score"])
        #expect(schema["properties"]?["id"] == ["type": "integer"])
        #expect(schema["properties"]?["score"] == ["type": "number"])
        #expect(schema["properties"]?["ok"] == ["type": "boolean"])
        #expect(schema["properties"]?["note"] == ["type": "null"])
        #expect(try JSONSchema(schema).isValid(example))
    }

    @Test("merges array elements")
    func arrayMerge() throws {
        let example = try JSONValue(parsing: #"{"rows": [{"id": 1, "v": 2}, {"id": 2, "v": 2.5, "extra": "x"}], "tags": [], "mixed": [1, "a", null]}"#)
        let schema = JSONSchema.infer(fromExample: example)
        let rows = schema["properties"]?["rows"]
        #expect(rows?["type"] == "array")
        #expect(rows?["items"]?["required"] == ["id", "v"])
        #expect(rows?["items"]?["properties"]?["v"] == ["type": "number"])
        #expect(rows?["items"]?["properties"]?["extra"] == ["type": "string"])
        #expect(schema["properties"]?["tags"] == ["type": "array"])
        #expect(schema["properties"]?["mixed"]?["items"]?["type"] == ["string", "integer", "null"])
        let compiled = try JSONSchema(schema)
        #expect(compiled.isValid(example))
        #expect(!compiled.isValid(try JSONValue(parsing: #"{"rows": [{"id": "x", "v": 1}], "tags": [], "mixed": []}"#)))
    }

    @Test("scalars infer a bare type")
    func scalars() {
        #expect(JSONSchema.infer(fromExample: "x")["type"] == "string")
        #expect(JSONSchema.infer(fromExample: 3)["type"] == "integer")
    }
}
