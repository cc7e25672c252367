import InletJSON
import Testing

@testable import InletHTTP

@Suite("Secret values stay out of admin answers")
struct SecretRedactionTests {
    @Test("secrets reached through if/then/else, dependentSchemas, anchors, draft-7 tuples and definitions, patterns beside properties, and unevaluated members are left out too")
    func redactsThroughEveryApplicator() {
        let schema: JSONValue = [
            "type": "object",
            "definitions": ["hidden": ["type": "string", "format": "password"]],
            "$defs": ["anchored": ["$anchor": "key", "type": "string", "writeOnly": true],
                      "dynamic": ["$dynamicAnchor": "pin", "type": "string", "writeOnly": true]],
            "properties": [
                "mode": ["enum": ["basic", "token"]],
                "clientId": ["type": "string"],
                "x-listed": ["type": "string"],
                "tuple": ["type": "array", "items": [["type": "string"], ["$ref": "#/definitions/hidden"]], "additionalItems": ["writeOnly": true]],
                "viaAnchor": ["$ref": "#key"],
                "viaDynamic": ["$dynamicRef": "#pin"],
                "viaEncoded": ["$ref": "#/%24defs/anchored"],
            ],
            "patternProperties": ["^x-": ["writeOnly": true]],
            "if": ["properties": ["mode": ["const": "basic"]]],
            "then": ["properties": ["password": ["type": "string", "writeOnly": true]]],
            "else": ["properties": ["token": ["type": "string", "format": "password"]]],
            "dependentSchemas": ["clientId": ["properties": ["clientSecret": ["writeOnly": true]]]],
            "dependencies": ["account": ["properties": ["pin": ["format": "password"]]]],
            "additionalProperties": ["type": "string"],
        ]
        let value: JSONValue = [
            "mode": "basic", "x-listed": "both apply", "tuple": ["shown", "hidden", "extra"], "viaAnchor": "a", "viaDynamic": "d", "viaEncoded": "e",
            "password": "p", "token": "t", "clientId": "id", "clientSecret": "cs", "account": "acc", "pin": "1234", "leftover": "u",
        ]
        #expect(SecretRedaction.redacting(value, schema: schema) == ["mode": "basic", "tuple": ["shown", .null, .null], "clientId": "id", "account": "acc", "leftover": "u"])

        // Members nothing else governs, under unevaluatedProperties / unevaluatedItems.
        let unevaluated: JSONValue = [
            "properties": ["shown": ["type": "string"], "list": ["prefixItems": [["type": "string"]], "unevaluatedItems": ["writeOnly": true]]],
            "unevaluatedProperties": ["writeOnly": true],
        ]
        #expect(SecretRedaction.redacting(["shown": "s", "hidden": "h", "list": ["a", "b"]], schema: unevaluated) == ["shown": "s", "list": ["a", .null]])

        // Draft-7 anchors and `contains`.
        let draft7: JSONValue = [
            "definitions": ["token": ["$id": "#tok", "type": "string", "writeOnly": true]],
            "properties": ["token": ["$ref": "#tok"], "keys": ["type": "array", "contains": ["writeOnly": true]]],
        ]
        #expect(SecretRedaction.redacting(["token": "t", "keys": ["k1", "k2"], "other": 1], schema: draft7) == ["keys": [.null, .null], "other": 1])
    }

    @Test("fails closed: a reference that does not resolve, a chain too deep to follow, and a schema that multiplies itself count as secret")
    func failsClosed() {
        let unresolved: JSONValue = ["properties": ["remote": ["$ref": "https://example.com/schemas/token.json"], "missing": ["$ref": "#/$defs/nowhere"], "plain": ["type": "string"]]]
        #expect(SecretRedaction.redacting(["remote": "r", "missing": "m", "plain": "p"], schema: unresolved) == ["plain": "p"])

        // A linked list of schemas: past the depth it follows, values are left out, not shown.
        let recursive: JSONValue = ["$defs": ["node": ["properties": ["next": ["$ref": "#/$defs/node"], "secret": ["writeOnly": true], "label": ["type": "string"]]]], "$ref": "#/$defs/node"]
        var deep: JSONValue = ["label": "bottom", "secret": "s"]
        for level in 0..<40 { deep = ["label": .string("level \(level)"), "next": deep, "secret": "s"] }
        let redacted = SecretRedaction.redacting(deep, schema: recursive)
        #expect(!redacted.jsonText.contains("\"secret\""), "no secret at any depth")
        #expect(redacted["label"] == "level 39")

        // At the root too: a reference there that does not resolve hides every member.
        let rootReference: JSONValue = ["$ref": "https://acme.example/p#/$defs/P", "$defs": ["P": ["properties": ["secret": ["writeOnly": true]]]]]
        #expect(SecretRedaction.redacting(["secret": "s", "name": "n"], schema: rootReference) == [:])

        // A schema whose branches refer back to it three times over stays cheap.
        let multiplying: JSONValue = ["$defs": ["a": ["anyOf": [["$ref": "#/$defs/a"], ["$ref": "#/$defs/a"], ["$ref": "#/$defs/a"]]]], "properties": ["x": ["$ref": "#/$defs/a"], "y": ["type": "string"]]]
        #expect(SecretRedaction.redacting(["x": "1", "y": "2"], schema: multiplying) == ["y": "2"])
    }

    @Test("a property marked writeOnly or format: password is left out, at any depth and in arrays; the rest stays")
    func redacts() {
        let schema: JSONValue = [
            "type": "object",
            "properties": [
                "owner": ["type": "string"],
                "secret": ["type": "string", "writeOnly": true],
                "auth": ["type": "object", "properties": ["user": ["type": "string"], "password": ["type": "string", "format": "password"]]],
                "keys": ["type": "array", "items": ["type": "object", "properties": ["name": ["type": "string"], "value": ["type": "string", "writeOnly": true]]]],
            ],
        ]
        let value: JSONValue = [
            "owner": "octo", "secret": "s3cret", "auth": ["user": "u", "password": "p4ss"],
            "keys": [["name": "a", "value": "v1"], ["name": "b", "value": "v2"]], "extra": "kept",
        ]
        #expect(SecretRedaction.redacting(value, schema: schema) == [
            "owner": "octo", "auth": ["user": "u"], "keys": [["name": "a"], ["name": "b"]], "extra": "kept",
        ])
        #expect(SecretRedaction.redacting(value, schema: nil) == value)

        let indirect: JSONValue = [
            "$defs": ["token": ["type": "string", "writeOnly": true]],
            "type": "object",
            "allOf": [["properties": ["apiKey": ["$ref": "#/$defs/token"]]]],
            "patternProperties": ["^x-": ["type": "string", "format": "password"]],
            "additionalProperties": ["type": "object", "properties": ["pin": ["writeOnly": true], "label": ["type": "string"]]],
            "properties": ["tokens": ["type": "array", "items": ["$ref": "#/$defs/token"]], "pair": ["prefixItems": [["type": "string"], ["writeOnly": true]]]],
        ]
        let nested: JSONValue = [
            "apiKey": "k", "x-signature": "sig", "other": ["pin": "1234", "label": "L"], "tokens": ["t1", "t2"], "pair": ["name", "hidden"],
        ]
        #expect(SecretRedaction.redacting(nested, schema: indirect) == [
            "other": ["label": "L"], "tokens": [.null, .null], "pair": ["name", .null],
        ])
    }
}
