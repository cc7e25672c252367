/// What happened to a record: the `type` of a method result's event and of a data
/// collection event (`created`, `updated`, `deleted`).
public enum RecordChangeType: String, Codable, Sendable, Hashable, CaseIterable {
    case created
    case updated
    case deleted
}
