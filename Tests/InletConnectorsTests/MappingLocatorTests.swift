import Testing

@testable import InletConnectors

@Suite("Mapping locators")
struct MappingLocatorTests {
    private let variables: JSONValue = [
        "data": ["issue": ["id": 42, "labels": [["name": "bug"], ["name": "ui"]]]],
        "dot.field": ["bracket[field": ["first", "second"]],
        "back\\slash": "escaped",
        "table": ["0": "zero"],
    ]

    private func resolve(_ text: String) throws -> JSONValue? {
        try Locator(parsing: text).resolve(in: variables)
    }

    @Test("a dotted path with indexes addresses fields then array elements")
    func dottedPath() throws {
        #expect(try resolve("$.data.issue.id") == 42)
        #expect(try resolve("$.data.issue.labels[1].name") == "ui")
        #expect(try Locator(parsing: "$.data.issue.labels[1].name").segments == [
            .field("data"), .field("issue"), .field("labels"), .index(1), .field("name"),
        ])
    }

    @Test("the leading $. is optional")
    func relativeForm() throws {
        #expect(try resolve("data.issue.labels[0].name") == "bug")
        #expect(try Locator(parsing: "data.issue") == Locator(parsing: "$.data.issue"))
        #expect(try Locator(parsing: "$[0]").segments == [.index(0)])
    }

    @Test("a backslash escapes '.', '[' and '\\' inside a field name")
    func escaping() throws {
        #expect(try resolve(#"$.dot\.field.bracket\[field[0]"#) == "first")
        #expect(try Locator(parsing: #"$.dot\.field.bracket\[field[1]"#).segments == [.field("dot.field"), .field("bracket[field"), .index(1)])
        #expect(try resolve(#"back\\slash"#) == "escaped")
    }

    @Test("$ alone is all the variables")
    func root() throws {
        #expect(try resolve("$") == variables)
        #expect(try Locator(parsing: "$").segments.isEmpty)
    }

    @Test("a digit field name indexes an array; an index reads a decimal object key")
    func digitFields() throws {
        #expect(try resolve("data.issue.labels.1.name") == "ui")
        #expect(try resolve("table[0]") == "zero")
        #expect(try resolve("table.0") == "zero")
    }

    @Test("a path that leads nowhere resolves to nothing", arguments: [
        "data.missing", "data.issue.id.deeper", "data.issue.labels[5]", "data.issue.labels.name",
        "data.issue[0]", "data.issue.labels.-1",
    ])
    func missing(path: String) throws {
        #expect(try resolve(path) == nil)
    }

    @Test("malformed locators are rejected with a reason", arguments: [
        "", "a..b", ".a", "a.", "$.", "a[x]", "a[-1]", "a[]", "a[1", "a[0]b", "a.[0]", #"a\"#,
    ])
    func malformed(text: String) {
        #expect(throws: Locator.SyntaxError.self) { try Locator(parsing: text) }
    }

    @Test("the error names the locator and what is wrong")
    func errorMessage() {
        #expect(throws: Locator.SyntaxError(locator: "a..b", reason: "empty field name")) { try Locator(parsing: "a..b") }
        let error = #expect(throws: Locator.SyntaxError.self) { try Locator(parsing: "a[x]") }
        #expect(error?.description.hasPrefix("invalid locator 'a[x]': '[x]' is not an array index") == true)
    }

    @Test("description is the canonical text and parses back to the same locator", arguments: [
        "data.a[0].b", #"$.dot\.field.bracket\[field[0]"#, #"back\\slash"#, "$", "[2][3]",
    ])
    func roundTrip(text: String) throws {
        let locator = try Locator(parsing: text)
        #expect(try Locator(parsing: locator.description) == locator)
        #expect(locator.description.hasPrefix("$"))
    }
}
