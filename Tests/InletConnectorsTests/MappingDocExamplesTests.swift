import Foundation
import Testing

@testable import InletConnectors

/// The examples of docs/formulas.md, kept in `Tests/Fixtures/mappings/doc-examples.json`.
enum MappingDocExamples {
    struct Example: Sendable, CustomTestStringConvertible {
        var name: String
        var mapping: JSONValue
        var variables: JSONValue
        var expected: JSONValue
        var testDescription: String { name }

        init(_ value: JSONValue) throws {
            guard let name = value["name"]?.stringValue, let mapping = value["mapping"], let variables = value["variables"], let expected = value["expected"] else {
                throw CocoaError(.coderReadCorrupt, userInfo: [NSDebugDescriptionErrorKey: "an example needs name, mapping, variables, expected: \(value.jsonText)"])
            }
            (self.name, self.mapping, self.variables, self.expected) = (name, mapping, variables, expected)
        }
    }

    /// The package root, found by walking up from this file.
    static let root: URL = {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Tests/Fixtures/mappings/doc-examples.json").path) { return directory }
            directory.deleteLastPathComponent()
        }
        return directory
    }()

    static let fixture = root.appendingPathComponent("Tests/Fixtures/mappings/doc-examples.json")
    static let doc = root.appendingPathComponent("docs/formulas.md")

    /// Loaded once; a broken fixture yields no examples, which `fixtureIsComplete` reports.
    static let examples: [Example] = {
        guard let data = try? Data(contentsOf: fixture), let entries = try? JSONValue(parsing: data).arrayValue else { return [] }
        return entries.compactMap { try? Example($0) }
    }()

    /// The examples shown in the doc: its ```json blocks that have a "name".
    static func docExamples() throws -> [Example] {
        let text = try String(contentsOf: doc, encoding: .utf8)
        var examples: [Example] = []
        var block: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if block == nil, line == "```json" {
                block = []
            } else if block != nil, line == "```" {
                let value = try JSONValue(parsing: block!.joined(separator: "\n"))
                if value["name"] != nil { examples.append(try Example(value)) }
                block = nil
            } else if block != nil {
                block!.append(line)
            }
        }
        return examples
    }
}

@Suite("docs/formulas.md examples")
struct MappingDocExamplesTests {
    @Test("the fixture parses and every example has a unique name")
    func fixtureIsComplete() throws {
        let entries = try JSONValue(parsing: Data(contentsOf: MappingDocExamples.fixture)).arrayValue ?? []
        #expect(entries.count >= 20)
        #expect(MappingDocExamples.examples.count == entries.count)
        #expect(Set(MappingDocExamples.examples.map(\.name)).count == entries.count)
    }

    @Test("each documented example evaluates to its expected result", arguments: MappingDocExamples.examples)
    func example(_ example: MappingDocExamples.Example) throws {
        #expect(MappingValidator.problems(in: example.mapping) == [])
        let result = try FormulaEvaluator().evaluate(example.mapping, variables: example.variables)
        #expect(MappingTesting.same(result, example.expected), "got \(result.jsonText)")
    }

    @Test("the doc shows exactly the fixture's examples")
    func docMatchesFixture() throws {
        let shown = try MappingDocExamples.docExamples()
        let text = try String(contentsOf: MappingDocExamples.doc, encoding: .utf8)
        for example in MappingDocExamples.examples {
            #expect(text.contains("\"name\": \"\(example.name)\""), "\(example.name) is not in docs/formulas.md")
        }
        #expect(shown.map(\.name) == MappingDocExamples.examples.map(\.name))
        for (doc, fixture) in zip(shown, MappingDocExamples.examples) {
            #expect(doc.mapping == fixture.mapping && doc.variables == fixture.variables && doc.expected == fixture.expected, "\(doc.name) differs between the doc and the fixture")
        }
    }

    @Test("every formula has a section in the doc and is used in an example")
    func everyFormulaDocumented() throws {
        let text = try String(contentsOf: MappingDocExamples.doc, encoding: .utf8)
        let exampleText = MappingDocExamples.examples.map(\.mapping.jsonText).joined()
        for name in Formula.names {
            #expect(text.contains("### `\(name)`") || text.contains(", `\(name)`"), "no section for \(name)")
            #expect(exampleText.contains("\"\(name)\""), "no example uses \(name)")
        }
        for name in Formula.unsupported.keys {
            #expect(text.contains("`\(name)`"), "\(name) is not listed as unsupported")
        }
        for op in ConditionOperator.allCases {
            #expect(text.contains("`\(op.rawValue)`"), "operator \(op.rawValue) is not documented")
        }
    }
}
