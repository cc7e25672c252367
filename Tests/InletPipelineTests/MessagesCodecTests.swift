import Foundation
import InletConnectors
import InletPipeline
import Testing

/// Decodes `text` as `Message` and returns the codec error it must throw.
private func decodingError<Message: TopicMessage>(_ type: Message.Type, _ text: String) -> MessageCodecError? {
    do {
        _ = try MessageCodec.decode(type, from: Data(text.utf8))
        return nil
    } catch {
        return error
    }
}

/// The sample's JSON with `change` applied, as text.
private func mutated(_ message: some TopicMessage, _ change: (inout [String: JSONValue]) -> Void) throws -> String {
    var object = try #require(try JSONValue(parsing: message.encoded()).objectValue)
    change(&object)
    return JSONValue.object(object).jsonText
}

@Suite("MessageCodec")
struct MessagesCodecTests {
    @Test("timestamps are RFC 3339 in UTC with milliseconds")
    func timestampFormat() {
        #expect(MessageCodec.timestamp(Date(epochMilliseconds: 1_795_599_331_123)) == "2026-11-25T09:35:31.123Z")
        #expect(MessageCodec.timestamp(Date(epochMilliseconds: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(MessageCodec.timestamp(Date(epochMilliseconds: 951_782_400_000)) == "2000-02-29T00:00:00.000Z")
        #expect(MessageCodec.timestamp(Date(epochMilliseconds: -1)) == "1969-12-31T23:59:59.999Z")
        // Sub-millisecond precision rounds to the nearest millisecond.
        #expect(MessageCodec.timestamp(Date(timeIntervalSince1970: 1.0004)) == "1970-01-01T00:00:01.000Z")
        #expect(MessageCodec.timestamp(Date(timeIntervalSince1970: 1.9996)) == "1970-01-01T00:00:02.000Z")
    }

    @Test("any RFC 3339 timestamp is read, offsets converted to UTC")
    func timestampParsing() {
        let expected = Date(epochMilliseconds: 1_795_599_331_123)
        #expect(MessageCodec.date(fromTimestamp: "2026-11-25T09:35:31.123Z") == expected)
        #expect(MessageCodec.date(fromTimestamp: "2026-11-25T10:35:31.123+01:00") == expected)
        #expect(MessageCodec.date(fromTimestamp: "2026-11-25T04:05:31.123-05:30") == expected)
        #expect(MessageCodec.date(fromTimestamp: "2026-11-25t09:35:31.123z") == expected)
        #expect(MessageCodec.date(fromTimestamp: "2026-11-25T09:35:31Z") == Date(epochMilliseconds: 1_795_599_331_000))
        #expect(MessageCodec.date(fromTimestamp: "2026-11-25T09:35:31.1Z") == Date(epochMilliseconds: 1_795_599_331_100))
        let micro = MessageCodec.date(fromTimestamp: "2026-11-25T09:35:31.123456Z")
        #expect(micro.map { abs($0.timeIntervalSince1970 - 1_795_599_331.123456) < 0.000_001 } == true)
        for bad in ["2026-11-25", "2026-11-25T09:35:31", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z",
                    "2026-11-25T24:00:00Z", "2026-11-25T09:35:31.Z", "2026-11-25 09:35:31Z", "1795599331123",
                    "2026-11-25T09:35:31.123Zjunk", "2026-11-25T09:35:31+0100"] {
            #expect(MessageCodec.date(fromTimestamp: bad) == nil, "accepted \(bad)")
        }
    }

    @Test("a missing required field names the message type and the field")
    func missingField() throws {
        let text = try mutated(MessageSamples.rawRequest) { $0["method"] = nil }
        let error = try #require(decodingError(RawRequest.self, text))
        #expect(error.messageType == "RawRequest")
        #expect(error.fieldPath == "method")
        #expect(error.description.hasPrefix("RawRequest.method: "))
    }

    @Test("an unknown enum value names the nested field path")
    func badNestedEnum() throws {
        let text = try mutated(MessageSamples.subscription) {
            $0["target"] = ["kind": "collection", "collectionKey": "issues", "collectionEvent": "moved"]
        }
        let error = try #require(decodingError(SubscriptionRecord.self, text))
        #expect(error.messageType == "SubscriptionRecord")
        #expect(error.fieldPath == "target.collectionEvent")
    }

