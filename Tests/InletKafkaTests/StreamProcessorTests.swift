import Foundation
@testable import InletKafka
import ServiceLifecycle
import Synchronization
import Testing

/// Upper-cases each input into the output topic, keeping the key; counts calls.
final class UppercaseTransform: StreamTransform {
    let output: String
    let calls = Mutex(0)

    init(output: String) { self.output = output }

    func process(_ message: KafkaMessage) async throws -> [KafkaRecord] {
        calls.withLock { $0 += 1 }
        let text = String(decoding: message.value ?? Data(), as: UTF8.self).uppercased()
        return [KafkaRecord(topic: output, key: message.key, value: Data(text.utf8))]
    }
}

struct SimulatedCrash: Error {}

@Suite("Consume-transform-produce loop")
struct StreamProcessorTests {
    func inputs(_ test: TestCluster, topic: String, count: Int) async throws {
        let producer = try KafkaProducer(configuration: test.producerConfiguration, logger: test.logger)
        try await producer.sendAll((0..<count).map { KafkaRecord(topic: topic, key: "k\($0 % 5)", value: Data("m\($0)".utf8)) })
        await producer.shutdown()
    }

    func outputs(_ test: TestCluster, topic: String, atLeast count: Int) async throws -> [KafkaMessage] {
        let consumer = try KafkaConsumer(configuration: test.consumerConfiguration(group: "reader-\(UUID())"), topics: [topic], logger: test.logger)
        let messages = try await collect(consumer, count: count)
        // Drain briefly for anything beyond `count`.
        let extra = try await consumer.poll(maxMessages: 1000, timeout: .milliseconds(500))
        await consumer.close()
        return messages + extra.compactMap { if case .message(let m) = $0 { m } else { nil } }
    }

    @Test("at-least-once: a worker killed between produce and commit re-delivers its input and nothing is lost")
    func crashBetweenProduceAndCommit() async throws {
        let test = try TestCluster()
        defer { test.cluster.stop() }
        let input = try test.topic("in", partitions: 2)
        let output = try test.topic("out", partitions: 2)
        try await inputs(test, topic: input, count: 100)
        let group = "upper-\(input)"

        // First worker: outputs are acknowledged, then it "dies" before committing.
        let crashing = StreamProcessor(
            configuration: StreamProcessorConfiguration(
                consumer: test.consumerConfiguration(group: group), producer: test.producerConfiguration, topics: [input],
                maxBatchAttempts: 1, beforeCommit: { _ in throw SimulatedCrash() }
            ),
            transform: UppercaseTransform(output: output), logger: test.logger
        )
        await #expect(throws: SimulatedCrash.self) { try await crashing.run() }
        let firstRun = crashing.currentStatistics
        #expect(firstRun.messagesIn > 0)
        #expect(firstRun.batchesCommitted == 0)

        // Second worker in the same group: starts from the last committed offset (none).
        let transform = UppercaseTransform(output: output)
        let survivor = StreamProcessor(
            configuration: StreamProcessorConfiguration(
                consumer: test.consumerConfiguration(group: group), producer: test.producerConfiguration, topics: [input]
            ),
            transform: transform, logger: test.logger
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await survivor.run() }
            try await eventually("the survivor processed all 100 inputs") { transform.calls.withLock { $0 } >= 100 }
            tasks.cancelAll()
        }
        #expect(transform.calls.withLock { $0 } == 100, "the crashed batch was re-delivered in full")

