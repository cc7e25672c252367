import Foundation
import InletKafka

/// After a key rotation (a new sealing key first in `INLET_SECRET_KEYS`), the owner of each
/// subscription writes it again, so that no record on `subscriptions` still needs the older key
/// and it can leave the ring: state and secret parameters sealed with another key, or before
/// values were bound to their records, or state still in clear text from before state was
/// sealed. The owner's scheduler sends itself `reseal` commands, a few at a time, so the
/// write is ordered with the subscription's other inputs; the record is sealed anew on its
/// way out (``SubscriptionRecord/forTopic(_:)``).
extension Handler {
    /// Owned subscriptions whose stored record needs sealing anew and for which no `reseal` was
    /// sent yet, at most `limit`, at most once per `Configuration.resealInterval`; marks them
    /// requested.
    public func takeDueReseals(now: ContinuousClock.Instant = .now, limit: Int = 64) -> [String] {
        guard vault.sealsRecords else { return [] }
        let candidates: [String]? = state.withLock { state in
            if let last = state.lastResealScan, now - last < configuration.resealInterval { return nil }
            state.lastResealScan = now
            return state.owned.keys.filter { !state.resealRequested.contains($0) && state.pending[$0] == nil && !state.expiring.contains($0) }
        }
        guard let candidates else { return [] }
        // From where the last look stopped, so a long tail is reached even while earlier ones
        // wait to be written.
        let cursor = state.withLock { $0.resealCursor } ?? ""
        let ordered = candidates.sorted()
        let rotated = ordered.drop { $0 <= cursor } + ordered.prefix { $0 <= cursor }
        let due = Array(rotated.lazy.filter { id in self.subscriptions[id].map(self.needsSealingAnew) ?? false }.prefix(limit))
        state.withLock { state in
            state.resealRequested.formUnion(due)
            state.resealCursor = due.last
        }
        if !due.isEmpty { logger.info("handler: asking \(due.count) subscriptions to be sealed with key \(vault.keyId)") }
        return due
    }

    /// The reseal command for `id` could not be sent: ask for it again on the next check.
    public func resealRequestFailed(_ id: String) {
        state.withLock { _ = $0.resealRequested.remove(id) }
    }

    /// Whether `stored` (as `subscriptions` holds it) has a value the sealing key did not seal,
    /// which opens here (one whose key left the ring, or copied from another record, is written
    /// as it is by ``SubscriptionRecord/forTopic(_:)``: asking again would never end).
    func needsSealingAnew(_ stored: SubscriptionRecord) -> Bool {
        if stored.state != nil { return true }
        if let sealed = stored.sealedState, vault.needsResealing(sealed), (try? stored.openedState(vault)) != nil { return true }
        if let sealed = stored.config.sealedParameters, vault.needsResealing(sealed), (try? stored.config.openedParameters(vault, subscriptionId: stored.id)) != nil {
            return true
        }
        return false
    }

    /// Writes the subscription again as it stands (sealed with the sealing key on the way
    /// out). A subscription that is gone, or being removed, is left alone.
    func reseal(_ command: Command, message: KafkaMessage) -> [KafkaRecord] {
        state.withLock { _ = $0.resealRequested.remove(command.subscriptionId) }
        guard var subscription = current(command.subscriptionId) else { return [] }
        subscription.markApplied(message)
        stage(subscription)
        return []
    }
}
