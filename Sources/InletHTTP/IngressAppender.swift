import HTTPTypes
import InletKafka

/// Appends what ingress accepted, within the backlog limits when a `BacklogGuard` is given
/// (the embedded broker): a request that would push a partition's unconsumed backlog past
/// what the broker keeps is refused with 503 + `Retry-After` and nothing is appended.
struct IngressAppender: Sendable {
    let producer: KafkaProducer
    let backlog: BacklogGuard?
    /// Seconds a refused sender is asked to wait.
    let retryAfterSeconds: Int

    func append(_ record: KafkaRecord) async throws {
        guard let backlog else {
            try await producer.appendOrUnavailable(record)
            return
        }
        let reservation: BacklogGuard.Reservation?
        do {
            reservation = try backlog.reserve(record)
        } catch {
            throw ProblemDetails(
                .serviceUnavailable, title: "Too busy",
                detail: "\(error); nothing was accepted, retry after \(retryAfterSeconds) s",
                headers: [.retryAfter: "\(retryAfterSeconds)"]
            )
        }
        guard let reservation else {
            try await producer.appendOrUnavailable(record)
            return
        }
        do {
            let report = try await producer.appendOrUnavailable(record)
            backlog.stored(reservation, at: report)
        } catch {
            backlog.released(reservation)
            throw error
        }
    }
}