        let produced = try await outputs(test, topic: output, atLeast: 100 + firstRun.recordsOut)
        let values = produced.compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        #expect(Set(values) == Set((0..<100).map { "M\($0)" }), "every input has its output")
        #expect(values.count == 100 + firstRun.recordsOut, "repeats are exactly the crashed batch")
    }

    /// Runs an exactly-once processor over `input` until `condition` holds for it.
    func runTransactional(
        _ test: TestCluster, input: String, transform: UppercaseTransform, _ what: String,
        beforeCommit: (@Sendable ([TopicPartition]) async throws -> Void)? = nil,
        until condition: @escaping @Sendable (StreamProcessor) -> Bool
    ) async throws -> StreamProcessor {
        let processor = StreamProcessor(
            configuration: StreamProcessorConfiguration(
                consumer: test.consumerConfiguration(group: "tx-\(input)"), producer: test.producerConfiguration,
                topics: [input], guarantee: .exactlyOnce, beforeCommit: beforeCommit
            ),
            transform: transform, logger: test.logger
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await processor.run() }
            try await eventually(what) { condition(processor) }
            tasks.cancelAll()
        }
        return processor
    }

    @Test("exactly-once: each batch runs begin, send, send offsets, commit")
    func transactionalSequence() async throws {
        let test = try TestCluster(brokers: 3)
        defer { test.cluster.stop() }
        let input = try test.topic("txin", partitions: 2)
        let output = try test.topic("txout", partitions: 2)
        try await inputs(test, topic: input, count: 50)
        let processor = try await runTransactional(test, input: input, transform: UppercaseTransform(output: output), "all inputs processed in committed transactions") {
            $0.currentStatistics.messagesIn >= 50 && $0.currentStatistics.transactionsCommitted >= 1
        }
        let statistics = processor.currentStatistics
        #expect(statistics.transactionsBegun == statistics.transactionsCommitted)
        #expect(statistics.transactionOffsetsSent == statistics.transactionsCommitted)
        #expect(statistics.transactionsAborted == 0)
        let produced = try await outputs(test, topic: output, atLeast: 50)
        #expect(Set(produced.compactMap(\.value)).count == 50)
    }

    @Test("exactly-once: a coordinator error on commit is retried and the batch still lands once")
    func transactionalRetriableError() async throws {
        let test = try TestCluster(brokers: 3)
        defer { test.cluster.stop() }
        let input = try test.topic("txin", partitions: 1)
        let output = try test.topic("txout", partitions: 1)
        try await inputs(test, topic: input, count: 10)
        test.cluster.failNextRequests(.endTxn, with: [.coordinatorNotAvailable, .notCoordinator])
        let processor = try await runTransactional(test, input: input, transform: UppercaseTransform(output: output), "the batch committed despite the injected errors") {
            $0.currentStatistics.transactionsCommitted >= 1 && $0.currentStatistics.messagesIn >= 10
        }
        #expect(processor.currentStatistics.transactionsAborted == 0)
        let produced = try await outputs(test, topic: output, atLeast: 10)
        #expect(produced.count == 10)
    }

    @Test("exactly-once: an abortable error aborts the transaction, rewinds and reprocesses the batch")
    func transactionalAbortableError() async throws {
        let test = try TestCluster(brokers: 3)
        defer { test.cluster.stop() }
        let input = try test.topic("txin", partitions: 1)
        let output = try test.topic("txout", partitions: 1)
        try await inputs(test, topic: input, count: 10)
        let transform = UppercaseTransform(output: output)
        let failures = Counter(1)
        let processor = try await runTransactional(
            test, input: input, transform: transform, "the batch was aborted once, then committed",
            beforeCommit: { _ in
                if failures.takeOne() { throw KafkaError(kind: .transactionAbortable, message: "injected abortable error") }
            }
        ) {
            $0.currentStatistics.transactionsAborted == 1 && $0.currentStatistics.transactionsCommitted >= 1 && transform.calls.withLock { $0 } >= 20
        }
        let statistics = processor.currentStatistics
        #expect(statistics.batchesRolledBack == 1)
        #expect(transform.calls.withLock { $0 } == 20, "all ten inputs were processed again after the rewind")
    }
}

final class Counter: Sendable {
    private let remaining: Mutex<Int>
    init(_ count: Int) { remaining = Mutex(count) }

    /// True (and one fewer left) while any are left.
    func takeOne() -> Bool {
        remaining.withLock { remaining in
            defer { remaining -= 1 }
            return remaining > 0
        }
    }
}

/// Records the batches it sees; isolates inputs whose value starts with `cmd`, and defers the
/// input `m3` twice before it goes through.
final class BatchRecordingTransform: StreamTransform {
    let output: String
    let batches = Mutex<[[String]]>([])
    let current = Mutex<[String]>([])
    let deferrals = Mutex(0)

    init(output: String) { self.output = output }

    func isolates(_ message: KafkaMessage) -> Bool {
        String(decoding: message.value ?? Data(), as: UTF8.self).hasPrefix("cmd")
    }

