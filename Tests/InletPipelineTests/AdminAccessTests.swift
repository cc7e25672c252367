import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import InletHTTP
import InletJSON
import InletKafka
import InletPipeline
import Testing

/// Several admin tokens with scopes, rotated through a file without a restart, and the audit
/// trail of every admin write.
@Suite("Admin access", .timeLimit(.minutes(5)))
struct AdminAccessTests {
    static let readSecret = "read-secret-0123456789abcdef"
    static let rotatedReadSecret = "read-secret-rotated-0123456789"
    static let deployerSecret = "deployer-secret-0123456789abcdef"

    let helpers = WebhookEndToEndTests()

    /// `method uri` with `Authorization: Bearer <secret>`: the status and the parsed answer.
    func call(_ client: any TestClientProtocol, _ secret: String, _ method: HTTPRequest.Method, _ uri: String, _ body: JSONValue? = nil) async throws -> (HTTPResponse.Status, JSONValue) {
        try await helpers.admin(client, method, uri, body, token: secret)
    }

    @Test("an audit topic that does not exist (an upgrade without inlet topics create) refuses admin writes at once with 503 and what to run; one that exists records them")
    func missingAuditTopic() async throws {
        let harness = try IngressHarness()
        let token = AdminToken(name: "ops", scope: .admin, secret: Self.deployerSecret)
        let write = AdminAudit.Write(id: "w1", token: token, method: "POST", path: "/api/v1/customers")
        let missing = AdminAudit(producer: harness.producer, topic: "inlet.no-such-audit", logger: harness.logger)
        let started = ContinuousClock.now
        do {
            try await missing.requested(write)
            Issue.record("a write was audited on a topic that does not exist")
        } catch let problem as ProblemDetails {
            #expect(problem.status == .serviceUnavailable)
            #expect(problem.detail.contains("inlet topics create"), "\(problem.detail)")
        }
        #expect(ContinuousClock.now - started < .seconds(8), "answered before the delivery timeout (10 s)")
        // The embedded broker creates a topic asked for by name: the check must not have.
        #expect(try await !harness.producer.topicExists("inlet.no-such-audit"))
        let present = AdminAudit(producer: harness.producer, topic: harness.topics.audit, logger: harness.logger)
        try await present.requested(write)
        #expect(try await harness.messageCount(harness.topics.audit) == 1)
        await harness.stop()
    }

