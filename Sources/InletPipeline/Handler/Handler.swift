import Foundation
import InletConnectors
import InletKafka
import Logging
import Synchronization

/// `inlet handler`: owns the subscriptions of its assigned partitions of `ingress` and
/// `commands` (same partition numbers, range assignment) and is their single writer.
///
/// Per input: skip it if the subscription already applied it (`appliedOffsets`), run the
/// connector method (`handle` for a webhook; `subscribe`, `unsubscribe`, `refresh` for a
/// command), write the extracted events to `records` and a synchronous `response` to
/// `replies`. Changed subscriptions are written to `subscriptions` once per batch, after
/// the records are acknowledged (`finalRecords`), so an input is never marked applied before
/// its outputs are safe. Failures go to `dlq` with the input and the reason; the worker
/// carries on.
public final class Handler: StreamTransform {
    public struct Configuration: Sendable {
        public var topics: InletTopics
        /// The base of webhook URLs (`<publicURL>/webhooks/<token>`).
        public var publicURL: String
        /// After a failed refresh, when to try again.
        public var refreshRetryDelay: Duration
        /// How long an input whose method keeps failing transiently (API unreachable, 5xx,
        /// rate limited) is retried before it goes to the DLQ (`retries-exhausted`), so that
        /// one dead API cannot hold up its partition for ever.
        public var maxRetryDuration: Duration
        /// The first delay between retries of a transiently failing input; doubled each time,
        /// up to 30 s.
        public var firstRetryDelay: Duration
        /// The largest message the brokers accept (`message.max.bytes`): an input whose
        /// outputs are larger goes to the DLQ (`output-too-large`).
        public var maxMessageBytes: Int = 1_000_000
        /// The Kafka client, for reading back full-scan snapshots kept in chunks; `nil`: full
        /// scans keep their snapshot on the subscription record only.
        public var client: KafkaClientConfiguration?
        /// The embedded broker's retention, or `nil` on a real cluster (bounds chunked
        /// full-scan snapshots there).
        public var embeddedRetention: PartitionRetention?
        /// How long an archived (deleted) subscription stays on `subscriptions` before its
        /// owner removes it with a tombstone (default 30 days). Until then `GET
        /// /api/v1/subscriptions/<id>` shows it as archived, with no secret left on it.
        public var archiveRetention: Duration = Self.defaultArchiveRetention
        public static let defaultArchiveRetention = Duration.seconds(30 * 24 * 3600)
        /// How often owned subscriptions are looked at for values another key sealed (a
        /// rotation); see `takeDueReseals`.
        public var resealInterval: Duration = .seconds(30)

        public init(
            topics: InletTopics, publicURL: String, refreshRetryDelay: Duration = .seconds(60), maxRetryDuration: Duration = .seconds(15 * 60),
            firstRetryDelay: Duration = .seconds(1)
        ) {
            self.topics = topics
            self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
            self.refreshRetryDelay = refreshRetryDelay
            self.maxRetryDuration = maxRetryDuration
            self.firstRetryDelay = firstRetryDelay
        }

        func webhookURI(token: String) -> String { "\(publicURL)/webhooks/\(token)" }
    }

    struct State {
        /// Durable view of the subscriptions this handler owns.
        var owned: [String: SubscriptionRecord] = [:]
        var ownedPartitions: Set<Int32> = []
        /// Written by the batch in progress (tentative until committed).
        var pending: [String: SubscriptionRecord] = [:]
        /// Refresh commands already sent, by subscription: the timestamp they were for.
        var refreshRequested: [String: Int64] = [:]
        /// Pull commands already sent, by subscription: the timestamp they were for.
        var pullRequested: [String: Int64] = [:]
        /// Subscriptions whose inputs fail transiently: since when, how often.
        var retries: [String: (since: ContinuousClock.Instant, attempts: Int)] = [:]
        /// Expire commands already sent.
        var expireRequested: Set<String> = []
        /// Reseal commands already sent, and when owned subscriptions were last looked at.
        var resealRequested: Set<String> = []
        var lastResealScan: ContinuousClock.Instant?
        /// The last subscription asked for; the next look starts after it.
        var resealCursor: String?
        /// Removed by the batch in progress (tentative until committed).
        var expiring: Set<String> = []
        /// Removed by this handler: the table of subscriptions may not have read the
        /// tombstone yet, so it is not asked for them.
        var expired: Set<String> = []
        /// Sealed values (credentials, parameters, state) opened during this batch, by record
        /// and field, with the sealed form they came from: opening is a decryption and a JSON
        /// parse, once per input otherwise. Dropped when the batch ends, so opened secrets do
        /// not outlive it.
        var opened: [SealBinding: (sealed: EncryptedCredentials, value: JSONValue)] = [:]
    }