    func process(_ message: KafkaMessage) async throws -> [KafkaRecord] {
        let text = String(decoding: message.value ?? Data(), as: UTF8.self)
        if text == "m3" {
            let deferred = deferrals.withLock { count -> Bool in
                guard count < 2 else { return false }
                count += 1
                return true
            }
            if deferred { throw RetryLater(after: .milliseconds(100), reason: "the API is down") }
        }
        current.withLock { $0.append(text) }
        return [KafkaRecord(topic: output, key: message.key, value: message.value)]
    }

    func batchCommitted() async {
        let batch = current.withLock { batch in
            defer { batch.removeAll() }
            return batch
        }
        if !batch.isEmpty { batches.withLock { $0.append(batch) } }
    }

    func batchAborted() async { current.withLock { $0.removeAll() } }
}

@Suite("Consume-transform-produce loop: isolation, deferral, shutdown")
struct StreamProcessorBatchingTests {
    @Test("an isolated input is committed in a batch of its own; a deferred input is retried after the inputs before it were committed; order holds")
    func isolationAndDeferral() async throws {
        let test = try TestCluster()
        defer { test.cluster.stop() }
        let input = try test.topic("in", partitions: 1)
        let output = try test.topic("out", partitions: 1)
        let values = ["m0", "m1", "cmd-a", "m2", "m3", "m4", "cmd-b", "cmd-c", "m5"]
        let producer = try KafkaProducer(configuration: test.producerConfiguration, logger: test.logger)
        try await producer.sendAll(values.map { KafkaRecord(topic: input, key: "k", value: Data($0.utf8)) })
        await producer.shutdown()

        let transform = BatchRecordingTransform(output: output)
        let processor = StreamProcessor(
            configuration: StreamProcessorConfiguration(
                consumer: test.consumerConfiguration(group: "batches-\(input)"), producer: test.producerConfiguration, topics: [input]
            ),
            transform: transform, logger: test.logger
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await processor.run() }
            try await eventually("every input processed") { transform.batches.withLock { $0.joined().count } >= values.count }
            tasks.cancelAll()
        }
        let batches = transform.batches.withLock { $0 }
        #expect(Array(batches.joined()) == values, "each input once, in order")
        for command in ["cmd-a", "cmd-b", "cmd-c"] {
            #expect(batches.contains([command]), "\(command) alone in its batch: \(batches)")
        }
        #expect(batches.contains { $0.last == "m2" }, "the inputs before the deferred m3 were committed first: \(batches)")
        #expect(processor.currentStatistics.retriesLater == 2)
    }
}

@Suite("Consume-transform-produce loop: downstream backlog")
struct StreamProcessorDownstreamTests {
    @Test("the loop waits while its output is as far ahead of its reader group as the limits allow, and goes on once the reader commits")
    func waitsForDownstream() async throws {
        let test = try TestCluster()
        defer { test.cluster.stop() }
        let input = try test.topic("in", partitions: 1)
        let output = try test.topic("out", partitions: 1)
        let producer = try KafkaProducer(configuration: test.producerConfiguration, logger: test.logger)
        try await producer.sendAll((0..<50).map { _ in KafkaRecord(topic: input, key: "k", value: Data(repeating: 65, count: 1000)) })
        await producer.shutdown()

        let reader = "reader-\(output)"
        // About ten 1 KB outputs fit before the reader must catch up.
        let backlog = BacklogGuard(
            client: test.client, watches: [.init(topic: output, partitions: 1, groups: [reader])],
            limits: BacklogLimits(maxBytes: 11_000, maxMessages: 1000), refreshInterval: .milliseconds(50), logger: test.logger
        )
        let transform = UppercaseTransform(output: output)
        var configuration = StreamProcessorConfiguration(
            consumer: test.consumerConfiguration(group: "waits-\(input)"), producer: test.producerConfiguration, topics: [input], maxBatchSize: 5
        )
        configuration.outputBacklog = backlog
        let processor = StreamProcessor(configuration: configuration, transform: transform, logger: test.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await backlog.run() }
            tasks.addTask { try await processor.run() }
            try await eventually("the loop waits for its reader") { processor.currentStatistics.downstreamWaits > 0 }
            let stalled = transform.calls.withLock { $0 }
            #expect(stalled < 50, "it stopped before processing everything")
            try await Task.sleep(for: .milliseconds(500))
            #expect(transform.calls.withLock { $0 } == stalled, "and stays stopped while nobody reads its output")

            // The reader consumes and commits: the loop goes on to the end.
            let consumer = try KafkaConsumer(configuration: test.consumerConfiguration(group: reader), topics: [output], logger: test.logger)
            var read = 0
            try await eventually("every input processed while the reader keeps up", timeout: .seconds(60)) {
                var last: KafkaMessage?
                for case .message(let message) in try await consumer.poll(timeout: .milliseconds(100)) {
                    read += 1
                    last = message
                }
                if let last { try await consumer.commit([TopicPartition(topic: output, partition: last.partition, offset: last.offset + 1)]) }
                return read >= 50
            }
            await consumer.close()
            #expect(transform.calls.withLock { $0 } == 50)
            tasks.cancelAll()
        }
    }
}

