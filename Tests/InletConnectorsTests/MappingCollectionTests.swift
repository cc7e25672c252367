import Testing

@testable import InletConnectors

@Suite("Mapping collection formulas: $iterate, $map, $copy, $sum")
struct MappingCollectionTests {
    private func evaluate(_ mapping: String, _ variables: String = "{}") throws -> JSONValue {
        try MappingTesting.evaluate(mapping, variables)
    }

    @Test("$iterate maps each element with item, parent and the outer variables")
    func iterate() throws {
        let result = try evaluate(
            #"{"$iterate": {"source": {"$var": "data.items"}, "item": {"id": {"$var": "item.id"}, "repo": {"$var": "parent.data.repo"}, "same": {"$var": "data.repo"}}}}"#,
            #"{"data": {"repo": "inlet", "items": [{"id": 1}, {"id": 2}]}}"#)
        #expect(result == [["id": 1, "repo": "inlet", "same": "inlet"], ["id": 2, "repo": "inlet", "same": "inlet"]])
    }

    @Test("nested $iterate reaches the outer element as parent.item and further out through parent.parent")
    func nestedIterate() throws {
        let result = try evaluate(
            #"""
            {"$iterate": {"source": "$.groups", "item": {"$iterate": {"source": {"$var": "item.members"}, "item":
              {"$concat": [{"$var": "parent.parent.prefix"}, {"$var": "parent.item.name"}, ":", {"$var": "item"}]}}}}}
            """#,
            ##"{"prefix": "#", "groups": [{"name": "a", "members": [1, 2]}, {"name": "b", "members": []}]}"##)
        #expect(result == [["#a:1", "#a:2"], []])
    }

    @Test("$iterate over nothing or a non-array yields nothing; items yielding nothing are left out")
    func iterateEdges() throws {
        #expect(try evaluate(#"{"a": {"$iterate": {"source": {"$var": "missing"}, "item": 1}}, "b": {"$iterate": {"source": {"k": 1}, "item": 1}}}"#) == [:])
        #expect(try evaluate(#"{"$iterate": {"source": [1, 2, 3], "item": {"$cond": [{"$eval": {"$var": "item"}, "isNot": 2}, {"$var": "item"}]}}}"#) == [1, 3])
        #expect(try evaluate(#"{"$iterate": {"source": [1, null], "item": {"$var": "item"}}}"#) == [1, nil])
    }

    @Test("$iterate's item shadows an outer variable named item")
    func iterateShadowing() throws {
        #expect(try evaluate(#"{"$iterate": {"source": [1], "item": [{"$var": "item"}, {"$var": "parent.item"}]}}"#, #"{"item": "outer"}"#) == [[1, "outer"]])
    }

    @Test("$map translates through the table, with mapping or mappings")
    func map() throws {
        let table = #"[{"from": "open", "to": "active"}, {"from": 1, "to": "one"}, {"from": {"$var": "parameters.special"}, "to": {"$var": "parameters.target"}}]"#
        for key in ["mapping", "mappings"] {
            let mapping = #"{"$map": {"value": {"$var": "v"}, "\#(key)": \#(table), "default": "other"}}"#
            #expect(try evaluate(mapping, #"{"v": "open"}"#) == "active")
            #expect(try evaluate(mapping, #"{"v": 1.0}"#) == "one")
            #expect(try evaluate(mapping, #"{"v": "x", "parameters": {"special": "x", "target": "X!"}}"#) == "X!")
            #expect(try evaluate(mapping, #"{"v": "closed"}"#) == "other")
        }
    }

    @Test("$map without a match and without default yields nothing; a $. value is a locator")
    func mapNothing() throws {
        #expect(try evaluate(#"{"k": {"$map": {"value": "$.v", "mapping": [{"from": "a", "to": "b"}]}}}"#, #"{"v": "z"}"#) == [:])
        #expect(try evaluate(#"{"$map": {"value": "$.v", "mapping": [{"from": "a", "to": "b"}]}}"#, #"{"v": "a"}"#) == "b")
        #expect(try evaluate(#"{"$map": {"value": "plain text", "mapping": [{"from": "plain text", "to": "literal"}]}}"#) == "literal")
    }

    @Test("$copy reads a sibling whether it is written before or after")
    func copyOrdering() throws {
        let variables = #"{"data": {"id": 5}}"#
        #expect(try evaluate(#"{"a": {"$var": "data.id"}, "b": {"$copy": "a"}}"#, variables) == ["a": 5, "b": 5])
        #expect(try evaluate(#"{"b": {"$copy": "a"}, "a": {"$var": "data.id"}}"#, variables) == ["a": 5, "b": 5])
        #expect(try evaluate(#"{"z": {"$copy": "y"}, "y": {"$copy": "x"}, "x": {"$sum": [{"$var": "data.id"}, 1]}}"#, variables) == ["x": 6, "y": 6, "z": 6])
    }

    @Test("$copy inside other formulas and inside $iterate items copies from the nearest object")
    func copyScopes() throws {
        let result = try evaluate(
            #"""
            {"name": "n", "label": {"$concat": [{"$copy": "name"}, "!"]},
             "list": {"$iterate": {"source": [1, 2], "item": {"v": {"$var": "item"}, "w": {"$copy": "v"}, "outer": {"$var": "parent.data"}}}},
             "tagged": {"$iterate": {"source": [1], "item": {"$copy": "name"}}}}
            """#, #"{"data": "d"}"#)
        #expect(result == ["name": "n", "label": "n!", "list": [["v": 1, "w": 1, "outer": "d"], ["v": 2, "w": 2, "outer": "d"]], "tagged": ["n"]])
    }

    @Test("$copy of a sibling that yields nothing yields nothing")
    func copyNothing() throws {
        #expect(try evaluate(#"{"a": {"$var": "missing"}, "b": {"$copy": "a"}, "c": 1}"#) == ["c": 1])
    }

    @Test("$sum adds numbers and numeric text, skips the rest, keeps integers exact")
    func sum() throws {
        #expect(try evaluate(#"{"$sum": [1, 2, 3]}"#) == .integer(6))
        #expect(try evaluate(#"{"$sum": [1, 2.5, "3", "x", null, true, {"$var": "missing"}]}"#) == .number(6.5))
        #expect(try evaluate(#"{"$sum": []}"#) == .integer(0))
        #expect(try evaluate(#"{"$sum": {"$var": "amounts"}}"#, #"{"amounts": [10, 20]}"#) == .integer(30))
        #expect(try evaluate(#"{"$sum": [9223372036854775807, 1]}"#) == .number(9223372036854775808.0))
    }
}
