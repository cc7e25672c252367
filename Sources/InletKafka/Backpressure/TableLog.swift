import Foundation

/// What a table reader knows of each key's writes, so that a table topic survives a broker
/// that trims by size and does not compact (the embedded broker).
///
/// There, a key's latest value is lost once enough later data pushes it out. A republisher
/// therefore writes a *copy* of every key whose latest write grows old, carrying the
/// original write's offset in the `inlet-origin` header. Any process may republish, and a
/// copy may race with a newer write of the same key, so readers decide by origin, never by
/// arrival: a write's origin is its own offset, a copy's the offset in its header, and a
/// message whose origin is older than the key's current one is stale and ignored. All writes
/// of a key are on one partition, so origins compare. Without copies (a real cluster, which
/// compacts) every origin is the message's own offset and every message applies.
///
/// Cost: one origin per key ever seen (deleted keys included: their tombstones are copied
/// too, so a stale copy cannot bring a deleted key back); with `keepsCopies`, also the raw
/// latest value of each key.
public struct TableLog: Sendable {
    /// The header of a copy naming its original's offset.
    public static let originHeader = "inlet-origin"

    /// What a reader does with a message.
    public enum Verdict: Sendable, Hashable {
        /// A new value for the key (or its first).
        case apply
        /// A copy of the key's current value: nothing changes.
        case copy
        /// Older than the key's current value (a copy that raced with a newer write).
        case stale
    }

    private struct Copy: Sendable {
        var partition: Int32
        var bytesAt: Int
        var messagesAt: Int
        var value: Data?
        var origin: Int64
    }

    private var origins: [String: Int64] = [:]
    private var copies: [String: Copy] = [:]
    private var readBytes: [Int32: Int] = [:]
    private var readMessages: [Int32: Int] = [:]
    /// Whether the raw latest value of each key is kept, to republish it.
    public let keepsCopies: Bool

    public init(keepsCopies: Bool) {
        self.keepsCopies = keepsCopies
    }

    /// Records a message read from `partition` at `offset` and says what to do with it.
    public mutating func read(key: String, value: Data?, headers: [KafkaHeader], partition: Int32, offset: Int64) -> Verdict {
        let bytes = PartitionRetention.countedBytes(keyBytes: key.utf8.count, value: value, headers: headers)
        readBytes[partition, default: 0] += bytes
        readMessages[partition, default: 0] += 1
        let origin = headers.last { $0.name == Self.originHeader }?.value.flatMap { Int64(String(decoding: $0, as: UTF8.self)) } ?? offset
        let verdict: Verdict
        switch origins[key] {
        case let current? where origin < current: return .stale
        case let current? where origin == current: verdict = .copy
        default: verdict = .apply
        }
        origins[key] = origin
        if keepsCopies {
            copies[key] = Copy(
                partition: partition, bytesAt: readBytes[partition, default: 0], messagesAt: readMessages[partition, default: 0], value: value,
                origin: origin
            )
        }
        return verdict
    }

    /// Copies of every key whose latest copy has at least `bytes` bytes or `messages`
    /// messages after it on its partition (needs `keepsCopies`), to produce to `topic`.
    public func copiesDue(topic: String, afterBytes bytes: Int, afterMessages messages: Int) -> [KafkaRecord] {
        copies.compactMap { key, copy in
            let bytesAfter = readBytes[copy.partition, default: 0] - copy.bytesAt
            let messagesAfter = readMessages[copy.partition, default: 0] - copy.messagesAt
            guard bytesAfter >= bytes || messagesAfter >= messages else { return nil }
            return KafkaRecord(
                topic: topic, key: key, value: copy.value, headers: [KafkaHeader(name: Self.originHeader, string: String(copy.origin))],
                partition: copy.partition
            )
        }
    }
}
