import CRdKafka
import Dispatch
import Foundation
import Logging
import Synchronization

/// Owns one `rd_kafka_t` handle and the state its C callbacks reach through the opaque
/// pointer. Nothing outside the Kafka module sees the handle.
///
/// `@unchecked Sendable`: librdkafka documents `rd_kafka_t` as thread-safe for every call we
/// make on it; the Swift state reachable from callbacks (`callbacks`) is itself `Sendable`
/// and guarded by a `Mutex`. The handle is destroyed exactly once, in `destroy()`, after all
/// users stopped (enforced by the owners: producer, consumer, table, cluster).
final class RDKafkaClient: @unchecked Sendable {
    enum Role { case producer, consumer }

    let handle: OpaquePointer
    let callbacks: RDKafkaCallbacks
    let logger: Logger
    /// Where blocking librdkafka calls run, so they never block Swift's cooperative pool.
    private let blockingQueue: DispatchQueue
    private let destroyed = Mutex(false)

    /// - Parameter defersRevocation: with `rebalance`, revoked partitions stay assigned until
    ///   `releaseRevokedPartitions()` is called, so the batch fetched for them can be finished
    ///   and committed first (the group waits for that call before it rebalances).
    init(
        role: Role, properties: [(String, String)], logger: Logger, deliveryReports: Bool = false, rebalance: Bool = false,
        defersRevocation: Bool = false
    ) throws {
        let conf = try RDKafkaConfig.make(properties)
        let callbacks = RDKafkaCallbacks(logger: logger, defersRevocation: defersRevocation)
        let opaque = Unmanaged.passUnretained(callbacks).toOpaque()
        rd_kafka_conf_set_opaque(conf, opaque)
        rd_kafka_conf_set_log_cb(conf, rdKafkaLogCallback)
        rd_kafka_conf_set_error_cb(conf, rdKafkaErrorCallback)
        if deliveryReports { rd_kafka_conf_set_dr_msg_cb(conf, rdKafkaDeliveryCallback) }
        if rebalance { rd_kafka_conf_set_rebalance_cb(conf, rdKafkaRebalanceCallback) }

        var errorText = [CChar](repeating: 0, count: 512)
        let type = role == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        guard let handle = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(kind: .clientCreation, message: "could not create the Kafka client: \(String(errorBuffer: errorText))")
        }
        self.handle = handle
        self.callbacks = callbacks
        self.logger = logger
        self.blockingQueue = DispatchQueue(label: "inlet.kafka.blocking", attributes: .concurrent)
    }

    /// Runs a blocking librdkafka call on a dispatch queue and resumes when it returns.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            blockingQueue.async { continuation.resume(returning: body()) }
        }
    }

    /// The fatal error raised by librdkafka (idempotence or transaction fencing), if any.
    func fatalError() -> KafkaError? {
        var errorText = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(handle, &errorText, errorText.count)
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return KafkaError(kind: .fatal, code: code.rawValue, message: "fatal client error: \(String(errorBuffer: errorText)); the client must be recreated")
    }

    /// Number of partitions of `topic`, from a metadata request for all topics (asking for
    /// one topic by name makes some brokers, the embedded one included, create it);
    /// `nil` when the topic does not exist.
    func partitionCount(topic: String, timeoutMilliseconds: Int32 = 10_000) async throws -> Int? {
        try await partitionCounts(timeoutMilliseconds: timeoutMilliseconds)[topic]
    }

    /// Every topic of the cluster with its number of partitions (one metadata request for all
    /// topics; a topic whose metadata has an error is left out).
    func partitionCounts(timeoutMilliseconds: Int32 = 10_000) async throws -> [String: Int] {
        try await blocking { [self] () -> Result<[String: Int], KafkaError> in
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let error = rd_kafka_metadata(self.handle, 1, nil, &metadata, timeoutMilliseconds)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                return .failure(KafkaError(kind: .admin, error: error, context: "metadata for all topics"))
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            var counts: [String: Int] = [:]
            for index in 0..<Int(metadata.pointee.topic_cnt) {
                let topic = metadata.pointee.topics[index]
                if topic.err == RD_KAFKA_RESP_ERR_NO_ERROR, topic.partition_cnt > 0 { counts[String(cString: topic.topic)] = Int(topic.partition_cnt) }
            }
            return .success(counts)
        }.get()
    }

    /// Low and high watermark offsets of a partition (high = offset of the next message).
    func watermarks(topic: String, partition: Int32, timeoutMilliseconds: Int32 = 10_000) async throws -> (low: Int64, high: Int64) {
        try await blocking { [self] () -> Result<(low: Int64, high: Int64), KafkaError> in
            var low: Int64 = 0
            var high: Int64 = 0
            let error = rd_kafka_query_watermark_offsets(self.handle, topic, partition, &low, &high, timeoutMilliseconds)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                return .failure(KafkaError(kind: .consumer, error: error, context: "watermarks of \(topic)[\(partition)]"))
            }
            return .success((low, high))
        }.get()
    }

    /// Low and high watermarks as last seen in fetch responses (no request); `nil` until
    /// this consumer fetched the partition.
    func cachedWatermarks(topic: String, partition: Int32) -> (low: Int64, high: Int64)? {
        var low: Int64 = 0
        var high: Int64 = 0
        let error = rd_kafka_get_watermark_offsets(handle, topic, partition, &low, &high)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, low >= 0, high >= 0 else { return nil }
        return (low, high)
    }

    /// Gives up the partitions of a deferred revocation (see `defersRevocation`); the group
    /// then completes its rebalance. Does nothing when no revocation is pending.
    func releaseRevokedPartitions() {
        guard callbacks.takePendingRevocation() else { return }
        let error = rd_kafka_assign(handle, nil)
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.error("could not give up revoked partitions: \(KafkaError.text(of: error.rawValue)); the group's rebalance waits until this member leaves")
        }
    }

    /// Destroys the handle. Safe to call more than once.
    func destroy() {
        let alreadyDestroyed = destroyed.withLock { destroyed in
            defer { destroyed = true }
            return destroyed
        }
        guard !alreadyDestroyed else { return }
        rd_kafka_destroy(handle)
    }

    deinit {
        destroy()
    }
}

