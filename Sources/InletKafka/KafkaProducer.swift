import CRdKafka
import Foundation
import Logging
import ServiceLifecycle

/// Produces messages and reports, for each, where the broker stored it.
///
/// `send` suspends until the delivery report arrives, so "returned" means "acknowledged by
/// the broker (per `acks`)". Many sends may be in flight at once, from many tasks; `sendAll`
/// enqueues a whole batch and waits once. Messages to one partition keep their order
/// (the producer is idempotent by default).
///
/// Cost: one dedicated poll thread per producer.
public final class KafkaProducer: Sendable {
    let client: RDKafkaClient
    private let pollThread: PollThread
    private let logger: Logger

    /// Creates a producer and starts its poll thread. Call `shutdown()` when done.
    public convenience init(configuration: KafkaProducerConfiguration, logger: Logger) throws {
        try self.init(properties: configuration.librdkafkaProperties, logger: logger)
    }

    init(properties: [(String, String)], logger: Logger) throws {
        self.client = try RDKafkaClient(role: .producer, properties: properties, logger: logger, deliveryReports: true)
        self.pollThread = PollThread(client: client, name: "inlet.kafka.producer-poll")
        self.logger = logger
    }

    /// Produces one message and waits for its delivery report.
    @discardableResult
    public func send(_ record: KafkaRecord, whenQueueFull policy: QueueFullPolicy = .wait) async throws -> KafkaDeliveryReport {
        try await sendAll([record], whenQueueFull: policy)[0]
    }

    /// Produces all records (in order) and waits until every one is acknowledged.
    /// Throws the first delivery error after all reports are in.
    @discardableResult
    public func sendAll(_ records: [KafkaRecord], whenQueueFull policy: QueueFullPolicy = .wait) async throws -> [KafkaDeliveryReport] {
        let results = try await deliver(records, whenQueueFull: policy)
        return try results.map { try $0.get() }
    }

    /// What to do when librdkafka's local queue is full (`queue.buffering.max.messages` or
    /// `.kbytes` reached: the broker takes less than is produced).
    public enum QueueFullPolicy: Sendable {
        /// Wait, without blocking a thread, until there is room (at most `queueFullWait`), then
        /// fail the rest.
        case wait
        /// Fail at once (an HTTP server answers 503 instead of holding the request).
        case fail
    }

    /// How long `.wait` waits for room in a full queue before it gives up.
    static let queueFullWait = Duration.seconds(10)

