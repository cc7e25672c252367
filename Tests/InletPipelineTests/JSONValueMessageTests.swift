import Foundation
import InletJSON
import Testing

@testable import InletPipeline

/// Record and normalized events are written and read through `JSONValue` instead of
/// `JSONEncoder`/`JSONDecoder`: the bytes and the accepted inputs must stay exactly those of
/// the `Codable` conformance, which defines the format on the topics.
@Suite("Record and normalized events through JSONValue")
struct JSONValueMessageTests {
    /// Records that exercise the writer: nesting, escapes, non-ASCII, integers at the limits,
    /// doubles, empty containers, and non-finite numbers (which JSON cannot hold).
    static let records: [JSONValue] = [
        ["id": "r1"],
        ["id": .integer(Int64.max), "n": .integer(Int64.min), "d": .number(0.1), "e": .number(1e21), "f": .number(-2.5e-8), "whole": .number(3)],
        ["id": "q\"uote\\back/slash\u{01}\u{1F}\u{7F}\n\t", "ü": "😀 ñ 中文", "nested": ["a": [1, 2, ["b": .null]], "empty": [:], "none": []]],
        // Keys in an order where Unicode and byte order differ (a decomposed ä sorts before b by bytes).
        ["id": "keys", "b": 1, "a\u{308}": 2, "é": 5, "Z": 6, "_": 7, "ab": 8, "a": 9, "\u{1F600}": 10, "\u{FF21}": 11],
        ["id": "nan", "x": .number(.nan), "y": .number(.infinity), "z": .number(-.infinity), "t": true, "f": false],
    ]

    static var recordEvents: [RecordEvent] {
        let targets: [SubscriptionTarget] = [.event(eventKey: "issues"), .collection(collectionKey: "tasks", collectionEvent: .deleted), .appEvent(appEventKey: "order-created")]
        return records.enumerated().flatMap { index, record in
            targets.map { target in
                RecordEvent(
                    subscriptionId: "sub_\(index)", customerId: "acme", connectorKey: "github", target: target, type: index % 2 == 0 ? .updated : nil,
                    record: record, source: .init(topic: "inlet.ingress", partition: index, offset: Int64(index) * 1_000_003, index: index),
                    occurredAt: Date(timeIntervalSince1970: 1_764_063_331.123 + Double(index)), requestId: index % 2 == 0 ? "req-\(index)" : nil)
            }
        }
    }

    @Test("the bytes are exactly JSONEncoder's, and either side reads the other's")
    func sameBytesBothWays() throws {
        let encoder = MessageCodec.makeEncoder()
        let decoder = MessageCodec.makeDecoder()
        for event in Self.recordEvents {
            let codable = try encoder.encode(event)
            #expect(MessageCodec.encode(event) == codable, "\(String(decoding: codable, as: UTF8.self))")
            let fast = try MessageCodec.decode(RecordEvent.self, from: codable)
            #expect(MessageCodec.encode(fast) == codable)
            #expect(try encoder.encode(decoder.decode(RecordEvent.self, from: MessageCodec.encode(event))) == codable)

            let normalized = NormalizedEvent(event)
            let normalizedBytes = try encoder.encode(normalized)
            #expect(MessageCodec.encode(normalized) == normalizedBytes)
            #expect(MessageCodec.encode(try MessageCodec.decode(NormalizedEvent.self, from: normalizedBytes)) == normalizedBytes)
        }
    }

