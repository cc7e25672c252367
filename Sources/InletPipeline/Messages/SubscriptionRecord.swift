import Foundation
import InletConnectors

/// A subscription: who listens to what, through which connection, and the connector state
/// that keeps it running (topic `subscriptions`, compacted, key: subscription id).
///
/// The handler that owns the subscription's partition is its only writer. A `null` record
/// value (a tombstone) deletes the key; use ``tableEntry(from:)`` to read a record value and
/// ``tombstoneValue`` to write one.
///
/// Field names follow the connector platform's subscription records (`status`,
/// `connectionId`, `customerId` — the original's `userId` —, `config`, `state`,
/// `globalWebhookKey`, `nextRefreshTimestamp`, ...). Timestamps the connector contract gives
/// in milliseconds (`nextRefreshTimestamp`, `nextPullEventsTimestamp`) stay epoch-millisecond
/// integers; Inlet's own times are RFC 3339 strings.
public struct SubscriptionRecord: TopicMessage {
    /// The subscription's lifecycle state.
    public enum Status: String, Codable, Sendable, Hashable, CaseIterable {
        /// Created; `subscribe` has not completed yet.
        case pending
        /// Receiving events.
        case active
        /// Receiving events, but the connector's API failed transiently (unreachable, 5xx,
        /// rate limited) and inputs wait for retries; see ``SubscriptionRecord/error``. Back
        /// to `active` on the next success.
        case degraded
        /// A method failed; see ``SubscriptionRecord/error``. Retried on the next refresh or pull.
        case error
        /// Unsubscribed; kept for history until tombstoned.
        case archived
    }

    /// The subscription's configuration.
    public struct Config: Codable, Sendable, Hashable {
        /// Parameters matching the event's or collection's `parametersSchema`; passed to every
        /// method as `parameters`. When some are secret (`writeOnly` / `format: password`),
        /// these are the parameters without them, and ``sealedParameters`` holds them all.
        public var parameters: JSONValue
        /// Every parameter, sealed and bound to the subscription, when some are secret; read
        /// them with ``openedParameters(_:subscriptionId:)``.
        public var sealedParameters: EncryptedCredentials?
        /// Record fields a full scan ignores when comparing records (e.g. signed download
        /// URLs), so they do not cause false `updated` events.
        public var ignoredFields: [String]?
        /// Pulled collection events: the first pull emits what exists instead of only setting
        /// the high-water mark or snapshot.
        public var backfill: Bool?
        /// Full scan: the subscriptions of one connection, collection and configuration that
        /// differ only in their collection event share this value (``scanGroup(connectionId:collectionKey:config:pullUpdatesIntervalSeconds:fullSyncIntervalSeconds:)``),
        /// and one scan per pull serves them all (see ``ScanGroup``). `nil` on records written
        /// before scans were shared: such a subscription scans alone.
        public var scanGroup: String?

        public init(parameters: JSONValue = .object([:]), ignoredFields: [String]? = nil, backfill: Bool? = nil) {
            self.parameters = parameters
            self.ignoredFields = ignoredFields
            self.backfill = backfill
        }

        /// Every parameter: opened when sealed, else ``parameters``.
        public func openedParameters(_ vault: CredentialVault, subscriptionId: String) throws -> JSONValue {
            try openedParameters(subscriptionId: subscriptionId, open: vault.open(_:for:))
        }

        /// Every parameter: opened by `open` when sealed, else ``parameters``.
        public func openedParameters(subscriptionId: String, open: SealedValueOpener) throws -> JSONValue {
            guard let sealedParameters else { return parameters }
            return try open(sealedParameters, .subscriptionParameters(subscriptionId: subscriptionId))
        }

        /// This configuration as it goes onto a topic: with `vault.sealsRecords`, `redacted`
        /// (the parameters without their secret values) in clear text and every parameter
        /// sealed — when there is a secret to hide; otherwise, or in compatible mode, as is.
        public func sealing(redacted: JSONValue, vault: CredentialVault, subscriptionId: String) throws -> Config {
            var copy = self
            guard vault.sealsRecords, redacted != parameters else { return copy }
            copy.sealedParameters = try vault.seal(parameters, for: .subscriptionParameters(subscriptionId: subscriptionId))
            copy.parameters = redacted
            return copy
        }
    }

