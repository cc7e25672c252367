import Foundation
import InletKafka
import Logging
import Testing

/// Starts an embedded cluster for one test and hands out unique topic names.
struct TestCluster {
    let cluster: EmbeddedKafkaCluster
    let logger: Logger

    init(brokers: Int = 1) throws {
        var logger = Logger(label: "inlet.test")
        logger.logLevel = ProcessInfo.processInfo.environment["INLET_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        self.logger = logger
        cluster = try EmbeddedKafkaCluster(brokers: brokers, logger: logger)
    }

    var client: KafkaClientConfiguration {
        var client = KafkaClientConfiguration(bootstrapServers: [cluster.bootstrapServers], clientId: "inlet-test")
        client.consumerFetchWaitMilliseconds = 10
        return client
    }

    var producerConfiguration: KafkaProducerConfiguration {
        KafkaProducerConfiguration(client: client, linger: .milliseconds(1))
    }

    func consumerConfiguration(group: String) -> KafkaConsumerConfiguration {
        KafkaConsumerConfiguration(client: client, groupId: group, sessionTimeoutMilliseconds: 6000)
    }

    /// Creates a topic with a unique name.
    func topic(_ base: String, partitions: Int = 4) throws -> String {
        let name = "\(base)-\(UUID().uuidString.prefix(8))"
        try cluster.createTopics([KafkaTopicSpec(name: name, partitions: partitions)])
        return name
    }
}

/// Waits until `condition` holds, checking every 50 ms, failing after `timeout`.
func eventually(
    _ what: String, timeout: Duration = .seconds(30), sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("timed out after \(timeout) waiting for: \(what)", sourceLocation: sourceLocation)
    throw TimeoutError(what: what)
}

struct TimeoutError: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Reads messages from `consumer` until `count` arrived or `timeout` passed.
func collect(_ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(30)) async throws -> [KafkaMessage] {
    var messages: [KafkaMessage] = []
    let deadline = ContinuousClock.now + timeout
    while messages.count < count && ContinuousClock.now < deadline {
        for case .message(let message) in try await consumer.poll(maxMessages: 1000, timeout: .milliseconds(200)) {
            messages.append(message)
        }
    }
    return messages
}