    let configuration: Configuration
    let runtime: ConnectorRuntime
    let subscriptions: SubscriptionDirectory
    private let connections: ConnectionDirectory
    let vault: CredentialVault
    private let connectorParameters: ConnectorParametersDirectory?
    let logger: Logger
    let state = Mutex(State())
    /// Whether `state.retries` holds any entry, read without the lock: a succeeding input
    /// (nearly every one) has no retries to forget. Only an input's own lane adds its key.
    private let hasRetries = Atomic<Bool>(false)
    /// The partition numbers of `ingress` and `commands` assigned to this handler now.
    var assignedPartitions: Set<Int32> { state.withLock { $0.ownedPartitions } }
    /// Writes a `pending` subscription (with its webhook token) before `subscribe` runs, so
    /// ingress already knows the URL when the external app calls it during `subscribe`.
    private let announcePending: (@Sendable (SubscriptionRecord) async throws -> Void)?
    /// Refreshes expired credentials once across replicas and stores them; `nil` without a
    /// way to write `connections` (methods then refresh in this process only). Its own loop
    /// (``CredentialRefreshes/run(consumer:)``) serves the `refresh-credentials` commands.
    let credentialRefreshes: CredentialRefreshes?

    public init(
        configuration: Configuration, runtime: ConnectorRuntime, subscriptions: SubscriptionDirectory,
        connections: ConnectionDirectory, vault: CredentialVault, connectorParameters: ConnectorParametersDirectory? = nil, logger: Logger,
        announcePending: (@Sendable (SubscriptionRecord) async throws -> Void)? = nil,
        connectionWrites: (write: @Sendable (ConnectionRecord) async throws -> Void, sendCommand: @Sendable (KafkaRecord) async throws -> Void)? = nil
    ) {
        self.announcePending = announcePending
        if let connectionWrites {
            credentialRefreshes = CredentialRefreshes(
                topics: configuration.topics, runtime: runtime, connections: connections, vault: vault, connectorParameters: connectorParameters,
                writeConnection: connectionWrites.write, sendCommand: connectionWrites.sendCommand, logger: logger)
        } else {
            credentialRefreshes = nil
        }
        self.configuration = configuration
        self.runtime = runtime
        self.subscriptions = subscriptions
        self.connections = connections
        self.vault = vault
        self.connectorParameters = connectorParameters
        self.logger = logger
    }

    var topics: InletTopics { configuration.topics }

    /// Where full-scan snapshots too large for their subscription record go.
    var scanSnapshots: ScanSnapshots? {
        configuration.client.map {
            ScanSnapshots(topics: topics, client: $0, maxMessageBytes: configuration.maxMessageBytes, embeddedRetention: configuration.embeddedRetention, logger: logger)
        }
    }

    // MARK: - StreamTransform

    public func process(_ message: KafkaMessage) async throws -> [KafkaRecord] {
        let id = message.keyString ?? ""
        let before = current(id)
        let outputs = try await outputs(of: message, current: before)
        // An output Kafka would refuse (message.max.bytes) — an event, or the subscription
        // with a state grown too large — would fail the batch for ever: the input goes to the
        // DLQ instead, and the subscription keeps its previous state (only marked applied).
        // The subscription is measured only when its state (or pull progress) changed: otherwise it is the record
        // already written plus an applied offset, and encoding it for every input is waste.
        let staged = state.withLock { $0.pending[id] }.flatMap { $0.state != before?.state || $0.pullState != before?.pullState ? $0 : nil }
        let sizes = outputs.map(PartitionRetention.countedBytes(of:))
            + (try staged.map { [PartitionRetention.countedBytes(of: KafkaRecord(topic: topics.subscriptions, key: id, value: try $0.forTopic(vault).encoded()))] } ?? [])
        guard let largest = sizes.max(), largest > configuration.maxMessageBytes else { return outputs }
        if var previous = before {
            previous.markApplied(message)
            // A pull whose output is too large keeps its schedule (a minute on at least), and
            // says why it does not advance, instead of never being due again.
            if let planned = state.withLock({ $0.pending[id] })?.nextPullEventsTimestamp, planned != previous.nextPullEventsTimestamp {
                previous.nextPullEventsTimestamp = max(planned, Self.milliseconds(Date().addingTimeInterval(60)))
                previous.status = .degraded
                previous.error = .init(message: "a pull's output of \(largest) bytes exceeds message.max.bytes (\(configuration.maxMessageBytes)); it is in the DLQ and the pull does not advance until the connector returns smaller records",
                                       code: "output-too-large", at: Date())
            }
            stage(previous)
        } else {
            state.withLock { _ = $0.pending.removeValue(forKey: id) }
        }
        return [deadLetter(
            message, code: "output-too-large",
            "an output of \(largest) bytes (an event, or the subscription with its new state) exceeds message.max.bytes (\(configuration.maxMessageBytes)); make the connector return smaller records or state",
            subscription: before
        )]
    }

