import Foundation
import InletKafka

extension DeadLetter.Original {
    /// The consumed message, byte for byte, so `inlet dlq replay` can re-produce it.
    public init(message: KafkaMessage) {
        self.init(
            topic: message.topic,
            partition: Int(message.partition),
            offset: message.offset,
            key: message.keyString,
            headers: message.headers.map { DeadLetter.Header(key: $0.name, value: $0.value) },
            value: message.value ?? Data(),
            timestamp: message.timestampMilliseconds.map { Date(timeIntervalSince1970: Double($0) / 1000) }
        )
    }
}

extension NormalizedEvent {
    /// The CloudEvents Kafka-binding headers as Kafka headers.
    public var kafkaHeaders: [KafkaHeader] {
        ceHeaders.map { KafkaHeader(name: $0.0, string: $0.1) }
    }
}