    /// Why the subscription is in ``Status/error``.
    public struct ErrorInfo: Codable, Sendable, Hashable {
        /// What went wrong, for people.
        public var message: String
        /// A machine-readable code, e.g. `"subscribe-error"`, `"timeout"`, `"http-401"`.
        public var code: String?
        /// When it happened.
        public var at: Date

        public init(message: String, code: String? = nil, at: Date) {
            self.message = message
            self.code = code
            self.at = at
        }
    }

    /// A deleted scan-group member's chunked snapshot that another member adopted.
    public struct AdoptedSnapshot: Codable, Sendable, Hashable {
        public var subscriptionId: String
        public var snapshot: ChunkedSnapshot

        public init(subscriptionId: String, snapshot: ChunkedSnapshot) {
            self.subscriptionId = subscriptionId
            self.snapshot = snapshot
        }
    }

    /// pull-latest-records' high-water mark: the newest record time emitted, and the ids of
    /// the records at exactly that time (so equal timestamps are neither lost nor repeated).
    public struct HighWaterMark: Codable, Sendable, Hashable {
        /// Epoch milliseconds.
        public var timestamp: Int64
        public var ids: [String]

        public init(timestamp: Int64, ids: [String]) {
            self.timestamp = timestamp
            self.ids = ids
        }
    }

    /// What the last pull did, for people watching a subscription (admin API, logs).
    public struct LastPull: Codable, Sendable, Hashable {
        public var startedAt: Date
        public var finishedAt: Date?
        /// Pages fetched.
        public var pages: Int
        /// Records read.
        public var records: Int
        /// Events emitted.
        public var events: Int
        /// Why it failed, when it did; records it skipped, when it skipped some.
        public var error: String?
        /// A full scan shared by a scan group: the subscription whose scan served this one.
        public var scannedBy: String?

        public init(startedAt: Date, finishedAt: Date? = nil, pages: Int = 0, records: Int = 0, events: Int = 0, error: String? = nil) {
            self.startedAt = startedAt
            self.finishedAt = finishedAt
            self.pages = pages
            self.records = records
            self.events = events
            self.error = error
        }
    }

    /// Progress of the pull strategies (`pull-latest-records`, `custom-pull`, `full-scan`),
    /// kept by the handler apart from the connector's own ``SubscriptionRecord/state``.
    public struct PullState: Codable, Sendable, Hashable {
        /// pull-latest-records: the cursor of the next page when the last run stopped at its
        /// page limit (the next run continues there), else `nil`.
        public var cursor: String?
        /// pull-latest-records: the high-water mark.
        public var mark: HighWaterMark?
        /// pull-latest-records: the mark an interrupted run reaches once it is through.
        public var resumeMark: HighWaterMark?
        /// Pulls failed in a row (the next one backs off); `nil` after a success.
        public var failures: Int?
        /// The last pull's progress and outcome.
        public var lastPull: LastPull?
        /// full-scan: the last scan's snapshot, record id → 16 hex digits of the record's
        /// digest without its ignored fields, when it fits on the record (up to 90 % of
        /// message.max.bytes, about 25,000 records at 1 MB); a larger one is in chunks on
        /// `scan-snapshots` (``snapshotDigest``, ``snapshotChunks``).
        public var snapshot: [String: String]?
        /// When the last pull finished.
        public var lastPulledAt: Date?
        /// When the last full scan finished.
        public var lastFullSyncAt: Date?
        /// full-scan: 16 hex digits naming the last scan's snapshot (``ScanSnapshotChunk``'s
        /// `snapshot`).
        public var snapshotDigest: String?
        /// full-scan: how many chunks of the snapshot are on `scan-snapshots`; `nil` when the
        /// snapshot is on the record.
        public var snapshotChunks: Int?
        /// full-scan: the offset on its `scan-snapshots` partition from which the chunks were
        /// written (they are read back from there, not from the partition's start).
        public var snapshotOffset: Int64?
        /// full-scan: the chunked snapshot the last scan replaced; its chunks get tombstones at
        /// the next pull, once the record naming the new one is durable.
        public var replacedSnapshot: ChunkedSnapshot?
        /// full-scan shared by a scan group (the leader's): the members its scans have served.
        /// A receiving member not among them is new to the group: its first scan is only its
        /// baseline (or, asked for, its backfill), as a subscription's first scan alone is.
        public var servedMembers: [String]?
        /// full-scan: a deleted member's chunked snapshot this one continued from; its chunks
        /// get tombstones at the next pull, once the record naming this one's is durable.
        public var adoptedSnapshot: AdoptedSnapshot?