    /// `known` is `current(message.keyString)`, read by the caller already.
    private func outputs(of message: KafkaMessage, current known: SubscriptionRecord?) async throws -> [KafkaRecord] {
        // A raw request with an empty body (a GET handshake) may arrive without a value.
        guard let value = message.value ?? (RawRequestRecordFormat.of(message.headers) == .raw ? Data() : nil) else { return [] }
        if message.topic == topics.commands {
            do {
                return try await command(try Command.decoded(from: value), message: message)
            } catch let error as MessageCodecError {
                return [deadLetter(message, code: "decode-error", "not a command: \(error)")]
            }
        }
        if RoutedGlobalEvent.isCarried(by: message.headers) {
            do {
                return try await globalEvent(try RoutedGlobalEvent.decoded(from: value), message: message)
            } catch let error as MessageCodecError {
                return [deadLetter(message, code: "decode-error", "not a routed global event: \(error)")]
            }
        }
        let request: RawRequest
        do {
            request = try RawRequest.decoded(from: message)
        } catch {
            return [deadLetter(message, code: "decode-error", "not a raw request: \(error)")]
        }
        return Reply.ensured(in: try await webhook(request, message: message, current: known), for: request, topic: topics.replies)
    }

    /// Commands (subscribe, unsubscribe, refresh) call the external API: each is committed
    /// on its own, so a failure later in a batch cannot run it again.
    public func isolates(_ message: KafkaMessage) -> Bool {
        message.topic == topics.commands
    }

    public func finalRecords() async throws -> [KafkaRecord] {
        // State is sealed on the way out (SubscriptionRecord.forTopic); in memory it stays as
        // the methods left it.
        try state.withLock { $0.pending }.values.sorted { $0.id < $1.id }.map { record in
            KafkaRecord(topic: topics.subscriptions, key: record.id, value: try record.forTopic(vault).encoded())
        }
    }

    public func batchCommitted() async {
        state.withLock { state in
            for (id, record) in state.pending { state.owned[id] = record }
            for id in state.expiring where state.pending[id] == nil {
                state.owned.removeValue(forKey: id)
                state.expired.insert(id)
            }
            for id in state.pending.keys { state.expired.remove(id) }
            state.pending.removeAll()
            state.expiring.removeAll()
            state.opened.removeAll()
        }
    }

    public func batchAborted() async {
        state.withLock { state in
            state.pending.removeAll()
            state.expiring.removeAll()
            state.opened.removeAll()
        }
    }

    public func partitionsAssigned(_ partitions: [TopicPartition]) async throws {
        // Read the previous owner's last writes before acting for these subscriptions.
        try await subscriptions.sync()
        try await connections.sync()
        try await connectorParameters?.sync()
        let assigned = Set(partitions.filter { $0.topic == topics.ingress || $0.topic == topics.commands }.map(\.partition))
        let partitionCount = topics.partitions
        let adopted = subscriptions.all().filter { assigned.contains(KafkaPartitioner.partition(forKey: $0.id, partitions: partitionCount)) }
        state.withLock { state in
            state.ownedPartitions.formUnion(assigned)
            for record in adopted { state.owned[record.id] = record }
        }
        logger.info("handler: owns \(adopted.count) subscriptions after assignment of partitions \(assigned.sorted())")
    }

    public func partitionsRevoked(_ partitions: [TopicPartition]) async {
        let revoked = Set(partitions.map(\.partition))
        let partitionCount = topics.partitions
        state.withLock { state in
            state.ownedPartitions.subtract(revoked)
            state.owned = state.owned.filter { !revoked.contains(KafkaPartitioner.partition(forKey: $0.key, partitions: partitionCount)) }
            state.refreshRequested = state.refreshRequested.filter { state.owned[$0.key] != nil }
            state.pullRequested = state.pullRequested.filter { state.owned[$0.key] != nil }
            state.retries = state.retries.filter { state.owned[$0.key] != nil }
            hasRetries.store(!state.retries.isEmpty, ordering: .releasing)
            state.expireRequested = state.expireRequested.filter { state.owned[$0] != nil }
            state.resealRequested = state.resealRequested.filter { state.owned[$0] != nil }
            state.expired = state.expired.filter { !revoked.contains(KafkaPartitioner.partition(forKey: $0, partitions: partitionCount)) }
        }
    }

    // MARK: - Refresh timers

    /// The refresh command for `id` could not be sent: ask for it again on the next check.
    public func refreshRequestFailed(_ id: String) {
        state.withLock { _ = $0.refreshRequested.removeValue(forKey: id) }
    }

    /// Owned active subscriptions whose `nextRefreshTimestamp` is due and for which no refresh
    /// was requested yet; marks them requested.
    public func takeDueRefreshes(now: Date = Date()) -> [(id: String, dueAt: Int64)] {
        let nowMilliseconds = Int64(now.timeIntervalSince1970 * 1000)
        return state.withLock { state in
            var due: [(id: String, dueAt: Int64)] = []
            for (id, record) in state.owned where record.isReceiving {
                guard let next = record.nextRefreshTimestamp, next <= nowMilliseconds, state.refreshRequested[id] != next else { continue }
                state.refreshRequested[id] = next
                due.append((id, next))
            }
            return due.sorted { $0.id < $1.id }
        }
    }

    // MARK: - Webhooks

