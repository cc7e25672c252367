import Foundation
@testable import InletKafka
import Logging
import Testing

@Suite("Producer and consumer over the embedded broker")
struct ProducerConsumerTests {
    @Test("a message round-trips with key, headers, explicit partition and offset")
    func roundTrip() async throws {
        let test = try TestCluster()
        defer { test.cluster.stop() }
        let topic = try test.topic("round-trip")
        let producer = try KafkaProducer(configuration: test.producerConfiguration, logger: test.logger)
        let headers = [KafkaHeader(name: "ce_id", string: "abc"), KafkaHeader(name: "empty", value: nil), KafkaHeader(name: "ce_id", string: "second")]
        let report = try await producer.send(KafkaRecord(topic: topic, key: "sub-1", value: Data("{\"a\":1}".utf8), headers: headers, partition: 2))
        #expect(report.partition == 2)
        #expect(report.offset == 0)
        let tombstone = try await producer.send(KafkaRecord(topic: topic, key: "sub-1", value: nil, partition: 2))
        #expect(tombstone.offset == 1)
        await producer.shutdown()

        let consumer = try KafkaConsumer(configuration: test.consumerConfiguration(group: "g-\(topic)"), topics: [topic], logger: test.logger)
        let messages = try await collect(consumer, count: 2)
        await consumer.close()
        try #require(messages.count == 2)
        #expect(messages[0].keyString == "sub-1")
        #expect(messages[0].value == Data("{\"a\":1}".utf8))
        #expect(messages[0].headers == headers)
        #expect(messages[0].partition == 2 && messages[0].offset == 0)
        #expect(messages[0].timestampMilliseconds != nil)
        #expect(messages[1].value == nil)
    }

    @Test("many sends in flight are all acknowledged, in order per partition")
    func manyInFlight() async throws {
        let test = try TestCluster()
        defer { test.cluster.stop() }
        let topic = try test.topic("in-flight", partitions: 2)
        let producer = try KafkaProducer(configuration: test.producerConfiguration, logger: test.logger)
        let records = (0..<2000).map { KafkaRecord(topic: topic, key: "k\($0 % 7)", value: Data("\($0)".utf8)) }
        let reports = try await producer.sendAll(records)
        #expect(reports.count == 2000)
        // Offsets per partition increase in send order.
        var last: [Int32: Int64] = [:]
        for report in reports {
            #expect(report.offset > last[report.partition, default: -1])
            last[report.partition] = report.offset
        }
        // Concurrent single sends from many tasks.
        try await withThrowingTaskGroup(of: KafkaDeliveryReport.self) { group in
            for index in 0..<200 {
                group.addTask { try await producer.send(KafkaRecord(topic: topic, key: "c\(index)", value: Data())) }
            }
            var count = 0
            for try await _ in group { count += 1 }
            #expect(count == 200)
        }
        await producer.shutdown()
    }

    @Test("prepare reads the metadata of existing topics only, and creates none")
    func prepare() async throws {
        let test = try TestCluster()
        defer { test.cluster.stop() }
        let topic = try test.topic("prepared", partitions: 3)
        let unknown = "never-created-\(topic)"
        let producer = try KafkaProducer(configuration: test.producerConfiguration, logger: test.logger)
        let prepared = await producer.prepare(topics: [topic, unknown])
        #expect(prepared == [topic])
        // The embedded broker creates a topic asked for by name: prepare must not have asked.
        let probe = try KafkaProducer(configuration: test.producerConfiguration, logger: test.logger)
        #expect(await probe.prepare(topics: [unknown]).isEmpty)
        await probe.shutdown()
        let report = try await producer.send(KafkaRecord(topic: topic, key: "k", value: Data("v".utf8)))
        #expect(report.offset == 0)
        await producer.shutdown()
    }

    @Test("a rejected configuration property is named with librdkafka's reason")
    func configurationError() throws {
        var client = KafkaClientConfiguration(bootstrapServers: ["127.0.0.1:1"])
        client.additionalProperties["no.such.property"] = "1"
        let error = #expect(throws: KafkaError.self) {
            try KafkaProducer(configuration: KafkaProducerConfiguration(client: client), logger: .init(label: "t"))
        }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains("no.such.property") == true)
        #expect(error?.message.contains("No such configuration property") == true)
    }

    @Test("INLET_KAFKA_* environment variables become librdkafka properties")
    func environment() {
        var client = KafkaClientConfiguration(bootstrapServers: ["a:1"])
        client.apply(environment: [
            "INLET_KAFKA_SECURITY_PROTOCOL": "ssl", "INLET_KAFKA_BOOTSTRAP_SERVERS": "b:2,c:3", "OTHER": "x",
            "INLET_KAFKA_FETCH_WAIT_MAX_MS": "5", "INLET_KAFKA_TABLE_FETCH_WAIT_MAX_MS": "50",
        ])
        #expect(client.bootstrapServers == ["b:2", "c:3"])
        #expect(client.additionalProperties == ["security.protocol": "ssl"])
        #expect(client.consumerFetchWaitMilliseconds == 5 && client.tableFetchWaitMilliseconds == 50)
        // A consumer's own wait (the tables') wins over the client's.
        var consumer = KafkaConsumerConfiguration(client: client, groupId: "g")
        #expect(consumer.librdkafkaProperties.filter { $0.0 == "fetch.wait.max.ms" }.map(\.1) == ["5"])
        consumer.fetchWaitMilliseconds = client.tableFetchWaitMilliseconds
        #expect(consumer.librdkafkaProperties.filter { $0.0 == "fetch.wait.max.ms" }.map(\.1) == ["50"])
    }

    @Test("A producer's linger reaches librdkafka in milliseconds, fractions included, and a real producer accepts it")
    func lingerFractions() async throws {
        let client = KafkaClientConfiguration(bootstrapServers: ["127.0.0.1:9"])
        let linger = { (duration: Duration) in
            KafkaProducerConfiguration(client: client, linger: duration).librdkafkaProperties.filter { $0.0 == "linger.ms" }.map(\.1)
        }
        #expect(linger(.milliseconds(5)) == ["5"])
        #expect(linger(.microseconds(500)) == ["0.5"])
        #expect(linger(.microseconds(1250)) == ["1.25"])
        #expect(linger(.microseconds(7)) == ["0.007"])
        #expect(linger(.zero) == ["0"])
        #expect(linger(.nanoseconds(999)) == ["0.001"], "rounded to the microsecond, not cut to no wait")
        #expect(linger(.nanoseconds(400)) == ["0"])
        #expect(linger(.microseconds(-500)) == ["0"], "a negative linger is no wait")
        // librdkafka refuses a property it cannot read: a producer made with a fraction works.
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client, linger: .microseconds(500)), logger: Logger(label: "test"))
        await producer.shutdown()
    }
}

@Suite("Partitioner")
struct PartitionerTests {
    @Test("KafkaPartitioner predicts the partition the producer picks for a key")
    func matchesProducer() async throws {
        let test = try TestCluster()
        defer { test.cluster.stop() }
        let topic = try test.topic("partitioner", partitions: 6)
        let producer = try KafkaProducer(configuration: test.producerConfiguration, logger: test.logger)
        let keys = (0..<50).map { "sub_\($0)" }
        let reports = try await producer.sendAll(keys.map { KafkaRecord(topic: topic, key: $0, value: Data()) })
        await producer.shutdown()
        #expect(reports.map(\.partition) == keys.map { KafkaPartitioner.partition(forKey: $0, partitions: 6) })
    }
}
