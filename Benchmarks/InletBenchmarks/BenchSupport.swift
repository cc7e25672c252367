// What several benchmarks share: the repository's workspace, GitHub-style signing, a quiet
// logger and a failure type.
import Crypto
import Foundation
import InletConnectors
import Logging

/// A benchmark that could not produce its figures (a wrong result, a missed deadline).
struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A logger that only reports critical problems, so the figures stay readable
/// (`BENCH_LOG_LEVEL=debug` shows, e.g., each stream batch's size and timings).
func quietLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["BENCH_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
    return logger
}

/// The repository root: this file is Benchmarks/InletBenchmarks/BenchSupport.swift.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The repository's own connectors (connectors/), as `inlet dev` would load them.
func repositoryWorkspace() throws -> Workspace {
    let loaded = WorkspaceLoader().load(from: repositoryRoot)
    guard let workspace = loaded.workspace else {
        throw BenchmarkFailure("the workspace at \(repositoryRoot.path) does not load: \(loaded.problems)")
    }
    return workspace
}

/// GitHub's `X-Hub-Signature-256` of `body` with `secret`.
func githubSignature(_ body: some DataProtocol, secret: String) -> String {
    let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
    return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
}

/// An `issues` delivery as GitHub sends it, for issue `number` of octo/hello.
func issueDelivery(action: String, number: Int, title: String, body: String? = nil) -> String {
    let issueBody = body.map { #","body":"\#($0)""# } ?? ""
    return #"{"action":"\#(action)","issue":{"number":\#(number),"title":"\#(title)","state":"open","html_url":"https://github.com/octo/hello/issues/\#(number)","user":{"login":"octocat"},"labels":[],"assignees":[],"created_at":"2026-11-25T10:00:00Z","updated_at":"2026-11-25T10:00:00Z"\#(issueBody)},"repository":{"full_name":"octo/hello"}}"#
}
