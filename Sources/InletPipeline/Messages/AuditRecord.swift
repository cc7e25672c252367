import Foundation

/// One step of an admin API write (topic `audit`, key: the write's id): who (the admin token's
/// name), what (method and path, never the body, which may hold credentials) and when.
///
/// Every write gets a `requested` record before it runs (ingress refuses the write with 503 when
/// that record cannot be stored) and a `completed` record with the answer's status after it.
/// A request refused for its token (401: none or unknown; 403: a read token writing) gets a
/// `refused` record, at most 10 a second per process; `suppressed` counts the ones left out
/// before it.
public struct AuditRecord: TopicMessage {
    public enum Phase: String, Codable, Sendable, Hashable {
        /// Stored before the write runs.
        case requested
        /// Stored after it, with the answer's status.
        case completed
        /// A request refused for its token (401 or 403, in `status`), any method. Readers older
        /// than this phase fail to decode it; nothing in Inlet reads the audit topic back.
        case refused
    }

    /// The write's id, the same in both of its records.
    public var id: String
    public var phase: Phase
    /// When this step happened.
    public var at: Date
    /// The name of the admin token the request carried; `anonymous` for a refused request
    /// without a valid token.
    public var actor: String
    /// The token's scope (`admin`, `read`); `none` without a valid token.
    public var scope: String
    /// The HTTP method.
    public var method: String
    /// The request path, without the query.
    public var path: String
    /// The answer's status (`completed` and `refused`).
    public var status: Int?
    /// `refused` only: refused requests not recorded (rate limit) since the previous `refused` record.
    public var suppressed: Int?

    public init(id: String, phase: Phase, at: Date, actor: String, scope: String, method: String, path: String, status: Int? = nil, suppressed: Int? = nil) {
        self.suppressed = suppressed
        self.id = id
        self.phase = phase
        self.at = at
        self.actor = actor
        self.scope = scope
        self.method = method
        self.path = path
        self.status = status
    }

    public static let topics = ["audit"]
    public static let schemaFile = "audit-record.schema.json"

    public var kafkaKey: String? { id }
}
