import Foundation

/// Something wrong (or suspicious) in a connector workspace, located at a file and line.
///
/// Rendered like a compiler diagnostic so editors and CI can link to it:
/// `connectors/github/events/issue-created/spec.yml:4: error: <what is wrong>, <what is expected>`.
public struct WorkspaceProblem: Sendable, Hashable, CustomStringConvertible {
    /// How bad a problem is.
    public enum Severity: String, Sendable, Hashable {
        /// The workspace cannot be used until this is fixed; ``WorkspaceLoader/load(from:)`` returns no workspace.
        case error
        /// The workspace works, but something is probably not what its author meant (e.g. an ignored file).
        case warning
    }

    /// Error or warning.
    public let severity: Severity
    /// Path relative to the workspace root (or to the connector folder's workspace when loading a
    /// single connector), e.g. `connectors/github/connector.yml`.
    public let path: String
    /// 1-based line in `path`; `nil` only when `path` is a folder or a file that does not exist.
    public let line: Int?
    /// `<what is wrong>, <what is expected>`.
    public let message: String

    /// Creates a problem; normally only the loader does this.
    public init(severity: Severity, path: String, line: Int?, message: String) {
        self.severity = severity
        self.path = path
        self.line = line
        self.message = message
    }

    /// `path:line: severity: message` (the `:line` part is left out when there is no line).
    public func render() -> String {
        let location = line.map { "\(path):\($0)" } ?? path
        return "\(location): \(severity.rawValue): \(message)"
    }

    /// Same as ``render()``.
    public var description: String { render() }
}

extension Array where Element == WorkspaceProblem {
    /// Whether any problem is an error (warnings alone leave a usable workspace).
    public var hasErrors: Bool { contains { $0.severity == .error } }

    /// Every problem rendered with ``WorkspaceProblem/render()``, in order.
    public func rendered() -> [String] { map { $0.render() } }

    /// One line for the end of a report: `no problems`, or e.g. `2 errors and 1 warning in 2 files`.
    public func summary() -> String {
        if isEmpty { return "no problems" }
        let errors = filter { $0.severity == .error }.count
        let warnings = count - errors
        var parts: [String] = []
        if errors > 0 { parts.append(errors == 1 ? "1 error" : "\(errors) errors") }
        if warnings > 0 { parts.append(warnings == 1 ? "1 warning" : "\(warnings) warnings") }
        let files = Set(map(\.path)).count
        return parts.joined(separator: " and ") + " in " + (files == 1 ? "1 file" : "\(files) files")
    }
}
