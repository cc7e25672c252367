import Foundation
import InletConnectors
import InletKafka

/// Data collection events by pulling (seed 004): the owner of a pull-latest-records or
/// custom-pull subscription pulls on a schedule and emits `created` / `updated` / `deleted`.
///
/// - The schedule is `nextPullEventsTimestamp` on the subscription record: the owner's timer
///   sends a `pull` command (with `dueAt`) when it comes, so the pull runs in the
///   subscription's lane, never two at once, ordered with its other inputs, and a new owner
///   after a rebalance continues the same schedule. `POST /api/v1/subscriptions/<id>/pull`
///   sends one without `dueAt`: now.
/// - What a pull vouches for (the high-water mark, the connector's new `state`) is staged on
///   the subscription and written with the batch, after its events are acknowledged (or in the
///   same transaction): a crash before that re-runs the pull from the old mark or state, and
///   the events it repeats keep their ids.
/// - A failure leaves the mark and state as they were, marks the subscription `degraded` with
///   the error, and backs off (30 s, doubling, at most the interval); the next success makes it
///   `active` again.
extension Handler {
    /// How a collection subscription gets its events by pulling.
    enum PullStrategy: String {
        case latestRecords = "pull-latest-records"
        case customPull = "custom-pull"
        case fullScan = "full-scan"
    }

    /// Pages one pull-latest-records run reads at most; the next run continues after them.
    static let maxPagesPerPull = 20
    /// Pages one full scan reads at most (it cannot resume: its snapshot is all or nothing).
    static let maxPagesPerScan = 2000
    static let defaultPullInterval = 300
    static let defaultFullSyncInterval = 3600

    func pullStrategy(for subscription: SubscriptionRecord) -> PullStrategy? {
        guard case .collection(let key, let change) = subscription.target,
            let type = DataCollection.EventType(rawValue: change.rawValue),
            let event = runtime.workspace.connectors[subscription.connectorKey]?.dataCollections[key]?.events[type]
        else { return nil }
        return switch event.implementationType {
        case .pullLatestRecords: .latestRecords
        case .customPull: .customPull
        case .fullScan: .fullScan
        case .webhook: nil
        }
    }

    /// Seconds between pulls: the subscription's own interval, else the collection's, else
    /// the default (full scans `fullSyncIntervalSeconds`, the others `pullUpdatesIntervalSeconds`).
    func pullInterval(of subscription: SubscriptionRecord, _ strategy: PullStrategy) -> Int {
        let collection = subscription.target.collectionKey.flatMap { runtime.workspace.connectors[subscription.connectorKey]?.dataCollections[$0] }
        return strategy == .fullScan
            ? subscription.fullSyncIntervalSeconds ?? collection?.fullSyncIntervalSeconds ?? Self.defaultFullSyncInterval
            : subscription.pullUpdatesIntervalSeconds ?? collection?.pullUpdatesIntervalSeconds ?? Self.defaultPullInterval
    }

    /// At subscription: pull-latest-records and full scans pull at once (the first run sets the
    /// mark or snapshot, emitting nothing); a custom pull's `subscribe` already made its state,
    /// so it pulls after one interval.
    func schedulePulls(_ subscription: inout SubscriptionRecord, now: Date) {
        guard let strategy = pullStrategy(for: subscription) else { return }
        let delay = strategy == .customPull ? Double(pullInterval(of: subscription, strategy)) : 0
        subscription.nextPullEventsTimestamp = Self.milliseconds(now.addingTimeInterval(delay))
    }

    /// Owned live subscriptions whose pull is due and not requested yet; marks them requested.
    /// A pulling subscription without a time (written before pulls were scheduled) is due now.
    public func takeDuePulls(now: Date = Date()) -> [(id: String, dueAt: Int64)] {
        let nowMilliseconds = Self.milliseconds(now)
        let candidates = state.withLock { state in
            state.owned.filter { $0.value.isReceiving && state.pullRequested[$0.key] != ($0.value.nextPullEventsTimestamp ?? 0) }
        }
        var due: [(id: String, dueAt: Int64)] = []
        for (id, record) in candidates where pullStrategy(for: record) != nil {
            let next = record.nextPullEventsTimestamp ?? 0
            guard next <= nowMilliseconds else { continue }
            due.append((id, next))
        }
        state.withLock { state in
            for (id, next) in due { state.pullRequested[id] = next }
        }
        return due.sorted { $0.id < $1.id }
    }