    private func webhook(_ request: RawRequest, message: KafkaMessage, current known: SubscriptionRecord?) async throws -> [KafkaRecord] {
        let subscriptionId = request.subscriptionId ?? message.keyString
        guard let subscriptionId, var subscription = known?.id == subscriptionId ? known : current(subscriptionId) else {
            return [deadLetter(message, code: "unknown-subscription", "no subscription '\(request.subscriptionId ?? "?")' for this webhook")]
        }
        if subscription.hasApplied(topic: message.topic, partition: Int(message.partition), offset: message.offset) { return [] }
        let unapplied = subscription
        subscription.markApplied(message)
        guard subscription.isReceiving else {
            stage(subscription)
            return [deadLetter(message, code: "subscription-inactive", "subscription \(subscription.id) is \(subscription.status.rawValue); the webhook was not handled", subscription: subscription)]
        }
        // Parses the body once, for `handle` and for the delivery id.
        let webhookRequest = request.webhookRequest
        let result: HandleResult
        switch try await runHandle(&subscription, unapplied: unapplied, message: message, { [runtime] context in
            try await runtime.handle(context, request: webhookRequest)
        }) {
        case .handled(let handled): result = handled
        case .deadLettered(let letter): return [letter]
        }
        let deliveryId = deliveryId(of: webhookRequest, subscription: subscription)
        var outputs = result.events.enumerated().map { index, event in
            recordEvent(
                event, index: index, subscription: subscription, message: message, occurredAt: request.receivedAt, requestId: request.requestId,
                deliveryId: deliveryId
            )
        }
        if request.replyExpected, let response = result.response {
            outputs.append(Reply(requestId: request.requestId, response: response).kafkaRecord(topic: topics.replies))
        }
        logger.debug("handler: webhook handled, \(result.events.count) events", metadata: [
            "request.id": "\(request.requestId)", "subscription.id": "\(subscription.id)", "connector": "\(subscription.connectorKey)",
            "kafka.partition": "\(message.partition)", "kafka.offset": "\(message.offset)",
        ])
        return outputs
    }

    // MARK: - Routed global events

    /// A payload the global handler routed here: the event's own `handle` (or the payload as
    /// the record) with the subscription's state, ids from the global request's position.
    private func globalEvent(_ event: RoutedGlobalEvent, message: KafkaMessage) async throws -> [KafkaRecord] {
        guard var subscription = current(event.subscriptionId) else {
            return [deadLetter(message, code: "unknown-subscription", "no subscription '\(event.subscriptionId)' for this global webhook event")]
        }
        if subscription.hasApplied(topic: message.topic, partition: Int(message.partition), offset: message.offset) { return [] }
        if subscription.hasApplied(globalSource: event.source) {
            // A copy routed again after the global handler crashed: applied already.
            subscription.markApplied(message)
            stage(subscription)
            return []
        }
        let unapplied = subscription
        subscription.markApplied(message)
        subscription.markApplied(globalSource: event.source)
        guard subscription.isReceiving else {
            stage(subscription)
            // Routed just before the subscription was deleted: nothing waits for it.
            if !subscription.isLive {
                logger.debug("handler: global webhook event for deleted subscription \(subscription.id) dropped")
                return []
            }
            return [deadLetter(message, code: "subscription-inactive", "subscription \(subscription.id) is \(subscription.status.rawValue); the global webhook event was not handled", subscription: subscription)]
        }
        let result: HandleResult
        switch try await runHandle(&subscription, unapplied: unapplied, message: message, { [runtime] context in
            try await runtime.handlePayload(context, payload: event.payload)
        }) {
        case .handled(let handled): result = handled
        case .deadLettered(let letter): return [letter]
        }
        return result.events.enumerated().map { index, extracted in
            recordEvent(
                extracted, index: index, subscription: subscription, message: message, occurredAt: event.receivedAt, requestId: event.requestId,
                deliveryId: event.idBasis
            )
        }
    }

    private enum HandleOutcome {
        case handled(HandleResult)
        case deadLettered(KafkaRecord)
    }

    /// Runs a `handle` for `subscription` (already marked applied): on success its state is
    /// updated and staged; a transient failure defers the input (`RetryLater`), any other
    /// failure stages the subscription and gives the input's dead letter.
    private func runHandle(
        _ subscription: inout SubscriptionRecord, unapplied: SubscriptionRecord, message: KafkaMessage,
        _ body: @Sendable (MethodContext) async throws -> HandleResult
    ) async throws -> HandleOutcome {
        let result: HandleResult
        do {
            result = try await body(try await methodContext(for: subscription))
        } catch {
            let exhausted = try deferIfTransient(error, message: message, subscription: unapplied, method: "handle")
            stage(subscription)
            return .deadLettered(deadLetter(message, code: exhausted ?? Self.code(of: error), "handle failed: \(error)", subscription: subscription))
        }
        succeeded(message, subscription: &subscription)
        if let newState = result.state { subscription.state = newState }
        subscription.noteActivity(events: result.events.count)
        stage(subscription)
        return .handled(result)
    }

