import Foundation
import InletConnectors
import InletKafka
import Logging
import Synchronization

/// The consume-transform-produce step for global webhooks (topic `ingress.global`, its own
/// consumer group in every handler process): runs the global webhook's `handle` and routes
/// each `{selector, payload}` of its result to every receiving subscription of that webhook
/// with that selector, as a ``RoutedGlobalEvent`` on `ingress` keyed by subscription id. The
/// subscription's owner then handles it in order with the subscription's other inputs.
///
/// Stateless: any handler process may run any global request. A re-run after a crash routes
/// the request again with the same source position, so the records it yields keep their ids
/// and the dispatcher drops the repeats.
public final class GlobalHandler: StreamTransform {
    /// What the global handler has done since it started.
    public struct Statistics: Sendable, Hashable {
        /// Global requests handled (`handle` ran, successfully or not).
        public var requests = 0
        /// Events routed to a subscription (one per matching subscription).
        public var routed = 0
        /// Events whose selector matched no receiving subscription.
        public var unmatched = 0
    }

    private let topics: InletTopics
    private let runtime: ConnectorRuntime
    private let subscriptions: SubscriptionDirectory
    private let connectorParameters: ConnectorParametersDirectory?
    private let maxMessageBytes: Int
    private let logger: Logger
    private let counters = Mutex(Statistics())

    /// - Parameter connectorParameters: the workspace's parameters of each connector, which
    ///   the global `handle` gets as `parameters` (e.g. Slack's signing secret).
    public init(
        topics: InletTopics, runtime: ConnectorRuntime, subscriptions: SubscriptionDirectory,
        connectorParameters: ConnectorParametersDirectory?, maxMessageBytes: Int = 1_000_000, logger: Logger
    ) {
        self.topics = topics
        self.maxMessageBytes = maxMessageBytes
        self.runtime = runtime
        self.subscriptions = subscriptions
        self.connectorParameters = connectorParameters
        self.logger = logger
    }

    public var statistics: Statistics { counters.withLock { $0 } }

    /// Routing needs every subscription, and `handle` the connector parameters, written
    /// before: catch up with both tables first.
    public func partitionsAssigned(_ partitions: [TopicPartition]) async throws {
        try await subscriptions.sync()
        try await connectorParameters?.sync()
    }

    public func process(_ message: KafkaMessage) async throws -> [KafkaRecord] {
        let request: RawRequest
        do {
            request = try RawRequest.decoded(from: message)
        } catch {
            return [deadLetter(message, code: "decode-error", "not a raw request: \(error)", connectorKey: nil)]
        }
        var outputs = try await route(request, message: message)
        // A routed event Kafka would refuse (message.max.bytes) would fail the batch for ever:
        // the request goes to the DLQ instead.
        if let largest = outputs.map(PartitionRetention.countedBytes(of:)).max(), largest > maxMessageBytes {
            outputs = [deadLetter(
                message, code: "output-too-large",
                "a routed event of \(largest) bytes exceeds message.max.bytes (\(maxMessageBytes)); make the global handle return smaller payloads",
                connectorKey: request.connectorKey)]
        }
        return Reply.ensured(in: outputs, for: request, topic: topics.replies)
    }

    private func route(_ request: RawRequest, message: KafkaMessage) async throws -> [KafkaRecord] {
        let parts = (message.keyString ?? "").split(separator: "/", maxSplits: 1).map(String.init)
        guard let connectorKey = request.connectorKey ?? parts.first, let webhookKey = request.globalWebhookKey ?? (parts.count == 2 ? parts[1] : nil),
            let webhook = runtime.workspace.connectors[connectorKey]?.globalWebhooks[webhookKey]
        else {
            return [deadLetter(message, code: "unknown-global-webhook", "no global webhook '\(message.keyString ?? "?")' in the workspace", connectorKey: request.connectorKey)]
        }
        let webhookRequest = request.webhookRequest
        counters.withLock { $0.requests += 1 }
        let result: GlobalHandleResult
        do {
            let parameters = try connectorParameters?.parameters(for: connectorKey) ?? [:]
            result = try await runtime.handleGlobalWebhook(
                connectorKey: connectorKey, globalWebhookKey: webhookKey, request: webhookRequest, connectorParameters: parameters)
        } catch {
            try Handler.rethrowCancellation(error)
            return [deadLetter(message, code: Handler.code(of: error), "global handle of \(connectorKey)/\(webhookKey) failed: \(error)", connectorKey: connectorKey)]
        }
        var deliveryId: String?
        if let formula = webhook.deliveryId {
            do {
                deliveryId = try webhookRequest.deliveryId(formula)
            } catch {
                logger.warning("global handler: deliveryId of \(connectorKey)/\(webhookKey) failed: \(error); record ids come from the request's position")
            }
        }
        var outputs: [KafkaRecord] = []
        var unmatched = 0
        var caughtUp = false
        for (index, event) in result.events.enumerated() {
            var matches = subscriptions.subscriptions(connectorKey: connectorKey, globalWebhookKey: webhookKey, selector: event.selector)
            if matches.isEmpty && !caughtUp {
                // A subscription made a moment ago may not be read here yet: catch up once.
                try await subscriptions.sharedSync()
                caughtUp = true
                matches = subscriptions.subscriptions(connectorKey: connectorKey, globalWebhookKey: webhookKey, selector: event.selector)
            }
            if matches.isEmpty {
                unmatched += 1
                logger.debug("global handler: \(connectorKey)/\(webhookKey) event \(index) with selector '\(event.selector)' matches no subscription")
            }
            for subscription in matches {
                let routed = RoutedGlobalEvent(
                    subscriptionId: subscription.id, connectorKey: connectorKey, globalWebhookKey: webhookKey, selector: event.selector,
                    payload: event.payload,
                    source: .init(topic: message.topic, partition: Int(message.partition), offset: message.offset, index: index),
                    receivedAt: request.receivedAt, requestId: request.requestId, deliveryId: deliveryId
                )
                outputs.append(routed.kafkaRecord(topic: topics.ingress))
            }
        }
        counters.withLock {
            $0.routed += outputs.count
            $0.unmatched += unmatched
        }
        if request.replyExpected, let response = result.response {
            outputs.append(Reply(requestId: request.requestId, response: response).kafkaRecord(topic: topics.replies))
        }
        return outputs
    }

    private func deadLetter(_ message: KafkaMessage, code: DeadLetter.Code, _ text: String, connectorKey: String?) -> KafkaRecord {
        logger.warning("global handler: \(code): \(text)")
        let letter = DeadLetter.bounded(
            failedAt: Date(), stage: .handler, reason: .init(code: code, message: text), original: .init(message: message),
            subscriptionId: nil, connectorKey: connectorKey
        )
        return KafkaRecord(topic: topics.dlq, key: message.key, value: letter.encoded())
    }
}
