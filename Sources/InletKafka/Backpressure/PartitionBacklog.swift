/// The part of one partition that this process appended and the slowest consumer group has
/// not consumed yet, and whether one more append may join it.
///
/// An append is first reserved (counted at once, so concurrent requests cannot all slip under
/// the limit), then either stored (at the offset the broker gave it) or released (the broker
/// refused it). Consumed messages leave the backlog when the group's committed offset passes
/// them.
///
/// Cost: one entry per appended, unconsumed message; every operation is O(1) amortized
/// (a store out of offset order walks back over the few entries appended after it).
public struct PartitionBacklog: Sendable {
    /// Why an append was refused.
    public enum Refusal: Sendable, Hashable {
        /// The partition's backlog would pass the limit for everyone.
        case partitionFull(backlogBytes: Int, backlogMessages: Int)
        /// The key holds more than half of a backlog past the fair-share threshold.
        case keyOverShare(keyBytes: Int, backlogBytes: Int)
        /// Messages appended before this process started are not consumed yet, and their size
        /// is unknown: nothing more until the group has passed them.
        case unknownBacklog(consumedOffset: Int64?, until: Int64)
    }

    private struct Entry: Sendable {
        var offset: Int64
        var bytes: Int
        var key: String
    }

    /// Stored, unconsumed appends in offset order, from `head` on.
    private var entries: [Entry] = []
    private var head = 0
    /// Bytes reserved or stored and not yet consumed.
    public private(set) var bytes = 0
    /// Messages reserved or stored and not yet consumed.
    public private(set) var messages = 0
    private var bytesByKey: [String: Int] = [:]
    /// The slowest group's committed offset: everything below it is consumed.
    public private(set) var consumedOffset: Int64?
    /// The partition's end when this process started: what lies below it was appended by
    /// someone else (an earlier run) and is not counted in bytes.
    public private(set) var startEnd: Int64?

    public init() {}

    /// Bytes `key` holds in the backlog.
    public func bytes(of key: String) -> Int { bytesByKey[key, default: 0] }

    /// The partition ended at `offset` when this process started.
    public mutating func started(atEnd offset: Int64) {
        startEnd = offset
    }

    /// Whether the backlog is at or past `limits` (or unknown), for a writer that cannot be
    /// refused but can wait.
    public func isFull(_ limits: BacklogLimits) -> Bool {
        if let startEnd, (consumedOffset ?? 0) < startEnd { return true }
        return bytes >= limits.maxBytes || messages >= limits.maxMessages
    }

    /// Counts an append of `bytes` for `key` unless `limits` refuse it.
    public mutating func reserve(key: String, bytes count: Int, limits: BacklogLimits) -> Refusal? {
        if let startEnd, (consumedOffset ?? 0) < startEnd {
            return .unknownBacklog(consumedOffset: consumedOffset, until: startEnd)
        }
        let newBytes = bytes + count
        if newBytes > limits.maxBytes || messages + 1 > limits.maxMessages {
            return .partitionFull(backlogBytes: bytes, backlogMessages: messages)
        }
        let keyBytes = bytesByKey[key, default: 0]
        if Double(newBytes) > Double(limits.maxBytes) * limits.fairShareFraction, (keyBytes + count) * 2 > newBytes {
            return .keyOverShare(keyBytes: keyBytes, backlogBytes: bytes)
        }
        add(key: key, bytes: count)
        return nil
    }

    /// A reserved append was stored at `offset`.
    public mutating func stored(key: String, bytes count: Int, offset: Int64) {
        if let consumedOffset, offset < consumedOffset {
            // Consumed before its delivery report arrived here.
            add(key: key, bytes: -count)
            return
        }
        var index = entries.count
        while index > head && entries[index - 1].offset > offset { index -= 1 }
        entries.insert(Entry(offset: offset, bytes: count, key: key), at: index)
    }

    /// An append that was not reserved (it could not be refused) was stored at `offset`.
    public mutating func appended(key: String, bytes count: Int, offset: Int64) {
        add(key: key, bytes: count)
        stored(key: key, bytes: count, offset: offset)
    }

    /// A reserved append was not stored.
    public mutating func released(key: String, bytes count: Int) {
        add(key: key, bytes: -count)
    }

    /// The slowest group committed `offset`: every stored append below it is consumed.
    public mutating func consumed(upTo offset: Int64) {
        guard offset > (consumedOffset ?? .min) else { return }
        consumedOffset = offset
        while head < entries.count && entries[head].offset < offset {
            add(key: entries[head].key, bytes: -entries[head].bytes)
            head += 1
        }
        if head > 1024 && head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }

    private mutating func add(key: String, bytes count: Int) {
        bytes += count
        messages += count >= 0 ? 1 : -1
        let keyBytes = bytesByKey[key, default: 0] + count
        bytesByKey[key] = keyBytes > 0 ? keyBytes : nil
    }
}
