import Foundation
import InletKafka
import InletPipeline
import Logging
import Synchronization

/// The audit trail of the admin API: every write (any method but `GET` and `HEAD`) as two
/// `AuditRecord`s on the `audit` topic, who (the token's name), what (method and path; never
/// the body, which may hold credentials) and when.
///
/// The `requested` record is acknowledged by the broker before the write runs; when it cannot
/// be stored the write is refused with 503 and nothing is done. The `completed` record, with the
/// answer's status, follows; a failure to store it is logged (the write has happened).
final class AdminAudit: Sendable {
    /// One write being audited.
    struct Write: Sendable {
        let id: String
        let token: AdminToken
        let method: String
        let path: String
    }

    let producer: KafkaProducer
    let topic: String
    let logger: Logger
    /// Set once the topic was seen to exist; until then each write looks first, so a missing
    /// topic (an upgrade from a version without the audit trail, `inlet topics create` not run
    /// again) is answered at once with what to do, not after the delivery timeout.
    private let topicSeen = Atomic<Bool>(false)
    /// Refused requests recorded in the current second, and those left out since the last
    /// record: a flood of bad tokens must not flood the audit topic.
    private let refusals = Mutex<(second: Int64, recorded: Int, suppressed: Int)>((0, 0, 0))
    static let refusalsPerSecond = 10
    /// A refused request's path is recorded up to this many bytes (anyone may send one).
    static let maxRecordedPath = 256

    init(producer: KafkaProducer, topic: String, logger: Logger) {
        self.producer = producer
        self.topic = topic
        self.logger = logger
    }

    /// Whether the audit topic exists: asked of the brokers until it was seen once.
    private func topicExists() async throws -> Bool {
        if topicSeen.load(ordering: .relaxed) { return true }
        guard try await producer.topicExists(topic) else { return false }
        topicSeen.store(true, ordering: .relaxed)
        return true
    }

    func requested(_ write: Write) async throws {
        if try await !topicExists() {
            logger.error("audit: topic \(topic) does not exist; admin writes are refused until it does: run `inlet topics create`")
            throw ProblemDetails(
                .serviceUnavailable, title: "Audit trail unavailable",
                detail: "the audit topic \(topic) does not exist, so this write cannot be recorded; nothing was done. Run `inlet topics create` (it adds the missing topics and leaves the others as they are), then retry",
                headers: [.retryAfter: "5"]
            )
        }
        do {
            // A full local queue is answered at once, as for webhooks.
            _ = try await producer.send(record(write, phase: .requested, status: nil), whenQueueFull: .fail)
        } catch {
            throw ProblemDetails(
                .serviceUnavailable, title: "Audit trail unavailable",
                detail: "the audit record of this write could not be stored on \(topic) (\(error)); nothing was done, retry later",
                headers: [.retryAfter: "5"]
            )
        }
    }

    func completed(_ write: Write, status: Int) async {
        do {
            _ = try await producer.send(record(write, phase: .completed, status: status))
        } catch {
            logger.error("audit: the completion of admin write \(write.id) (\(write.method) \(write.path) by '\(write.token.name)', status \(status)) could not be stored on \(topic): \(error)")
        }
    }

    /// Records a request refused for its token (401 without a valid one, 403 for a read token
    /// writing), at most ``refusalsPerSecond`` a second; a failure to store it is logged.
    func refused(token: AdminToken?, method: String, path: String, status: Int) async {
        // Only onto a topic seen to exist: producing to a missing one could make a broker that
        // auto-creates topics create it with its defaults (and a short retention).
        guard (try? await topicExists()) == true else { return }
        let second = Int64(Date().timeIntervalSince1970)
        let suppressed: Int? = refusals.withLock { state in
            if state.second != second { state = (second, 0, state.suppressed) }
            guard state.recorded < Self.refusalsPerSecond else {
                state.suppressed += 1
                return nil
            }
            state.recorded += 1
            defer { state.suppressed = 0 }
            return state.suppressed
        }
        guard let suppressed else { return }
        let record = AuditRecord(
            id: RandomUUID.make(), phase: .refused, at: Date(), actor: token?.name ?? "anonymous", scope: token?.scope.rawValue ?? "none",
            method: method, path: String(path.utf8.prefix(Self.maxRecordedPath)) ?? String(path.prefix(Self.maxRecordedPath)), status: status, suppressed: suppressed)
        do {
            _ = try await producer.send(KafkaRecord(topic: topic, key: record.kafkaKey, value: record.encoded()), whenQueueFull: .fail)
        } catch {
            logger.warning("audit: a refused \(method) \(path) (\(status)) could not be recorded on \(topic): \(error)")
        }
    }

    private func record(_ write: Write, phase: AuditRecord.Phase, status: Int?) -> KafkaRecord {
        let record = AuditRecord(
            id: write.id, phase: phase, at: Date(), actor: write.token.name, scope: write.token.scope.rawValue, method: write.method, path: write.path,
            status: status
        )
        return KafkaRecord(topic: topic, key: record.kafkaKey, value: record.encoded())
    }
}