    /// The pull command for `id` could not be sent: ask for it again on the next check.
    public func pullRequestFailed(_ id: String) {
        state.withLock { _ = $0.pullRequested.removeValue(forKey: id) }
    }

    func pull(_ command: Command, message: KafkaMessage) async throws -> [KafkaRecord] {
        guard var subscription = current(command.subscriptionId) else {
            return [deadLetter(message, code: "unknown-subscription", "no subscription '\(command.subscriptionId)' to pull")]
        }
        subscription.markApplied(message)
        // A scheduled pull sent twice runs once: the first moved the time it was issued for.
        if let dueAt = command.dueAt, dueAt != (subscription.nextPullEventsTimestamp ?? 0) {
            stage(subscription)
            return []
        }
        guard subscription.isReceiving, let strategy = pullStrategy(for: subscription) else {
            logger.info("handler: pull of \(subscription.id) skipped: it is \(subscription.status.rawValue) or does not pull")
            stage(subscription)
            return []
        }
        let started = Date()
        var progress = subscription.pullState ?? .init()
        var report = SubscriptionRecord.LastPull(startedAt: started)
        var outputs: [KafkaRecord] = []
        var again = false
        // Why the previous full-scan snapshot could not be used, when it could not.
        var lostSnapshot: String?
        do {
            let context = try await methodContext(for: subscription)
            switch strategy {
            case .latestRecords:
                guard let change = subscription.target.collectionEvent else { break }
                let run = LatestRecordsPull(change: change, maxPages: Self.maxPagesPerPull, backfill: subscription.config.backfill == true)
                let resume = progress.cursor.flatMap { cursor in progress.resumeMark.map { LatestRecordsPull.Resume(cursor: cursor, mark: $0) } }
                let outcome = try await run.run(mark: progress.mark, resume: resume) { cursor in
                    try await runtime.pullLatestRecords(context, cursor: cursor)
                }
                // Ids from the record and its time: a re-run after a crash, or a record listed
                // again, repeats the id and the dispatcher drops the repeat.
                outputs = outcome.events.map { found in
                    recordEvent(ExtractedEvent(type: change.rawValue, record: found.record), index: 0, subscription: subscription, message: message,
                                occurredAt: started, requestId: nil, deliveryId: "latest:\(change.rawValue):\(found.timestamp)")
                }
                progress.mark = outcome.mark
                progress.cursor = outcome.resume?.cursor
                progress.resumeMark = outcome.resume?.mark
                again = outcome.resume != nil
                report.pages = outcome.pages
                report.records = outcome.records
                if !outcome.skipped.isEmpty {
                    report.error = "skipped \(outcome.skipped.count) records: " + outcome.skipped.prefix(5).joined(separator: "; ")
                    logger.warning("handler: pull of \(subscription.id) skipped \(outcome.skipped.count) records: \(outcome.skipped.prefix(5))")
                }
            case .customPull:
                let result = try await runtime.pull(context)
                // Ids from this command's position, the index and the record id: a re-run after a
                // crash repeats them, and a shifted list cannot give a new record a used id.
                let run = "pull:\(message.topic):\(message.partition):\(message.offset)"
                outputs = result.events.enumerated().map { index, event in
                    recordEvent(event, index: index, subscription: subscription, message: message, occurredAt: started, requestId: nil, deliveryId: run)
                }
                if let newState = result.state { subscription.state = newState }
                report.pages = 1
                report.records = result.events.count
            case .fullScan:
                guard subscription.target.collectionEvent != nil, let key = subscription.target.collectionKey else { break }
                // One scan serves the live members of the subscription's scan group; another
                // member's pull only says which one.
                let members = scanGroupMembers(of: subscription).filter { pullStrategy(for: $0) == .fullScan }
                if let leader = ScanGroup.leader(of: members), leader.id != subscription.id {
                    report.scannedBy = leader.id
                    // The leader's newer snapshot (durable: read from the table, not from a batch
                    // in progress) supersedes this one's, which, kept, would make changes it
                    // already reported look new when this one leads again.
                    let durable = committedSubscription(leader.id)?.pullState?.lastFullSyncAt ?? .distantPast
                    if progress.hasSnapshot, durable > (progress.lastFullSyncAt ?? .distantPast) {
                        outputs += dropScanSnapshot(&progress, subscriptionId: subscription.id)
                    }
                    break
                }
                let collection = runtime.workspace.connectors[subscription.connectorKey]?.dataCollections[key]
                // What the last scan replaced or adopted is no longer named by the durable record.
                if let store = scanSnapshots {
                    if let replaced = progress.replacedSnapshot { outputs += store.tombstones(of: replaced, subscriptionId: subscription.id) }
                    if let adopted = progress.adoptedSnapshot { outputs += store.tombstones(of: adopted.snapshot, subscriptionId: adopted.subscriptionId) }
                }
                progress.replacedSnapshot = nil
                progress.adoptedSnapshot = nil
                // The group's freshest snapshot: this one's, or the last leader's.
                let source = ScanGroup.freshestSnapshot(among: members).flatMap { $0.id == subscription.id ? nil : $0 }
                let sourceProgress = source?.pullState ?? progress
                var (previous, lost) = try await previousSnapshot(of: source ?? subscription, sourceProgress)
                let scanned = ScanGroup.continuable(members).filter { $0.pullState?.lastFullSyncAt != nil }
                if previous == nil, lost == nil, let last = scanned.max(by: { $0.pullState!.lastFullSyncAt! < $1.pullState!.lastFullSyncAt! }) {
                    lost = "the snapshot of the scan group's last full scan (by \(last.id)) is gone"
                }
                let receiving = members.filter(\.isReceiving)
                // Members the group's scans have not served yet get only their baseline from this
                // scan, as a subscription's first scan alone would; a `created` one asking for a
                // backfill gets every record.
                let served = Set((sourceProgress.servedMembers ?? []) + (progress.servedMembers ?? []))
                let newcomers = previous == nil ? [] : Set(receiving.map(\.id)).subtracting(served)
                let backfills = receiving.filter { newcomers.contains($0.id) && $0.config.backfill == true && $0.target.collectionEvent == .created }
                // A backfill is for the group's first scan, never for one whose snapshot was lost.
                let scan = FullScan(ignoredFields: (collection?.ignoredFields ?? []) + (subscription.config.ignoredFields ?? []), maxPages: Self.maxPagesPerScan,
                                    backfill: subscription.config.backfill == true && lost == nil)
                let outcome = try await scan.run(previous: previous, wanted: Set(receiving.compactMap(\.target.collectionEvent)), listAll: !backfills.isEmpty) { cursor in
                    try await runtime.list(context, cursor: cursor)
                }
                // Ids from the change and the snapshot it was found against: a scan re-run after a
                // crash (or run by two members at once) repeats them; the same content coming back
                // later (A→B→A) is a new event.
                let against = sourceProgress.snapshotDigest ?? "none"
                for found in outcome.changes {
                    for member in receiving where member.target.collectionEvent == found.type && !newcomers.contains(member.id) {
                        outputs.append(recordEvent(ExtractedEvent(type: found.type.rawValue, record: found.record), index: 0, subscription: member, message: message,
                                                   occurredAt: started, requestId: nil, deliveryId: "scan:\(found.type.rawValue):\(against):\(FullScan.hex(found.digest))"))
                    }
                }
                for found in outcome.listed {
                    for member in backfills {
                        outputs.append(recordEvent(ExtractedEvent(type: found.type.rawValue, record: found.record), index: 0, subscription: member, message: message,
                                                   occurredAt: started, requestId: nil, deliveryId: "backfill:\(FullScan.hex(found.digest))"))
                    }
                }
                let known = Set(members.map(\.id))
                progress.servedMembers = served.union(receiving.map(\.id)).intersection(known).sorted()
                outputs += try await store(outcome.snapshot, of: subscription, in: &progress, rewrite: lost != nil)
                // A deleted member left its snapshot to the next leader, which has now made its own:
                // its chunks go at the next pull, once this record is durable.
                if let source, source.status == .archived, let chunks = source.pullState?.snapshotChunks, let digest = source.pullState?.snapshotDigest {
                    progress.adoptedSnapshot = .init(subscriptionId: source.id, snapshot: .init(digest: digest, chunks: chunks))
                }
                progress.lastFullSyncAt = Date()
                report.pages = outcome.pages
                report.records = outcome.records
                if outcome.skipped > 0 { report.error = "skipped \(outcome.skipped) records without an id" }
                lostSnapshot = lost
            }
            progress.failures = nil
            if let lostSnapshot {
                // Not silent: what happened between the two scans was not compared.
                subscription.status = .degraded
                subscription.error = .init(message: "\(lostSnapshot); this scan built a new snapshot, so changes since the scan before it were not reported", code: "snapshot-lost", at: Date())
                report.error = [report.error, lostSnapshot].compactMap { $0 }.joined(separator: "; ")
                logger.error("handler: \(lostSnapshot); scanned again without it: changes since the previous scan were not reported")
            } else if subscription.status == .degraded || subscription.error != nil {
                subscription.status = .active
                subscription.error = nil
            }
        } catch {
            try Self.rethrowCancellation(error)
            if let kafka = error as? KafkaError { throw kafka }
            progress = subscription.pullState ?? .init()
            let failures = (progress.failures ?? 0) + 1
            progress.failures = failures
            // A collection too large for a full scan will not shrink by waiting: the
            // subscription stops pulling, in `error`, saying what to do instead.
            let permanent = error is FullScan.SnapshotTooLarge || error is FullScan.TooManyPages || error is ScanSnapshots.TooLargeForEmbeddedBroker
            subscription.status = permanent ? .error : .degraded
            subscription.error = .init(message: "pull failed (\(failures) in a row): \(error)", code: permanent ? "collection-too-large" : Self.code(of: error).rawValue, at: Date())
            report.error = "\(error)"
            outputs = []
            logger.warning("handler: pull of \(subscription.id) failed (\(failures) in a row), backing off: \(error)")
        }
        // Events only (a full scan's outputs also hold snapshot chunks and their tombstones).
        report.events = outputs.filter { $0.topic == topics.records }.count
        subscription.noteActivity(events: report.events)
        report.finishedAt = Date()
        progress.lastPull = report
        progress.lastPulledAt = report.finishedAt
        subscription.pullState = progress
        subscription.nextPullEventsTimestamp = Self.milliseconds(nextPull(subscription: subscription, strategy, again: again))
        subscription.updatedAt = Date()
        stage(subscription)
        logger.info("handler: pulled \(subscription.id) (\(strategy.rawValue)): \(report.pages) pages, \(report.records) records, \(report.events) events")
        return outputs
    }