    /// The sender's id of this delivery, from the event spec's `deliveryId` formula over the
    /// request's `headers`, `data` (the body as `handle` sees it; JSON whatever the content
    /// type) and `query`; `nil` when the spec has none or it yields nothing (ids then come from
    /// the input's offset).
    private func deliveryId(of request: WebhookRequest, subscription: SubscriptionRecord) -> String? {
        guard case .event(let eventKey) = subscription.target,
            let formula = runtime.workspace.connectors[subscription.connectorKey]?.events[eventKey]?.deliveryId
        else { return nil }
        do {
            return try request.deliveryId(formula)
        } catch {
            logger.warning("handler: deliveryId of \(subscription.connectorKey)/\(eventKey) failed: \(error); event ids come from the input's offset")
            return nil
        }
    }

    func recordEvent(
        _ event: ExtractedEvent, index: Int, subscription: SubscriptionRecord, message: KafkaMessage, occurredAt: Date, requestId: String?,
        deliveryId: String?
    ) -> KafkaRecord {
        let record = RecordEvent(
            id: deliveryId.map {
                RecordEvent.deterministicId(subscriptionId: subscription.id, deliveryId: $0, index: index, recordId: RecordEvent.recordId(of: event.record) ?? "")
            },
            subscriptionId: subscription.id, customerId: subscription.customerId, connectorKey: subscription.connectorKey,
            target: subscription.target, type: event.type.flatMap(RecordChangeType.init(rawValue:)), record: event.record,
            source: .init(topic: message.topic, partition: Int(message.partition), offset: message.offset, index: index),
            occurredAt: occurredAt, requestId: requestId
        )
        return KafkaRecord(topic: topics.records, key: subscription.id, value: record.encoded())
    }

    // MARK: - Commands

    private func command(_ command: Command, message: KafkaMessage) async throws -> [KafkaRecord] {
        if let existing = current(command.subscriptionId),
            existing.hasApplied(topic: message.topic, partition: Int(message.partition), offset: message.offset)
        {
            return []
        }
        switch command.type {
        case .subscribe: return try await subscribe(command, message: message)
        case .unsubscribe: return try await unsubscribe(command, message: message)
        case .refresh: return try await refresh(command, message: message)
        case .pull: return try await pull(command, message: message)
        case .expire: return expire(command, message: message)
        case .reseal: return reseal(command, message: message)
        case .refreshCredentials:
            // For the credential refresher's own consumer group (``CredentialRefreshes``), which
            // no deferred input of this loop holds up.
            return []
        }
    }

    private func subscribe(_ command: Command, message: KafkaMessage) async throws -> [KafkaRecord] {
        guard let new = command.subscription else {
            return [deadLetter(message, code: "malformed-command", "a subscribe command must carry the subscription to create")]
        }
        // The id derives from the request (``SubscriptionRecord/id(connectionId:target:parameters:)``):
        // a live subscription with it is the same request sent twice (two replicas, a client's
        // retry), which must not register a second hook. One in error or archived is subscribed
        // anew; a `pending` one is this command's own announcement from a run that did not finish.
        if var existing = current(command.subscriptionId), existing.isLive, existing.status != .pending, existing.status != .error {
            existing.markApplied(message)
            stage(existing)
            logger.info("handler: subscription \(existing.id) already exists (\(existing.status.rawValue)); the identical request changes nothing")
            return []
        }
        let now = Date()
        var subscription = SubscriptionRecord(
            id: command.subscriptionId, status: .pending, connectionId: new.connectionId, customerId: new.customerId,
            connectorKey: new.connectorKey, target: new.target, config: new.config, webhookToken: new.webhookToken,
            webhookUri: new.webhookToken.isEmpty ? nil : configuration.webhookURI(token: new.webhookToken),
            pullUpdatesIntervalSeconds: new.pullUpdatesIntervalSeconds, fullSyncIntervalSeconds: new.fullSyncIntervalSeconds,
            createdAt: now, updatedAt: now
        )
        let pending = subscription
        subscription.markApplied(message)
        do {
            let context = try await methodContext(for: subscription)
            switch try subscribeStrategy(for: subscription) {
            case .webhook, .customPull:
                // Not marked applied: if this handler dies now, the command runs again.
                try await announcePending?(pending)
                let result = try await runtime.subscribe(context, webhookUri: subscription.webhookUri)
                subscription.state = result.state
                subscription.nextRefreshTimestamp = result.nextRefreshTimestamp
            case .globalWebhook:
                let selector = try await runtime.eventSelector(context)
                subscription.globalWebhookKey = selector.globalWebhookKey
                subscription.globalWebhookEventSelector = selector.selector
            case .nothing:
                break
            }
            subscription.status = .active
            schedulePulls(&subscription, now: now)
        } catch {
            // Transient: the pending subscription stays as it is and subscribe runs again later.
            try deferIfTransient(error, message: message, subscription: nil, method: "subscribe")
            subscription.status = .error
            subscription.error = .init(message: "\(error)", code: Self.code(of: error).rawValue, at: Date())
            logger.warning("handler: subscribe \(subscription.id) failed: \(error)")
        }
        clearRetries(message)
        subscription.updatedAt = Date()
        stage(subscription)
        return []
    }