    @Test("a tokens file: one token per line with its scope; comments and blank lines skipped; mistakes name the file and line")
    func parsing() throws {
        let tokens = try AdminTokens.parse("# ops\n\nops read \(Self.readSecret)\n  deployer\tadmin  \(Self.deployerSecret)\r\n", file: "tokens")
        #expect(tokens == [
            AdminToken(name: "ops", scope: .read, secret: Self.readSecret), AdminToken(name: "deployer", scope: .admin, secret: Self.deployerSecret),
        ])
        #expect(throws: AdminTokensError.self) { try AdminTokens.parse("ops read\n", file: "tokens") }
        let errors: [(String, String)] = [
            ("ops read", "tokens:1: expected `<name> <scope> <secret>` (3 fields), found 2"),
            ("\nops write \(Self.readSecret)", "tokens:2: the second field (the scope) is not one of read, admin"),
            ("ops \(Self.readSecret) read", "tokens:1: the second field (the scope) is not one of read, admin"),
            ("ops read short", "tokens:1: the secret of 'ops' is shorter than 16 characters"),
        ]
        for (text, message) in errors {
            do {
                _ = try AdminTokens.parse(text, file: "tokens")
                Issue.record("\(text) was accepted")
            } catch {
                #expect("\(error)".hasPrefix(message), "\(error)")
            #expect(!"\(error)".contains(Self.readSecret), "a secret in the wrong place is never repeated")
            }
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("inlet-tokens-\(UUID())")
        defer { try? FileManager.default.removeItem(at: file) }
        try "a read \(Self.readSecret)\na admin \(Self.deployerSecret)\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: AdminTokensError.self, "a name used twice") { try AdminTokens(fixed: [], file: file) }
        #expect(throws: AdminTokensError.self, "no token at all") { try AdminTokens(fixed: []) }
        #expect(throws: AdminTokensError.self, "a file that does not exist") { try AdminTokens(fixed: [], file: file.appendingPathExtension("missing")) }
    }

    @Test("refused requests are recorded at most 10 a second; the next record counts the ones left out")
    func refusalsAreRateLimited() async throws {
        let harness = try IngressHarness()
        let audit = AdminAudit(producer: harness.producer, topic: harness.topics.audit, logger: harness.logger)
        for _ in 0..<25 { await audit.refused(token: nil, method: "GET", path: "/api/v1/connections", status: 401) }
        try await Task.sleep(for: .milliseconds(1100))
        await audit.refused(token: nil, method: "GET", path: "/api/v1/connections", status: 401)
        // Every record written was acknowledged before `refused` returned.
        let written = Int(try await harness.messageCount(harness.topics.audit))
        let records = try await harness.read(harness.topics.audit, count: written).map { try AuditRecord.decoded(from: try #require($0.value)) }
        #expect(records.count == written)
        // The burst may straddle a second: at most two seconds' worth, plus the last one.
        #expect(records.count <= 2 * AdminAudit.refusalsPerSecond + 1)
        #expect(records.count < 26)
        #expect(records.count + records.compactMap(\.suppressed).reduce(0, +) == 26, "every refusal is recorded or counted")
    }

    @Test("a read token may GET but gets 403 for writes; tokens added, rotated and revoked in the file work without a restart; every write is audited before and after it runs, never with its body")
    func scopesRotationAndAudit() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("inlet-tokens-\(UUID())")
        defer { try? FileManager.default.removeItem(at: file) }
        try "# name scope secret\nops read \(Self.readSecret)\n".write(to: file, atomically: true, encoding: .utf8)
        let tokens = try AdminTokens(
            fixed: [.environment(secret: WebhookEndToEndTests.adminToken)], file: file, recheck: .milliseconds(50))
        let pipeline = try TestPipeline(adminTokens: tokens)
        try await pipeline.run(replies: false) { client in
            // Read scope: reads pass, writes are refused before anything happens.
            #expect(try await call(client, Self.readSecret, .get, "/api/v1/subscriptions").0 == .ok)
            let (refused, problem) = try await call(client, Self.readSecret, .post, "/api/v1/connections", [
                "connectorKey": "github", "customerId": "acme", "credentials": ["access_token": "gh-token"],
            ])
            #expect(refused == .forbidden)
            #expect(problem["detail"]?.stringValue?.contains("'ops' has the read scope") == true)
            #expect(try await call(client, "not-a-token-at-all-0123", .get, "/api/v1/subscriptions").0 == .unauthorized)

            // An admin write, audited.
            let (created, connection) = try await helpers.admin(client, .post, "/api/v1/connections", [
                "connectorKey": "github", "customerId": "acme", "credentials": ["access_token": "audited-secret-credential"],
            ])
            #expect(created == .created)
            let connectionId = try #require(connection["id"]?.stringValue)

            // Rotation: ops gets a new secret, a deployer token appears; the old secret stops working.
            try "ops read \(Self.rotatedReadSecret)\ndeployer admin \(Self.deployerSecret)\n".write(to: file, atomically: true, encoding: .utf8)
            try await eventually(timeout: .seconds(10)) {
                try await call(client, Self.readSecret, .get, "/api/v1/subscriptions").0 == .unauthorized
            }
            #expect(try await call(client, Self.rotatedReadSecret, .get, "/api/v1/connections/\(connectionId)").0 == .ok)
            #expect(try await call(client, Self.deployerSecret, .delete, "/api/v1/connections/\(connectionId)").0 == .noContent)

            // A file with a mistake keeps only the tokens whose lines are unchanged: a line removed
            // in the same edit as a typo is revoked all the same, and new lines wait for the fix.
            let newSecret = "new-secret-0123456789abcdef"
            try "ops read \(Self.rotatedReadSecret)\ndeployer admin \(Self.deployerSecret)\nnew-one admin \(newSecret)\nbroken line\n"
                .write(to: file, atomically: true, encoding: .utf8)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await call(client, Self.deployerSecret, .get, "/api/v1/subscriptions").0 == .ok)
            #expect(try await call(client, newSecret, .get, "/api/v1/subscriptions").0 == .unauthorized)
            try "ops read \(Self.rotatedReadSecret)\nbroken line\n".write(to: file, atomically: true, encoding: .utf8)
            try await eventually(timeout: .seconds(10)) {
                try await call(client, Self.deployerSecret, .get, "/api/v1/subscriptions").0 == .unauthorized
            }
            #expect(try await call(client, Self.rotatedReadSecret, .get, "/api/v1/subscriptions").0 == .ok)

            // The audit trail: the two writes, each requested then completed; the refused requests
            // (who, if known, and the status); nothing for reads; no body, no presented token.
            // Every record was acknowledged before its request was answered.
            let written = Int(try await pipeline.harness.messageCount(pipeline.harness.topics.audit))
            let all = try await pipeline.harness.read(pipeline.harness.topics.audit, count: written).map { message in
                let value = try #require(message.value)
                return (try AuditRecord.decoded(from: value), value)
            }
            #expect(all.count == written)
            let texts = all.map { String(decoding: $0.1, as: UTF8.self) }
            for secret in ["audited-secret-credential", "not-a-token-at-all-0123", Self.readSecret, Self.rotatedReadSecret, Self.deployerSecret, newSecret] {
                #expect(!texts.contains { $0.contains(secret) }, "\(secret) in the audit trail")
            }
            let refusals = all.map(\.0).filter { $0.phase == .refused }
            #expect(refusals.contains { $0.status == 403 && $0.actor == "ops" && $0.scope == "read" && $0.method == "POST" && $0.path == "/api/v1/connections" })
            #expect(refusals.contains { $0.status == 401 && $0.actor == "anonymous" && $0.scope == "none" && $0.method == "GET" && $0.path == "/api/v1/subscriptions" })
            #expect(refusals.allSatisfy { $0.status == 401 || $0.status == 403 })
            let records = all.filter { $0.0.phase != .refused }
            #expect(records.count == 4)
            let writes = Dictionary(grouping: records.map(\.0), by: \.id)
            #expect(writes.count == 2)
            let byActor = Dictionary(uniqueKeysWithValues: writes.values.map { ($0[0].actor, $0) })
            let create = try #require(byActor["admin"])
            #expect(create.map(\.phase).sorted { $0.rawValue > $1.rawValue } == [.requested, .completed])
            #expect(create.allSatisfy { $0.method == "POST" && $0.path == "/api/v1/connections" && $0.scope == "admin" })
            #expect(create.first { $0.phase == .completed }?.status == 201)
            #expect(create.first { $0.phase == .requested }?.status == nil)
            let delete = try #require(byActor["deployer"])
            #expect(delete.allSatisfy { $0.method == "DELETE" && $0.path.hasPrefix("/api/v1/connections/") })
            #expect(delete.first { $0.phase == .completed }?.status == 204)
        }
    }
}