    /// The previous scan's snapshot: from the record, from its chunks, or `nil` before the
    /// first scan. A chunked snapshot that cannot be read back (on the embedded broker: trimmed
    /// by its retention) is `nil` too, with the reason, so the scan rebuilds it and says so.
    private func previousSnapshot(of subscription: SubscriptionRecord, _ progress: SubscriptionRecord.PullState) async throws -> (FullScan.Snapshot?, lost: String?) {
        if let inline = progress.snapshot { return (FullScan.snapshot(from: inline), nil) }
        guard let chunks = progress.snapshotChunks, let digest = progress.snapshotDigest else { return (nil, nil) }
        guard let store = scanSnapshots else {
            return (nil, "the previous full-scan snapshot of \(subscription.id) is in chunks, and this handler has no Kafka client to read them")
        }
        do {
            return (try await store.load(.init(digest: digest, chunks: chunks), subscriptionId: subscription.id, from: progress.snapshotOffset), nil)
        } catch let error as ScanSnapshots.Unreadable {
            return (nil, error.description)
        }
    }

    /// Keeps a scan's snapshot: on the subscription record while it fits (as before chunks
    /// existed, so an older handler still reads it), else in chunks, returned as outputs to
    /// write before the record. The chunked snapshot it replaces is left for the next pull to
    /// remove; an unchanged chunked snapshot is not written again unless `rewrite` (it could
    /// not be read back).
    private func store(
        _ snapshot: FullScan.Snapshot, of subscription: SubscriptionRecord, in progress: inout SubscriptionRecord.PullState, rewrite: Bool
    ) async throws -> [KafkaRecord] {
        let digest = FullScan.hex(FullScan.generation(of: snapshot))
        let previous = progress.snapshotChunks.flatMap { chunks in progress.snapshotDigest.map { SubscriptionRecord.ChunkedSnapshot(digest: $0, chunks: chunks) } }
        let limit = configuration.maxMessageBytes * 9 / 10
        var inline = progress
        inline.snapshot = FullScan.stored(snapshot)
        inline.snapshotDigest = digest
        inline.snapshotChunks = nil
        inline.snapshotOffset = nil
        // Estimated first: encoding a snapshot of a million records to measure it is waste.
        if FullScan.storedBytes(of: snapshot) < limit, subscription.encodedSize(with: inline) <= limit {
            if let previous { inline.replacedSnapshot = previous }
            progress = inline
            return []
        }
        guard let store = scanSnapshots else {
            throw FullScan.SnapshotTooLarge(records: snapshot.count, bytes: FullScan.storedBytes(of: snapshot), limit: configuration.maxMessageBytes)
        }
        if let previous, previous.digest == digest, !rewrite {
            progress.snapshot = nil
            return []
        }
        let records = try store.records(of: snapshot, subscriptionId: subscription.id, digest: digest)
        let offset = try await store.startOffset(of: subscription.id)
        progress.snapshot = nil
        progress.snapshotOffset = offset
        progress.snapshotDigest = digest
        progress.snapshotChunks = records.count
        // A lost snapshot rewritten under its own name replaces nothing.
        if let previous, previous.digest != digest { progress.replacedSnapshot = previous }
        return records
    }