    /// Produces all records and returns each one's outcome, without throwing for failed
    /// deliveries: a record refused when enqueued (the queue stayed full, an unknown topic)
    /// gets that error as its outcome.
    public func deliver(_ records: [KafkaRecord], whenQueueFull policy: QueueFullPolicy = .wait) async throws -> [Result<KafkaDeliveryReport, KafkaError>] {
        if records.isEmpty { return [] }
        let batch = DeliveryBatch(count: records.count)
        var index = 0
        var waitedSince: ContinuousClock.Instant?
        while index < records.count {
            let ticket = DeliveryTicket(batch: batch, index: index)
            let opaque = Unmanaged.passRetained(ticket).toOpaque()
            let error = produce(records[index], opaque: opaque)
            if error == RD_KAFKA_RESP_ERR_NO_ERROR {
                index += 1
                waitedSince = nil
                continue
            }
            Unmanaged<DeliveryTicket>.fromOpaque(opaque).release()
            let since = waitedSince ?? .now
            if error == RD_KAFKA_RESP_ERR__QUEUE_FULL, policy == .wait, ContinuousClock.now - since < Self.queueFullWait {
                // The poll thread drains delivery reports meanwhile; this task only sleeps.
                waitedSince = since
                try? await Task.sleep(for: .milliseconds(2))
                continue
            }
            let failure = KafkaError(kind: .delivery, error: error, context: "could not enqueue a message for topic '\(records[index].topic)'")
            ticket.complete(.failure(failure))
            index += 1
            // A full queue stays full for the rest of this batch: fail it without retrying each.
            if error == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                while index < records.count {
                    DeliveryTicket(batch: batch, index: index).complete(.failure(failure))
                    index += 1
                }
            }
        }
        return await batch.outcomes()
    }

    /// Learns the partitions and leaders of `topics` before the first message to them, so
    /// that message does not wait for a metadata request (the first appends after a start
    /// otherwise took 250–600 ms). Only topics the cluster already has are prepared: asking
    /// for an unknown topic by name would make brokers that auto-create topics create it.
    /// Returns the topics that were prepared; a broker that does not answer within `timeout`
    /// (for all of them) is not an error (the first message then asks, as it would have).
    @discardableResult
    public func prepare(topics: [String], timeout: Duration = .seconds(5)) async -> [String] {
        guard !topics.isEmpty else { return [] }
        let deadline = ContinuousClock.now + timeout
        func remaining() -> Int32 { Int32(clamping: max(0, (deadline - ContinuousClock.now).wholeMilliseconds)) }
        let existing: [String: Int]
        do {
            existing = try await client.partitionCounts(timeoutMilliseconds: remaining())
        } catch {
            logger.warning("producer: could not read the cluster's topics before the first message (\(error)); the first messages may wait for it")
            return []
        }
        let wanted = topics.filter { existing[$0] != nil }
        for topic in wanted {
            let milliseconds = remaining()
            guard milliseconds > 0 else {
                logger.warning("producer: no time left to read the metadata of '\(topic)' before the first message")
                continue
            }
            let error = await client.blocking { [client] () -> rd_kafka_resp_err_t in
                // The local topic outlives this handle: librdkafka keeps it for later messages.
                guard let handle = rd_kafka_topic_new(client.handle, topic, nil) else { return RD_KAFKA_RESP_ERR__INVALID_ARG }
                defer { rd_kafka_topic_destroy(handle) }
                var metadata: UnsafePointer<rd_kafka_metadata>?
                let error = rd_kafka_metadata(client.handle, 0, handle, &metadata, milliseconds)
                if let metadata { rd_kafka_metadata_destroy(metadata) }
                return error
            }
            if error != RD_KAFKA_RESP_ERR_NO_ERROR {
                logger.warning("producer: no metadata for topic '\(topic)' before the first message (\(String(cString: rd_kafka_err2str(error))))")
            }
        }
        return wanted
    }

    /// Whether the cluster has `topic` (one metadata request for all topics; asking for the
    /// topic by name would make brokers that auto-create topics create it).
    public func topicExists(_ topic: String, timeout: Duration = .seconds(5)) async throws -> Bool {
        try await client.partitionCounts(timeoutMilliseconds: Int32(clamping: timeout.wholeMilliseconds))[topic] != nil
    }

    /// Waits until every message produced so far is delivered (or the timeout passes).
    public func flush(timeout: Duration = .seconds(30)) async throws {
        let milliseconds = Int32(timeout.components.seconds * 1000)
        let error = await client.blocking { [client] in rd_kafka_flush(client.handle, milliseconds) }
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(kind: .timeout, error: error, context: "flush: \(rd_kafka_outq_len(client.handle)) messages not delivered in \(timeout)")
        }
    }

    /// Flushes, stops the poll thread and destroys the client.
    public func shutdown() async {
        do {
            try await flush()
        } catch {
            logger.warning("producer shut down with undelivered messages: \(error)")
        }
        // Joining the poll thread and destroying the handle block: keep them off the
        // cooperative pool.
        await client.blocking { [pollThread, client] in
            pollThread.stop()
            client.destroy()
        }
    }

    // MARK: - Enqueueing

    private func produce(_ record: KafkaRecord, opaque: UnsafeMutableRawPointer) -> rd_kafka_resp_err_t {
        let headers: OpaquePointer? = record.headers.isEmpty ? nil : Self.makeHeaders(record.headers)
        let error = record.topic.withCString { topic in
            withOptionalBytes(record.key) { keyPointer, keyCount in
                withOptionalBytes(record.value) { valuePointer, valueCount in
                    // At most 7 entries; on the stack, since this runs once per message.
                    withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 7) { values -> rd_kafka_resp_err_t in
                        var count = 0
                        func add(_ type: rd_kafka_vtype_t, _ fill: (inout rd_kafka_vu_t) -> Void) {
                            var value = rd_kafka_vu_t()
                            value.vtype = type
                            fill(&value)
                            (values.baseAddress! + count).initialize(to: value)
                            count += 1
                        }
                        add(RD_KAFKA_VTYPE_TOPIC) { $0.u.cstr = topic }
                        add(RD_KAFKA_VTYPE_VALUE) {
                            $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: valuePointer)
                            $0.u.mem.size = valueCount
                        }
                        add(RD_KAFKA_VTYPE_KEY) {
                            $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: keyPointer)
                            $0.u.mem.size = keyCount
                        }
                        add(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = RD_KAFKA_MSG_F_COPY }
                        add(RD_KAFKA_VTYPE_OPAQUE) { $0.u.ptr = opaque }
                        if let partition = record.partition { add(RD_KAFKA_VTYPE_PARTITION) { $0.u.i32 = partition } }
                        if let headers { add(RD_KAFKA_VTYPE_HEADERS) { $0.u.headers = headers } }
                        guard let error = rd_kafka_produceva(client.handle, values.baseAddress, count) else {
                            return RD_KAFKA_RESP_ERR_NO_ERROR
                        }
                        let code = rd_kafka_error_code(error)
                        rd_kafka_error_destroy(error)
                        return code
                    }
                }
            }
        }
        // On success librdkafka owns the headers; on failure they are still ours.
        if error != RD_KAFKA_RESP_ERR_NO_ERROR, let headers { rd_kafka_headers_destroy(headers) }
        return error
    }

    static func makeHeaders(_ headers: [KafkaHeader]) -> OpaquePointer {
        let list = rd_kafka_headers_new(headers.count)!
        for header in headers {
            if let value = header.value {
                value.withUnsafeBytes { bytes in
                    _ = rd_kafka_header_add(list, header.name, -1, bytes.baseAddress, bytes.count)
                }
            } else {
                _ = rd_kafka_header_add(list, header.name, -1, nil, 0)
            }
        }
        return list
    }
}

/// Calls `body` with a pointer and length for optional bytes (`nil`, 0 for `nil`).
func withOptionalBytes<T>(_ data: Data?, _ body: (UnsafeRawPointer?, Int) -> T) -> T {
    guard let data else { return body(nil, 0) }
    if data.isEmpty {
        // A zero-length non-null value: point at a valid byte so it is not a tombstone.
        var zero: UInt8 = 0
        return withUnsafePointer(to: &zero) { body(UnsafeRawPointer($0), 0) }
    }
    return data.withUnsafeBytes { body($0.baseAddress, $0.count) }
}
