import Testing

@testable import InletConnectors

@Suite("Mapping validation")
struct MappingValidatorTests {
    private func problems(_ mapping: String) throws -> [MappingProblem] {
        MappingValidator.problems(in: try MappingTesting.json(mapping))
    }

    private func only(_ mapping: String) throws -> MappingProblem? {
        let found = try problems(mapping)
        #expect(found.count == 1, "\(found)")
        return found.first
    }

    @Test("a mapping using every formula correctly has no problems")
    func validMapping() throws {
        let mapping = #"""
            {"a": {"$var": "data.a"}, "b": {"$concat": ["x", {"$var": "y"}]}, "c": {"$tpl": {"template": "{v}", "values": {"v": 1}}},
             "d": {"$firstNotEmpty": [1]}, "e": {"$eval": 1, "is": 1}, "f": {"$and": []}, "g": {"$or": {"$var": "list"}},
             "h": {"$case": {"cases": [{"filter": [{"field": "x", "operator": "isEmpty"}], "value": 1}], "default": 2}},
             "i": {"$map": {"value": "$.x", "mappings": [{"from": 1, "to": 2}]}}, "j": {"$iterate": {"source": [], "item": {"k": 1, "l": {"$copy": "k"}}}},
             "m": {"$copy": "a"}, "n": {"$firstName": "A B"}, "o": {"$lastName": "A B"}, "p": {"$plain": {"$lookup": 1}},
             "q": {"$formula": {"$jsonata": {"$var": "x"}}}, "r": {"$cond": [true, 1]}, "s": {"$string": 1}, "t": {"$number": "1"},
             "u": {"$sum": [1]}, "v": {"$join": [",", []]}}
            """#
        #expect(try problems(mapping) == [])
    }

    @Test("formulas Inlet does not build are reported by name", arguments: ["$lookup", "$findExternalRecordId", "$findAppRecordId", "$jsonata"])
    func unsupported(name: String) throws {
        let problem = try only(#"{"fields": {"owner": {"\#(name)": {"query": {"email": "a@b.c"}}}}}"#)
        #expect(problem?.pointer == "/fields/owner")
        #expect(problem?.message.hasPrefix("\(name) is not supported by Inlet: ") == true)
    }

    @Test("an unknown formula is reported with the known ones and the $plain escape")
    func unknown() throws {
        let problem = try only(#"[{"$vars": "x"}]"#)
        #expect(problem?.pointer == "/0")
        #expect(problem?.message.contains("unknown formula '$vars'") == true)
        #expect(problem?.message.contains("$plain") == true)
    }

    @Test("$tpl without template, with a non-string template, or with a placeholder missing from values")
    func templateProblems() throws {
        #expect(try only(#"{"subject": {"$tpl": {"values": {"a": 1}}}}"#) == MappingProblem(pointer: "/subject/$tpl", message: "$tpl needs template, e.g. 'Hello, {name}!'"))
        #expect(try only(#"{"$tpl": {"template": 5}}"#)?.pointer == "/$tpl/template")
        #expect(try only(#"{"$tpl": {"template": "{a} {b}", "values": {"a": 1}}}"#) == MappingProblem(pointer: "/$tpl/template", message: "$tpl placeholder {b} has no entry in values"))
        #expect(try only(#"{"$tpl": "Hello"}"#)?.pointer == "/$tpl")
        #expect(try only(#"{"$tpl": {"template": "x", "value": {}}}"#)?.pointer == "/$tpl/value")
    }

    @Test("$eval needs exactly one known operator")
    func evalProblems() throws {
        let none = try only(#"{"ok": {"$eval": 1}}"#)
        #expect(none?.pointer == "/ok")
        #expect(none?.message.hasPrefix("$eval needs one operator") == true)
        let two = try only(#"{"$eval": 1, "is": 1, "gt": 0}"#)
        #expect(two == MappingProblem(pointer: "", message: "$eval takes exactly one operator, found gt, is; combine conditions with $and or $or"))
        let found = try problems(#"{"$eval": 1, "equals": 1}"#)
        #expect(found.map(\.pointer) == ["/equals", ""])
        #expect(found.first?.message.hasPrefix("unknown $eval operator 'equals'") == true)
        #expect(try only(#"{"$eval": 1, "oneOf": "a"}"#) == MappingProblem(pointer: "/oneOf", message: "oneOf takes an array of values, got a string"))
    }

    @Test("$case needs cases, and each filter condition a field locator and a known operator")
    func caseProblems() throws {
        #expect(try only(#"{"$case": {"default": 1}}"#)?.message.hasPrefix("$case needs cases") == true)
        #expect(try only(#"{"$case": {"cases": []}}"#) == MappingProblem(pointer: "/$case/cases", message: "$case needs at least one case"))
        #expect(try only(#"{"$case": {"cases": {}}}"#)?.pointer == "/$case/cases")
        #expect(try only(#"{"$case": [1]}"#)?.pointer == "/$case")
        let found = try problems(#"{"$case": {"cases": [{"filter": [{"operator": "is", "value": 1}, {"field": "a..b", "operator": "like", "value": 1}, {"field": "x", "operator": "is"}]}]}}"#)
        #expect(found.map(\.pointer) == ["/$case/cases/0/filter/0", "/$case/cases/0/filter/1/field", "/$case/cases/0/filter/1/operator", "/$case/cases/0/filter/2"])
        #expect(found.last?.message == "operator 'is' needs a value")
        #expect(try only(#"{"$case": {"cases": [{"filter": {"field": "x"}, "value": 1}]}}"#)?.pointer == "/$case/cases/0/filter")
        #expect(try only(#"{"$case": {"cases": [{"value": 1, "then": 2}]}}"#)?.pointer == "/$case/cases/0/then")
    }

    @Test("$map needs a value and one table of {from, to} rows")
    func mapProblems() throws {
        #expect(try only(#"{"$map": {"value": 1, "mapping": [], "mappings": []}}"#)?.message == "$map takes mapping or mappings, not both")
        #expect(try only(#"{"$map": {"mapping": []}}"#)?.message == "$map needs value (what to translate)")
        #expect(try only(#"{"$map": {"value": 1}}"#)?.message == "$map needs mapping: [{from, to}, ...]")
        #expect(try only(#"{"$map": {"value": 1, "mapping": [{"from": 1}]}}"#)?.pointer == "/$map/mapping/0")
        #expect(try only(#"{"$map": {"value": "$.a[", "mapping": []}}"#)?.pointer == "/$map/value")
    }

    @Test("$iterate needs source and item; list formulas need arrays; $cond and $join their arity")
    func shapeProblems() throws {
        #expect(try only(#"{"$iterate": {"source": []}}"#)?.message.hasPrefix("$iterate needs item") == true)
        #expect(try only(#"{"$iterate": {"item": 1}}"#)?.message.hasPrefix("$iterate needs source") == true)
        #expect(try only(#"{"$concat": "ab"}"#) == MappingProblem(pointer: "/$concat", message: "$concat takes an array (or a formula yielding one), got a string"))
        for name in ["$and", "$or", "$sum", "$firstNotEmpty"] {
            #expect(try only(#"{"\#(name)": 1}"#)?.pointer == "/\(name)")
        }
        #expect(try only(#"{"$cond": [true]}"#)?.message == "$cond takes [condition, then, else] (else optional), got an array of 1")
        #expect(try only(#"{"$join": [","]}"#)?.pointer == "/$join")
        #expect(try only(#"{"$join": [",", "abc"]}"#)?.pointer == "/$join/1")
    }

    @Test("locators are checked when the mapping is loaded")
    func locatorProblems() throws {
        #expect(try only(#"{"a": {"$var": "data..id"}}"#) == MappingProblem(pointer: "/a/$var", message: "$var: invalid locator 'data..id': empty field name"))
        #expect(try only(#"{"a": {"$var": 5}}"#)?.pointer == "/a/$var")
    }

    @Test("$copy needs an existing sibling, an enclosing object, and no cycle")
    func copyProblems() throws {
        let missing = try only(#"{"a": 1, "b": {"$copy": "c"}}"#)
        #expect(missing == MappingProblem(pointer: "/b/$copy", message: "$copy of 'c': there is no sibling field 'c' (siblings: a, b)"))
        #expect(try only(#"{"$copy": "a"}"#)?.message == "$copy must be inside an object, next to the field it copies")
        #expect(try only(#"{"a": {"$copy": "a"}}"#)?.message == "$copy cycle: a → a")
        let cycle = try problems(#"{"a": {"$concat": [{"$copy": "b"}]}, "b": {"$copy": "c"}, "c": {"$copy": "a"}, "d": {"$copy": "a"}}"#)
        #expect(cycle == [MappingProblem(pointer: "/c/$copy", message: "$copy cycle: a → b → c → a")])
        #expect(try only(#"{"$iterate": {"source": [], "item": {"$copy": "x"}}}"#)?.pointer == "/$iterate/item/$copy")
    }

    @Test("pointers escape '~' and '/' in keys")
    func pointerEscaping() throws {
        #expect(try only(#"{"a/b": {"c~d": {"$nope": 1}}}"#)?.pointer == "/a~1b/c~0d")
    }

    @Test("all problems are reported, not only the first")
    func allProblems() throws {
        let found = try problems(#"{"a": {"$lookup": {}}, "b": {"$tpl": {}}, "c": [{"$eval": 1}]}"#)
        #expect(found.map(\.pointer) == ["/a", "/b/$tpl", "/c/0"])
    }

    @Test("evaluation fails with the first problem")
    func evaluationFailsWithFirstProblem() throws {
        #expect(throws: MappingError(pointer: "/a", message: "$lookup is not supported by Inlet: " + Formula.unsupported["$lookup"]!)) {
            try MappingTesting.evaluate(#"{"a": {"$lookup": {}}, "b": {"$tpl": {}}}"#)
        }
    }
}
