import Foundation
import InletPipeline
import Synchronization

/// An `inlet` role running as its own process (the binary this package built), with its
/// standard output collected so tests can wait for lines such as the ingress address.
final class RoleProcess: Sendable {
    let name: String
    /// Where its standard error goes.
    let logFile: URL
    private let process: Process
    private let outputText = Shared("")

    static var binary: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/inlet")
    }

    static var binaryExists: Bool { FileManager.default.isExecutableFile(atPath: binary.path) }

    init(_ name: String, arguments: [String], environment: [String: String]) throws {
        self.name = name
        process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let pipe = Pipe()
        process.standardOutput = pipe
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("inlet-\(name)-\(UUID().uuidString.prefix(6)).log")
        logFile = log
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        pipe.fileHandleForReading.readabilityHandler = { [outputText] handle in
            let data = handle.availableData
            if !data.isEmpty { outputText.value.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        }
        try process.run()
    }

    /// Everything it printed on standard output so far.
    var output: String { outputText.value.withLock { $0 } }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Waits for a line of standard output containing `marker`; returns the line.
    func waitForLine(containing marker: String, timeout: Duration = .seconds(60)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = output.split(separator: "\n").first(where: { $0.contains(marker) }) { return String(line) }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw RoleProcessError(message: "\(name) printed no line with '\(marker)' (running: \(process.isRunning))")
    }

    /// SIGKILL: no shutdown code runs, as when a pod is killed.
    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM and wait (bounded), then SIGKILL.
    func stop() async {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(15)
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { kill() }
    }
}

struct RoleProcessError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// The `inlet` role processes of one test: one environment (the test's broker, topics and
/// stand-in API), started one by one, stopped together.
final class RoleProcessGroup: Sendable {
    let environment: [String: String]
    private let processes = Shared<[RoleProcess]>([])

    /// `workspace`: the folder holding `connectors/`.
    init(bootstrapServers: String, topics: InletTopics, apiBaseOverride: String?, workspace: URL, adminToken: String, extraEnvironment: [String: String] = [:]) {
        environment = extraEnvironment.merging([
            "INLET_KAFKA_BOOTSTRAP_SERVERS": bootstrapServers, "INLET_TOPIC_PREFIX": topics.prefix,
            "INLET_TOPIC_PARTITIONS": String(topics.partitions), "INLET_SECRET_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            "INLET_ADMIN_TOKEN": adminToken, "INLET_API_BASE_OVERRIDE": apiBaseOverride ?? "",
            "INLET_WORKSPACE": workspace.path, "INLET_PROCESSING_GUARANTEE": "at-least-once", "INLET_LOG_LEVEL": "warning",
            "INLET_PUBLIC_URL": "https://hooks.example.com", "INLET_KAFKA_FETCH_WAIT_MAX_MS": "10", "INLET_EMBEDDED_BROKER": "1",
        ]) { extra, _ in extra }
    }

    func start(_ name: String, _ arguments: [String]) throws -> RoleProcess {
        let process = try RoleProcess(name, arguments: arguments, environment: environment)
        processes.value.withLock { $0.append(process) }
        return process
    }

    /// Starts `inlet ingress` on a free port; returns it and its base URL.
    func startIngress(_ name: String) async throws -> (RoleProcess, String) {
        let ingress = try start(name, ["ingress", "--port", "0"])
        let port = try await ingress.waitForLine(containing: "ingress listening on").split(separator: ":").last.map(String.init) ?? ""
        return (ingress, "http://127.0.0.1:\(port)")
    }

    /// Stops every process started (SIGTERM, then SIGKILL after a while).
    func stopAll() async {
        for process in processes.value.withLock({ $0 }) { await process.stop() }
    }
}
