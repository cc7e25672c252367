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
    }
}
