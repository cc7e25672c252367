import CRdKafka
import Foundation
import Logging

/// Topic administration against a real cluster (the embedded broker creates topics with
/// `EmbeddedKafkaCluster.createTopics`, as it does not implement the CreateTopics API).
public struct KafkaAdmin: Sendable {
    private let configuration: KafkaClientConfiguration
    private let logger: Logger

    public init(configuration: KafkaClientConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The outcome for one topic.
    public enum Outcome: Sendable, Hashable {
        case created
        case alreadyExists
    }

    /// Creates every topic that does not exist yet. Existing topics are left as they are
    /// (their partition count is not changed). Throws on the first other failure.
    public func createTopics(_ topics: [KafkaTopicSpec], timeout: Duration = .seconds(30)) async throws -> [String: Outcome] {
        let client = try RDKafkaClient(
            role: .producer,
            properties: configuration.baseProperties + configuration.additionalProperties.sorted { $0.key < $1.key },
            logger: logger
        )
        defer { client.destroy() }
        let milliseconds = Int32(timeout.components.seconds * 1000)
        return try await client.blocking { () -> Result<[String: Outcome], KafkaError> in
            Self.createBlocking(client: client, topics: topics, timeoutMilliseconds: milliseconds)
        }.get()
    }

    private static func createBlocking(client: RDKafkaClient, topics: [KafkaTopicSpec], timeoutMilliseconds: Int32) -> Result<[String: Outcome], KafkaError> {
        var errorText = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { newTopics.forEach { rd_kafka_NewTopic_destroy($0) } }
        for topic in topics {
            guard let newTopic = rd_kafka_NewTopic_new(topic.name, Int32(topic.partitions), Int32(topic.replicationFactor), &errorText, errorText.count) else {
                return .failure(KafkaError(kind: .admin, message: "topic '\(topic.name)': \(String(errorBuffer: errorText))"))
            }
            newTopics.append(newTopic)
            for (name, value) in topic.configs.sorted(by: { $0.key < $1.key }) {
                let error = rd_kafka_NewTopic_set_config(newTopic, name, value)
                if error != RD_KAFKA_RESP_ERR_NO_ERROR {
                    return .failure(KafkaError(kind: .admin, error: error, context: "topic '\(topic.name)' config '\(name)'"))
                }
            }
        }
        let queue = rd_kafka_queue_new(client.handle)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMilliseconds, &errorText, errorText.count)
        newTopics.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_CreateTopics(client.handle, buffer.baseAddress, buffer.count, options, queue)
        }
        guard let event = rd_kafka_queue_poll(queue, timeoutMilliseconds + 5000) else {
            return .failure(KafkaError(kind: .timeout, message: "no answer to CreateTopics; is the cluster reachable at the bootstrap servers?"))
        }
        defer { rd_kafka_event_destroy(event) }
        if rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR {
            let text = String(cString: rd_kafka_event_error_string(event))
            return .failure(KafkaError(
                kind: .admin, code: rd_kafka_event_error(event).rawValue,
                message: "CreateTopics failed: \(text). The embedded broker does not support CreateTopics: `inlet dev` creates its topics itself."
            ))
        }
        var count = 0
        guard let result = rd_kafka_event_CreateTopics_result(event), let results = rd_kafka_CreateTopics_result_topics(result, &count) else {
            return .failure(KafkaError(kind: .admin, message: "CreateTopics returned no result"))
        }
        var outcomes: [String: Outcome] = [:]
        for index in 0..<count {
            let topicResult = results[index]
            let name = String(cString: rd_kafka_topic_result_name(topicResult))
            let error = rd_kafka_topic_result_error(topicResult)
            switch error {
            case RD_KAFKA_RESP_ERR_NO_ERROR: outcomes[name] = .created
            case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: outcomes[name] = .alreadyExists
            default:
                let text = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) } ?? KafkaError.text(of: error.rawValue)
                return .failure(KafkaError(kind: .admin, code: error.rawValue, message: "create topic '\(name)': \(text)"))
            }
        }
        return .success(outcomes)
    }
}
