import Foundation
import Testing

@testable import InletConnectors

@Suite("JSON Schema file check")
struct JSONSchemaFileCheckTests {
    /// A fresh temporary folder holding `files` (name → contents).
    private func folder(_ files: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("inlet-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("defs"), withIntermediateDirectories: true)
        for (name, text) in files {
            try Data(text.utf8).write(to: dir.appendingPathComponent(name))
        }
        return dir
    }

    @Test("valid and invalid instances with a local-file $ref")
    func verdicts() throws {
        let dir = try folder([
            "schema.json": #"{"type": "object", "required": ["user"], "properties": {"user": {"$ref": "./defs/user.json"}}}"#,
            "defs/user.json": ##"{"type": "object", "required": ["id"], "properties": {"id": {"$ref": "#/$defs/id"}}, "$defs": {"id": {"type": "integer"}}}"##,
            "good.json": #"{"user": {"id": 7}}"#,
            "bad.json": #"{"user": {"id": "seven"}}"#,
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.json").path
        let bad = dir.appendingPathComponent("bad.json").path
        let result = SchemaFileCheck.run(schemaPath: dir.appendingPathComponent("schema.json").path, instancePaths: [good, bad])
        #expect(!result.allValid)
        #expect(result.lines == [
            "valid: \(good)",
            "invalid: \(bad)",
            "  /user/id: expected integer, got string (type at /properties/user/$ref/properties/id/$ref/type)",
        ])
        let onlyGood = SchemaFileCheck.run(schemaPath: dir.appendingPathComponent("schema.json").path, instancePaths: [good])
        #expect(onlyGood.allValid)
    }

    @Test("unreadable and unparsable files say what to do")
    func badFiles() throws {
        let dir = try folder([
            "schema.json": #"{"type": "string"}"#,
            "broken.json": #"{"a": "#,
            "bad-schema.json": #"{"type": 5}"#,
            "bad-ref.json": #"{"$ref": "./missing.json"}"#,
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let schema = dir.appendingPathComponent("schema.json").path
        let missing = dir.appendingPathComponent("nope.json").path
        let broken = dir.appendingPathComponent("broken.json").path
        let result = SchemaFileCheck.run(schemaPath: schema, instancePaths: [missing, broken])
        #expect(!result.allValid)
        #expect(result.lines.count == 2)
        #expect(result.lines[0].hasPrefix("error: cannot read instance file \(missing): no such file"))
        #expect(result.lines[1].hasPrefix("error: instance file \(broken) is not valid JSON"))
        #expect(result.lines[1].hasSuffix("fix the JSON syntax and retry"))

        let badSchema = SchemaFileCheck.run(schemaPath: dir.appendingPathComponent("bad-schema.json").path, instancePaths: [broken])
        #expect(badSchema.lines.count == 1)
        #expect(badSchema.lines[0].contains("is not a valid JSON Schema"))
        #expect(badSchema.lines[0].contains("/type"))

        let badRef = SchemaFileCheck.run(schemaPath: dir.appendingPathComponent("bad-ref.json").path, instancePaths: [broken])
        #expect(badRef.lines[0].contains("cannot read referenced schema file"))

        let noSchema = SchemaFileCheck.run(schemaPath: missing, instancePaths: [schema])
        #expect(noSchema.lines == ["error: cannot read schema file \(missing): no such file; check the path"])
        #expect(!noSchema.allValid)
    }

    @Test("file references are off unless requested")
    func fileReferencesDisabledByDefault() throws {
        let dir = try folder(["other.json": #"{"type": "string"}"#])
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = dir.appendingPathComponent("schema.json")
        #expect(throws: SchemaError.self) {
            try JSONSchema(["$ref": "other.json"], baseURI: base)
        }
        let allowed = try JSONSchema(["$ref": "other.json"], baseURI: base, options: .init(allowFileReferences: true))
        #expect(!allowed.isValid(1))
    }
}
