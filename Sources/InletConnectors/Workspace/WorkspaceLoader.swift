import Foundation

/// Reads a workspace folder into a ``Workspace`` and reports everything wrong with it.
///
/// ```swift
/// let (workspace, problems) = WorkspaceLoader(mappingCheck: MappingValidator.problems(in:)).load(from: url)
/// problems.rendered().forEach { print($0) }   // connectors/github/events/x/spec.yml:3: error: ...
/// print(problems.summary())                    // 2 errors and 1 warning in 2 files
/// ```
///
/// Loading never stops at the first problem: every file is read and every problem collected, sorted by
/// path and line. Cost: one pass over the folder tree, reading and parsing each file once and
/// compiling each JSON Schema once; nothing is cached between calls.
///
/// Decisions a connector author should know:
/// - A method file that `methods:` does not declare is still used, with a warning asking to declare it.
/// - A method declared without `implementationType` takes its type from its only file; two files
///   for one method (e.g. `handle.js` and `handle.map.yml`) are an error unless `implementationType`
///   picks one (the other is then reported as ignored).
/// - Unknown keys are warnings (with a "did you mean"); unknown method names, implementation types and
///   record event types are errors, because the author's intent would be silently lost.
public struct WorkspaceLoader: Sendable {
    /// Checks one mapping (a `.map.yml`, `.rest.yml`/`.api.yml`, `.graphql.yml` file's content, or an
    /// app event type's formula) and returns what is wrong at which JSON pointer inside it.
    public typealias MappingCheck = @Sendable (JSONValue) -> [(pointer: String, message: String)]

    private let mappingCheck: MappingCheck

    /// Creates a loader.
    /// - Parameter mappingCheck: Validates formulas in mappings; its findings become errors at the
    ///   mapping file's line of each pointer. The default accepts everything.
    public init(mappingCheck: @escaping MappingCheck = WorkspaceLoader.formulaCheck) {
        self.mappingCheck = mappingCheck
    }

    /// The formula language's own validation (FORMULAS.md): unknown or unsupported formulas
    /// and malformed arguments, by JSON pointer.
    public static let formulaCheck: MappingCheck = { mapping in
        MappingValidator.problems(in: mapping).map { (pointer: $0.pointer, message: $0.message) }
    }

    /// Loads the workspace at `directory` (the folder holding `connectors/` and `app-events/`).
    ///
    /// - Returns: the workspace, or `nil` when any problem is an error; and every problem, with paths
    ///   relative to `directory`.
    public func load(from directory: URL) -> (workspace: Workspace?, problems: [WorkspaceProblem]) {
        var context = WorkspaceLoadContext(root: directory, mappingCheck: mappingCheck)
        guard context.isDirectory(directory) else {
            context.report(.error, directory.path, line: nil, "workspace folder does not exist, expected a folder holding connectors/ and app-events/")
            return (nil, context.sortedProblems)
        }
        let connectorsFolder = directory.appendingPathComponent("connectors")
        let appEventsFolder = directory.appendingPathComponent("app-events")
        if !context.isDirectory(connectorsFolder) && !context.isDirectory(appEventsFolder) {
            context.report(.error, ".", line: nil, "no connectors/ or app-events/ folder, expected a workspace folder holding at least one of them")
        }
        var connectors: [String: Connector] = [:]
        for folder in context.subfolders(of: connectorsFolder, holding: "connectors") {
            if let connector = context.loadConnector(at: folder) { connectors[connector.key] = connector }
        }
        let appEventTypes = context.loadAppEventTypes(in: appEventsFolder)
        let problems = context.sortedProblems
        guard !problems.hasErrors else { return (nil, problems) }
        return (Workspace(root: directory, connectors: connectors, appEventTypes: appEventTypes), problems)
    }

    /// Loads a single connector folder, e.g. `connectors/github` (for `inlet connector validate <dir>`).
    ///
    /// Paths in problems are relative to the workspace when the folder sits in a `connectors/` folder
    /// (so they read the same as with ``load(from:)``), otherwise relative to the connector folder.
    /// - Returns: the connector, or `nil` when any problem is an error; and every problem.
    public func load(connectorAt directory: URL) -> (connector: Connector?, problems: [WorkspaceProblem]) {
        let folder = directory.standardizedFileURL
        let parent = folder.deletingLastPathComponent()
        let root = parent.lastPathComponent == "connectors" ? parent.deletingLastPathComponent() : folder
        var context = WorkspaceLoadContext(root: root, mappingCheck: mappingCheck)
        guard context.isDirectory(folder) else {
            context.report(.error, directory.path, line: nil, "connector folder does not exist, expected a folder holding connector.yml")
            return (nil, context.sortedProblems)
        }
        let connector = context.loadConnector(at: folder)
        let problems = context.sortedProblems
        return (problems.hasErrors ? nil : connector, problems)
    }
}
