import Foundation

/// A loaded, validated workspace: every connector under `connectors/` and every app event type
/// under `app-events/`. Immutable; share it freely between tasks.
public struct Workspace: Sendable {
    /// The workspace folder.
    public let root: URL
    /// Connectors by key (their folder name).
    public let connectors: [String: Connector]
    /// App event types by key (their file name without `.yml`).
    public let appEventTypes: [String: AppEventType]

    /// Creates a workspace; normally only ``WorkspaceLoader`` does this.
    public init(root: URL, connectors: [String: Connector], appEventTypes: [String: AppEventType]) {
        self.root = root
        self.connectors = connectors
        self.appEventTypes = appEventTypes
    }

    /// What the workspace holds, e.g.
    /// `1 connector (github: 2 events, 1 global webhook, 1 data collection), 1 app event type`.
    public var summary: String {
        let perConnector = connectors.keys.sorted().compactMap { key -> String? in
            guard let connector = connectors[key] else { return nil }
            let parts = [
                counted(connector.events.count, "event"),
                counted(connector.globalWebhooks.count, "global webhook"),
                counted(connector.dataCollections.count, "data collection"),
            ]
            return "\(key): " + parts.joined(separator: ", ")
        }
        let connectorsPart = counted(connectors.count, "connector") + (perConnector.isEmpty ? "" : " (\(perConnector.joined(separator: "; ")))")
        return connectorsPart + ", " + counted(appEventTypes.count, "app event type")
    }
}

private func counted(_ count: Int, _ noun: String) -> String {
    count == 1 ? "1 \(noun)" : "\(count) \(noun)s"
}
