import Foundation
import InletConnectors
import InletPipeline
import Testing

/// Encodes and decodes `message` as its own type.
private func roundTrip<Message: TopicMessage>(_ message: Message) throws -> Message {
    try Message.decoded(from: message.encoded())
}

private func isEqualAfterRoundTrip<Message: TopicMessage>(_ message: Message) throws -> Bool {
    try roundTrip(message) == message
}

/// The encoded message as a JSON object.
private func json(_ message: some TopicMessage) throws -> [String: JSONValue] {
    try #require(try JSONValue(parsing: message.encoded()).objectValue)
}

@Suite("Messages round-trip and wire format")
struct MessagesRoundTripTests {
    @Test("every sample decodes to an equal value after encoding")
    func everySampleRoundTrips() throws {
        for sample in MessageSamples.all {
            #expect(try isEqualAfterRoundTrip(sample), "\(type(of: sample)) changed in a round trip")
        }
    }

    @Test("equal messages encode to equal bytes, with sorted keys")
    func encodingIsCanonical() throws {
        let a = MessageSamples.subscription.encoded()
        let b = try roundTrip(MessageSamples.subscription).encoded()
        #expect(a == b)
        let text = String(decoding: MessageSamples.command.encoded(), as: UTF8.self)
        #expect(text.hasPrefix(#"{"commandId":"c2a4e6f8-1b3d-4f5a-8c7e-9d0b1a2c3e4f","issuedAt":"2026-11-25T09:35:31.123Z""#))
    }

    @Test("a normalized event's source percent-encodes what a path segment cannot hold, and only that")
    func sourceSegmentsAreEncoded() {
        #expect(NormalizedEvent.source(connectorKey: "github", subscriptionId: "sub_01JD9ZQ4-a.b~c") == "/inlet/connectors/github/subscriptions/sub_01JD9ZQ4-a.b~c")
        #expect(NormalizedEvent.source(connectorKey: "my app/x", subscriptionId: "sub 1?é") == "/inlet/connectors/my%20app%2Fx/subscriptions/sub%201%3F%C3%A9")
    }

    @Test("request and command ids are random version 4 UUIDs in lower case")
    func randomUUIDs() throws {
        let ids = (0..<1000).map { _ in RandomUUID.make() }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(50) {
            let parsed = try #require(UUID(uuidString: id), "\(id)")
            #expect(parsed.uuidString.lowercased() == id)
            #expect(parsed.uuid.6 >> 4 == 4, "version 4")
            #expect(parsed.uuid.8 >> 6 == 0b10, "RFC 4122 variant")
        }
        #expect(RawRequest(receivedAt: Date(), method: "POST", path: "/").requestId.count == 36)
    }

    @Test("slashes are not escaped")
    func slashesAreNotEscaped() {
        let text = String(decoding: MessageSamples.normalizedEvent.encoded(), as: UTF8.self)
        #expect(text.contains(#""source":"/inlet/connectors/github/subscriptions/sub_01JD9ZQ4""#))
        #expect(!text.contains(#"\/"#))
    }

    @Test("a raw request keeps the body bytes as base64 and the documented field names")
    func rawRequestWireFormat() throws {
        let object = try json(MessageSamples.globalRawRequest)
        #expect(object["body"] == .string("cGF5bG9hZD3/AA=="))
        #expect(object["receivedAt"] == .string("2026-11-25T09:35:31.123Z"))
        #expect(object["replyExpected"] == .bool(false))
        #expect(object["rawQuery"] == .string(""))
        #expect(object["contentType"] == .string("application/x-www-form-urlencoded"))
        #expect(object["subscriptionId"] == nil, "absent optionals are left out, not null")
        #expect(try roundTrip(MessageSamples.globalRawRequest).bodyData == Data([0x70, 0x61, 0x79, 0x6c, 0x6f, 0x61, 0x64, 0x3d, 0xff, 0x00]))
    }

