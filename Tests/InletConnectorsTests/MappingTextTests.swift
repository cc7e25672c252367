import Testing

@testable import InletConnectors

@Suite("Mapping text formulas: $concat, $tpl, $firstName, $lastName, $string, $join")
struct MappingTextTests {
    private func evaluate(_ mapping: String, _ variables: String = "{}") throws -> JSONValue {
        try MappingTesting.evaluate(mapping, variables)
    }

    @Test("$concat joins text and turns other values into text")
    func concat() throws {
        #expect(try evaluate(#"{"$concat": ["a", 1, 2.5, 3.0, true, null, {"$var": "missing"}, [1], {"k": "v"}]}"#)
            == #"a12.53true[1]{"k":"v"}"#)
        #expect(try evaluate(#"{"$concat": []}"#) == "")
        #expect(try evaluate(#"{"$concat": {"$var": "parts"}}"#, #"{"parts": ["x", "y"]}"#) == "xy")
    }

    @Test("$tpl fills each {placeholder} from values")
    func template() throws {
        let mapping = #"{"$tpl": {"template": "{greeting}, {name}! {greeting}.", "values": {"greeting": "Hi", "name": {"$var": "user.name"}}}}"#
        #expect(try evaluate(mapping, #"{"user": {"name": "Ada"}}"#) == "Hi, Ada! Hi.")
        #expect(try evaluate(mapping) == "Hi, ! Hi.")
    }

    @Test("$tpl keeps braces that do not enclose a name")
    func templateBraces() throws {
        #expect(try evaluate(#"{"$tpl": {"template": "{} { {x} }{", "values": {"x": 1}}}"#) == "{} { 1 }{")
        #expect(try evaluate(#"{"$tpl": {"template": "no placeholders"}}"#) == "no placeholders")
    }

    @Test("$tpl's template may come from a formula")
    func templateFromFormula() throws {
        #expect(try evaluate(#"{"$tpl": {"template": {"$var": "t"}, "values": {"a": 1}}}"#, #"{"t": "<{a}>"}"#) == "<1>")
        #expect(throws: MappingError(pointer: "", message: "$tpl template must be a string, got a number")) {
            try evaluate(#"{"$tpl": {"template": {"$var": "t"}}}"#, #"{"t": 5}"#)
        }
    }

    @Test("$firstName and $lastName split at the last word; one word is a last name", arguments: [
        ("Ada Lovelace", "Ada", "Lovelace"),
        ("  Mary   Ann  Smith ", "Mary Ann", "Smith"),
        ("Cher", nil, "Cher"),
        ("   ", nil, nil),
    ] as [(String, String?, String?)])
    func names(full: String, first: String?, last: String?) throws {
        let variables: JSONValue = ["name": .string(full)]
        let result = try FormulaEvaluator().evaluate(
            ["first": ["$firstName": ["$var": "name"]], "last": ["$lastName": ["$var": "name"]]], variables: variables)
        #expect(result["first"] == first.map(JSONValue.string))
        #expect(result["last"] == last.map(JSONValue.string))
    }

    @Test("$firstName and $lastName of something other than text yield nothing")
    func namesOfNonText() throws {
        #expect(try evaluate(#"{"a": {"$firstName": 5}, "b": {"$lastName": {"$var": "x"}}}"#) == [:])
    }

    @Test("$string turns values into text; null and nothing stay nothing")
    func string() throws {
        #expect(try evaluate(#"{"$string": 12}"#) == "12")
        #expect(try evaluate(#"{"$string": 1.5}"#) == "1.5")
        #expect(try evaluate(#"{"$string": false}"#) == "false")
        #expect(try evaluate(#"{"$string": "t"}"#) == "t")
        #expect(try evaluate(#"{"$string": {"$plain": {"a": [1]}}}"#) == #"{"a":[1]}"#)
        #expect(try evaluate(#"{"a": {"$string": null}, "b": {"$string": {"$var": "x"}}}"#) == [:])
    }

    @Test("$join joins the items' text with the separator, skipping null and nothing")
    func join() throws {
        #expect(try evaluate(#"{"$join": [", ", ["a", null, 1, {"$var": "x"}, ""]]}"#) == "a, 1, ")
        #expect(try evaluate(#"{"$join": ["-", {"$var": "list"}]}"#, #"{"list": ["x", "y", "z"]}"#) == "x-y-z")
        #expect(try evaluate(#"{"$join": ["-", {"$var": "missing"}]}"#) == "")
        #expect(try evaluate(#"{"$join": [{"$var": "sep"}, [1, 2]]}"#, #"{"sep": "+"}"#) == "1+2")
    }
}
