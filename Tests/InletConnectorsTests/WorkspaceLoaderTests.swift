import Foundation
import Synchronization
import Testing

@testable import InletConnectors

@Suite("Workspace loader")
struct WorkspaceLoaderTests {
    @Test("the GitHub-like workspace loads with zero problems")
    func goodWorkspaceLoads() throws {
        let (workspace, problems) = WorkspaceLoader().load(from: WorkspaceFixtures.url("good"))
        #expect(problems.rendered() == [])
        #expect(problems.summary() == "no problems")
        let loaded = try #require(workspace)
        #expect(loaded.summary == "1 connector (github: 2 events, 1 global webhook, 1 data collection), 1 app event type")
        let github = try #require(loaded.connectors["github"])
        #expect(github.name == "GitHub")
        #expect(github.allowedHosts == ["api.github.com"])
        #expect(github.events["issue-created"]?.implementationType == .webhook)
        #expect(github.events["app-mention"]?.implementationType == .globalWebhook)
        #expect(github.globalWebhooks["app"]?.handle?.kind == .javascript)
    }

    @Test("methods are looked up by owner and name")
    func methodLookup() throws {
        let github = try #require(WorkspaceLoader().load(from: WorkspaceFixtures.url("good")).workspace?.connectors["github"])
        let handle = try #require(github.method(for: .event("issue-created"), name: "handle"))
        #expect(handle.kind == .javascript)
        #expect(handle.path == "connectors/github/events/issue-created/handle.js")
        #expect(handle.source?.contains("export default async function handle") == true)

        let selector = try #require(github.method(for: .event("app-mention"), name: "getEventSelector"))
        #expect(selector.kind == .mapping)
        #expect(selector.mapping?["globalWebhookKey"] == "app")
        #expect(selector.document?.line(of: "/globalWebhookEventSelector/$concat/1") == 5)

        #expect(github.method(for: .globalWebhook("app"), name: "handle")?.kind == .javascript)
        #expect(github.method(for: .collection("issues"), name: "list")?.kind == .javascript)
        #expect(github.method(for: .collection("issues"), name: "findById")?.kind == .restAPIMapping)
        #expect(github.method(for: .collectionEvent("issues", .created), name: "handle")?.path
            == "connectors/github/data/issues/events/created/handle.js")
        #expect(github.method(for: .collectionEvent("issues", .updated), name: "pullLatestRecords") != nil)
        #expect(github.method(for: .collectionEvent("issues", .deleted), name: "pull") != nil)
        #expect(github.method(for: .collectionEvent("issues", .deleted), name: "subscribe")?.path
            == "connectors/github/data/issues/events/deleted/subscribe.js")
        #expect(github.method(for: .auth, name: "make-api-client")?.kind == .mapping)
        #expect(github.makeAPIClient?.mapping?["baseUri"] == "https://api.github.com")

        #expect(github.method(for: .event("issue-created"), name: "refresh") == nil)
        #expect(github.method(for: .event("no-such-event"), name: "handle") == nil)
        #expect(github.method(for: .auth, name: "refresh-credentials") == nil)
    }

    @Test("each data collection event has its strategy; full scan is not invented without list")
    func collectionEvents() throws {
        let issues = try #require(WorkspaceLoader().load(from: WorkspaceFixtures.url("good")).workspace?.connectors["github"]?.dataCollections["issues"])
        #expect(issues.events[.created]?.implementationType == .webhook)
        #expect(issues.events[.updated]?.implementationType == .pullLatestRecords)
        #expect(issues.events[.deleted]?.implementationType == .customPull)
        #expect(issues.events[.deleted]?.methods.keys.sorted() == ["pull", "subscribe"])
        #expect(issues.events.values.allSatisfy { !$0.isDefault })
        #expect(issues.ignoredFields == ["comments"])
        #expect(issues.methods.keys.sorted() == ["findById", "list"])
    }

    @Test("schemas are compiled once at load and validate instances")
    func compiledSchemas() throws {
        let workspace = try #require(WorkspaceLoader().load(from: WorkspaceFixtures.url("good")).workspace)
        let github = try #require(workspace.connectors["github"])
        let connectorParameters = try #require(github.validParametersSchema)
        #expect(connectorParameters.isValid(["webhookSecret": "s3cret"]))
        #expect(!connectorParameters.isValid([:]))
        let event = try #require(github.events["issue-created"])
        #expect(event.validSchema?.isValid(["id": "1", "title": "Bug"]) == true)
        #expect(event.validParametersSchema?.isValid(["owner": "apple"]) == false)
        #expect(github.dataCollections["issues"]?.validFieldsSchema?.isValid(["state": "merged"]) == false)

        let order = try #require(workspace.appEventTypes["order-created"])
        #expect(order.isSchemaInferred)
        #expect(order.userIdFormula == ["$var": "customerId"])
        let orderSchema = try #require(order.validSchema)
        #expect(orderSchema.isValid(try #require(order.example)))
        #expect(!orderSchema.isValid(["orderId": 7]))
    }

    @Test("the broken workspace reports every problem, sorted by file and line")
    func brokenWorkspace() {
        let (workspace, problems) = WorkspaceLoader(mappingCheck: WorkspaceFixtures.rejectJSONata).load(from: WorkspaceFixtures.url("broken"))
        #expect(workspace == nil)
        #expect(problems.hasErrors)
        #expect(problems.rendered() == WorkspaceFixtures.brokenProblems)
        #expect(problems.summary() == "23 errors and 5 warnings in 16 files")
    }

    @Test("loading twice gives the same problems in the same order")
    func stableOrder() {
        let loader = WorkspaceLoader(mappingCheck: WorkspaceFixtures.rejectJSONata)
        let first = loader.load(from: WorkspaceFixtures.url("broken")).problems
        let second = loader.load(from: WorkspaceFixtures.url("broken")).problems
        #expect(first == second)
    }

    @Test("a connector folder inside connectors/ loads alone with workspace-relative paths")
    func singleConnector() throws {
        let good = WorkspaceLoader().load(connectorAt: WorkspaceFixtures.url("good").appendingPathComponent("connectors/github"))
        #expect(good.problems == [])
        #expect(try #require(good.connector).events.count == 2)

        let broken = WorkspaceLoader(mappingCheck: WorkspaceFixtures.rejectJSONata)
            .load(connectorAt: WorkspaceFixtures.url("broken").appendingPathComponent("connectors/acme"))
        #expect(broken.connector == nil)
        #expect(broken.problems.rendered() == WorkspaceFixtures.brokenProblems.filter { $0.hasPrefix("connectors/acme/") })
    }

    @Test("a connector folder elsewhere reports paths relative to itself")
    func standaloneConnector() throws {
        let copy = try WorkspaceFixtures.copy("good", editing: ["connectors/github/events/issue-created/handle.js": nil])
        defer { try? FileManager.default.removeItem(at: copy) }
        let standalone = copy.appendingPathComponent("github")
        try FileManager.default.moveItem(at: copy.appendingPathComponent("connectors/github"), to: standalone)
        let result = WorkspaceLoader().load(connectorAt: standalone)
        #expect(result.problems.rendered() == [
            "events/issue-created/spec.yml:24: error: handle is declared as javascript but its file is missing, expected handle.js",
        ])
    }

    @Test("the mapping hook sees every mapping file and formula exactly once")
    func mappingHookCoverage() {
        let seen = Mutex<[JSONValue]>([])
        let loader = WorkspaceLoader { value in
            seen.withLock { $0.append(value) }
            return []
        }
        _ = loader.load(from: WorkspaceFixtures.url("good"))
        let values = seen.withLock { $0 }
        #expect(values.count == 4)  // make-api-client.map.yml, getEventSelector.map.yml, findById.rest.yml, userIdFormula
        #expect(values.contains(["$var": "customerId"]))
        #expect(values.contains { $0["path"] == "/repos/{owner}/{repo}/issues/{id}" })
    }

    @Test("a folder that is not a workspace is reported, not crashed on")
    func notAWorkspace() {
        let (workspace, problems) = WorkspaceLoader().load(from: WorkspaceFixtures.url("not-a-workspace"))
        #expect(workspace == nil)
        #expect(problems.rendered() == [".: error: no connectors/ or app-events/ folder, expected a workspace folder holding at least one of them"])

        let missing = WorkspaceFixtures.url("does-not-exist")
        let result = WorkspaceLoader().load(from: missing)
        #expect(result.problems.rendered() == ["\(missing.path): error: workspace folder does not exist, expected a folder holding connectors/ and app-events/"])
    }
}

