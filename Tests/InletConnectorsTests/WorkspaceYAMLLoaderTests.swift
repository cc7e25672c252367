import Foundation
import Testing

@testable import InletConnectors

@Suite("Workspace YAML loader")
struct WorkspaceYAMLLoaderTests {
    @Test("scalars become JSON values by YAML's core schema; timestamps stay strings")
    func scalars() throws {
        let document = try YAMLLoader.parse("""
            count: 3
            ratio: 1.5
            enabled: true
            nothing: null
            tilde: ~
            quoted: '42'
            day: 2024-01-31
            text: hello
            """)
        #expect(document.value == [
            "count": 3, "ratio": 1.5, "enabled": true, "nothing": nil, "tilde": nil,
            "quoted": "42", "day": "2024-01-31", "text": "hello",
        ])
    }

    @Test("every value's line is found by JSON pointer, keys first")
    func lines() throws {
        let document = try YAMLLoader.parse("""
            name: Issue Created
            methods:
              handle:
                implementationType: javascript
            list:
              - first
              - second: 2
            "a/b": slash
            """)
        #expect(document.line(of: "") == 1)
        #expect(document.line(of: "/name") == 1)
        #expect(document.line(of: "/methods/handle") == 3)
        #expect(document.line(of: "/methods/handle/implementationType") == 4)
        #expect(document.line(of: "/list/1/second") == 7)
        #expect(document.line(of: "/a~1b") == 8)
    }

    @Test("a pointer that does not exist falls back to its nearest ancestor")
    func missingPointer() throws {
        let document = try YAMLLoader.parse("name: x\nmethods:\n  handle: {}\n")
        #expect(document.line(of: "/methods/handle/implementationType") == 3)
        #expect(document.line(of: "/methods/subscribe") == 2)
        #expect(document.line(of: "/nothing/here") == 1)
    }

    @Test("anchors, aliases and merge keys expand; explicit keys win")
    func mergeKeys() throws {
        let document = try YAMLLoader.parse("""
            base: &base {x: 1, y: 1}
            derived:
              <<: *base
              y: 2
            copy: *base
            """)
        #expect(document.value["derived"] == ["x": 1, "y": 2])
        #expect(document.value["copy"] == ["x": 1, "y": 1])
    }

    @Test("JSON text and empty documents parse")
    func jsonAndEmpty() throws {
        #expect(try YAMLLoader.parse(#"{"a": [1, "two", null]}"#).value == ["a": [1, "two", nil]])
        #expect(try YAMLLoader.parse("").value == nil)
        #expect(try YAMLLoader.parse("# only a comment\n").value == nil)
    }

    @Test("syntax errors carry the line of the problem")
    func syntaxErrors() {
        #expect(throws: YAMLSyntaxError(line: 2, message: "mapping values are not allowed in this context")) {
            try YAMLLoader.parse("name: ok\nbad: a: b\n")
        }
        #expect(throws: YAMLSyntaxError(line: 2, message: "duplicate key 'name' in a mapping")) {
            try YAMLLoader.parse("other: 1\nname: a\nname: b\n")
        }
    }
}
