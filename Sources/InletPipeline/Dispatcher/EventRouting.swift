/// Which topic a normalized event goes to: per connector (`github` → `inlet.events.github`),
/// else the default `events` topic (`app-events` for app event subscriptions).
public struct EventRouting: Sendable, Hashable {
    public var defaultTopic: String
    public var appEventsTopic: String
    /// Connector key → topic.
    public var connectorTopics: [String: String]

    public init(topics: InletTopics, connectorTopics: [String: String] = [:]) {
        defaultTopic = topics.events
        appEventsTopic = topics.appEvents
        self.connectorTopics = connectorTopics
    }

    /// Parses `connector=topic` pairs separated by commas (`INLET_ROUTES`, `--route`).
    public static func parse(_ text: String) throws -> [String: String] {
        var routes: [String: String] = [:]
        for pair in text.split(separator: ",") where !pair.trimmingCharacters(in: .whitespaces).isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw RoutingError(message: "route '\(pair)' is not connector=topic (e.g. github=inlet.events.github)")
            }
            routes[parts[0]] = parts[1]
        }
        return routes
    }

    public func topic(for event: RecordEvent) -> String {
        if case .appEvent = event.target { return appEventsTopic }
        return connectorTopics[event.connectorKey] ?? defaultTopic
    }

    /// Every topic events may go to (for rebuilding the de-duplication window).
    public var allTopics: [String] {
        Array(Set([defaultTopic, appEventsTopic] + connectorTopics.values)).sorted()
    }
}

public struct RoutingError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

import Foundation
