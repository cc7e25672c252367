import CRdKafka
import Foundation
import Synchronization

/// A dedicated thread that serves a producer's callbacks (delivery reports, logs, errors)
/// by calling `rd_kafka_poll` until stopped.
final class PollThread: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(client: RDKafkaClient, name: String) {
        let thread = Thread { [self] in
            while !stopped.load(ordering: .acquiring) {
                rd_kafka_poll(client.handle, 50)
            }
            // Serve what is left so no delivery report is lost.
            rd_kafka_poll(client.handle, 0)
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Stops the thread and waits for it to exit.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        finished.wait()
    }
}

/// A flag set from a task-cancellation handler and read by a blocking loop.
final class CancellationFlag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
