import Foundation
import InletKafka

/// Archived subscriptions leave `subscriptions` after `Configuration.archiveRetention`: the
/// owner's scheduler sends itself an `expire` command, and the command writes a tombstone, so
/// the removal is ordered with the subscription's other inputs like every other change.
extension Handler {
    /// Owned subscriptions archived longer than the archive retention, for which no `expire`
    /// was sent yet; marks them requested. One whose full-scan snapshot is the one a live
    /// member of its scan group would continue from waits until that member has its own.
    public func takeDueExpiries(now: Date = Date()) -> [String] {
        let candidates = state.withLock { state in
            state.owned.values.filter { !state.expireRequested.contains($0.id) && !state.expiring.contains($0.id) }
        }
        let due = candidates.filter { expirable($0, now: now) }.map(\.id).sorted()
        // Ids whose tombstone the table has read no longer need remembering.
        let read = state.withLock { $0.expired }.filter { subscriptions[$0] == nil }
        state.withLock { state in
            state.expireRequested.formUnion(due)
            state.expired.subtract(read)
        }
        return due
    }

    /// The expire command for `id` could not be sent: ask for it again on the next check.
    public func expireRequestFailed(_ id: String) {
        state.withLock { _ = $0.expireRequested.remove(id) }
    }

    /// Whether `record` is archived for longer than the retention and nothing depends on it.
    func expirable(_ record: SubscriptionRecord, now: Date) -> Bool {
        guard record.status == .archived, let archivedAt = record.archivedAt else { return false }
        let retention = Double(configuration.archiveRetention.components.seconds)
        guard now.timeIntervalSince(archivedAt) >= retention else { return false }
        guard record.pullState?.hasSnapshot == true else { return true }
        let members = scanGroupMembers(of: record)
        let continued = members.contains { $0.id != record.id && $0.isReceiving } && ScanGroup.freshestSnapshot(among: members)?.id == record.id
        return !continued
    }

    /// Removes the subscription when it is (still) due: a tombstone for its record, and for
    /// the chunks of a full-scan snapshot it still names. Anything else (subscribed anew
    /// meanwhile, already removed) is left as it is.
    func expire(_ command: Command, message: KafkaMessage) -> [KafkaRecord] {
        state.withLock { _ = $0.expireRequested.remove(command.subscriptionId) }
        guard let subscription = current(command.subscriptionId), expirable(subscription, now: Date()) else {
            logger.info("handler: \(command.subscriptionId) is not an archived subscription past its retention (any more); nothing removed")
            return []
        }
        var tombstones = [KafkaRecord(topic: topics.subscriptions, key: subscription.id, value: nil)]
        if let store = scanSnapshots, let chunks = subscription.pullState?.snapshotChunks, let digest = subscription.pullState?.snapshotDigest {
            tombstones += store.tombstones(of: .init(digest: digest, chunks: chunks), subscriptionId: subscription.id)
        }
        state.withLock { state in
            state.pending.removeValue(forKey: subscription.id)
            state.expiring.insert(subscription.id)
        }
        logger.info("handler: removed subscription \(subscription.id), archived since \(subscription.archivedAt.map(MessageCodec.timestamp) ?? "?")")
        return tombstones
    }
}
