import Foundation
import InletKafka
import InletPipeline
import Logging
import ServiceLifecycle
import Synchronization

/// Follows the `replies` topic (every partition, from its end) and hands each reply to the
/// ingress request waiting for it, so a webhook whose `handle` returns a `response` gets it
/// as its HTTP answer. Replies nobody waits for (any more) are ignored.
public final class ReplyWaiter: Service, Sendable {
    private let topics: InletTopics
    private let client: KafkaClientConfiguration
    private let logger: Logger
    private let waiting = Mutex<[String: CheckedContinuation<Reply?, Never>]>([:])
    private let ready = Mutex(false)

    public init(topics: InletTopics, client: KafkaClientConfiguration, logger: Logger) {
        self.topics = topics
        self.client = client
        self.logger = logger
    }

    public func run() async throws {
        let consumer = try KafkaConsumer(
            assigning: (0..<Int32(topics.partitions)).map { TopicPartition(topic: topics.replies, partition: $0, offset: -1) },
            configuration: KafkaConsumerConfiguration(client: client, groupId: "inlet-ingress-replies"), logger: logger
        )
        ready.withLock { $0 = true }
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                for case .message(let message) in try await consumer.poll(maxMessages: 500, timeout: .milliseconds(200)) {
                    guard let value = message.value, let reply = try? Reply.decoded(from: value) else { continue }
                    let continuation = self.waiting.withLock { $0.removeValue(forKey: reply.requestId) }
                    continuation?.resume(returning: reply)
                }
            }
        }
        await consumer.close()
        let abandoned = waiting.withLock { waiting in
            defer { waiting.removeAll() }
            return Array(waiting.values)
        }
        abandoned.forEach { $0.resume(returning: nil) }
    }

    /// Whether replies can be awaited (the follower is running).
    public var isReady: Bool { ready.withLock { $0 } }

    /// Runs `send` (which appends the request), then waits up to `timeout` for the reply to
    /// `requestId`; `nil` when none came in time. Registering before sending means a fast
    /// reply cannot be missed.
    public func reply(to requestId: String, timeout: Duration, after send: () async throws -> Void) async throws -> Reply? {
        try await withThrowingTaskGroup(of: Reply?.self) { group in
            let registered = AsyncStream<Void>.makeStream()
            group.addTask {
                await withCheckedContinuation { continuation in
                    self.waiting.withLock { $0[requestId] = continuation }
                    registered.continuation.yield()
                    registered.continuation.finish()
                }
            }
            for await _ in registered.stream {}
            do {
                try await send()
            } catch {
                waiting.withLock { $0.removeValue(forKey: requestId) }?.resume(returning: nil)
                throw error
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.waiting.withLock { $0.removeValue(forKey: requestId) }?.resume(returning: nil)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            if first == nil {
                // The timer fired first; the waiter task has been resumed with nil.
                return nil
            }
            return first
        }
    }
}
