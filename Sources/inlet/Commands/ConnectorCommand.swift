import ArgumentParser
import Foundation
import InletConnectors
import Logging

/// `inlet connector validate|test`: the connector author's inner loop.
struct ConnectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connector",
        abstract: "Check connectors and run their methods locally.",
        subcommands: [Validate.self, Test.self]
    )

    // MARK: - validate

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report every problem in a workspace or connector folder; exit 1 if any is an error.",
            discussion: """
                <dir> is a workspace (holding connectors/ and app-events/), a connectors/ folder, or one
                connector folder (holding connector.yml). Problems print as path:line: severity: message.
                """
        )

        @Argument(help: "Workspace, connectors/ folder or connector folder.")
        var directory: String

        func run() throws {
            let loaded = ConnectorFolders.load(directory)
            loaded.problems.rendered().forEach { print($0) }
            let summary = loaded.problems.summary()
            if let what = loaded.summary {
                print("\(what): \(summary)")
            } else {
                print(summary)
            }
            if loaded.problems.hasErrors { throw ExitCode(1) }
        }
    }

    // MARK: - test

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one connector method and print its result as JSON.",
            discussion: """
                <target> names what the method belongs to, as a path inside the connector folder:
                  events/<key>  (or just <key>)          an event
                  data/<key>    (or just <key>)          a data collection's own methods (list, findById, ...)
                  data/<key>/events/<created|updated|deleted>   a collection event's methods
                  global-webhooks/<key>                  a global webhook
                  auth                                   make-api-client, refresh-credentials
                When <dir> holds several connectors, start the target with the connector key
                (github/events/issues).

                --input is the method's argument object as the seeds define it, e.g. for handle
                {"headers": {...}, "rawBody": "...", "state": {...}, "parameters": {...}} (`data` is
                parsed from rawBody when absent). `connectorParameters` in it and --credentials build
                the API client; --api sends every API request to a local server instead.

                Example:
                  inlet connector test connectors github/events/issues subscribe \\
                    --input subscribe.json --api http://127.0.0.1:8080
                """
        )

        @Argument(help: "Workspace, connectors/ folder or connector folder.")
        var directory: String

        @Argument(help: "The event, collection, collection event, global webhook or auth (see below).")
        var target: String

        @Argument(help: "The method, e.g. subscribe, handle, pull, getEventSelector.")
        var method: String

        @Option(help: "JSON file with the method's arguments (default: {}).")
        var input: String?

        @Option(help: "Base URI replacing the connector's API base URI, e.g. http://127.0.0.1:8080.")
        var api: String?

        @Option(help: "JSON file with the connection's credentials (e.g. {\"access_token\": \"...\"}).")
        var credentials: String?

        @Option(help: "Seconds a JavaScript method may run.")
        var timeout: Double = 5

        func run() async throws {
            LoggingSetup.bootstrap()
            do {
                let loaded = ConnectorFolders.load(directory)
                guard let workspace = loaded.workspace else {
                    loaded.problems.rendered().forEach { Self.printError($0) }
                    throw ConnectorTestError("\(directory) has errors (\(loaded.problems.summary())); run `inlet connector validate \(directory)`")
                }
                let (connectorKey, owner) = try Self.resolve(target, in: workspace)
                let arguments = try input.map { try Self.readJSON($0, what: "--input") } ?? .object([:])
                guard arguments.objectValue != nil else { throw ConnectorTestError("--input must hold a JSON object (the method's arguments)") }
                let credentials = try credentials.map { try Self.readJSON($0, what: "--credentials") }

                let milliseconds = Int64(max(0.001, timeout) * 1000)
                let scripts = ScriptEngine(configuration: .init(timeLimit: .milliseconds(milliseconds), totalTimeLimit: .milliseconds(milliseconds * 6), contexts: 1),
                                           logger: Logger(label: "inlet.connector.script"))
                defer { scripts.shutdown() }
                var logger = Logger(label: "inlet.connector")
                logger.logLevel = .error  // failures are printed below, once
                let runtime = ConnectorRuntime(workspace: workspace, scripts: scripts, logger: logger, apiBaseOverride: api)
                guard runtime.hasMethod(owner, method, connectorKey: connectorKey) else {
                    throw ConnectorTestError("\(target) has no method \(method)")
                }
                let result = try await runtime.run(connectorKey: connectorKey, owner: owner, method: method, arguments: arguments, credentials: credentials)
                print(String(decoding: result.serialized(pretty: true), as: UTF8.self))
            } catch let error as ConnectorMethodError {
                Self.printError("error: \(error.code): \(error.message)")
                if let details = error.details { Self.printError("details: \(details.jsonText)") }
                throw ExitCode(1)
            } catch let error as ConnectorTestError {
                Self.printError("error: \(error.message)")
                throw ExitCode(1)
            }
        }

        /// `[connector/]events/<key>`, `data/<key>[/events/<type>]`, `global-webhooks/<key>`, `auth` or a bare key.
        static func resolve(_ target: String, in workspace: Workspace) throws(ConnectorTestError) -> (String, MethodOwner) {
            var parts = target.split(separator: "/").map(String.init)
            let connectorKey: String
            if let first = parts.first, workspace.connectors[first] != nil, parts.count > 1 || workspace.connectors.count > 1 {
                connectorKey = first
                parts.removeFirst()
            } else if workspace.connectors.count == 1, let only = workspace.connectors.keys.first {
                connectorKey = only
            } else {
                let keys = workspace.connectors.keys.sorted().joined(separator: ", ")
                throw ConnectorTestError("\(target): start the target with a connector key (one of: \(keys)), e.g. \(workspace.connectors.keys.sorted().first ?? "github")/events/<key>")
            }
            guard let connector = workspace.connectors[connectorKey] else { throw ConnectorTestError("no connector \(connectorKey)") }
            switch parts.count {
            case 1 where parts[0] == "auth":
                return (connectorKey, .auth)
            case 1:
                if connector.events[parts[0]] != nil { return (connectorKey, .event(parts[0])) }
                if connector.dataCollections[parts[0]] != nil { return (connectorKey, .collection(parts[0])) }
            case 2 where parts[0] == "events" && connector.events[parts[1]] != nil:
                return (connectorKey, .event(parts[1]))
            case 2 where parts[0] == "data" && connector.dataCollections[parts[1]] != nil:
                return (connectorKey, .collection(parts[1]))
            case 2 where parts[0] == "global-webhooks" && connector.globalWebhooks[parts[1]] != nil:
                return (connectorKey, .globalWebhook(parts[1]))
            case 4 where parts[0] == "data" && parts[2] == "events" && connector.dataCollections[parts[1]] != nil:
                if let type = DataCollection.EventType(rawValue: parts[3]) { return (connectorKey, .collectionEvent(parts[1], type)) }
            default:
                break
            }
            let events = connector.events.keys.sorted().map { "events/\($0)" }
            let collections = connector.dataCollections.keys.sorted().map { "data/\($0)" }
            let webhooks = connector.globalWebhooks.keys.sorted().map { "global-webhooks/\($0)" }
            throw ConnectorTestError("\(target) is not an event, collection, global webhook or auth of \(connectorKey), expected one of: \((events + collections + webhooks + ["auth"]).joined(separator: ", "))")
        }

        static func readJSON(_ path: String, what: String) throws(ConnectorTestError) -> JSONValue {
            guard let data = FileManager.default.contents(atPath: path) else { throw ConnectorTestError("\(what) \(path): cannot read the file") }
            do {
                return try JSONValue(parsing: data)
            } catch {
                throw ConnectorTestError("\(what) \(path): not valid JSON (\(error))")
            }
        }

        static func printError(_ line: String) {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }
}