        public init(
            cursor: String? = nil,
            lastPulledAt: Date? = nil,
            lastFullSyncAt: Date? = nil,
            snapshotDigest: String? = nil,
            snapshotChunks: Int? = nil
        ) {
            self.cursor = cursor
            self.lastPulledAt = lastPulledAt
            self.lastFullSyncAt = lastFullSyncAt
            self.snapshotDigest = snapshotDigest
            self.snapshotChunks = snapshotChunks
        }
    }

    /// A full-scan snapshot kept in chunks on `scan-snapshots`.
    public struct ChunkedSnapshot: Codable, Sendable, Hashable {
        public var digest: String
        public var chunks: Int

        public init(digest: String, chunks: Int) {
            self.digest = digest
            self.chunks = chunks
        }
    }

    /// The subscription id (also the Kafka key).
    public var id: String
    /// Lifecycle state.
    public var status: Status
    /// The connection (credentials) the subscription uses.
    public var connectionId: String
    /// The customer (tenant) the subscription belongs to (the original's `userId`).
    public var customerId: String
    /// The connector, e.g. `"github"`.
    public var connectorKey: String
    /// The event, collection event or app event subscribed to.
    public var target: SubscriptionTarget
    /// Configuration, including `parameters`.
    public var config: Config
    /// The connector's state as returned by `subscribe` / `refresh` / `handle` / `pull`, in
    /// clear text: as a method left it (until the record is written), or as versions before
    /// sealed records (or `INLET_RECORD_SEALING=compatible`) wrote it. Read it with
    /// ``openedState(_:)``; setting it drops ``sealedState``.
    public var state: JSONValue? {
        didSet { sealedState = nil }
    }
    /// The connector's state, sealed and bound to this subscription (it often holds a secret,
    /// such as a webhook's signing secret).
    public var sealedState: EncryptedCredentials?

    /// Whether it has connector state, in either form.
    public var hasState: Bool { state != nil || sealedState != nil }

    /// The connector's state, opened when sealed.
    public func openedState(_ vault: CredentialVault) throws -> JSONValue? {
        try openedState(open: vault.open(_:for:))
    }

    /// The state, opened by `open` when sealed.
    public func openedState(open: SealedValueOpener) throws -> JSONValue? {
        if let state { return state }
        return try sealedState.map { try open($0, .subscriptionState(subscriptionId: id)) }
    }