/// Takes 100 ms per input.
final class SlowTransform: StreamTransform {
    let output: String
    let processed = Mutex<[Int64]>([])

    init(output: String) { self.output = output }

    func process(_ message: KafkaMessage) async throws -> [KafkaRecord] {
        try await Task.sleep(for: .milliseconds(100))
        processed.withLock { $0.append(message.offset) }
        return [KafkaRecord(topic: output, key: message.key, value: message.value)]
    }
}

@Suite("Consume-transform-produce loop: graceful shutdown")
struct StreamProcessorShutdownTests {
    @Test("on graceful shutdown the batch in progress stops taking inputs and is committed, and the loop ends")
    func finishesTheBatch() async throws {
        let test = try TestCluster()
        defer { test.cluster.stop() }
        let input = try test.topic("in", partitions: 1)
        let output = try test.topic("out", partitions: 1)
        let producer = try KafkaProducer(configuration: test.producerConfiguration, logger: test.logger)
        try await producer.sendAll((0..<100).map { KafkaRecord(topic: input, key: "k", value: Data("m\($0)".utf8)) })
        await producer.shutdown()

        let group = "shutdown-\(input)"
        let transform = SlowTransform(output: output)
        let processor = StreamProcessor(
            configuration: StreamProcessorConfiguration(consumer: test.consumerConfiguration(group: group), producer: test.producerConfiguration, topics: [input]),
            transform: transform, logger: test.logger
        )
        let services = ServiceGroup(configuration: .init(services: [.init(service: processor)], logger: test.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await services.run() }
            try await eventually("the batch is under way") { transform.processed.withLock { $0.count } >= 3 }
            await services.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let processed = transform.processed.withLock { $0 }
        #expect(processed.count < 100, "it stopped taking inputs")
        #expect(processed == Array(0..<Int64(processed.count)), "each once, in order")

        let probe = try KafkaConsumer(configuration: test.consumerConfiguration(group: group), topics: [], logger: test.logger)
        let committed = try await probe.committed([TopicPartition(topic: input, partition: 0)])
        await probe.close()
        #expect(committed.first?.offset == Int64(processed.count), "what it processed is committed: the next owner starts right after it")
    }
}

/// Records, per partition, the order inputs were processed in, and how many ran at once; the
/// first input of partition 0 is deferred once.
final class LaneRecordingTransform: StreamTransform {
    let output: String
    let delay: Duration
    let order = Mutex<[Int32: [String]]>([:])
    let running = Mutex((now: 0, most: 0))
    let deferredOnce = Mutex(false)
    let processedWhileDeferred = Mutex(0)

    init(output: String, delay: Duration) {
        self.output = output
        self.delay = delay
    }

    func process(_ message: KafkaMessage) async throws -> [KafkaRecord] {
        let text = String(decoding: message.value ?? Data(), as: UTF8.self)
        if message.partition == 0 {
            let deferNow = deferredOnce.withLock { done -> Bool in
                defer { done = true }
                return !done
            }
            if deferNow { throw RetryLater(after: .seconds(5), reason: "partition 0's API is down") }
        } else if deferredOnce.withLock({ $0 }) && (order.withLock { $0[0] ?? [] }).isEmpty {
            processedWhileDeferred.withLock { $0 += 1 }
        }
        running.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
        try await Task.sleep(for: delay)
        running.withLock { $0.now -= 1 }
        order.withLock { $0[message.partition, default: []].append(text) }
        return [KafkaRecord(topic: output, key: message.key, value: message.value)]
    }
}

@Suite("Consume-transform-produce loop: lanes")
struct StreamProcessorLaneTests {
    func message(_ partition: Int32, _ offset: Int64, topic: String = "t") -> KafkaMessage {
        KafkaMessage(topic: topic, partition: partition, offset: offset, key: nil, value: Data("\(partition)-\(offset)".utf8))
    }

