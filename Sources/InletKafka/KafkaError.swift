import CRdKafka

/// An error from the Kafka layer. Every case says what failed and, where possible, what to
/// do about it.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; callers switch on it to decide whether to retry.
    public enum Kind: Sendable, Hashable {
        /// A configuration property was rejected by librdkafka.
        case configuration
        /// Creating the client handle failed.
        case clientCreation
        /// A message could not be delivered (after librdkafka's own retries).
        case delivery
        /// The consumer reported an error for a partition or the group.
        case consumer
        /// Committing or storing offsets failed.
        case offsetCommit
        /// A transactional call failed and the transaction must be aborted.
        case transactionAbortable
        /// A transactional call failed transiently and may be retried as is.
        case transactionRetriable
        /// The producer was fenced or hit a fatal error; it must be recreated.
        case fatal
        /// An admin operation (create topics, metadata) failed.
        case admin
        /// The embedded broker could not be started or driven.
        case embeddedBroker
        /// The client has been shut down.
        case shutdown
        /// A call did not finish within its deadline.
        case timeout
    }

    public var kind: Kind
    /// librdkafka's error code (`rd_kafka_resp_err_t`), if any.
    public var code: Int32
    /// A message for a person: what happened and what to do next.
    public var message: String

    public init(kind: Kind, code: Int32 = 0, message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    public var description: String {
        code == 0 ? "Kafka \(kind): \(message)" : "Kafka \(kind) (\(Self.name(of: code))): \(message)"
    }

    /// librdkafka's symbolic name for an error code, e.g. `_MSG_TIMED_OUT`.
    public static func name(of code: Int32) -> String {
        String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(code)))
    }

    /// librdkafka's text for an error code.
    public static func text(of code: Int32) -> String {
        String(cString: rd_kafka_err2str(rd_kafka_resp_err_t(code)))
    }

    init(kind: Kind, error: rd_kafka_resp_err_t, context: String) {
        self.init(kind: kind, code: error.rawValue, message: "\(context): \(String(cString: rd_kafka_err2str(error)))")
    }

    /// Takes ownership of an `rd_kafka_error_t` and classifies it for the transaction API.
    init(consuming error: OpaquePointer, context: String) {
        defer { rd_kafka_error_destroy(error) }
        let kind: Kind
        if rd_kafka_error_is_fatal(error) != 0 {
            kind = .fatal
        } else if rd_kafka_error_txn_requires_abort(error) != 0 {
            kind = .transactionAbortable
        } else if rd_kafka_error_is_retriable(error) != 0 {
            kind = .transactionRetriable
        } else {
            kind = .admin
        }
        self.init(
            kind: kind,
            code: rd_kafka_error_code(error).rawValue,
            message: "\(context): \(String(cString: rd_kafka_error_string(error)))"
        )
    }
}