    private func unsubscribe(_ command: Command, message: KafkaMessage) async throws -> [KafkaRecord] {
        guard var subscription = current(command.subscriptionId) else {
            return [deadLetter(message, code: "unknown-subscription", "no subscription '\(command.subscriptionId)' to unsubscribe")]
        }
        subscription.markApplied(message)
        // An `error` subscription without state never completed subscribe: nothing to undo.
        if subscription.isReceiving || (subscription.status == .error && subscription.hasState), (try? subscribeStrategy(for: subscription)) == .webhook,
            runtime.hasMethod(owner(of: subscription), "unsubscribe", connectorKey: subscription.connectorKey)
        {
            do {
                try await runtime.unsubscribe(try await methodContext(for: subscription))
            } catch {
                // Retried while transient; the status stays as it is meanwhile.
                try deferIfTransient(error, message: message, subscription: nil, method: "unsubscribe")
                // The external hook may still be registered: never archive it silently.
                subscription.status = .error
                subscription.error = .init(
                    message: "unsubscribe failed: \(error); the hook may still be registered at the app: fix the cause and DELETE the subscription again",
                    code: Self.code(of: error).rawValue, at: Date()
                )
                subscription.updatedAt = Date()
                logger.warning("handler: unsubscribe \(subscription.id) failed: \(error)")
                stage(subscription)
                return []
            }
        }
        clearRetries(message)
        subscription.error = nil
        subscription.status = .archived
        subscription.archivedAt = Date()
        subscription.updatedAt = Date()
        subscription.nextRefreshTimestamp = nil
        // Archived, it runs no method again (subscribing anew starts from a fresh record): its
        // state and secret parameters (a hook's secret, tokens the connector kept) are dropped
        // instead of staying sealed on the table for ever. The readable parameters stay.
        subscription.state = nil
        subscription.sealedState = nil
        subscription.config.sealedParameters = nil
        // A member of a scan group leaves its snapshot to the next leader, which removes it
        // once it has made its own.
        let group = scanGroupMembers(of: subscription).filter { $0.id != subscription.id }
        let successor = group.contains { $0.isReceiving }
        var tombstones = removeScanSnapshots(of: &subscription, keepingCurrent: successor)
        // The last member to go removes what deleted members left for a successor that never came.
        if !successor, let store = scanSnapshots {
            for member in group where member.status == .archived {
                if let chunks = member.pullState?.snapshotChunks, let digest = member.pullState?.snapshotDigest {
                    tombstones += store.tombstones(of: .init(digest: digest, chunks: chunks), subscriptionId: member.id)
                }
            }
        }
        stage(subscription)
        return tombstones
    }

    /// Tombstones for every chunk of an archived full-scan subscription's snapshots, which
    /// it no longer names (but the current one when `keepingCurrent`).
    private func removeScanSnapshots(of subscription: inout SubscriptionRecord, keepingCurrent: Bool) -> [KafkaRecord] {
        guard var progress = subscription.pullState, let store = scanSnapshots else { return [] }
        var chunked = progress.replacedSnapshot.map { [$0] } ?? []
        if !keepingCurrent, let chunks = progress.snapshotChunks, let digest = progress.snapshotDigest { chunked.append(.init(digest: digest, chunks: chunks)) }
        let adopted = progress.adoptedSnapshot
        guard !chunked.isEmpty || adopted != nil else { return [] }
        progress.replacedSnapshot = nil
        progress.adoptedSnapshot = nil
        if !keepingCurrent {
            progress.snapshotChunks = nil
            progress.snapshotDigest = nil
            progress.snapshotOffset = nil
        }
        subscription.pullState = progress
        return chunked.flatMap { store.tombstones(of: $0, subscriptionId: subscription.id) }
            + (adopted.map { store.tombstones(of: $0.snapshot, subscriptionId: $0.subscriptionId) } ?? [])
    }

    private func refresh(_ command: Command, message: KafkaMessage) async throws -> [KafkaRecord] {
        guard var subscription = current(command.subscriptionId) else {
            return [deadLetter(message, code: "unknown-subscription", "no subscription '\(command.subscriptionId)' to refresh")]
        }
        subscription.markApplied(message)
        // A scheduled refresh sent twice (a new owner after a rebalance) runs once: the first
        // run moved `nextRefreshTimestamp` past the time the second was issued for.
        if let dueAt = command.dueAt, dueAt != (subscription.nextRefreshTimestamp ?? 0) {
            stage(subscription)
            return []
        }
        guard subscription.isReceiving, runtime.hasMethod(owner(of: subscription), "refresh", connectorKey: subscription.connectorKey) else {
            subscription.nextRefreshTimestamp = nil
            stage(subscription)
            return []
        }
        do {
            let result = try await runtime.refresh(try await methodContext(for: subscription), webhookUri: subscription.webhookUri)
            if let newState = result.state { subscription.state = newState }
            subscription.nextRefreshTimestamp = result.nextRefreshTimestamp
            subscription.error = nil
            subscription.status = .active
        } catch {
            if Task.isCancelled { throw CancellationError() }
            if (error as? ConnectorMethodError)?.isTransient == true { subscription.status = .degraded }
            let retry = Date().addingTimeInterval(Double(configuration.refreshRetryDelay.components.seconds))
            subscription.nextRefreshTimestamp = Int64(retry.timeIntervalSince1970 * 1000)
            subscription.error = .init(message: "refresh failed: \(error)", code: Self.code(of: error).rawValue, at: Date())
            logger.warning("handler: refresh \(subscription.id) failed, retrying at \(retry): \(error)")
        }
        subscription.updatedAt = Date()
        stage(subscription)
        return []
    }