    @Test("a repeated query parameter becomes an array; a single one stays a string")
    func queryParsing() throws {
        let request = MessageSamples.rawRequest
        #expect(request.query["delivery"] == .single("1"))
        #expect(request.query["tag"] == .multiple(["a", "b c"]))
        #expect(RawRequest.parseQuery("q=a+b&flag&x=%2F") == ["q": "a b", "flag": "", "x": "/"])
        let object = try json(request)
        #expect(object["query"] == ["delivery": "1", "tag": ["a", "b c"]])
    }

    @Test("headers are lower-cased and repeated headers joined with a comma")
    func headerNormalization() {
        let headers = RawRequest.normalizeHeaders([("Accept", "text/html"), ("X-Trace", "1"), ("accept", "application/json")])
        #expect(headers == ["accept": "text/html, application/json", "x-trace": "1"])
        #expect(MessageSamples.rawRequest.header("X-GitHub-Event") == "issues")
    }

    @Test("raw requests are keyed by subscription id, or connectorKey/globalWebhookKey")
    func rawRequestKeys() {
        #expect(MessageSamples.rawRequest.kafkaKey == "sub_01JD9ZQ4")
        #expect(MessageSamples.globalRawRequest.kafkaKey == "slack/app")
        #expect(RawRequest.globalKey(connectorKey: "slack", globalWebhookKey: "app") == "slack/app")
    }

    @Test("an app event is keyed by customer id, else by its type; an array payload is a batch")
    func appEvents() throws {
        #expect(MessageSamples.appEvent.kafkaKey == "cus_42")
        let batch = AppEventMessage(type: "order-placed", payload: [["orderId": "1"], ["orderId": "2"]], receivedAt: MessageSamples.receivedAt)
        #expect(batch.kafkaKey == "order-placed")
        #expect(batch.isBatch)
        #expect(batch.events.count == 2)
        #expect(!MessageSamples.appEvent.isBatch)
        let object = try json(MessageSamples.appEvent)
        #expect(object["payload"]?["total"] == .number(129.5))
        #expect(object["id"] == .string("evt_2026_11_25_0001"))
    }

    @Test("a subscribe command carries the new subscription")
    func commandWireFormat() throws {
        let object = try json(MessageSamples.command)
        #expect(object["type"] == .string("subscribe"))
        #expect(object["subscription"]?["target"] == ["kind": "event", "eventKey": "issue-created"])
        #expect(object["subscription"]?["config"] == ["parameters": ["repository": "acme/inlet"]])
        #expect(MessageSamples.command.kafkaKey == "sub_01JD9ZQ4")
    }