    @Test("scan snapshot chunks: the bytes are exactly JSONEncoder's, and either side reads the other's")
    func scanSnapshotChunkBytes() throws {
        let encoder = MessageCodec.makeEncoder()
        let chunk = ScanSnapshotChunk(
            subscriptionId: "sub/1", snapshot: "00000000000000aa", chunk: 2, chunks: 3,
            entries: ["b": "0000000000000001", "a\u{308}": "0000000000000002", "é": "0000000000000003", "q\"/\n": "0000000000000004"])
        let codable = try encoder.encode(chunk)
        #expect(MessageCodec.encode(chunk) == codable, "\(String(decoding: codable, as: UTF8.self))")
        #expect(try MessageCodec.decode(ScanSnapshotChunk.self, from: codable) == chunk)
        #expect(try MessageCodec.makeDecoder().decode(ScanSnapshotChunk.self, from: MessageCodec.encode(chunk)) == chunk)
        let bad = Data(#"{"subscriptionId":"s","snapshot":"x","chunk":0,"chunks":1,"entries":{"a":1}}"#.utf8)
        let error = #expect(throws: MessageCodecError.self) { try MessageCodec.decode(ScanSnapshotChunk.self, from: bad) }
        #expect(error?.fieldPath == "entries.a")
    }

    @Test("a message that is not JSON is refused naming its type as before")
    func errorsNameTheType() {
        func name<Message: Decodable>(_ type: Message.Type) -> String? {
            do {
                _ = try MessageCodec.decode(type, from: Data("not json".utf8))
                return nil
            } catch {
                return error.messageType
            }
        }
        #expect(name(RecordEvent.self) == String(describing: RecordEvent.self))
        #expect(name(NormalizedEvent.self) == String(describing: NormalizedEvent.self))
        #expect(name(ScanSnapshotChunk.self) == String(describing: ScanSnapshotChunk.self))
        #expect(name(RecordEvent.self) == "RecordEvent")
    }

    @Test("a bad field is refused with the path JSONDecoder names")
    func errorsNameTheSameField() throws {
        let good = try #require(JSONValue(parsing: MessageCodec.encode(MessageSamples.recordEvent)).objectValue)
        let edits: [(String, (inout [String: JSONValue]) -> Void)] = [
            ("subscriptionId", { $0["subscriptionId"] = nil }),
            ("customerId", { $0["customerId"] = .integer(4) }),
            ("target.kind", { $0["target"] = ["kind": "webhook"] }),
            ("target.eventKey", { $0["target"] = ["kind": "event"] }),
            ("target.collectionEvent", { $0["target"] = ["kind": "collection", "collectionKey": "tasks", "collectionEvent": "moved"] }),
            ("record", { $0["record"] = ["name": "no id"] }),
            ("record", { $0["record"] = .null }),
            ("source.offset", { $0["source"] = ["topic": "t", "partition": 0, "offset": "7", "index": 0] }),
            ("occurredAt", { $0["occurredAt"] = "yesterday" }),
            ("requestId", { $0["requestId"] = .bool(true) }),
            ("type", { $0["type"] = "moved" }),
        ]
        for (path, edit) in edits {
            var object = good
            edit(&object)
            let bytes = JSONValue.object(object).serialized()
            let fast = #expect(throws: MessageCodecError.self) { try MessageCodec.decode(RecordEvent.self, from: bytes) }
            #expect(fast?.fieldPath == path, "\(fast.map(String.init(describing:)) ?? "accepted")")
            #expect(throws: DecodingError.self, "JSONDecoder refuses it too") { try MessageCodec.makeDecoder().decode(RecordEvent.self, from: bytes) }
        }
        let notJSON = #expect(throws: MessageCodecError.self) { try MessageCodec.decode(NormalizedEvent.self, from: Data("{".utf8)) }
        #expect(notJSON?.fieldPath == "")
        let notObject = #expect(throws: MessageCodecError.self) { try MessageCodec.decode(NormalizedEvent.self, from: Data("[1]".utf8)) }
        #expect(notObject?.description == "NormalizedEvent: expected a JSON object")
    }

    @Test("missing optional fields and nulls read as absent, as before")
    func optionalsMayBeNullOrMissing() throws {
        var object = try #require(JSONValue(parsing: MessageCodec.encode(MessageSamples.recordEvent)).objectValue)
        object["requestId"] = .null
        object["type"] = nil
        let event = try MessageCodec.decode(RecordEvent.self, from: JSONValue.object(object).serialized())
        #expect(event.requestId == nil && event.type == nil)
    }
}
