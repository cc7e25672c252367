import InletJSON
import Testing

@testable import InletHTTP

@Suite("Secret values stay out of admin answers")
struct SecretRedactionTests {
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