    @Test("a batch is cut into lanes by partition number, before the first isolated message, leaving out deferred lanes")
    func cutsLanes() {
        let pending = [message(0, 0), message(1, 0), message(0, 1), message(2, 0, topic: "commands"), message(1, 1)]
        let isolated: (KafkaMessage) -> Bool = { $0.topic == "commands" }
        let lanes = StreamProcessor.lanes(of: pending, skipping: [], isolates: isolated)
        #expect(lanes.map(\.lane) == [0, 1])
        #expect(lanes.map(\.positions) == [[0, 2], [1]])
        #expect(StreamProcessor.lanes(of: pending, skipping: [0], isolates: isolated).map(\.positions) == [[1]])
        // An isolated message first in line goes alone; one in a deferred lane waits, and
        // holds up nothing of the other lanes.
        let commandFirst = [message(2, 0, topic: "commands"), message(0, 0)]
        #expect(StreamProcessor.lanes(of: commandFirst, skipping: [], isolates: isolated).map(\.positions) == [[0]])
        #expect(StreamProcessor.lanes(of: commandFirst, skipping: [2], isolates: isolated).map(\.positions) == [[1]])
        #expect(StreamProcessor.lanes(of: [message(2, 0, topic: "commands")], skipping: [2], isolates: isolated).isEmpty)
        // The same partition number on two topics is one lane (co-partitioned inputs).
        let twoTopics = [message(3, 0, topic: "a"), message(3, 0, topic: "b")]
        #expect(StreamProcessor.lanes(of: twoTopics, skipping: [], isolates: { _ in false }).map(\.positions) == [[0, 1]])
    }

    @Test("partitions run concurrently, each in order, and a deferred partition does not hold up the others")
    func concurrentLanes() async throws {
        let test = try TestCluster()
        defer { test.cluster.stop() }
        let input = try test.topic("in", partitions: 4)
        let output = try test.topic("out", partitions: 4)
        let producer = try KafkaProducer(configuration: test.producerConfiguration, logger: test.logger)
        var sent: [Int32: [String]] = [:]
        var records: [Int32: [KafkaRecord]] = [:]
        for partition in Int32(0)..<4 {
            for n in 0..<10 {
                let value = "p\(partition)-\(n)"
                sent[partition, default: []].append(value)
                records[partition, default: []].append(KafkaRecord(topic: input, key: "k\(partition)", value: Data(value.utf8), partition: partition))
            }
        }
        // Partition 0 first; the others only once it is deferred, so they can only be done
        // during its 5 s wait if the loop goes on with them (the old loop slept as a whole).
        try await producer.sendAll(records[0] ?? [])

        let transform = LaneRecordingTransform(output: output, delay: .milliseconds(20))
        let processor = StreamProcessor(
            configuration: StreamProcessorConfiguration(
                consumer: test.consumerConfiguration(group: "lanes-\(input)"), producer: test.producerConfiguration, topics: [input]
            ),
            transform: transform, logger: test.logger
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await processor.run() }
            try await eventually("partition 0 deferred", timeout: .seconds(60)) { transform.deferredOnce.withLock { $0 } }
            try await producer.sendAll((1..<4).flatMap { records[$0] ?? [] })
            try await eventually("every input processed", timeout: .seconds(60)) {
                transform.order.withLock { $0.values.map(\.count).reduce(0, +) } >= 40
            }
            tasks.cancelAll()
        }
        await producer.shutdown()
        #expect(transform.order.withLock { $0 } == sent, "each partition's inputs once, in order")
        #expect(transform.running.withLock { $0.most } > 1, "lanes ran at the same time")
        #expect(transform.processedWhileDeferred.withLock { $0 } > 0, "other partitions went on while partition 0 waited")
        #expect(processor.currentStatistics.retriesLater == 1)
    }
}
