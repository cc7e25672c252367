import Testing

@testable import InletConnectors

@Suite("Mapping conditions: $eval, $and, $or, $case, $cond")
struct MappingConditionTests {
    private func evaluate(_ mapping: String, _ variables: String = "{}") throws -> JSONValue {
        try MappingTesting.evaluate(mapping, variables)
    }

    struct EvalCase: Sendable, CustomTestStringConvertible {
        var value: String
        var op: String
        var operand: String
        var expected: Bool
        var testDescription: String { "\(value) \(op) \(operand) → \(expected)" }
    }

    static let evalCases: [EvalCase] = [
        .init(value: #""open""#, op: "is", operand: #""open""#, expected: true),
        .init(value: "1", op: "is", operand: "1.0", expected: true),
        .init(value: #"{"a": [1, 2]}"#, op: "is", operand: #"{"a": [1, 2.0]}"#, expected: true),
        .init(value: #""1""#, op: "is", operand: "1", expected: false),
        .init(value: #"{"$var": "missing"}"#, op: "is", operand: "null", expected: true),
        .init(value: #""open""#, op: "isNot", operand: #""closed""#, expected: true),
        .init(value: #"{"$var": "missing"}"#, op: "isEmpty", operand: "true", expected: true),
        .init(value: #""""#, op: "isEmpty", operand: "false", expected: true),
        .init(value: "[]", op: "isEmpty", operand: "true", expected: true),
        .init(value: "{}", op: "isEmpty", operand: "true", expected: true),
        .init(value: "0", op: "isEmpty", operand: "true", expected: false),
        .init(value: "false", op: "isNotEmpty", operand: "true", expected: true),
        .init(value: "null", op: "isNotEmpty", operand: "true", expected: false),
        .init(value: #""App crash""#, op: "contains", operand: #""crash""#, expected: true),
        .init(value: #""v2 release""#, op: "contains", operand: "2", expected: true),
        .init(value: #"["bug", "ui"]"#, op: "contains", operand: #""ui""#, expected: true),
        .init(value: "[1, 2]", op: "contains", operand: "2.0", expected: true),
        .init(value: #"{"$var": "missing"}"#, op: "contains", operand: #""x""#, expected: false),
        .init(value: #""abc""#, op: "doesNotContain", operand: #""z""#, expected: true),
        .init(value: #"["a"]"#, op: "doesNotContain", operand: #""a""#, expected: false),
        .init(value: #""b""#, op: "oneOf", operand: #"["a", "b"]"#, expected: true),
        .init(value: #""c""#, op: "oneOf", operand: #"["a", "b"]"#, expected: false),
        .init(value: #""c""#, op: "noneOf", operand: #"["a", "b"]"#, expected: true),
        .init(value: "10", op: "gt", operand: "9.5", expected: true),
        .init(value: "10", op: "gt", operand: "10", expected: false),
        .init(value: "10", op: "gte", operand: "10", expected: true),
        .init(value: #""b""#, op: "gt", operand: #""a""#, expected: true),
        .init(value: #""10""#, op: "gt", operand: #""9""#, expected: false),
        .init(value: #""2024-05-02T00:00:00Z""#, op: "gt", operand: #""2024-05-01T23:59:59Z""#, expected: true),
        .init(value: "3", op: "lt", operand: #""10""#, expected: true),
        .init(value: #""3""#, op: "lte", operand: "3", expected: true),
        .init(value: #"{"$var": "missing"}"#, op: "lt", operand: "1", expected: false),
        .init(value: "true", op: "gt", operand: "false", expected: false),
        .init(value: #""abc""#, op: "lt", operand: "5", expected: false),
    ]

    @Test("each $eval operator compares the value with its operand", arguments: evalCases)
    func evalOperator(_ check: EvalCase) throws {
        let mapping = #"{"$eval": \#(check.value), "\#(check.op)": \#(check.operand)}"#
        #expect(try evaluate(mapping) == .bool(check.expected))
    }

    @Test("the value and the operand of $eval may both be formulas")
    func evalWithFormulas() throws {
        #expect(try evaluate(#"{"$eval": {"$var": "data.n"}, "gt": {"$var": "state.last"}}"#, #"{"data": {"n": 5}, "state": {"last": 3}}"#) == true)
        #expect(try evaluate(#"{"$eval": {"$var": "data.s"}, "oneOf": {"$var": "parameters.allowed"}}"#, #"{"data": {"s": "x"}, "parameters": {"allowed": ["x"]}}"#) == true)
    }

    @Test("$and needs all, $or needs one; empty lists are true and false")
    func andOr() throws {
        #expect(try evaluate(#"{"$and": [true, {"$eval": 1, "is": 1}]}"#) == true)
        #expect(try evaluate(#"{"$and": [true, false]}"#) == false)
        #expect(try evaluate(#"{"$or": [false, {"$eval": 1, "is": 1}]}"#) == true)
        #expect(try evaluate(#"{"$or": [false, null]}"#) == false)
        #expect(try evaluate(#"{"$and": []}"#) == true)
        #expect(try evaluate(#"{"$or": []}"#) == false)
    }

    @Test("conditions use JavaScript truthiness")
    func truthiness() throws {
        let falsy = [#"{"$var": "missing"}"#, "null", "false", "0", "0.0", #""""#]
        let truthy = ["true", "1", "-1", #""0""#, #""false""#, "[]", "{}"]
        for value in falsy { #expect(try evaluate(#"{"$or": [\#(value)]}"#) == false, "\(value)") }
        for value in truthy { #expect(try evaluate(#"{"$and": [\#(value)]}"#) == true, "\(value)") }
    }

    private let statusCase = #"""
        {"$case": {"cases": [
          {"filter": [{"field": "data.action", "operator": "is", "value": "opened"}], "value": "created"},
          {"filter": [{"field": "data.action", "operator": "is", "value": "edited"},
                      {"field": "data.changes", "operator": "isNotEmpty"}], "value": {"$concat": ["updated:", {"$var": "data.action"}]}},
          {"filter": [{"field": "$.data.action", "operator": "oneOf", "value": ["closed", "deleted"]}], "value": "deleted"}
        ], "default": {"$var": "parameters.fallback"}}}
        """#

    @Test("$case yields the value of the first case whose filter holds entirely")
    func caseFirstMatch() throws {
        #expect(try evaluate(statusCase, #"{"data": {"action": "opened"}}"#) == "created")
        #expect(try evaluate(statusCase, #"{"data": {"action": "edited", "changes": {"title": 1}}}"#) == "updated:edited")
        #expect(try evaluate(statusCase, #"{"data": {"action": "deleted"}}"#) == "deleted")
    }

    @Test("$case falls back to default, or to nothing without one")
    func caseDefault() throws {
        #expect(try evaluate(statusCase, #"{"data": {"action": "edited"}, "parameters": {"fallback": "other"}}"#) == "other")
        #expect(try evaluate(#"{"k": {"$case": {"cases": [{"filter": [{"field": "a", "operator": "is", "value": 1}], "value": 2}]}}}"#) == [:])
    }

    @Test("a $case case without filter, or with an empty one, always matches")
    func caseWithoutFilter() throws {
        #expect(try evaluate(#"{"$case": {"cases": [{"value": "first"}, {"value": "second"}]}}"#) == "first")
        #expect(try evaluate(#"{"$case": {"cases": [{"filter": [], "value": "empty"}], "default": "d"}}"#) == "empty")
        #expect(try evaluate(#"{"$case": {"cases": [{"filter": [{"field": "x", "operator": "isEmpty"}]}], "default": "d"}}"#) == .null)
    }

    @Test("$case evaluates only the chosen case's value")
    func caseIsLazy() throws {
        // Evaluating the second value would fail: a computed locator that is not a string.
        let mapping = #"{"$case": {"cases": [{"value": "ok"}, {"value": {"$var": {"$plain": 1}}}]}}"#
        #expect(try evaluate(mapping) == "ok")
    }

    @Test("$cond yields then or else and evaluates only that branch")
    func cond() throws {
        #expect(try evaluate(#"{"$cond": [{"$eval": {"$var": "n"}, "gt": 1}, "big", "small"]}"#, #"{"n": 2}"#) == "big")
        #expect(try evaluate(#"{"$cond": [{"$var": "flag"}, "yes", "no"]}"#) == "no")
        #expect(try evaluate(#"{"a": {"$cond": [false, "yes"]}}"#) == [:])
        #expect(try evaluate(#"{"$cond": [true, "ok", {"$var": {"$plain": 1}}]}"#) == "ok")
    }
}
