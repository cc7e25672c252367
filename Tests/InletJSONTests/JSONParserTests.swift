import Foundation
import Testing

@testable import InletJSON

@Suite("JSON parser and writer")
struct JSONParserTests {
    @Test("parses every kind of value, keeping integers exact")
    func parsesValues() throws {
        let value = try JSONValue(parsing: #" {"a": [1, -2, 3.5, 1e3, -0, 9223372036854775807, 9223372036854775808], "b": {"c": null, "d": true, "e": false}, "s": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"} "#)
        #expect(value["a"] == [1, -2, 3.5, 1000, 0, .integer(Int64.max), .number(9223372036854775808.0)])
        #expect(try JSONValue(parsing: "[1.0, 1e2, 2.5e-1]") == [1, 100, 0.25], "integral numbers are integers, as JSONDecoder read them")
        #expect(try JSONValue(parsing: Data([0xEF, 0xBB, 0xBF] + Array(#"{"a":1}"#.utf8))) == ["a": 1], "a byte order mark is skipped")
        #expect(value["b"] == ["c": nil, "d": true, "e": false])
        #expect(value["s"] == .string("x\"\\/\u{8}\u{c}\n\r\té😀"))
        #expect(try JSONValue(parsing: "\"fragment\"") == "fragment")
        #expect(try JSONValue(parsing: "42") == 42)
        #expect(try JSONValue(parsing: "[]") == [])
        #expect(try JSONValue(parsing: "{}") == [:])
        #expect(try JSONValue(parsing: #"{"k":1,"k":2}"#) == ["k": 2])
    }

    @Test("integers at and past Int64's ends, and nested objects and arrays with repeated keys, read back exactly")
    func integersAndNesting() throws {
        #expect(try JSONValue(parsing: "[-9223372036854775808, -9223372036854775809, 9223372036854775807, -0, 0, 10, -10]")
            == [.integer(Int64.min), .number(-9223372036854775809.0), .integer(Int64.max), 0, 0, 10, -10])
        #expect(try JSONValue(parsing: #"{"a":{"k":1,"k":2,"b":[{"k":3},{"k":4,"k":5}],"c":[[],[1,[2,{}]]]},"k":6,"z":{"k":7}}"#)
            == ["a": ["k": 2, "b": [["k": 3], ["k": 5]], "c": [[], [1, [2, [:]]]]], "k": 6, "z": ["k": 7]])
        // A tree with objects inside arrays inside objects, many members at every level.
        func tree(_ depth: Int, _ seed: Int) -> JSONValue {
            guard depth > 0 else { return .integer(Int64(seed)) }
            var members: [String: JSONValue] = [:]
            for index in 0..<(3 + seed % 20) {
                members["m\(index)"] = index % 3 == 0 ? .array((0..<(index % 5)).map { tree(depth - 1, seed + $0) }) : tree(depth - 1, seed * 7 + index)
            }
            return .object(members)
        }
        let value = tree(4, 5)
        var writer = JSONWriter()
        writer.write(value)
        #expect(try JSONValue(parsing: Data(writer.bytes)) == value)
        // Each array holds storage for its own elements, not for the largest array read before it.
        let wide = try JSONValue(parsing: #"{"big":["# + Array(repeating: "0", count: 10_000).joined(separator: ",") + #"],"small":[1]}"#)
        #expect((wide["small"]?.arrayValue?.capacity ?? .max) < 100)
    }

    @Test("rejects what is not JSON, saying where", arguments: [
        "", " ", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "01", "-", "1.", "1e", "tru", "nul", "\"abc", "\"a\u{1}b\"",
        "\"\\x\"", "\"\\u12\"", "[1] 2", "{'a':1}", "NaN", "1e999",
    ])
    func rejects(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
    }

    @Test("a lone surrogate escape is read as U+FFFD, as decoding UTF-16 would, and the next escape on its own")
    func loneSurrogates() throws {
        #expect(try JSONValue(parsing: #""\ud800""#) == "\u{FFFD}")
        #expect(try JSONValue(parsing: #""a\udc00b""#) == "a\u{FFFD}b")
        #expect(try JSONValue(parsing: #""\ud83d\u0041""#) == "\u{FFFD}A")
        #expect(try JSONValue(parsing: #""\ud83d\ud83d\ude00""#) == "\u{FFFD}😀")
    }

    @Test("rejects invalid UTF-8 in strings")
    func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: Data([0x22, 0xC3, 0x28, 0x22])) }
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: Data([0x22, 0x5C, 0x6E, 0xFF, 0x22])) }
    }

    @Test("limits nesting so hostile input cannot exhaust the stack")
    func limitsDepth() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = #expect(throws: JSONParseError.self) { try JSONValue(parsing: deep) }
        #expect(error?.reason.contains("nested deeper") == true)
        let fine = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        _ = try JSONValue(parsing: fine)
    }

    @Test("an error names the byte offset")
    func errorOffset() {
        let error = #expect(throws: JSONParseError.self) { try JSONValue(parsing: #"{"a": tru}"#) }
        #expect(error?.offset == 6)
        #expect(error?.description == "invalid JSON at byte 6: expected 'true'")
    }

    @Test("writes the same bytes as JSONEncoder with sorted keys and unescaped slashes")
    func writerMatchesJSONEncoder() throws {
        var controls = ""
        for scalar in 0..<0x20 { controls.unicodeScalars.append(Unicode.Scalar(UInt8(scalar))) }
        let samples: [JSONValue] = [
            nil, true, false, 0, -17, .integer(Int64.min), 1.5, -0.25, 1e300, 123456.789, 100.0,
            "plain", .string("quote \" backslash \\ slash / " + controls + " é 😀 \u{7f} \u{2028}"),
            ["b": 1, "a": [1, "x", nil], "B": ["z": true, "y": [:]], "a10": 1, "a9": 2, "é": 3, "e": 4, "": 5, "_": 6],
            [[], [[]], [:], ["k": [:]]],
            .integer(Int64.max), 9, 10, -1, 1_000_000_007,
            // Many keys, in no order (sorted in place by the writer).
            .object(Dictionary(uniqueKeysWithValues: (0..<200).map { ("key-\(($0 * 7919) % 200)-\(String(repeating: "x", count: $0 % 5))", JSONValue.integer(Int64($0) - 100)) })),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for sample in samples {
            let expected = String(decoding: try encoder.encode(sample), as: UTF8.self)
            #expect(sample.jsonText == expected)
            // 100.0 is written `100` (as JSONEncoder does) and reads back as an integer.
            if sample != 100.0 { #expect(try JSONValue(parsing: sample.serialized()) == sample) }
        }
    }

    @Test("writes non-finite numbers as null instead of failing the document")
    func nonFinite() {
        let value: JSONValue = ["a": .number(.nan), "b": .number(.infinity), "c": 1]
        #expect(value.jsonText == #"{"a":null,"b":null,"c":1}"#)
    }
}