/// A usage problem of `inlet connector test`, printed as `error: <message>`.
struct ConnectorTestError: Error {
    let message: String

    init(_ message: String) {
        self.message = message
    }
}

/// Loads what `<dir>` points at: a workspace, a `connectors/` folder, or one connector folder.
enum ConnectorFolders {
    struct Loaded {
        let workspace: Workspace?
        let problems: [WorkspaceProblem]
        /// `Workspace.summary` of what loaded, `nil` when nothing did.
        let summary: String?
    }

    static func load(_ path: String) -> Loaded {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let manager = FileManager.default
        let loader = WorkspaceLoader()
        if manager.fileExists(atPath: url.appendingPathComponent("connector.yml").path) {
            let (connector, problems) = loader.load(connectorAt: url)
            let parent = url.deletingLastPathComponent()
            let root = parent.lastPathComponent == "connectors" ? parent.deletingLastPathComponent() : url
            let workspace = connector.map { Workspace(root: root, connectors: [$0.key: $0], appEventTypes: [:]) }
            return Loaded(workspace: workspace, problems: problems, summary: workspace?.summary)
        }
        // A connectors/ folder given directly: its parent is the workspace.
        let isConnectorsFolder = url.lastPathComponent == "connectors" && !manager.fileExists(atPath: url.appendingPathComponent("connectors").path)
        let root = isConnectorsFolder ? url.deletingLastPathComponent() : url
        let (workspace, problems) = loader.load(from: root)
        return Loaded(workspace: workspace, problems: problems, summary: workspace?.summary)
    }
}
