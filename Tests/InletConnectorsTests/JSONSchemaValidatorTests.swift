import Foundation
import Testing

@testable import InletConnectors

@Suite("JSON Schema validator")
struct JSONSchemaValidatorTests {
    private func schema(_ text: String, options: JSONSchema.Options = .init()) throws -> JSONSchema {
        try JSONSchema(JSONValue(parsing: text), options: options)
    }

    private func json(_ text: String) throws -> JSONValue { try JSONValue(parsing: text) }

    // MARK: - Errors

    @Test("errors carry instance path, keyword location, keyword and message")
    func errorDetails() throws {
        let s = try schema(
            """
            {"type": "object", "properties": {"items": {"type": "array", "items": {
              "type": "object", "required": ["id"], "properties": {"name": {"type": "string"}}}}}}
            """)
        let errors = s.validate(try json(#"{"items": [{"name": 5}]}"#))
        #expect(errors.count == 2)
        #expect(errors.contains(SchemaValidationError(
            instancePath: "/items/0", keywordLocation: "/properties/items/items/required",
            keyword: "required", message: "missing required property 'id'")))
        #expect(errors.contains(SchemaValidationError(
            instancePath: "/items/0/name", keywordLocation: "/properties/items/items/properties/name/type",
            keyword: "type", message: "expected string, got integer")))
        #expect(s.isValid(try json(#"{"items": [{"id": 1, "name": "x"}]}"#)))
    }

    @Test("type messages name the actual JSON type")
    func typeMessages() throws {
        let s = try schema(#"{"type": "string"}"#)
        #expect(s.validate(.number(1.5)).map(\.message) == ["expected string, got number"])
        #expect(s.validate(.null).map(\.message) == ["expected string, got null"])
        let multi = try schema(#"{"type": ["string", "null"]}"#)
        #expect(multi.validate(.object([:])).map(\.message) == ["expected one of string, null, got object"])
    }

    @Test("keyword locations follow $ref and description renders one line")
    func refLocations() throws {
        let s = try schema(##"{"$defs": {"name": {"type": "string", "minLength": 2}}, "properties": {"n": {"$ref": "#/$defs/name"}}}"##)
        let errors = s.validate(try json(#"{"n": "x"}"#))
        #expect(errors.count == 1)
        #expect(errors.first?.keywordLocation == "/properties/n/$ref/minLength")
        #expect(errors.first?.description == "/n: string is 1 characters long, at least 2 required (minLength at /properties/n/$ref/minLength)")
        let root = try schema(#"{"required": ["id"]}"#).validate(.object([:]))
        #expect(root.first?.description == "/: missing required property 'id' (required at /required)")
    }

    @Test("forbidden properties and items get specific messages")
    func forbiddenMessages() throws {
        let s = try schema(#"{"properties": {"a": true}, "additionalProperties": false}"#)
        let errors = s.validate(try json(#"{"a": 1, "b/c": 2}"#))
        #expect(errors == [SchemaValidationError(instancePath: "/b~1c", keywordLocation: "/additionalProperties",
            keyword: "additionalProperties", message: "additional property 'b/c' is not allowed")])
        let u = try schema(#"{"unevaluatedProperties": false, "allOf": [{"properties": {"a": true}}]}"#)
        #expect(u.validate(try json(#"{"a": 1, "z": 2}"#)).map(\.message) == ["unevaluated property 'z' is not allowed"])
        let tuple = try schema(#"{"prefixItems": [{"type": "integer"}], "items": false}"#)
        #expect(tuple.validate(try json("[1, 2]")).map(\.instancePath) == ["/1"])
    }

    @Test("combinators report one summary error")
    func combinatorMessages() throws {
        let any = try schema(#"{"anyOf": [{"type": "string"}, {"type": "integer"}]}"#)
        #expect(any.validate(.bool(true)).map(\.message) == ["value does not match any of the 2 schemas in anyOf"])
        let one = try schema(#"{"oneOf": [{"type": "number"}, {"type": "integer"}]}"#)
        #expect(one.validate(.integer(3)).first?.message.contains("matches 2 schemas in oneOf") == true)
        let not = try schema(#"{"not": {"type": "null"}}"#)
        #expect(not.validate(.null).map(\.keyword) == ["not"])
    }

    // MARK: - Numbers and equality

    @Test("1.0 is an integer and equal to 1 for const, enum and uniqueItems")
    func numericEquality() throws {
        #expect(try schema(#"{"type": "integer"}"#).isValid(.number(1.0)))
        #expect(try schema(#"{"const": 1}"#).isValid(.number(1.0)))
        #expect(try schema(#"{"enum": [1.0, "a"]}"#).isValid(.integer(1)))
        #expect(!(try schema(#"{"uniqueItems": true}"#).isValid(.array([.integer(1), .number(1.0)]))))
        #expect(try schema(#"{"multipleOf": 0.01}"#).isValid(.number(19.99)))
        #expect(!(try schema(#"{"const": false}"#).isValid(.integer(0))))
    }

    @Test("pattern uses ECMA-262 ASCII classes")
    func patternClasses() throws {
        let s = try schema(#"{"pattern": "^\\d+$"}"#)
        #expect(s.isValid("123"))
        #expect(!s.isValid("١٢٣"))
        #expect(!s.isValid("123\n"))
    }

    // MARK: - Dialects

    @Test("$schema selects draft-07 array items and additionalItems")
    func draft7Items() throws {
        let text = #"{"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}], "additionalItems": false}"#
        let s = try schema(text)
        #expect(s.dialect == .draft7)
        #expect(s.isValid(try json(#"["a"]"#)))
        #expect(!s.isValid(try json(#"["a", 1]"#)))
        // Without $schema the default 2020-12 dialect rejects array-form items.
        #expect(throws: SchemaError.self) {
            try schema(#"{"items": [{"type": "string"}]}"#)
        }
        let viaOption = try schema(#"{"items": [{"type": "string"}], "additionalItems": false}"#, options: .init(defaultDialect: .draft7))
        #expect(!viaOption.isValid(try json(#"["a", 1]"#)))
    }

    @Test("$ref siblings are ignored in draft-07 and applied in 2020-12")
    func refSiblings() throws {
        let d7 = try schema(##"{"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"a": {}}, "$ref": "#/definitions/a", "type": "string"}"##)
        #expect(d7.isValid(.integer(5)))
        let d2020 = try schema(##"{"$defs": {"a": {}}, "$ref": "#/$defs/a", "type": "string"}"##)
        #expect(d2020.dialect == .draft2020_12)
        #expect(!d2020.isValid(.integer(5)))
    }

    @Test("draft-07 dependencies and 2020-12 dependentRequired")
    func dependencies() throws {
        let d7 = try schema(#"{"$schema": "http://json-schema.org/draft-07/schema#", "dependencies": {"a": ["b"], "c": {"required": ["d"]}}}"#)
        #expect(!d7.isValid(try json(#"{"a": 1}"#)))
        #expect(!d7.isValid(try json(#"{"c": 1}"#)))
        let d2020 = try schema(#"{"dependentRequired": {"a": ["b"]}}"#)
        #expect(d2020.validate(try json(#"{"a": 1}"#)).map(\.message) == ["property 'b' is required when 'a' is present"])
    }

    @Test("$anchor, $id base changes and registry documents resolve")
    func references() throws {
        var registry = SchemaRegistry()
        registry.register(try json(#"{"$defs": {"id": {"type": "integer", "minimum": 1}}}"#), uri: "https://example.com/common.json")
        let s = try JSONSchema(
            try json(#"""
                {"$id": "https://example.com/root.json",
                 "properties": {"id": {"$ref": "common.json#/$defs/id"}, "tag": {"$ref": "#tag"}},
                 "$defs": {"t": {"$anchor": "tag", "type": "string"}}}
                """#), registry: registry)
        #expect(s.isValid(try json(#"{"id": 3, "tag": "x"}"#)))
        #expect(s.validate(try json(#"{"id": 0, "tag": 1}"#)).count == 2)
    }

    @Test("embedded meta-schemas parse and validate schemas")
    func metaSchemas() throws {
        let registry = SchemaRegistry()
        for uri in ["http://json-schema.org/draft-07/schema#", "https://json-schema.org/draft/2020-12/schema"]
            + ["core", "applicator", "unevaluated", "validation", "meta-data", "format-annotation", "content"]
            .map({ "https://json-schema.org/draft/2020-12/meta/\($0)" })
        {
            #expect(registry.document(for: uri) != nil, "\(uri)")
        }
        let meta2020 = try schema(#"{"$ref": "https://json-schema.org/draft/2020-12/schema"}"#)
        #expect(meta2020.isValid(try json(#"{"type": "object", "properties": {"a": {"minLength": 1}}}"#)))
        #expect(!meta2020.isValid(try json(#"{"properties": {"a": {"minLength": -1}}}"#)))
        let meta7 = try schema(#"{"$ref": "http://json-schema.org/draft-07/schema#"}"#)
        #expect(!meta7.isValid(try json(#"{"type": "strin"}"#)))
    }

    // MARK: - Malformed schemas

    @Test("malformed schemas throw SchemaError naming the keyword's pointer", arguments: [
        (#"{"type": 5}"#, "/type"),
        (#"{"required": "x"}"#, "/required"),
        (#"{"properties": {"a": {"minLength": -1}}}"#, "/properties/a/minLength"),
        (#"{"properties": {"a": 3}}"#, "/properties/a"),
        (#"{"pattern": "("}"#, "/pattern"),
        (#"{"allOf": [{"type": "strin"}]}"#, "/allOf/0/type"),
        (##"{"properties": {"a": {"$ref": "#/$defs/missing"}}}"##, "/properties/a/$ref"),
        (#"{"$ref": "https://nowhere.example/x.json"}"#, "/$ref"),
        (#"{"$schema": "http://json-schema.org/draft-04/schema#"}"#, "/$schema"),
        ("5", ""),
    ])
    func malformed(_ text: String, _ pointer: String) throws {
        do {
            _ = try schema(text)
            Issue.record("expected \(text) to be rejected")
        } catch let error as SchemaError {
            #expect(error.pointer == pointer, "\(error)")
            #expect(!error.message.isEmpty)
        }
    }

    // MARK: - Formats

    @Test("format is an annotation unless assertion is enabled")
    func formats() throws {
        #expect(try schema(#"{"format": "email"}"#).isValid("not an email"))
        let assert = JSONSchema.Options(assertFormats: true)
        let cases: [(String, String, Bool)] = [
            ("email", "a.b@example.com", true), ("email", "no-at-sign", false),
            ("date-time", "2024-02-29T12:30:00.5Z", true), ("date-time", "2023-02-29T12:30:00Z", false),
            ("date", "2024-12-31", true), ("date", "2024-13-01", false),
            ("uuid", "123e4567-e89b-12d3-a456-426614174000", true), ("uuid", "123e4567e89b", false),
            ("ipv4", "192.168.0.1", true), ("ipv4", "256.1.1.1", false), ("ipv4", "01.1.1.1", false),
            ("ipv6", "::1", true), ("ipv6", "2001:db8::192.168.0.1", true), ("ipv6", "1:2:3:4:5:6:7:8:9", false),
            ("uri", "https://example.com/a?b#c", true), ("uri", "relative/path", false),
            ("unknown-format", "anything", true),
        ]
        for (format, value, expected) in cases {
            let s = try schema(#"{"format": "\#(format)"}"#, options: assert)
            #expect(s.isValid(.string(value)) == expected, "\(format): \(value)")
        }
        #expect(try schema(#"{"format": "email"}"#, options: assert).isValid(.integer(1)))
    }

    // MARK: - Recursion

    @Test("deeply nested instances validate; reference cycles fail instead of recursing forever")
    func recursion() throws {
        let tree = try schema(##"{"type": ["array", "integer"], "items": {"$ref": "#"}}"##)
        var deep: JSONValue = .integer(1)
        for _ in 0..<64 { deep = .array([deep]) }
        #expect(tree.isValid(deep))
        for _ in 0..<600 { deep = .array([deep]) }
        #expect(tree.validate(deep).map(\.message).first?.hasPrefix("value is nested too deeply") == true)
        let cycle = try schema(##"{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}"##)
        #expect(!cycle.isValid(.integer(1)))
        #expect(cycle.validate(.integer(1)).count == 1)
    }

    // MARK: - Concurrency

    @Test("a compiled schema validates concurrently")
    func concurrent() async throws {
        let s = try schema(##"{"type": "array", "items": {"$ref": "#/$defs/n"}, "$defs": {"n": {"type": "integer", "maximum": 10}}}"##)
        let results = await withTaskGroup(of: (Int, Int).self) { group in
            for i in 0..<64 {
                group.addTask {
                    let instance = JSONValue.array((0..<50).map { .integer(Int64(($0 + i) % 12)) })
                    return (i, s.validate(instance).count)
                }
            }
            var out: [Int: Int] = [:]
            for await (i, n) in group { out[i] = n }
            return out
        }
        for (i, n) in results {
            let expected = (0..<50).filter { ($0 + i) % 12 > 10 }.count
            #expect(n == expected)
        }
    }
}