    /// Forgets a full-scan snapshot this subscription no longer scans against: tombstones for
    /// its chunks.
    private func dropScanSnapshot(_ progress: inout SubscriptionRecord.PullState, subscriptionId: String) -> [KafkaRecord] {
        var chunked = progress.replacedSnapshot.map { [$0] } ?? []
        if let chunks = progress.snapshotChunks, let digest = progress.snapshotDigest { chunked.append(.init(digest: digest, chunks: chunks)) }
        progress.snapshot = nil
        progress.snapshotDigest = nil
        progress.snapshotChunks = nil
        progress.snapshotOffset = nil
        progress.replacedSnapshot = nil
        let adopted = progress.adoptedSnapshot
        progress.adoptedSnapshot = nil
        guard let store = scanSnapshots else { return [] }
        return chunked.flatMap { store.tombstones(of: $0, subscriptionId: subscriptionId) }
            + (adopted.map { store.tombstones(of: $0.snapshot, subscriptionId: $0.subscriptionId) } ?? [])
    }

    /// When to pull next: at once while a backlog is being worked through; after a failure,
    /// 30 s doubling per failure up to the interval; else one interval, give or take 10 % so
    /// subscriptions created together do not pull together.
    private func nextPull(subscription: SubscriptionRecord, _ strategy: PullStrategy, again: Bool) -> Date {
        if again { return Date() }
        let interval = Double(pullInterval(of: subscription, strategy))
        if let failures = subscription.pullState?.failures {
            return Date().addingTimeInterval(min(interval, 30 * pow(2, Double(min(failures - 1, 10)))))
        }
        // From the end of this pull: a scan longer than its interval does not run back to back.
        return Date().addingTimeInterval(interval * Double.random(in: 0.9...1.1))
    }

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}