    /// This record as it goes onto the `subscriptions` topic: its state sealed (or, with
    /// `vault.sealsRecords` off, in clear text), and sealed again when it was sealed with an
    /// older key of the ring or before bindings.
    public func forTopic(_ vault: CredentialVault) throws -> SubscriptionRecord {
        var copy = self
        if vault.sealsRecords {
            if let state {
                let sealed = try vault.seal(state, for: .subscriptionState(subscriptionId: id))
                copy.state = nil
                copy.sealedState = sealed
            } else if let sealedState, vault.needsResealing(sealedState),
                let opened = try? vault.open(sealedState, for: .subscriptionState(subscriptionId: id))
            {
                copy.sealedState = try vault.seal(opened, for: .subscriptionState(subscriptionId: id))
            }
        } else if state == nil, let sealedState, let opened = try? vault.open(sealedState, for: .subscriptionState(subscriptionId: id)) {
            copy.state = opened
        }
        // A sealed value that does not open here (its key left the ring, or it was copied from
        // another record) stays as it is: the subscription's next method call reports it, and
        // writing the record must not fail the batch of every subscription in the partition.
        if let sealedParameters = config.sealedParameters, let opened = try? config.openedParameters(vault, subscriptionId: id) {
            if !vault.sealsRecords {
                copy.config.parameters = opened
                copy.config.sealedParameters = nil
            } else if vault.needsResealing(sealedParameters) {
                copy.config.sealedParameters = try vault.seal(opened, for: .subscriptionParameters(subscriptionId: id))
            }
        }
        return copy
    }
    /// The unguessable secret in the subscription's webhook URL (never the subscription id,
    /// which appears in logs and keys). Empty for a subscription that receives no webhooks of
    /// its own (a pull, a global-webhook event): no URL is minted for it.
    public var webhookToken: String
    /// The full webhook URL given to `subscribe` as `webhookUri`.
    public var webhookUri: String?
    /// For global-webhook events: the global webhook this subscription listens on.
    public var globalWebhookKey: String?
    /// For global-webhook events: the selector a global webhook event must equal (exact
    /// string match) to reach this subscription.
    public var globalWebhookEventSelector: String?
    /// When to run `refresh` next, in epoch milliseconds (as the connector returned it).
    public var nextRefreshTimestamp: Int64?
    /// When to pull events next, in epoch milliseconds.
    public var nextPullEventsTimestamp: Int64?
    /// Interval between pulls of updates, in seconds.
    public var pullUpdatesIntervalSeconds: Int?
    /// Interval between full scans, in seconds.
    public var fullSyncIntervalSeconds: Int?
    /// The last failure, while ``status`` is ``Status/error``.
    public var error: ErrorInfo?
    /// Pull strategy progress (cursor, snapshot digest).
    public var pullState: PullState?
    /// When the subscription was created.
    public var createdAt: Date
    /// When this record was last written.
    public var updatedAt: Date
    /// When the subscription was archived.
    public var archivedAt: Date?
    /// When its handler last handled an input of it (a webhook, a routed global event, a
    /// pull); `nil` before the first (and on records of earlier versions).
    public var lastActivityAt: Date?
    /// Record events its handler made from its inputs, before the dispatcher drops repeats
    /// (a shared full scan's events count on the member that scanned).
    public var eventCount: Int?
    /// The last input offset applied to this subscription, per input partition: key
    /// `"<topic>:<partition>"` (e.g. `"inlet.ingress:3"`), value the offset. The handler
    /// skips an input at or below it, so a replay never applies state twice.
    public var appliedOffsets: [String: Int64]

    public init(
        id: String,
        status: Status,
        connectionId: String,
        customerId: String,
        connectorKey: String,
        target: SubscriptionTarget,
        config: Config = Config(),
        state: JSONValue? = nil,
        webhookToken: String,
        webhookUri: String? = nil,
        globalWebhookKey: String? = nil,
        globalWebhookEventSelector: String? = nil,
        nextRefreshTimestamp: Int64? = nil,
        nextPullEventsTimestamp: Int64? = nil,
        pullUpdatesIntervalSeconds: Int? = nil,
        fullSyncIntervalSeconds: Int? = nil,
        error: ErrorInfo? = nil,
        pullState: PullState? = nil,
        createdAt: Date,
        updatedAt: Date,
        archivedAt: Date? = nil,
        appliedOffsets: [String: Int64] = [:]
    ) {
        self.id = id
        self.status = status
        self.connectionId = connectionId
        self.customerId = customerId
        self.connectorKey = connectorKey
        self.target = target
        self.config = config
        self.state = state
        self.webhookToken = webhookToken
        self.webhookUri = webhookUri
        self.globalWebhookKey = globalWebhookKey
        self.globalWebhookEventSelector = globalWebhookEventSelector
        self.nextRefreshTimestamp = nextRefreshTimestamp
        self.nextPullEventsTimestamp = nextPullEventsTimestamp
        self.pullUpdatesIntervalSeconds = pullUpdatesIntervalSeconds
        self.fullSyncIntervalSeconds = fullSyncIntervalSeconds
        self.error = error
        self.pullState = pullState
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.archivedAt = archivedAt
        self.appliedOffsets = appliedOffsets
    }

    public static let topics = ["subscriptions"]
    public static let schemaFile = "subscription-record.schema.json"

    public var kafkaKey: String? { id }

    // MARK: Applied offsets

    /// The `appliedOffsets` key for an input partition: `"<topic>:<partition>"`.
    public static func appliedOffsetKey(topic: String, partition: Int) -> String {
        "\(topic):\(partition)"
    }

    /// The last applied offset of `topic`/`partition`, if any.
    public func appliedOffset(topic: String, partition: Int) -> Int64? {
        appliedOffsets[Self.appliedOffsetKey(topic: topic, partition: partition)]
    }