/// The Swift side of librdkafka's callbacks, reached through the configuration opaque.
final class RDKafkaCallbacks: Sendable {
    let logger: Logger
    private let defers: Mutex<Bool>
    private let pendingRebalances = Mutex<[KafkaRebalance]>([])
    private let revocationPending = Mutex(false)

    init(logger: Logger, defersRevocation: Bool = false) {
        self.logger = logger
        self.defers = Mutex(defersRevocation)
    }

    /// Whether revocations wait for `releaseRevokedPartitions()`.
    var defersRevocation: Bool { defers.withLock { $0 } }

    /// From now on revocations are released at once (closing: nobody is left to release them).
    func stopDeferringRevocations() {
        defers.withLock { $0 = false }
    }

    /// Marks a revocation whose `rd_kafka_assign(NULL)` is left to `releaseRevokedPartitions()`.
    func deferRevocation() {
        revocationPending.withLock { $0 = true }
    }

    /// Whether a deferred revocation was pending (and clears it).
    func takePendingRevocation() -> Bool {
        revocationPending.withLock { pending in
            defer { pending = false }
            return pending
        }
    }

    /// Whether a revocation waits for `releaseRevokedPartitions()`.
    var isRevocationPending: Bool { revocationPending.withLock { $0 } }

    func recordRebalance(_ rebalance: KafkaRebalance) {
        pendingRebalances.withLock { $0.append(rebalance) }
    }

    func takeRebalances() -> [KafkaRebalance] {
        pendingRebalances.withLock { pending in
            defer { pending.removeAll() }
            return pending
        }
    }
}

// MARK: - C callbacks

private func callbacks(from opaque: UnsafeMutableRawPointer?) -> RDKafkaCallbacks? {
    opaque.map { Unmanaged<RDKafkaCallbacks>.fromOpaque($0).takeUnretainedValue() }
}

private let rdKafkaLogCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
    handle, level, facility, message in
    guard let handle, let callbacks = callbacks(from: rd_kafka_opaque(handle)) else { return }
    let text = message.map { String(cString: $0) } ?? ""
    let facilityText = facility.map { String(cString: $0) } ?? ""
    let swiftLevel: Logger.Level =
        switch level {
        case 0...3: .error
        case 4: .warning
        case 5, 6: .info
        default: .debug
        }
    callbacks.logger.log(level: swiftLevel, "\(text)", metadata: ["librdkafka.facility": "\(facilityText)"])
}

private let rdKafkaErrorCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
    _, code, reason, opaque in
    guard let callbacks = callbacks(from: opaque) else { return }
    let text = reason.map { String(cString: $0) } ?? ""
    // Transport errors while brokers come and go are normal; librdkafka reconnects by itself.
    let level: Logger.Level = code == RD_KAFKA_RESP_ERR__FATAL.rawValue ? .error : .debug
    callbacks.logger.log(level: level, "librdkafka: \(text)", metadata: ["kafka.error": "\(KafkaError.name(of: code))"])
}

private let rdKafkaDeliveryCallback: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = {
    _, message, _ in
    guard let message, let opaque = message.pointee._private else { return }
    let ticket = Unmanaged<DeliveryTicket>.fromOpaque(opaque).takeRetainedValue()
    let error = message.pointee.err
    if error == RD_KAFKA_RESP_ERR_NO_ERROR {
        let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        ticket.complete(.success(KafkaDeliveryReport(topic: topic, partition: message.pointee.partition, offset: message.pointee.offset)))
    } else {
        ticket.complete(.failure(KafkaError(kind: .delivery, error: error, context: "delivery failed")))
    }
}

private let rdKafkaRebalanceCallback: @convention(c) (
    OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?
) -> Void = { handle, error, partitions, opaque in
    guard let handle else { return }
    let list = partitions.map(TopicPartitionList.read) ?? []
    let callbacks = callbacks(from: opaque)
    switch error {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        rd_kafka_assign(handle, partitions)
        callbacks?.recordRebalance(.assigned(list))
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        callbacks?.recordRebalance(.revoked(list))
        if let callbacks, callbacks.defersRevocation {
            // The owner finishes and commits the batch it fetched for these partitions, then
            // calls `releaseRevokedPartitions()`; until then no new owner can read them.
            callbacks.deferRevocation()
        } else {
            rd_kafka_assign(handle, nil)
        }
    default:
        callbacks?.logger.warning("rebalance failed: \(KafkaError.text(of: error.rawValue)); dropping the assignment")
        callbacks?.recordRebalance(.revoked(list))
        rd_kafka_assign(handle, nil)
    }
}
