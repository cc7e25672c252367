import Foundation
import InletKafka
import Testing

@Suite("A full producer queue")
struct QueueFullTests {
    @Test("with the broker away and the local queue full, .fail refuses at once (ingress answers 503) and .wait waits, then delivers in order once the broker is back")
    func queueFull() async throws {
        let test = try TestCluster()
        defer { test.cluster.stop() }
        let topic = try test.topic("full", partitions: 1)
        var client = test.client
        client.additionalProperties["queue.buffering.max.messages"] = "2"
        // Reconnect promptly once the broker is back (librdkafka backs off up to 10 s, as long
        // as .wait waits for room: on a loaded machine the wait could run out first).
        client.additionalProperties["reconnect.backoff.ms"] = "50"
        client.additionalProperties["reconnect.backoff.max.ms"] = "500"
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(1), deliveryTimeoutMilliseconds: 60_000), logger: test.logger)
        // Connected first, then the broker goes away: what is produced now stays queued.
        try await producer.send(KafkaRecord(topic: topic, key: "k", value: Data("first".utf8)))
        try test.cluster.setBroker(1, up: false)
        let queued = Task { try await producer.sendAll((0..<2).map { KafkaRecord(topic: topic, key: "k", value: Data("queued \($0)".utf8)) }) }
        try await Task.sleep(for: .milliseconds(300))

        let refused = ContinuousClock.now
        await #expect(throws: KafkaError.self) {
            try await producer.send(KafkaRecord(topic: topic, key: "k", value: Data("refused".utf8)), whenQueueFull: .fail)
        }
        #expect(ContinuousClock.now - refused < .seconds(2), "refused at once, not after the queue-full wait")

        // .wait (the default) waits for room, then delivers.
        let waiting = Task { try await producer.send(KafkaRecord(topic: topic, key: "k", value: Data("waited".utf8))) }
        try await Task.sleep(for: .milliseconds(500))
        try test.cluster.setBroker(1, up: true)
        let reports = try await queued.value
        #expect(reports.count == 2)
        let waited = try await waiting.value
        #expect(waited.offset > reports[1].offset, "in order after the queued ones")
        await producer.shutdown()
    }
}