/// The workspace fixtures under `Tests/Fixtures/workspaces` and helpers to derive variants of them.
enum WorkspaceFixtures {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/workspaces")
    }

    static func url(_ name: String) -> URL { root.appendingPathComponent(name) }

    /// A fresh copy of fixture `name` in a temporary folder with `edits` applied (relative path →
    /// new content, or `nil` to delete). The caller removes the copy.
    static func copy(_ name: String, editing edits: [String: String?]) throws -> URL {
        let target = FileManager.default.temporaryDirectory.appendingPathComponent("inlet-workspace-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: url(name), to: target)
        for (path, content) in edits {
            let file = target.appendingPathComponent(path)
            if let content {
                try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(content.utf8).write(to: file)
            } else {
                try FileManager.default.removeItem(at: file)
            }
        }
        return target
    }

    /// The rendered problems of the good workspace with `edits` applied.
    static func problems(afterEditing edits: [String: String?], mappingCheck: @escaping WorkspaceLoader.MappingCheck = { _ in [] }) throws -> [String] {
        let folder = try copy("good", editing: edits)
        defer { try? FileManager.default.removeItem(at: folder) }
        return WorkspaceLoader(mappingCheck: mappingCheck).load(from: folder).problems.rendered()
    }

    /// A stand-in for the formula validator: rejects `$jsonata`, as FORMULAS.md says Inlet must.
    static let rejectJSONata: WorkspaceLoader.MappingCheck = { value in
        var found: [(pointer: String, message: String)] = []
        func walk(_ value: JSONValue, _ pointer: String) {
            switch value {
            case .object(let members):
                for (key, member) in members.sorted(by: { $0.key < $1.key }) {
                    if key == "$jsonata" {
                        found.append((pointer, "formula $jsonata is not supported, expected a formula from FORMULAS.md"))
                    }
                    walk(member, pointer + "/" + key)
                }
            case .array(let items):
                for (index, item) in items.enumerated() { walk(item, pointer + "/\(index)") }
            default:
                break
            }
        }
        walk(value, "")
        return found
    }

    /// Every problem of `Tests/Fixtures/workspaces/broken`, exactly as rendered.
    static let brokenProblems = [
        "app-events/notes.txt:1: warning: notes.txt is ignored, expected app event type files named <type>.yml",
        "app-events/payment.yml:8: error: example does not match the schema at /amount (expected number, got string), expected an example the schema accepts",
        "app-events/refund.yml:5: error: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 4), expected valid YAML",
        "app-events/signup.yml:1: error: app event type has neither schema nor example, expected a schema (a JSON Schema) or an example event",
        "connectors/acme/auth/make-api-client.js:1: error: make-api-client has several files (make-api-client.js, make-api-client.map.yml), expected exactly one or an implementationType choosing one",
        "connectors/acme/connector.yml:1: error: required field 'name' is missing, expected a string",
        "connectors/acme/connector.yml:1: error: key 'acme-crm' differs from the connector folder name 'acme', expected them to be equal",
        "connectors/acme/connector.yml:2: warning: unknown key 'descripton' is ignored, did you mean 'description'?",
        "connectors/acme/connector.yml:7: error: parametersSchema is not a valid JSON Schema at /properties/region/type: unknown type \"strin\"; expected one of null, boolean, integer, number, string, array, object",
        "connectors/acme/connector.yml:9: error: allowedHosts entry 'https://api.acme.test' is not a host name, expected a bare host such as api.github.com or *.github.com",
        "connectors/acme/data/deals/events/created/pullLatestRecords.rest.yml:1: warning: method pullLatestRecords is not declared, expected a `pullLatestRecords:` entry under events.created.methods in spec.yml",
        "connectors/acme/data/deals/events/created/pullLatestRecords.rest.yml:1: error: required field 'path' is missing, expected a string",
        "connectors/acme/data/deals/events/created/pullLatestRecords.rest.yml:6: error: formula $jsonata is not supported, expected a formula from FORMULAS.md",
        "connectors/acme/data/deals/findById.graphql.yml:4: error: graphql-api-mapping file is not valid YAML: did not find expected ',' or '}' (while parsing a flow mapping at line 3), expected a YAML or JSON document",
        "connectors/acme/data/deals/spec.yml:6: error: fieldsSchema is not a valid JSON Schema at /properties/amount/minimum: \"minimum\" must be a number, got \"ten\", expected a valid draft 2020-12 or draft-07 schema",
        "connectors/acme/data/deals/spec.yml:13: error: updated uses full-scan but the collection has no list method, expected a list method (list.js, list.rest.yml, ...) declared under methods",
        "connectors/acme/data/deals/spec.yml:15: error: 'removed' is not a record event, expected created, updated or deleted",
        "connectors/acme/data/deals/spec.yml:17: error: ignoredFields is a string, expected a list of field names",
        "connectors/acme/events/company-updated/getEventSelector.map.yml:3: error: globalWebhookKey 'event' is not a global webhook of connector acme, expected events (did you mean 'events'?)",
        "connectors/acme/events/contact-mentioned/spec.yml:3: error: global-webhook event has no getEventSelector method, expected getEventSelector.js or getEventSelector.map.yml and a `getEventSelector:` entry under methods",
        "connectors/acme/events/deal-won/notes.txt:1: warning: notes.txt is not a method file and is ignored, expected <method>.js, .map.yml, .rest.yml, .api.yml or .graphql.yml",
        "connectors/acme/events/deal-won/spec.yml:5: error: schema is not a valid JSON Schema at /required: \"required\" must be an array of strings, got string, expected a valid draft 2020-12 or draft-07 schema",
        "connectors/acme/events/deal-won/spec.yml:8: error: subscribe cannot be implemented as mapping in a webhook event, expected javascript, rest-api-mapping or graphql-api-mapping",
        "connectors/acme/events/deal-won/spec.yml:9: error: unsubscribe is declared as javascript but its file is missing, expected unsubscribe.js",
        "connectors/acme/events/deal-won/spec.yml:11: error: 'refesh' is not a method of a webhook event, expected subscribe, handle, unsubscribe or refresh (did you mean 'refresh'?)",
        "connectors/acme/events/note-added/spec.yml:2: error: implementationType 'webhok' is not known, expected webhook or global-webhook (did you mean 'webhook'?)",
        "connectors/acme/global-webhooks/events/handle.js:1: warning: handle.js has no default export, expected `export default async function handle(...)`",
        "connectors/acme/global-webhooks/events/spec.yml:1: error: required field 'name' is missing, expected a string",
    ]
}