    // MARK: - Transient failures

    /// For a transient failure (API unreachable, 5xx, rate limited, or shutdown), throws: on
    /// shutdown `CancellationError` (the input is read again by the next owner), otherwise
    /// `RetryLater` with a growing delay, after staging `subscription` (when given) as
    /// `degraded` with the reason. Returns `nil` for permanent failures, and
    /// `.retriesExhausted` once the input has been retried for `maxRetryDuration` (it then
    /// goes to the DLQ with that code).
    @discardableResult
    private func deferIfTransient(_ error: any Error, message: KafkaMessage, subscription: SubscriptionRecord?, method: String) throws -> DeadLetter.Code? {
        try Self.rethrowCancellation(error)
        // A broker hiccup (reading a just-created connection, announcing a subscription) is
        // nobody's input's fault: the batch fails and is retried through the loop.
        if let kafka = error as? KafkaError { throw kafka }
        guard let failure = error as? ConnectorMethodError, failure.isTransient else { return nil }
        // Per subscription: once its API has failed for `maxRetryDuration`, each further input
        // of it is tried once and goes to the DLQ at once if it fails again, so one dead API
        // cannot hold up its partition input after input; a success closes the breaker.
        let key = message.keyString ?? Self.retryKey(message)
        let now = ContinuousClock.now
        let attempts = state.withLock { state -> Int? in
            let entry = state.retries[key] ?? (now, 0)
            guard now - entry.since < configuration.maxRetryDuration else { return nil }
            state.retries[key] = (entry.since, entry.attempts + 1)
            hasRetries.store(true, ordering: .releasing)
            return entry.attempts + 1
        }
        guard let attempts else {
            logger.error("handler: \(method) of subscription \(key) has failed transiently for over \(configuration.maxRetryDuration); sending the input to the DLQ: \(failure)")
            return .retriesExhausted
        }
        if var subscription {
            subscription.status = .degraded
            subscription.error = .init(message: "\(method) failed, retrying (attempt \(attempts)): \(failure)", code: failure.code, at: Date())
            subscription.updatedAt = Date()
            stage(subscription)
        }
        let delay = min(configuration.firstRetryDelay * (1 << min(attempts - 1, 5)), .seconds(30))
        logger.warning("handler: \(method) failed transiently for \(key) (attempt \(attempts)), retrying in \(delay): \(failure)")
        throw RetryLater(after: delay, reason: "\(method) failed transiently: \(failure)")
    }

    /// The input went through: forget its retries, and a degraded subscription is active again.
    private func succeeded(_ message: KafkaMessage, subscription: inout SubscriptionRecord) {
        clearRetries(message)
        if subscription.status == .degraded {
            subscription.status = .active
            subscription.error = nil
            subscription.updatedAt = Date()
        }
    }

    private func clearRetries(_ message: KafkaMessage) {
        guard hasRetries.load(ordering: .acquiring) else { return }
        state.withLock { state in
            _ = state.retries.removeValue(forKey: message.keyString ?? Self.retryKey(message))
            hasRetries.store(!state.retries.isEmpty, ordering: .releasing)
        }
    }

    private static func retryKey(_ message: KafkaMessage) -> String { "\(message.topic)/\(message.partition)/\(message.offset)" }

    // MARK: - Helpers

    /// What subscribing does: register a webhook (`subscribe` with `webhookUri`), make a custom
    /// pull's first state (`subscribe` with only `parameters`), match a global webhook's
    /// selector, or nothing (pull-latest-records, full scan, app events).
    private enum SubscribeStrategy { case webhook, customPull, globalWebhook, nothing }

    private func subscribeStrategy(for subscription: SubscriptionRecord) throws -> SubscribeStrategy {
        switch subscription.target {
        case .event(let eventKey):
            guard let spec = runtime.workspace.connectors[subscription.connectorKey]?.events[eventKey] else {
                throw ConnectorMethodError(code: "method-not-found", message: "event \(subscription.connectorKey)/\(eventKey) is not in the workspace", file: "")
            }
            return spec.implementationType == .webhook ? .webhook : .globalWebhook
        case .collection(let collectionKey, let change):
            let collection = runtime.workspace.connectors[subscription.connectorKey]?.dataCollections[collectionKey]
            guard let event = collection?.events[DataCollection.EventType(rawValue: change.rawValue) ?? .created] else {
                throw ConnectorMethodError(code: "method-not-found", message: "collection event \(collectionKey)/\(change.rawValue) is not in the workspace", file: "")
            }
            switch event.implementationType {
            case .webhook: return .webhook
            case .customPull: return .customPull
            case .pullLatestRecords, .fullScan: return .nothing
            }
        case .appEvent:
            return .nothing
        }
    }

