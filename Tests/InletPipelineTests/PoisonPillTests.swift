import Foundation
import HummingbirdTesting
import InletConnectors
import InletKafka
import InletPipeline
import Testing

/// Inputs that fail with large values or long error lists: their dead letters stay small
/// enough to store, the partition goes on, and replay still finds the original.
@Suite("Poison pills")
struct PoisonPillTests {
    @Test("a large value is left out of the dead letter with its size; long messages and lists are cut")
    func bounded() throws {
        let original = DeadLetter.Original(topic: "inlet.ingress", partition: 3, offset: 42, key: "sub-1", value: Data(count: 600_000))
        let details: JSONValue = ["errors": .array((0..<500).map { .string("error \($0)") })]
        let letter = DeadLetter.bounded(
            failedAt: Date(), stage: .handler, reason: .init(code: "handle-error", message: String(repeating: "x", count: 100_000), details: details),
            original: original
        )
        #expect(letter.original.value.isEmpty)
        #expect(letter.original.valueOmitted == true)
        #expect(letter.original.valueBytes == 600_000)
        #expect(letter.original.offset == 42, "replay finds the original by its position")
        #expect(letter.reason.message.utf8.count < 8300)
        #expect(letter.reason.details?["errors"]?.arrayValue?.count == 21, "20 errors and a note of how many more")
        #expect(letter.encoded().count < 64 * 1024)
        let decoded = try DeadLetter.decoded(from: letter.encoded())
        #expect(decoded.original.valueOmitted == true)

        let small = DeadLetter.bounded(failedAt: Date(), stage: .handler, reason: .init(code: "handle-error", message: "m"), original: .init(topic: "t", partition: 0, offset: 1, value: Data("v".utf8)))
        #expect(small.original.value == Data("v".utf8) && small.original.valueOmitted == nil)
    }

    @Test("a failure replayed and dead-lettered again is replayed once, as its latest dead letter")
    func replayEachFailureOnce() {
        let first = DeadLetter.bounded(
            failedAt: Date(), stage: .handler, reason: .init(code: "handle-error", message: "boom"),
            original: .init(topic: "inlet.ingress", partition: 0, offset: 7, value: Data("v".utf8)))
        let replayed = DeadLetterStore.replayRecord(for: first)
        let second = DeadLetter.bounded(
            failedAt: Date(), stage: .handler, reason: .init(code: "handle-error", message: "boom again"),
            original: .init(topic: "inlet.ingress", partition: 0, offset: 9, headers: replayed.headers.map { .init(key: $0.name, value: $0.value) }, value: Data("v".utf8)))
        let other = DeadLetter.bounded(
            failedAt: Date(), stage: .handler, reason: .init(code: "handle-error", message: "other"),
            original: .init(topic: "inlet.ingress", partition: 1, offset: 3, value: Data("w".utf8)))
        #expect(DeadLetterStore.latestFailures([first, second, other]).map(\.id) == [second.id, other.id])
        #expect(DeadLetterStore.latestFailures([first, other]).map(\.id) == [first.id, other.id])
    }

    @Test("a dead letter written before valueOmitted existed still decodes and replays byte for byte")
    func previousFormat() throws {
        let previous = #"{"id":"0123456789abcdef0123456789abcdef","failedAt":"2026-11-25T10:00:00.000Z","stage":"handler","reason":{"code":"handle-error","message":"boom"},"original":{"topic":"inlet.ingress","partition":0,"offset":7,"key":"sub-1","headers":[],"value":"aGVsbG8="}}"#
        let letter = try DeadLetter.decoded(from: Data(previous.utf8))
        #expect(letter.original.valueOmitted == nil)
        #expect(DeadLetterStore.replayRecord(for: letter).value == Data("hello".utf8))
    }

    @Test("a 600 KB webhook whose handle throws becomes a small dead letter, the next webhook still gets through, and replay reads the original from its topic")
    func largeWebhookThatThrows() async throws {
        let pipeline = try TestPipeline()
        try await pipeline.run(replies: false) { client in
            let subscription = try await WebhookEndToEndTests().createSubscription(
                client, parameters: ["owner": "octo", "repo": "hello", "secret": .string(WebhookEndToEndTests.secret)]
            )
            let path = String(try #require(subscription["webhookUrl"]?.stringValue).dropFirst("https://hooks.example.com".count))
            let base = "http://127.0.0.1:\(try #require(client.port))"
            let huge = WebhookEndToEndTests.issueDelivery(action: "opened", number: 1, title: String(repeating: "x", count: 600_000))
            let forged = try await TestPipeline.post(base, path, body: huge, headers: ["X-GitHub-Event": "issues", "X-Hub-Signature-256": "sha256=00"])
            #expect(forged.status == 200)
            let good = WebhookEndToEndTests.issueDelivery(action: "opened", number: 2, title: "Fine")
            let accepted = try await TestPipeline.post(
                base, path, body: good, headers: ["X-GitHub-Event": "issues", "X-Hub-Signature-256": WebhookEndToEndTests.signature(good)]
            )
            #expect(accepted.status == 200)
            try await eventually(timeout: .seconds(30)) { pipeline.events.withLock { $0.map(\.data.recordId) } == ["2"] }

            let letters = try await pipeline.harness.read(pipeline.harness.topics.dlq, count: 1)
            let letter = try DeadLetter.decoded(from: try #require(letters.first?.value))
            #expect(letter.original.valueOmitted == true)
            #expect((letter.original.valueBytes ?? 0) > 600_000)
            #expect((letters.first?.value?.count ?? .max) < 64 * 1024)

            let store = DeadLetterStore(topics: pipeline.harness.topics, client: pipeline.harness.client, logger: pipeline.harness.logger)
            let replay = try await store.replayRecord(for: letter)
            let raw = try RawRequest.decoded(value: replay.value, headers: replay.headers)
            #expect(raw.body == Data(huge.utf8), "the original, byte for byte, read from its topic")
        }
    }
}
