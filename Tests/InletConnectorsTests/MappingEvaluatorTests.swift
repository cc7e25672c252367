import Foundation
import Testing

@testable import InletConnectors

/// Shared by the Mapping*Tests files: evaluate mapping JSON text against variables JSON text.
enum MappingTesting {
    static func json(_ text: String) throws -> JSONValue { try JSONValue(parsing: text) }

    static func evaluate(_ mapping: String, _ variables: String = "{}") throws -> JSONValue {
        try FormulaEvaluator().evaluate(json(mapping), variables: json(variables))
    }

    /// JSON equality where `1` equals `1.0` (as the formula language compares).
    static func same(_ actual: JSONValue, _ expected: JSONValue) -> Bool {
        ConditionOperator.equal(actual, expected)
    }
}

@Suite("Mapping evaluation")
struct MappingEvaluatorTests {
    private func evaluate(_ mapping: String, _ variables: String = "{}") throws -> JSONValue {
        try MappingTesting.evaluate(mapping, variables)
    }

    @Test("values that are not formulas are copied recursively")
    func literals() throws {
        let mapping = #"{"a": 1, "b": [true, null, "x", 2.5], "c": {"d": {"e": []}}, "f": {}}"#
        #expect(try evaluate(mapping) == MappingTesting.json(mapping))
        #expect(try evaluate(#""text""#) == "text")
    }

    @Test("a missing path omits the member, nulls an array element, and makes a whole mapping null")
    func missingPaths() throws {
        #expect(try evaluate(#"{"a": {"$var": "x.y"}, "b": 1}"#) == ["b": 1])
        #expect(try evaluate(#"[{"$var": "x"}, 2]"#) == [nil, 2])
        #expect(try evaluate(#"{"$var": "nowhere"}"#) == .null)
        #expect(try evaluate(#"{"outer": {"inner": {"$var": "x"}}}"#) == ["outer": [:]])
    }

    @Test("an explicit null is a value and is kept")
    func explicitNull() throws {
        #expect(try evaluate(#"{"a": {"$var": "data.a"}}"#, #"{"data": {"a": null}}"#) == ["a": nil])
    }