    @Test("an unknown target kind is rejected at target.kind")
    func badTargetKind() throws {
        let text = try mutated(MessageSamples.subscription) { $0["target"] = ["kind": "webhook", "eventKey": "x"] }
        let error = try #require(decodingError(SubscriptionRecord.self, text))
        #expect(error.fieldPath == "target.kind")
        #expect(error.reason.contains("webhook"))
    }

    @Test("a malformed timestamp, base64 body or wrong type names its field")
    func badValues() throws {
        let badTime = try mutated(MessageSamples.command) { $0["issuedAt"] = "yesterday" }
        #expect(decodingError(Command.self, badTime)?.fieldPath == "issuedAt")
        let epochTime = try mutated(MessageSamples.command) { $0["issuedAt"] = 1_795_599_331_123 }
        #expect(decodingError(Command.self, epochTime)?.fieldPath == "issuedAt")
        let badBody = try mutated(MessageSamples.reply) { $0["body"] = "not base64!" }
        #expect(decodingError(Reply.self, badBody)?.fieldPath == "body")
        let badStatus = try mutated(MessageSamples.reply) { $0["status"] = "200" }
        #expect(decodingError(Reply.self, badStatus)?.fieldPath == "status")
        let badHeader = try mutated(MessageSamples.deadLetter) {
            $0["original"] = ["topic": "t", "partition": 0, "offset": 1, "value": "", "headers": [["key": "a", "value": nil], ["key": 5]]]
        }
        #expect(decodingError(DeadLetter.self, badHeader)?.fieldPath == "original.headers[1].key")
    }

    @Test("a record without an id is rejected")
    func recordWithoutId() throws {
        let text = try mutated(MessageSamples.recordEvent) { $0["record"] = ["name": "no id"] }
        let error = try #require(decodingError(RecordEvent.self, text))
        #expect(error.messageType == "RecordEvent")
        #expect(error.fieldPath == "record")
    }

    @Test("a CloudEvent of another spec version is rejected")
    func wrongSpecVersion() throws {
        let text = try mutated(MessageSamples.normalizedEvent) { $0["specversion"] = "0.3" }
        #expect(decodingError(NormalizedEvent.self, text)?.fieldPath == "specversion")
    }

    @Test("text that is not JSON is reported against the whole message")
    func notJSON() throws {
        let error = try #require(decodingError(AppEventMessage.self, "{\"type\": "))
        #expect(error.messageType == "AppEventMessage")
        #expect(error.fieldPath == "")
        #expect(error.description.hasPrefix("AppEventMessage: "))
        #expect(decodingError(AppEventMessage.self, "[]")?.fieldPath == "")
    }

    @Test("null optional fields decode as absent")
    func nullOptionals() throws {
        let text = try mutated(MessageSamples.appEvent) { $0["customerId"] = .null; $0["id"] = .null }
        let decoded = try MessageCodec.decode(AppEventMessage.self, from: Data(text.utf8))
        #expect(decoded.customerId == nil)
        #expect(decoded.id == nil)
    }

    @Test("unknown fields from newer producers are ignored")
    func unknownFields() throws {
        let text = try mutated(MessageSamples.command) { $0["priority"] = "high" }
        #expect(try MessageCodec.decode(Command.self, from: Data(text.utf8)) == MessageSamples.command)
    }

    @Test("non-finite numbers in arbitrary JSON encode without failing")
    func nonFiniteNumbers() throws {
        let event = AppEventMessage(type: "t", payload: ["x": .number(.infinity)], receivedAt: MessageSamples.receivedAt)
        let text = String(decoding: event.encoded(), as: UTF8.self)
        #expect(text.contains(#""x":"Infinity""#))
    }

    @Test("every message type names its schema file and topics")
    func schemaFilesAndTopics() {
        #expect(RawRequest.schemaID == "https://inlet.dev/schemas/raw-request.schema.json")
        #expect(Set(TopicMessages.all.map { $0.schemaFile }).count == TopicMessages.all.count)
        let topics = TopicMessages.all.flatMap { $0.topics }
        #expect(Set(topics) == [
            "ingress", "ingress.global", "ingress.app-events", "commands", "subscriptions", "connections", "global-webhooks", "connector-parameters", "customers", "scan-snapshots", "app-event-subscriptions", "records",
            "events", "app-events", "replies", "dlq", "audit",
        ])
    }
}
