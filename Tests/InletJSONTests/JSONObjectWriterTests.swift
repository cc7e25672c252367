import InletJSON
import Testing

@Suite("Objects written member by member")
struct JSONObjectWriterTests {
    @Test("members given in sorted order make the same bytes as the tree, nil members left out, empty objects included")
    func sameBytesAsTheTree() {
        var direct = JSONWriter(nonFiniteAsStrings: true)
        direct.writeObject { members in
            members.string("a", "x\"/\u{1}")
            members.string("absent", nil)
            members.object("empty") { _ in }
            members.bool("flag", false)
            members.integer("n", Int64.min)
            members.object("nested") { nested in
                nested.strings("headers", ["x-b": "2", "X-A": "1", "é": "3"])
                nested.value("tree", ["z": [1, .number(.nan)], "y": .null])
            }
            members.object("query", sorting: ["b": ["1", "2"], "a": ""] as [String: JSONValue]) { $0.value($1, $2) }
            members.value("z", nil)
        }
        var tree = JSONWriter(nonFiniteAsStrings: true)
        tree.write([
            "a": "x\"/\u{1}", "empty": [:], "flag": false, "n": .integer(Int64.min),
            "nested": ["headers": ["x-b": "2", "X-A": "1", "é": "3"], "tree": ["z": [1, .number(.nan)], "y": .null]],
            "query": ["b": ["1", "2"], "a": ""],
        ])
        #expect(String(decoding: direct.bytes, as: UTF8.self) == String(decoding: tree.bytes, as: UTF8.self))

        var empty = JSONWriter()
        empty.writeObject { $0.string("only", nil) }
        #expect(empty.bytes == Array("{}".utf8))
    }

    @Test("an object written after other text continues it: the writer's bytes move through the members and back")
    func continuesTheDocument() {
        var writer = JSONWriter()
        writer.append(raw: "[")
        writer.writeObject { $0.integer("i", 1) }
        writer.append(raw: ",")
        writer.writeObject { $0.object("o") { $0.string("s", "t") } }
        writer.append(raw: "]")
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #"[{"i":1},{"o":{"s":"t"}}]"#)
    }
}
