import CRdKafka
import Foundation
import Logging
import Synchronization

/// An in-process Kafka cluster: librdkafka's mock cluster, which speaks the Kafka protocol
/// over TCP on loopback, so any Kafka client can connect to `bootstrapServers`.
///
/// Good for `inlet dev` and tests. Known limits of librdkafka 2.0.2's mock (verified):
/// transactions are accepted but aborted data stays visible and transactional offsets are not
/// stored; no compaction; about 5 MB kept per partition; no CreateTopics API (use
/// `createTopics` here).
///
/// `@unchecked Sendable`: the mock cluster is driven by its own thread and its API calls are
/// thread-safe (they post operations to that thread); `stop()` destroys it once.
public final class EmbeddedKafkaCluster: @unchecked Sendable {
    private let host: RDKafkaClient
    private let cluster: OpaquePointer
    private let stopped = Mutex(false)
    /// The brokers' `host:port` list, for `bootstrap.servers`.
    public let bootstrapServers: String

    /// Starts `brokers` brokers listening on loopback.
    public init(brokers: Int = 1, logger: Logger) throws {
        host = try RDKafkaClient(role: .producer, properties: [("log_level", "3")], logger: logger)
        guard let cluster = rd_kafka_mock_cluster_new(host.handle, Int32(brokers)) else {
            host.destroy()
            throw KafkaError(kind: .embeddedBroker, message: "librdkafka could not start its mock cluster")
        }
        self.cluster = cluster
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        // Nothing has connected yet, so every connection gets it (see ListenerNoDelay).
        if ListenerNoDelay.apply(toListenersOn: ListenerNoDelay.ports(of: bootstrapServers)) < brokers {
            logger.debug("embedded broker: could not set TCP_NODELAY on every listener; responses to pipelined requests may wait for delayed acknowledgements")
        }
    }

    /// Creates topics (existing ones are left alone).
    public func createTopics(_ topics: [KafkaTopicSpec]) throws {
        for topic in topics {
            let error = rd_kafka_mock_topic_create(cluster, topic.name, Int32(topic.partitions), Int32(topic.replicationFactor))
            if error != RD_KAFKA_RESP_ERR_NO_ERROR && error != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                throw KafkaError(kind: .embeddedBroker, error: error, context: "create topic '\(topic.name)'")
            }
        }
    }

    /// Makes the next `errors.count` requests of type `api` fail with the given error codes,
    /// in order (fault injection for tests).
    public func failNextRequests(_ api: KafkaProtocolAPI, with errors: [KafkaErrorCode]) {
        let codes = errors.map { rd_kafka_resp_err_t($0.rawValue) }
        codes.withUnsafeBufferPointer { buffer in
            rd_kafka_mock_push_request_errors_array(cluster, api.rawValue, buffer.count, buffer.baseAddress)
        }
    }

    /// Takes a broker down (its connections are closed) or brings it back.
    public func setBroker(_ id: Int32, up: Bool) throws {
        let error = up ? rd_kafka_mock_broker_set_up(cluster, id) : rd_kafka_mock_broker_set_down(cluster, id)
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(kind: .embeddedBroker, error: error, context: "set broker \(id) \(up ? "up" : "down")")
        }
        // A broker brought back may listen on a new socket.
        if up { ListenerNoDelay.apply(toListenersOn: ListenerNoDelay.ports(of: bootstrapServers)) }
    }

    /// Stops the brokers. Clients still connected see transport errors.
    public func stop() {
        let alreadyStopped = stopped.withLock { stopped in
            defer { stopped = true }
            return stopped
        }
        guard !alreadyStopped else { return }
        rd_kafka_mock_cluster_destroy(cluster)
        host.destroy()
    }

    deinit {
        stop()
    }
}

/// Kafka protocol request types, for fault injection.
public enum KafkaProtocolAPI: Int16, Sendable {
    case produce = 0, fetch = 1, listOffsets = 2, metadata = 3
    case offsetCommit = 8, offsetFetch = 9, findCoordinator = 10
    case joinGroup = 11, heartbeat = 12, leaveGroup = 13, syncGroup = 14
    case initProducerId = 22, addPartitionsToTxn = 24, addOffsetsToTxn = 25, endTxn = 26, txnOffsetCommit = 28
}

/// A Kafka protocol error code (as in the protocol guide), for fault injection.
public struct KafkaErrorCode: RawRepresentable, Sendable, Hashable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let notLeaderForPartition = KafkaErrorCode(rawValue: 6)
    public static let requestTimedOut = KafkaErrorCode(rawValue: 7)
    public static let coordinatorLoadInProgress = KafkaErrorCode(rawValue: 14)
    public static let coordinatorNotAvailable = KafkaErrorCode(rawValue: 15)
    public static let notCoordinator = KafkaErrorCode(rawValue: 16)
    public static let notEnoughReplicas = KafkaErrorCode(rawValue: 19)
    public static let rebalanceInProgress = KafkaErrorCode(rawValue: 27)
    public static let groupAuthorizationFailed = KafkaErrorCode(rawValue: 30)
    public static let concurrentTransactions = KafkaErrorCode(rawValue: 51)
    public static let producerFenced = KafkaErrorCode(rawValue: 90)
    public static let invalidProducerEpoch = KafkaErrorCode(rawValue: 47)
    public static let transactionalIdAuthorizationFailed = KafkaErrorCode(rawValue: 53)
}