    /// Whether the input at `offset` was already applied (it is at or below the recorded
    /// offset), so the handler must skip it.
    public func hasApplied(topic: String, partition: Int, offset: Int64) -> Bool {
        guard let applied = appliedOffset(topic: topic, partition: partition) else { return false }
        return offset <= applied
    }

    /// Records that the input at `offset` was applied (never moves an offset backwards).
    public mutating func markApplied(topic: String, partition: Int, offset: Int64) {
        let key = Self.appliedOffsetKey(topic: topic, partition: partition)
        appliedOffsets[key] = max(appliedOffsets[key] ?? offset, offset)
    }

    /// Whether the routed global event from `source` (a position on `ingress.global` and an
    /// event index) was applied. A subscription's routed events all come from one
    /// `ingress.global` partition (its global webhook's) in order, so the last applied
    /// (offset, index) is a sufficient mark: a copy routed again after a crash is recognised
    /// even though it sits at a new offset of `ingress`.
    public func hasApplied(globalSource source: RecordEvent.Source) -> Bool {
        guard let offset = appliedOffset(topic: source.topic, partition: source.partition) else { return false }
        let index = appliedOffsets[Self.appliedIndexKey(topic: source.topic, partition: source.partition)] ?? Int64.max
        return source.offset < offset || (source.offset == offset && Int64(source.index) <= index)
    }

    /// Records that the routed global event from `source` was applied.
    public mutating func markApplied(globalSource source: RecordEvent.Source) {
        guard !hasApplied(globalSource: source) else { return }
        appliedOffsets[Self.appliedOffsetKey(topic: source.topic, partition: source.partition)] = source.offset
        appliedOffsets[Self.appliedIndexKey(topic: source.topic, partition: source.partition)] = Int64(source.index)
    }

    /// The `appliedOffsets` key of the event index within the last applied global request.
    static func appliedIndexKey(topic: String, partition: Int) -> String {
        "\(topic)#index:\(partition)"
    }

    // MARK: Compacted topic

    /// The record value that deletes a subscription from the compacted topic: `nil` (a Kafka
    /// tombstone), produced with the subscription id as key.
    public static let tombstoneValue: Data? = nil

    /// Reads a `subscriptions` record value: `nil` for a tombstone (the subscription was
    /// deleted), otherwise the decoded record.
    public static func tableEntry(from value: Data?) throws(MessageCodecError) -> SubscriptionRecord? {
        guard let value, !MessageCodec.isTombstone(value) else { return nil }
        return try decoded(from: value)
    }

    /// Whether the handler should treat the subscription as live (not archived).
    public var isLive: Bool { status != .archived }

    /// The id of the subscription that `connectionId`, `target` and `parameters` ask for: the
    /// same request gives the same id on every replica, so two identical requests (a client's
    /// retry, two replicas at once) name one subscription and register one external hook.
    /// Parameters compare as canonical JSON (sorted keys), so key order does not matter.
    public static func id(connectionId: String, target: SubscriptionTarget, parameters: JSONValue) -> String {
        id(connectionId: connectionId, target: target, config: Config(parameters: parameters), pullUpdatesIntervalSeconds: nil, fullSyncIntervalSeconds: nil)
    }

    /// The id as above, where everything else the request sets (ignored fields, backfill,
    /// intervals) also counts: a request that differs in any of them is another subscription,
    /// not silently answered with the first one's settings.
    public static func id(connectionId: String, target: SubscriptionTarget, config: Config, pullUpdatesIntervalSeconds: Int?, fullSyncIntervalSeconds: Int?) -> String {
        var parts = ["subscription", connectionId, target.kind.rawValue, target.key, target.collectionEvent?.rawValue ?? "", config.parameters.jsonText]
        // Only what is set joins the id, so ids of requests without these settings stay as before.
        var extra: [String] = []
        if let ignored = config.ignoredFields, !ignored.isEmpty { extra.append("ignoredFields=" + ignored.joined(separator: ",")) }
        if config.backfill == true { extra.append("backfill") }
        if let seconds = pullUpdatesIntervalSeconds { extra.append("pullUpdatesIntervalSeconds=\(seconds)") }
        if let seconds = fullSyncIntervalSeconds { extra.append("fullSyncIntervalSeconds=\(seconds)") }
        parts += extra
        return "sub_" + MessageDigest.id(parts).prefix(24)
    }