    @Test("formulas nest inside formula arguments and inside literal objects")
    func nesting() throws {
        let result = try evaluate(
            #"""
            {"events": [{"record": {"id": {"$string": {"$var": "data.id"}},
              "name": {"$concat": [{"$firstName": {"$var": "data.who"}}, "/", {"$tpl": {"template": "{n}", "values": {"n": {"$sum": [1, {"$number": "2"}]}}}}]}}}]}
            """#, #"{"data": {"id": 7, "who": "Ada Lovelace"}}"#)
        #expect(result == ["events": [["record": ["id": "7", "name": "Ada/3"]]]])
    }

    @Test("$var takes a locator, or a formula that yields one")
    func variable() throws {
        #expect(try evaluate(#"{"$var": "$"}"#, #"{"a": 1}"#) == ["a": 1])
        #expect(try evaluate(#"{"$var": {"$concat": ["data.", {"$var": "key"}]}}"#, #"{"key": "b", "data": {"b": 2}}"#) == 2)
        #expect(try evaluate(#"{"$var": {"$var": "nothing"}}"#) == .null)
    }

    @Test("a computed locator that is not a string fails at its formula")
    func computedVariableErrors() throws {
        #expect(throws: MappingError(pointer: "/x", message: "$var: the formula must yield a locator string, got a number")) {
            try evaluate(#"{"x": {"$var": {"$plain": 5}}}"#)
        }
        let error = #expect(throws: MappingError.self) { try evaluate(#"{"$var": {"$plain": "a..b"}}"#) }
        #expect(error?.message == "$var: invalid locator 'a..b': empty field name")
    }

    @Test("$plain returns its value without evaluating formulas inside")
    func plain() throws {
        #expect(try evaluate(#"{"$plain": {"$var": "a", "$unknown": [{"$lookup": 1}]}}"#) == ["$var": "a", "$unknown": [["$lookup": 1]]])
        #expect(try evaluate(##"{"$plain": {"$ref": "#/definitions/x"}}"##) == ["$ref": "#/definitions/x"])
    }

    @Test("$formula resolves only the $vars inside and keeps other formulas as data")
    func formula() throws {
        let result = try evaluate(
            #"{"$formula": {"$case": {"cases": [{"filter": [{"field": "data.x", "operator": "is", "value": {"$var": "parameters.v"}}], "value": {"$eval": {"$var": "data.y"}, "is": 1}}]}}}"#,
            #"{"parameters": {"v": "resolved"}, "data": {"y": 5}}"#)
        #expect(result == ["$case": ["cases": [["filter": [["field": "data.x", "operator": "is", "value": "resolved"]], "value": ["$eval": 5, "is": 1]]]]])
        // A $var that finds nothing is left out, as anywhere else.
        #expect(try evaluate(#"{"$formula": {"$concat": [{"$var": "missing"}], "k": {"$var": "missing"}}}"#) == ["$concat": [nil]])
    }

    @Test("$firstNotEmpty skips nothing, null, empty text, arrays and objects")
    func firstNotEmpty() throws {
        #expect(try evaluate(#"{"$firstNotEmpty": [{"$var": "x"}, null, "", [], {}, 0, 1]}"#) == 0)
        #expect(try evaluate(#"{"$firstNotEmpty": [false, 1]}"#) == false)
        #expect(try evaluate(#"{"a": {"$firstNotEmpty": [null, ""]}}"#) == [:])
        #expect(try evaluate(#"{"$firstNotEmpty": {"$var": "list"}}"#, #"{"list": [null, "b"]}"#) == "b")
    }

    @Test("$number parses numeric text, keeps numbers, turns booleans into 1 and 0")
    func number() throws {
        #expect(try evaluate(#"{"$number": "42"}"#) == .integer(42))
        #expect(try evaluate(#"{"$number": " -2.5 "}"#) == .number(-2.5))
        #expect(try evaluate(#"{"$number": "1e3"}"#) == .number(1000))
        #expect(try evaluate(#"{"$number": 7.25}"#) == .number(7.25))
        #expect(try evaluate(#"{"$number": true}"#) == .integer(1))
        #expect(try evaluate(#"{"a": {"$number": "twelve"}, "b": {"$number": "0x10"}, "c": {"$number": "nan"}, "d": {"$number": [1]}, "e": {"$number": ""}}"#) == [:])
    }

    @Test("an unknown formula fails with its name and pointer")
    func unknownFormula() throws {
        let error = #expect(throws: MappingError.self) { try evaluate(#"{"a": [{"$vra": "x"}]}"#) }
        #expect(error?.pointer == "/a/0")
        #expect(error?.message.hasPrefix("unknown formula '$vra'") == true)
    }

    @Test("a formula that is not the only key of its object is an error, not data")
    func formulaNextToOtherKeys() throws {
        let error = #expect(throws: MappingError.self) { try evaluate(#"{"$var": "a", "default": 1}"#) }
        #expect(error?.pointer == "/$var")
        #expect(error?.message == "$var is a formula and must be the only key of its object (found next to default)")
        #expect(try evaluate(#"{"$schema": "x", "type": "object"}"#) == ["$schema": "x", "type": "object"])
    }

    @Test("a problem in a branch that would not be taken still fails evaluation")
    func staticProblemsFailEarly() {
        #expect(throws: MappingError.self) {
            try evaluate(#"{"$cond": [false, {"$tpl": {"values": {}}}, 1]}"#)
        }
    }

    @Test("a compiled mapping evaluates many variable sets, also concurrently")
    func compiledMapping() async throws {
        let compiled = try CompiledMapping(MappingTesting.json(#"{"id": {"$var": "data.id"}, "twice": {"$sum": [{"$copy": "id"}, {"$copy": "id"}]}}"#))
        let results = try await withThrowingTaskGroup(of: JSONValue.self) { group in
            for id in 0..<20 {
                group.addTask { try compiled.evaluate(variables: ["data": ["id": .integer(Int64(id))]]) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(results) == Set((0..<20).map { id -> JSONValue in ["id": .integer(Int64(id)), "twice": .integer(Int64(2 * id))] }))
    }

    @Test("MappingError describes where and what")
    func errorDescription() {
        #expect(MappingError(pointer: "/a", message: "bad").description == "mapping error at /a: bad")
        #expect(MappingError(pointer: "", message: "bad").description == "mapping error at /: bad")
        #expect(MappingProblem(pointer: "/a~1b", message: "bad").description == "/a~1b: bad")
    }
}
