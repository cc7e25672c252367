import Foundation
import HummingbirdTesting
import InletConnectors
import InletJSON
import InletKafka
@testable import InletPipeline
import Testing

/// What is on `ingress` is a public format. Raw records (the body as the value, the metadata
/// in a header) replaced whole-JSON records; during a rolling upgrade both kinds sit on the
/// topic, interleaved within one partition, and the handler turns each into its event.
@Suite("Rolling upgrade of the ingress record format")
struct RollingUpgradeTests {
    @Test("an ingress still writing JSON records and one writing raw records feed the same handler: every webhook becomes its event, in order")
    func mixedFormats() async throws {
        let pipeline = try TestPipeline()
        // This ingress is the old version: it writes the whole request as JSON.
        try await pipeline.run(replies: false, recordFormat: .json) { client in
            let subscription = try await WebhookEndToEndTests().createSubscription(
                client, parameters: ["owner": "octo", "repo": "hello", "secret": .string(WebhookEndToEndTests.secret)]
            )
            let id = try #require(subscription["id"]?.stringValue)
            let path = String(try #require(subscription["webhookUrl"]?.stringValue).dropFirst("https://hooks.example.com".count))
            let base = "http://127.0.0.1:\(try #require(client.port))"
            // The new version's ingress: the same request as a raw record, appended directly.
            let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: pipeline.harness.client), logger: pipeline.harness.logger)
            for number in 1...6 {
                let body = WebhookEndToEndTests.issueDelivery(action: "opened", number: number, title: "Issue \(number)")
                // (TestPipeline.post sends its own Content-Type.)
                let headers = ["X-GitHub-Event": "issues", "X-Hub-Signature-256": WebhookEndToEndTests.signature(body)]
                if number.isMultiple(of: 2) {
                    let raw = RawRequest(
                        receivedAt: Date(), method: "POST", path: path,
                        headers: Dictionary(uniqueKeysWithValues: headers.map { ($0.key.lowercased(), $0.value) }).merging(["content-type": "application/json"]) { $1 },
                        body: Data(body.utf8), subscriptionId: id
                    )
                    try await producer.send(raw.kafkaRecord(topic: pipeline.harness.topics.ingress, format: .raw))
                } else {
                    #expect(try await TestPipeline.post(base, path, body: body, headers: headers).status == 200)
                }
            }
            await producer.shutdown()
            try await eventually(timeout: .seconds(60)) { pipeline.events.withLock { $0.count } >= 6 }
            #expect(pipeline.events.withLock { $0.map(\.data.recordId) } == (1...6).map(String.init), "each webhook once, in order")
            let stored = try await pipeline.harness.read(pipeline.harness.topics.ingress, count: 6)
            #expect(stored.filter { $0.headers.isEmpty }.count == 3, "three JSON records")
            #expect(stored.filter { !$0.headers.isEmpty }.count == 3, "three raw records")
        }
    }

    @Test("both formats read back as the same request; a raw record with an empty body has no value to lose")
    func bothFormatsRoundTrip() throws {
        let request = RawRequest(
            requestId: "r-1", receivedAt: Date(timeIntervalSince1970: 1_790_000_000.123), method: "POST", path: "/webhooks/abc",
            rawQuery: "x=1&x=2&y=", headers: ["content-type": "application/json", "x-a": "1"], body: Data([0, 1, 2, 255]),
            replyExpected: true, subscriptionId: "sub-1", remoteAddress: "10.0.0.1"
        )
        for format in RawRequestRecordFormat.allCases {
            let record = request.kafkaRecord(topic: "inlet.ingress", format: format)
            #expect(record.key == Data("sub-1".utf8))
            #expect(try RawRequest.decoded(value: record.value, headers: record.headers) == request, "\(format)")
        }
        let raw = request.kafkaRecord(topic: "inlet.ingress", format: .raw)
        #expect(raw.value == request.body)
        var empty = request
        empty.body = Data()
        #expect(try RawRequest.decoded(value: nil, headers: empty.kafkaRecord(topic: "t", format: .raw).headers) == empty)
        #expect(throws: MessageCodecError.self) {
            try RawRequest.decoded(value: Data(), headers: [KafkaHeader(name: RawRequestRecordFormat.metadataHeader, string: #"{"method":"POST"}"#)])
        }
    }

    @Test("a raw record's metadata header holds the same bytes as the request's metadata written as a JSON tree")
    func metadataBytes() throws {
        let full = RawRequest(
            requestId: "r-\"1\"", receivedAt: Date(timeIntervalSince1970: 1_790_000_000.5), method: "POST", path: "/webhooks/a\\b",
            rawQuery: "x=1&x=2&y=&é=%22", query: ["x": .multiple(["1", "2"]), "y": .single(""), "é": .single("\"")],
            headers: ["content-type": "application/json", "x-b": "line\u{1}", "X-Upper": "ü", "a": "", "zz": "9"], contentType: "application/json",
            body: Data("{}".utf8), replyExpected: true, subscriptionId: "sub-1", connectorKey: "github", globalWebhookKey: "events", remoteAddress: "::1"
        )
        let bare = RawRequest(requestId: "r-2", receivedAt: Date(timeIntervalSince1970: 0), method: "GET", path: "/", body: Data())
        for request in [full, bare] {
            var tree = JSONWriter()
            tree.write(request.metadata)
            let record = request.kafkaRecord(topic: "inlet.ingress", format: .raw)
            let header = try #require(record.headers.first { $0.name == RawRequestRecordFormat.metadataHeader }?.value)
            #expect(String(decoding: header, as: UTF8.self) == String(decoding: tree.bytes, as: UTF8.self))
            #expect(try RawRequest.decoded(value: record.value, headers: record.headers) == request)
        }
    }
}