    /// Records that an input was handled now, making `events` record events.
    mutating func noteActivity(events: Int) {
        lastActivityAt = Date()
        eventCount = (eventCount ?? 0) + events
    }

    /// The scan group of a full-scan subscription: what its id derives from, without the
    /// collection event, so the `created`, `updated` and `deleted` subscriptions of one request
    /// (or of separate requests alike in everything else) share it.
    public static func scanGroup(connectionId: String, collectionKey: String, config: Config, pullUpdatesIntervalSeconds: Int?, fullSyncIntervalSeconds: Int?) -> String {
        let member = id(connectionId: connectionId, target: .collection(collectionKey: collectionKey, collectionEvent: .created), config: config,
                        pullUpdatesIntervalSeconds: pullUpdatesIntervalSeconds, fullSyncIntervalSeconds: fullSyncIntervalSeconds)
        return "scan_" + member.dropFirst("sub_".count)
    }

    /// The encoded size of this record with `pullState` replaced by `progress`.
    func encodedSize(with progress: PullState) -> Int {
        var copy = self
        copy.pullState = progress
        return copy.encoded().count
    }

    /// Whether it has a webhook URL of its own (a webhook event or collection event).
    public var receivesWebhooks: Bool { !webhookToken.isEmpty }

    /// Whether its webhooks are handled: `active`, or `degraded` (retrying after transient
    /// API failures).
    public var isReceiving: Bool { status == .active || status == .degraded }

    private enum CodingKeys: String, CodingKey {
        case id, status, connectionId, customerId, connectorKey, target, config, state, sealedState
        case webhookToken, webhookUri, globalWebhookKey, globalWebhookEventSelector
        case nextRefreshTimestamp, nextPullEventsTimestamp, pullUpdatesIntervalSeconds, fullSyncIntervalSeconds
        case error, pullState, createdAt, updatedAt, archivedAt, appliedOffsets, lastActivityAt, eventCount
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        status = try c.decode(Status.self, forKey: .status)
        connectionId = try c.decode(String.self, forKey: .connectionId)
        customerId = try c.decode(String.self, forKey: .customerId)
        connectorKey = try c.decode(String.self, forKey: .connectorKey)
        target = try c.decode(SubscriptionTarget.self, forKey: .target)
        config = try c.decode(Config.self, forKey: .config)
        state = try c.decodeIfPresent(JSONValue.self, forKey: .state)
        sealedState = try c.decodeIfPresent(EncryptedCredentials.self, forKey: .sealedState)
        webhookToken = try c.decode(String.self, forKey: .webhookToken)
        webhookUri = try c.decodeIfPresent(String.self, forKey: .webhookUri)
        globalWebhookKey = try c.decodeIfPresent(String.self, forKey: .globalWebhookKey)
        globalWebhookEventSelector = try c.decodeIfPresent(String.self, forKey: .globalWebhookEventSelector)
        nextRefreshTimestamp = try c.decodeIfPresent(Int64.self, forKey: .nextRefreshTimestamp)
        nextPullEventsTimestamp = try c.decodeIfPresent(Int64.self, forKey: .nextPullEventsTimestamp)
        pullUpdatesIntervalSeconds = try c.decodeIfPresent(Int.self, forKey: .pullUpdatesIntervalSeconds)
        fullSyncIntervalSeconds = try c.decodeIfPresent(Int.self, forKey: .fullSyncIntervalSeconds)
        error = try c.decodeIfPresent(ErrorInfo.self, forKey: .error)
        pullState = try c.decodeIfPresent(PullState.self, forKey: .pullState)
        createdAt = try c.decode(Date.self, forKey: .createdAt)
        updatedAt = try c.decode(Date.self, forKey: .updatedAt)
        archivedAt = try c.decodeIfPresent(Date.self, forKey: .archivedAt)
        lastActivityAt = try c.decodeIfPresent(Date.self, forKey: .lastActivityAt)
        eventCount = try c.decodeIfPresent(Int.self, forKey: .eventCount)
        // Records written before offsets were tracked have none: nothing applied yet.
        appliedOffsets = try c.decodeIfPresent([String: Int64].self, forKey: .appliedOffsets) ?? [:]
    }
}