    @Test("a subscription record uses the original field names and epoch-millisecond timestamps")
    func subscriptionWireFormat() throws {
        let object = try json(MessageSamples.subscription)
        for key in [
            "id", "status", "connectionId", "customerId", "connectorKey", "target", "config", "state", "webhookToken",
            "webhookUri", "nextRefreshTimestamp", "nextPullEventsTimestamp", "pullUpdatesIntervalSeconds",
            "fullSyncIntervalSeconds", "error", "createdAt", "updatedAt", "appliedOffsets",
        ] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["target"] == ["kind": "collection", "collectionKey": "issues", "collectionEvent": "updated"])
        #expect(object["nextRefreshTimestamp"] == .integer(1_795_685_731_123))
        #expect(object["appliedOffsets"] == ["inlet.ingress:3": 1042, "inlet.commands:3": 17])
        #expect(object["error"] == ["message": "GitHub answered 502", "code": "http-502", "at": "2026-11-25T09:35:31.123Z"])
        #expect(object["webhookToken"] != object["id"])
    }

    @Test("every target kind round-trips through its tagged JSON form")
    func targets() throws {
        let targets: [SubscriptionTarget] = [
            .event(eventKey: "issue-created"),
            .collection(collectionKey: "issues", collectionEvent: .deleted),
            .appEvent(appEventKey: "order-placed"),
        ]
        for target in targets {
            var record = MessageSamples.subscription
            record.target = target
            #expect(try roundTrip(record).target == target)
        }
        var record = MessageSamples.subscription
        record.target = .appEvent(appEventKey: "order-placed")
        #expect(try json(record)["target"] == ["kind": "app-event", "appEventKey": "order-placed"])
    }

    @Test("a null subscription value is a tombstone")
    func subscriptionTombstones() throws {
        #expect(SubscriptionRecord.tombstoneValue == nil)
        #expect(try SubscriptionRecord.tableEntry(from: nil) == nil)
        #expect(try SubscriptionRecord.tableEntry(from: Data()) == nil)
        #expect(try SubscriptionRecord.tableEntry(from: MessageSamples.subscription.encoded()) == MessageSamples.subscription)
        #expect(try ConnectionRecord.tableEntry(from: nil) == nil)
        #expect(MessageCodec.isTombstone(nil))
        #expect(!MessageCodec.isTombstone(Data("{}".utf8)))
    }

    @Test("applied offsets skip inputs at or below the last applied one and never move back")
    func appliedOffsets() {
        var record = MessageSamples.subscription
        #expect(record.hasApplied(topic: "inlet.ingress", partition: 3, offset: 1042))
        #expect(record.hasApplied(topic: "inlet.ingress", partition: 3, offset: 7))
        #expect(!record.hasApplied(topic: "inlet.ingress", partition: 3, offset: 1043))
        #expect(!record.hasApplied(topic: "inlet.ingress", partition: 4, offset: 0))
        record.markApplied(topic: "inlet.ingress", partition: 3, offset: 1050)
        record.markApplied(topic: "inlet.ingress", partition: 3, offset: 1000)
        #expect(record.appliedOffset(topic: "inlet.ingress", partition: 3) == 1050)
    }

    @Test("a subscription record written without appliedOffsets decodes with none")
    func missingAppliedOffsets() throws {
        var object = try json(MessageSamples.subscription)
        object["appliedOffsets"] = nil
        let decoded = try SubscriptionRecord.decoded(from: JSONValue.object(object).serialized())
        #expect(decoded.appliedOffsets.isEmpty)
    }

    @Test("connection credentials stay sealed as base64 with their algorithm")
    func connectionWireFormat() throws {
        let object = try json(MessageSamples.connection)
        #expect(object["credentials"]?["algorithm"] == .string("AES-256-GCM"))
        #expect(object["credentials"]?["keyId"] == .string("2026-01"))
        let sealed = try #require(object["credentials"]?["sealed"]?.stringValue)
        #expect(Data(base64Encoded: sealed) == MessageSamples.connection.credentials.sealed)
    }

    @Test("record event ids are derived from the input position")
    func recordEventIds() throws {
        let event = MessageSamples.recordEvent
        #expect(event.id == RecordEvent.deterministicId(topic: "inlet.ingress", partition: 3, offset: 1042, index: 0))
        #expect(event.recordId == "1347")
        let object = try json(event)
        #expect(object["source"] == ["topic": "inlet.ingress", "partition": 3, "offset": 1042, "index": 0])
        #expect(object["type"] == .string("created"))
        #expect(object["occurredAt"] == .string("2026-11-25T09:35:31.123Z"))
    }

    @Test("deterministic ids are stable literals and differ for every position")
    func deterministicIdsAreStable() {
        // Cross-checked with an independent SHA-256 (Python hashlib) over "inlet.ingress\u{1F}3\u{1F}1042\u{1F}0".
        #expect(RecordEvent.deterministicId(topic: "inlet.ingress", partition: 3, offset: 1042, index: 0) == "40f8599ad4d1208cf2140930b9a4b934")
        #expect(RecordEvent.deterministicId(topic: "inlet.ingress", partition: 3, offset: 1042, index: 1) == "c3b4e88350ee01293e6af715b6c1bf2a")
        var seen = Set<String>()
        for topic in ["inlet.ingress", "inlet.commands"] {
            for partition in 0..<3 {
                for offset in Int64(0)..<12 {
                    for index in 0..<4 {
                        seen.insert(RecordEvent.deterministicId(topic: topic, partition: partition, offset: offset, index: index))
                    }
                }
            }
        }
        #expect(seen.count == 2 * 3 * 12 * 4)
        // "1|23" vs "12|3" style ambiguities cannot collide.
        #expect(RecordEvent.deterministicId(topic: "t", partition: 1, offset: 23, index: 0)
            != RecordEvent.deterministicId(topic: "t", partition: 12, offset: 3, index: 0))
        #expect(MessageSamples.deadLetter.id == "eb729f69835fa73212af95431b036883")
    }

    @Test("a normalized event is a CloudEvents 1.0 structured event built from the record event")
    func normalizedEvents() throws {
        let event = MessageSamples.normalizedEvent
        #expect(event.id == MessageSamples.recordEvent.id)
        #expect(event.type == "github.issue-created.created")
        #expect(event.source == "/inlet/connectors/github/subscriptions/sub_01JD9ZQ4")
        #expect(event.subject == "1347")
        #expect(event.kafkaKey == "sub_01JD9ZQ4")
        let object = try json(event)
        #expect(object["specversion"] == .string("1.0"))
        #expect(object["datacontenttype"] == .string("application/json"))
        #expect(object["time"] == .string("2026-11-25T09:35:31.123Z"))
        #expect(object["data"]?["recordId"] == .string("1347"))
        #expect(object["data"]?["eventKey"] == .string("issue-created"))
        #expect(object["data"]?["collectionKey"] == nil)
        #expect(Set(object.keys) == ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data"])
    }

    @Test("a collection event's type defaults to the subscription's collection event")
    func collectionEventType() {
        var record = MessageSamples.recordEvent
        record.type = nil
        record.target = .collection(collectionKey: "issues", collectionEvent: .deleted)
        record.record = ["id": 1347]
        let event = NormalizedEvent(record)
        #expect(event.type == "github.issues.deleted")
        #expect(event.data.collectionKey == "issues")
        #expect(event.data.eventKey == nil)
        #expect(event.subject == "1347")
    }

    @Test("the Kafka binding headers mirror the CloudEvents attributes")
    func ceHeaders() {
        let headers = MessageSamples.normalizedEvent.ceHeaders
        #expect(headers.map(\.0) == ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "ce_time", "content-type"])
        let byName = Dictionary(uniqueKeysWithValues: headers)
        #expect(byName["ce_id"] == MessageSamples.recordEvent.id)
        #expect(byName["ce_time"] == "2026-11-25T09:35:31.123Z")
        #expect(byName["content-type"] == "application/cloudevents+json; charset=UTF-8")
    }

    @Test("a reply carries status, headers and a base64 body")
    func replies() throws {
        let object = try json(MessageSamples.reply)
        #expect(object["status"] == .integer(200))
        #expect(object["headers"] == ["x-hook-secret": "abc123"])
        #expect(MessageSamples.reply.kafkaKey == MessageSamples.rawRequest.requestId)
        #expect(try roundTrip(MessageSamples.reply).bodyText?.hasPrefix(#"{"challenge""#) == true)
    }

    @Test("a dead letter keeps the original record byte for byte, headers in order")
    func deadLetters() throws {
        let letter = try roundTrip(MessageSamples.deadLetter)
        #expect(letter.original.value == MessageSamples.rawRequest.encoded())
        #expect(try RawRequest.decoded(from: letter.original.value) == MessageSamples.rawRequest)
        #expect(letter.original.headers.map(\.key) == ["traceparent", "empty"])
        #expect(letter.original.headers[1].value == nil)
        #expect(letter.kafkaKey == "sub_01JD9ZQ4")
        let object = try json(MessageSamples.deadLetter)
        #expect(object["reason"]?["code"] == .string("handle-error"))
        #expect(object["stage"] == .string("handler"))
        #expect(object["original"]?["headers"]?[1] == ["key": "empty", "value": nil])
        #expect(object["original"]?["offset"] == .integer(1042))
    }
}
