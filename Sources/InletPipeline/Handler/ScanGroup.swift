import Foundation

/// The full-scan subscriptions that share one scan per pull (issue #10, seed 004).
///
/// `collectionEvents: [created, updated, deleted]` makes one subscription per record event;
/// scanning the collection once for each would triple the API calls and the snapshots. The
/// admin API gives every full-scan subscription a ``SubscriptionRecord/Config/scanGroup``
/// derived from everything its id derives from except the record event, so subscriptions alike
/// in all else share it, whether made by one request or several.
///
/// - The **leader** is the live (active or degraded) member with the smallest id. Its pull
///   scans once for the record events of every live member and emits each change to the
///   member subscribed to it. The others' pulls only record that the leader served them.
/// - Every handler reads every subscription record, so each member finds the same leader;
///   while a new member's record is still reaching another handler, two may scan once each.
///   Both compare against the same snapshot, so their events have the same ids and the
///   dispatcher drops the repeats.
/// - The **snapshot** a leader scans against is the freshest one of the group (any member's,
///   archived ones too), so a new leader continues where the last one stopped; a member that is
///   not the leader drops its own older snapshot once the leader has scanned since.
public enum ScanGroup {
    /// The members of `subscription`'s group among `records` (plus `subscription` itself),
    /// each once, sorted by id; only `subscription` when it has no group.
    public static func members(of subscription: SubscriptionRecord, among records: some Sequence<SubscriptionRecord>) -> [SubscriptionRecord] {
        guard let group = subscription.config.scanGroup else { return [subscription] }
        var byId: [String: SubscriptionRecord] = [:]
        for record in records where record.config.scanGroup == group && record.connectorKey == subscription.connectorKey {
            byId[record.id] = record
        }
        byId[subscription.id] = subscription
        return byId.values.sorted { $0.id < $1.id }
    }

    /// The member that scans for the group: the live one with the smallest id (`nil` when none
    /// is live).
    public static func leader(of members: [SubscriptionRecord]) -> SubscriptionRecord? {
        members.filter(\.isReceiving).min { $0.id < $1.id }
    }

    /// The member whose snapshot a scan continues from: the one that scanned last, among the
    /// ``continuable(_:)`` members that still name a snapshot.
    static func freshestSnapshot(among members: [SubscriptionRecord]) -> SubscriptionRecord? {
        continuable(members).filter { $0.pullState?.hasSnapshot == true }
            .max { ($0.pullState?.lastFullSyncAt ?? .distantPast, $1.id) < ($1.pullState?.lastFullSyncAt ?? .distantPast, $0.id) }
    }

    /// The members whose scans the group continues: those not deleted, and those deleted while
    /// a member of today's group already existed (a leader deleted under its siblings). A
    /// member deleted before any of today's members was created belongs to an earlier group of
    /// the same name (the same request made again later), which starts afresh.
    static func continuable(_ members: [SubscriptionRecord]) -> [SubscriptionRecord] {
        let current = members.filter { $0.status != .archived }
        guard let earliest = current.map(\.createdAt).min() else { return [] }
        return members.filter { $0.status != .archived || ($0.archivedAt ?? .distantPast) >= earliest }
    }
}

extension SubscriptionRecord.PullState {
    /// Whether it names a full-scan snapshot (on the record or in chunks).
    public var hasSnapshot: Bool { snapshot != nil || (snapshotChunks != nil && snapshotDigest != nil) }
}
