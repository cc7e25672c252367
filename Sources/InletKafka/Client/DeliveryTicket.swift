import Synchronization

/// Collects the delivery reports of a batch of produced messages and resumes the waiting
/// task once all of them have arrived (one continuation per batch, not per message).
final class DeliveryBatch: Sendable {
    private struct State {
        var reports: [Result<KafkaDeliveryReport, KafkaError>?]
        var remaining: Int
        var continuation: CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(reports: Array(repeating: nil, count: count), remaining: count, continuation: nil))
    }

    /// Waits until every message has its outcome (at once when they all have one already).
    func outcomes() async -> [Result<KafkaDeliveryReport, KafkaError>] {
        await withCheckedContinuation { continuation in
            state.withLock { $0.continuation = continuation }
            finishIfDone()
        }
    }

    func complete(index: Int, _ result: Result<KafkaDeliveryReport, KafkaError>) {
        state.withLock { state in
            state.reports[index] = result
            state.remaining -= 1
        }
        finishIfDone()
    }

    private func finishIfDone() {
        let ready: (CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>, [Result<KafkaDeliveryReport, KafkaError>])? =
            state.withLock { state in
                guard state.remaining == 0, let continuation = state.continuation else { return nil }
                state.continuation = nil
                return (continuation, state.reports.map { $0! })
            }
        if let (continuation, reports) = ready { continuation.resume(returning: reports) }
    }
}

/// The per-message opaque handed to librdkafka; retained until its delivery report.
final class DeliveryTicket: Sendable {
    let batch: DeliveryBatch
    let index: Int

    init(batch: DeliveryBatch, index: Int) {
        self.batch = batch
        self.index = index
    }

    func complete(_ result: Result<KafkaDeliveryReport, KafkaError>) {
        batch.complete(index: index, result)
    }
}
