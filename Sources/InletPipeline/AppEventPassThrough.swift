import Foundation
import InletConnectors
import InletKafka
import Logging

/// Forwards app events from `ingress.app-events` to `app-events` as CloudEvents, one per
/// event of a batch, without a schema check (app event types with schemas and customer
/// formulas replace this in the app-events capability).
///
/// Ids are deterministic (input position + index in the batch), so a replay repeats them.
public struct AppEventPassThrough: StreamTransform {
    let topics: InletTopics
    let logger: Logger

    public init(topics: InletTopics, logger: Logger) {
        self.topics = topics
        self.logger = logger
    }

    public func process(_ message: KafkaMessage) async throws -> [KafkaRecord] {
        guard let value = message.value else { return [] }
        let appEvent: AppEventMessage
        do {
            appEvent = try AppEventMessage.decoded(from: value)
        } catch {
            return [deadLetter(for: message, reason: "\(error)")]
        }
        return appEvent.events.enumerated().map { index, payload in
            let id = RecordEvent.deterministicId(topic: message.topic, partition: Int(message.partition), offset: message.offset, index: index)
            let recordId = payload["id"].flatMap { $0.stringValue ?? $0.integerValue.map(String.init) } ?? id
            let customerId = appEvent.customerId ?? payload["customerId"]?.stringValue ?? ""
            let event = NormalizedEvent(
                id: id,
                source: "/inlet/app-events/\(appEvent.type)",
                type: "app.\(appEvent.type)",
                subject: recordId,
                time: appEvent.receivedAt,
                data: .init(
                    type: .created, record: payload, recordId: recordId, subscriptionId: "app-events/\(appEvent.type)",
                    customerId: customerId, connectorKey: "app", appEventKey: appEvent.type
                )
            )
            return KafkaRecord(
                topic: topics.appEvents, key: customerId.isEmpty ? appEvent.type : customerId, value: event.encoded(),
                headers: event.kafkaHeaders
            )
        }
    }

    private func deadLetter(for message: KafkaMessage, reason: String) -> KafkaRecord {
        let letter = DeadLetter.bounded(
            failedAt: Date(), stage: .handler,
            reason: .init(code: "decode-error", message: "not an app event message: \(reason)"),
            original: .init(message: message)
        )
        return KafkaRecord(topic: topics.dlq, key: message.key, value: letter.encoded())
    }
}