    func owner(of subscription: SubscriptionRecord) -> MethodOwner {
        subscription.target.methodOwner ?? .event(subscription.target.key)
    }

    func methodContext(for subscription: SubscriptionRecord) async throws -> MethodContext {
        if connections[subscription.connectionId] == nil {
            // Created just before the subscription: wait until this process has read it.
            try await connections.sync()
        }
        guard let connection = connections[subscription.connectionId] else {
            throw ConnectorMethodError(code: "unknown-connection", message: "connection \(subscription.connectionId) does not exist (deleted?)", file: "")
        }
        var context = try subscription.methodContext(
            connection: connection, credentials: openedOncePerBatch(connection.credentials, .connectionCredentials(connectionId: connection.id)),
            open: openedOncePerBatch
        )
        context.connectionId = connection.id
        if let credentialRefreshes {
            let connectionId = connection.id
            let metadata = context.logMetadata
            context.refreshCredentials = { previous in
                try await credentialRefreshes.refreshed(connectionId: connectionId, previous: previous, logMetadata: metadata)
            }
        }
        if let connectorParameters {
            // The connection's own connector parameters win over the workspace's.
            context.connectorParameters = try connectorParameters.merged(context.connectorParameters, connectorKey: subscription.connectorKey)
        }
        return context
    }

    /// A sealed value of `binding`, opened once per batch (again when the sealed form changed).
    private func openedOncePerBatch(_ sealed: EncryptedCredentials, _ binding: SealBinding) throws -> JSONValue {
        if let opened = state.withLock({ $0.opened[binding] }), opened.sealed == sealed { return opened.value }
        let value = try vault.open(sealed, for: binding)
        state.withLock { $0.opened[binding] = (sealed, value) }
        return value
    }

    /// The latest version of a subscription: this batch's, else this handler's, else the table's.
    func current(_ id: String) -> SubscriptionRecord? {
        let (local, removed) = state.withLock { ($0.pending[id] ?? ($0.expiring.contains(id) ? nil : $0.owned[id]), $0.expiring.contains(id) || $0.expired.contains(id)) }
        return local ?? (removed ? nil : subscriptions[id])
    }

    /// A subscription as the `subscriptions` topic holds it (durable), without this handler's
    /// changes in progress.
    func committedSubscription(_ id: String) -> SubscriptionRecord? {
        subscriptions[id]
    }

    /// The members of a full-scan subscription's ``ScanGroup``, each in its latest version.
    func scanGroupMembers(of subscription: SubscriptionRecord) -> [SubscriptionRecord] {
        guard let group = subscription.config.scanGroup else { return [subscription] }
        let ids = subscriptions.all().filter { $0.config.scanGroup == group }.map(\.id)
            + state.withLock { state in (state.owned.values.filter { $0.config.scanGroup == group } + state.pending.values.filter { $0.config.scanGroup == group }).map(\.id) }
        return ScanGroup.members(of: subscription, among: Set(ids).compactMap { $0 == subscription.id ? nil : current($0) })
    }

    func stage(_ subscription: SubscriptionRecord) {
        state.withLock { state in
            state.pending[subscription.id] = subscription
            // Subscribed anew after it was removed: the same id (it derives from the request).
            state.expiring.remove(subscription.id)
        }
    }

    func deadLetter(_ message: KafkaMessage, code: DeadLetter.Code, _ text: String, subscription: SubscriptionRecord? = nil) -> KafkaRecord {
        logger.warning("handler: \(code): \(text)")
        let letter = DeadLetter.bounded(
            failedAt: Date(), stage: .handler, reason: .init(code: code, message: text), original: .init(message: message),
            subscriptionId: subscription?.id ?? message.keyString, connectorKey: subscription?.connectorKey
        )
        return KafkaRecord(topic: topics.dlq, key: message.key, value: letter.encoded())
    }

    /// Throws `CancellationError` when the task was cancelled or `error` says a method was:
    /// a stopping worker's input is not anybody's failure and must not be dead-lettered.
    static func rethrowCancellation(_ error: any Error) throws {
        if Task.isCancelled || error is CancellationError || (error as? ConnectorMethodError)?.code == ConnectorMethodError.cancelled {
            throw CancellationError()
        }
    }

    static func code(of error: any Error) -> DeadLetter.Code {
        if let error = error as? ConnectorMethodError { return DeadLetter.Code(rawValue: error.code) }
        if error is VaultError { return "credentials-error" }
        return "handle-error"
    }
}

extension SubscriptionRecord {
    /// Records that `message` has been applied to this subscription.
    mutating func markApplied(_ message: KafkaMessage) {
        appliedOffsets[Self.appliedOffsetKey(topic: message.topic, partition: Int(message.partition))] = message.offset
    }
}
