// Throughput of Inlet's Kafka layer on the embedded broker, against a baseline measured in
// the same run on the same broker with the same settings: librdkafka's C API driven
// directly (no Swift concurrency, no per-message continuation), i.e. what the wrapper costs.
//
//   swift run -c release InletBenchmarks kafka [messages] [value-bytes]
//
// Prints messages/s for each and the ratio Inlet / raw. Connection set-up is excluded (each
// client sends or reads one message before the clock starts). Loopback only; every wait has
// a deadline, so it stops by itself.
import CRdKafka
import Foundation
import InletKafka
import Logging

/// Runs the Kafka produce/consume comparison; `count` messages of `valueBytes` bytes each.
/// The embedded broker keeps about 5 MB per partition: stay well below (4 partitions).
func runKafkaThroughput(count: Int = 50_000, valueBytes: Int = 200) async throws {
    var logger = Logger(label: "inlet.bench")
    logger.logLevel = .warning
    let value = Data(repeating: UInt8(ascii: "x"), count: valueBytes)
    let deadline = ContinuousClock.now + .seconds(300)

    let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
    let client = KafkaClientConfiguration(bootstrapServers: [cluster.bootstrapServers], clientId: "bench")
    try cluster.createTopics([KafkaTopicSpec(name: "bench-inlet", partitions: 4), KafkaTopicSpec(name: "bench-raw", partitions: 4)])
    let producerSettings: [(String, String)] = [
        ("bootstrap.servers", cluster.bootstrapServers), ("acks", "all"), ("enable.idempotence", "true"), ("linger.ms", "5"),
    ]

    // MARK: - Inlet

    let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(5)), logger: logger)
    try await producer.send(KafkaRecord(topic: "bench-inlet", key: "warm-up", value: value))
    // Like a busy ingress: several batches in flight at once (the raw loop keeps everything
    // in flight until its final flush).
    let batch = 10_000
    let inletProduce = try await measureSeconds {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for start in stride(from: 0, to: count, by: batch) {
                let end = min(start + batch, count)
                group.addTask {
                    try await producer.sendAll((start..<end).map { KafkaRecord(topic: "bench-inlet", key: "k\($0 % 1000)", value: value) })
                }
            }
            try await group.waitForAll()
        }
    }
    await producer.shutdown()

    let consumer = try KafkaConsumer(
        configuration: KafkaConsumerConfiguration(client: client, groupId: "bench-\(UUID())"), topics: ["bench-inlet"], logger: logger
    )
    var received = 0
    while received == 0 && ContinuousClock.now < deadline {
        for case .message(_) in try await consumer.poll(maxMessages: 1) { received += 1 }
    }
    let inletConsume = try await measureSeconds {
        while received < count + 1 && ContinuousClock.now < deadline {
            for case .message(_) in try await consumer.poll(maxMessages: 5000, timeout: .seconds(5)) { received += 1 }
        }
    }
    await consumer.close()
    guard received == count + 1 else { fatalError("Inlet consumed \(received) of \(count + 1) messages before the deadline") }

    // MARK: - Raw librdkafka

    func rawHandle(_ type: rd_kafka_type_t, _ settings: [(String, String)]) -> OpaquePointer {
        let conf = rd_kafka_conf_new()
        var error = [CChar](repeating: 0, count: 256)
        for (name, setting) in settings { precondition(rd_kafka_conf_set(conf, name, setting, &error, 256) == RD_KAFKA_CONF_OK, name) }
        return rd_kafka_new(type, conf, &error, 256)!
    }

    func rawProduce(_ handle: OpaquePointer, key: String) {
        value.withUnsafeBytes { bytes in
            key.withCString { keyPointer in
                while rd_kafka_producev_shim(handle, "bench-raw", keyPointer, strlen(keyPointer), bytes.baseAddress!, bytes.count) == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                    rd_kafka_poll(handle, 1)
                }
            }
        }
    }

    /// rd_kafka_produceva for one message with key and value, copied.
    func rd_kafka_producev_shim(_ handle: OpaquePointer, _ topic: String, _ key: UnsafePointer<CChar>, _ keyLength: Int, _ payload: UnsafeRawPointer, _ length: Int) -> rd_kafka_resp_err_t {
        topic.withCString { topicPointer in
            var values = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 4)
            values[0].vtype = RD_KAFKA_VTYPE_TOPIC
            values[0].u.cstr = topicPointer
            values[1].vtype = RD_KAFKA_VTYPE_KEY
            values[1].u.mem.ptr = UnsafeMutableRawPointer(mutating: key)
            values[1].u.mem.size = keyLength
            values[2].vtype = RD_KAFKA_VTYPE_VALUE
            values[2].u.mem.ptr = UnsafeMutableRawPointer(mutating: payload)
            values[2].u.mem.size = length
            values[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS
            values[3].u.i = RD_KAFKA_MSG_F_COPY
            guard let error = rd_kafka_produceva(handle, values, 4) else { return RD_KAFKA_RESP_ERR_NO_ERROR }
            defer { rd_kafka_error_destroy(error) }
            return rd_kafka_error_code(error)
        }
    }

    let rawProducer = rawHandle(RD_KAFKA_PRODUCER, producerSettings)
    rawProduce(rawProducer, key: "warm-up")
    rd_kafka_flush(rawProducer, 30_000)
    let rawProduceTime = await measureSeconds {
        for index in 0..<count { rawProduce(rawProducer, key: "k\(index % 1000)") }
        rd_kafka_flush(rawProducer, 60_000)
    }
    rd_kafka_destroy(rawProducer)

    let rawConsumer = rawHandle(RD_KAFKA_CONSUMER, [
        ("bootstrap.servers", cluster.bootstrapServers), ("group.id", "bench-raw-\(UUID())"), ("auto.offset.reset", "earliest"),
        ("enable.auto.commit", "false"),
    ])
    rd_kafka_poll_set_consumer(rawConsumer)
    let subscription = rd_kafka_topic_partition_list_new(1)
    rd_kafka_topic_partition_list_add(subscription, "bench-raw", -1)
    rd_kafka_subscribe(rawConsumer, subscription)
    rd_kafka_topic_partition_list_destroy(subscription)
    var rawReceived = 0
    func rawPoll(_ timeout: Int32) {
        if let message = rd_kafka_consumer_poll(rawConsumer, timeout) {
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR { rawReceived += 1 }
            rd_kafka_message_destroy(message)
        }
    }
    while rawReceived == 0 && ContinuousClock.now < deadline { rawPoll(100) }
    let rawConsumeTime = await measureSeconds {
        while rawReceived < count + 1 && ContinuousClock.now < deadline { rawPoll(100) }
    }
    rd_kafka_consumer_close(rawConsumer)
    rd_kafka_destroy(rawConsumer)
    cluster.stop()
    guard rawReceived == count + 1 else { fatalError("raw consumer read \(rawReceived) of \(count + 1) messages before the deadline") }

    func report(_ name: String, inlet: Double, raw: Double) {
        let inletRate = Double(count) / inlet
        let rawRate = Double(count) / raw
        print(String(format: "%@: Inlet %.0f msg/s, raw librdkafka %.0f msg/s, ratio %.2f", name, inletRate, rawRate, inletRate / rawRate))
    }
    print("\(count) messages of \(valueBytes) bytes, embedded broker (1 broker, 4 partitions), release build")
    report("produce (acks=all, idempotent, linger 5 ms)", inlet: inletProduce, raw: rawProduceTime)
    report("consume (consumer group, read_committed)", inlet: inletConsume, raw: rawConsumeTime)
}
