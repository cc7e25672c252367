import Foundation
import Testing

@testable import InletConnectors

/// One problem kind per test: the good workspace with one thing broken reports exactly that.
@Suite("Workspace problems")
struct WorkspaceProblemTests {
    private let issueCreated = "connectors/github/events/issue-created/"
    private let appMention = "connectors/github/events/app-mention/"
    private let issues = "connectors/github/data/issues/"

    /// The good fixture's file at `path` with `old` replaced by `new`.
    private func good(_ path: String, replacing old: String, with new: String) throws -> String? {
        let text = try String(contentsOf: WorkspaceFixtures.url("good").appendingPathComponent(path), encoding: .utf8)
        #expect(text.contains(old), "fixture \(path) no longer contains \(old)")
        return text.replacingOccurrences(of: old, with: new)
    }

    // MARK: - Implementation types

    @Test("an unknown event implementationType lists the valid ones")
    func unknownEventType() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            issueCreated + "spec.yml": good(issueCreated + "spec.yml", replacing: "implementationType: webhook", with: "implementationType: web-hook"),
        ])
        #expect(problems == [
            "connectors/github/events/issue-created/spec.yml:2: error: implementationType 'web-hook' is not known, expected webhook or global-webhook (did you mean 'webhook'?)",
        ])
    }

    @Test("an unknown method implementationType lists the ones that method allows")
    func unknownMethodType() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            issueCreated + "spec.yml": good(issueCreated + "spec.yml", replacing: "  handle:\n    implementationType: javascript",
                                            with: "  handle:\n    implementationType: java-script"),
        ])
        #expect(problems == [
            "connectors/github/events/issue-created/spec.yml:25: error: implementationType 'java-script' of handle is not known, expected javascript or mapping (did you mean 'javascript'?)",
        ])
    }

    @Test("a method its owner does not allow in that implementation type is an error")
    func kindNotAllowed() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            issueCreated + "spec.yml": good(issueCreated + "spec.yml", replacing: "  handle:\n    implementationType: javascript",
                                            with: "  handle:\n    implementationType: rest-api-mapping"),
        ])
        #expect(problems == [
            "connectors/github/events/issue-created/spec.yml:25: error: handle cannot be implemented as rest-api-mapping in a webhook event, expected javascript or mapping",
        ])
    }

    // MARK: - Method files

    @Test("a declared method without a file names the file names it could have")
    func declaredMethodWithoutFile() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            issueCreated + "spec.yml": good(issueCreated + "spec.yml", replacing: "  handle:\n    implementationType: javascript", with: "  handle: {}"),
            issueCreated + "handle.js": nil,
        ])
        #expect(problems == [
            "connectors/github/events/issue-created/spec.yml:24: error: handle is declared but has no file, expected handle.js or handle.map.yml",
        ])
    }

    @Test("a method file that spec.yml does not declare is used, with a warning")
    func undeclaredMethodFile() throws {
        let folder = try WorkspaceFixtures.copy("good", editing: [
            issueCreated + "refresh.js": "export default async function refresh() {\n  return { nextRefreshTimestamp: Date.now() + 86400000 }\n}\n",
        ])
        defer { try? FileManager.default.removeItem(at: folder) }
        let (workspace, problems) = WorkspaceLoader().load(from: folder)
        #expect(problems.rendered() == [
            "connectors/github/events/issue-created/refresh.js:1: warning: method refresh is not declared, expected a `refresh:` entry under methods in spec.yml",
        ])
        #expect(!problems.hasErrors)
        #expect(workspace?.connectors["github"]?.method(for: .event("issue-created"), name: "refresh")?.kind == .javascript)
    }

    @Test("two files for one method without an implementationType is an error")
    func twoCandidateFiles() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            issueCreated + "spec.yml": good(issueCreated + "spec.yml", replacing: "  handle:\n    implementationType: javascript", with: "  handle: {}"),
            issueCreated + "handle.map.yml": "events: []\n",
        ])
        #expect(problems == [
            "connectors/github/events/issue-created/spec.yml:24: error: handle has several files (handle.js, handle.map.yml), expected exactly one or an implementationType choosing one",
        ])
    }

    @Test("an implementationType picks one of two files and the other is reported as ignored")
    func implementationTypePicksAFile() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [issueCreated + "handle.map.yml": "events: []\n"])
        #expect(problems == [
            "connectors/github/events/issue-created/handle.map.yml:1: warning: handle.map.yml is ignored because handle is declared as javascript, expected one file per method",
        ])
    }

    @Test("a file that is not named like a method is ignored with a warning")
    func strayFile() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [issueCreated + "handle.yaml": "events: []\n"])
        #expect(problems == [
            "connectors/github/events/issue-created/handle.yaml:1: warning: handle.yaml is not a method file and is ignored, expected <method>.js, .map.yml, .rest.yml, .api.yml or .graphql.yml",
        ])
    }

    @Test("an event method left in the collection folder hints at events/<type>/")
    func eventMethodInCollectionFolder() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [issues + "pull.js": "export default async function pull() { return { events: [] } }\n"])
        #expect(problems == [
            "connectors/github/data/issues/pull.js:1: warning: method pull is not declared, expected event methods in events/<created|updated|deleted>/ or a `pull:` entry under methods",
        ])
    }

    @Test("a JavaScript method without a default export is a warning")
    func javascriptWithoutDefaultExport() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [issueCreated + "handle.js": "module.exports = async () => ({ events: [] })\n"])
        #expect(problems == [
            "connectors/github/events/issue-created/handle.js:1: warning: handle.js has no default export, expected `export default async function handle(...)`",
        ])
    }

    @Test("a folder without spec.yml is an error on the folder")
    func missingSpec() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: ["connectors/github/events/pr-opened/handle.js": "export default async function handle() {}\n"])
        #expect(problems == [
            "connectors/github/events/pr-opened: error: spec.yml is missing, expected the event's spec.yml with name, implementationType, schema and methods",
        ])
    }

    @Test("a connector without auth/make-api-client is valid (its client calls connector.yml's baseUri); a baseUri that is no URL is an error")
    func missingMakeAPIClient() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: ["connectors/github/auth/make-api-client.map.yml": nil])
        #expect(problems == [])
        let badBase = try WorkspaceFixtures.problems(afterEditing: [
            "connectors/github/auth/make-api-client.map.yml": nil,
            "connectors/github/connector.yml": good("connectors/github/connector.yml", replacing: "name: GitHub", with: "name: GitHub\nbaseUri: api.github.com"),
        ])
        #expect(badBase == [
            "connectors/github/connector.yml:2: error: baseUri is 'api.github.com', expected an http(s) URL such as https://api.example.com/v1",
        ])
    }

    // MARK: - Required methods

    @Test("a webhook event without handle is valid (seed 000's example has none: the body is the record)")
    func webhookWithoutHandle() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            issueCreated + "spec.yml": good(issueCreated + "spec.yml", replacing: "  handle:\n    implementationType: javascript\n", with: ""),
            issueCreated + "handle.js": nil,
        ])
        #expect(problems == [])
    }

    @Test("a global-webhook event without getEventSelector is an error")
    func globalWebhookEventWithoutSelector() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            appMention + "spec.yml": good(appMention + "spec.yml", replacing: "methods:\n  getEventSelector:\n    implementationType: mapping\n", with: ""),
            appMention + "getEventSelector.map.yml": nil,
        ])
        #expect(problems == [
            "connectors/github/events/app-mention/spec.yml:3: error: global-webhook event has no getEventSelector method, expected getEventSelector.js or getEventSelector.map.yml and a `getEventSelector:` entry under methods",
        ])
    }

    @Test("a mapping selector naming an unknown global webhook is an error at its line")
    func unknownGlobalWebhookKeyInMapping() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            appMention + "getEventSelector.map.yml": good(appMention + "getEventSelector.map.yml", replacing: "globalWebhookKey: app", with: "globalWebhookKey: ap"),
        ])
        #expect(problems == [
            "connectors/github/events/app-mention/getEventSelector.map.yml:1: error: globalWebhookKey 'ap' is not a global webhook of connector github, expected app (did you mean 'app'?)",
        ])
    }

    @Test("a JavaScript selector returning an unknown global webhook key is an error at its line")
    func unknownGlobalWebhookKeyInJavaScript() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            appMention + "spec.yml": good(appMention + "spec.yml", replacing: "implementationType: mapping", with: "implementationType: javascript"),
            appMention + "getEventSelector.map.yml": nil,
            appMention + "getEventSelector.js": """
                export default async function getEventSelector({ parameters }) {
                  return {
                    globalWebhookKey: 'github-app',
                    globalWebhookEventSelector: `installation:${parameters.installationId}`,
                  }
                }

                """,
        ])
        #expect(problems == [
            "connectors/github/events/app-mention/getEventSelector.js:3: error: globalWebhookKey 'github-app' is not a global webhook of connector github, expected app",
        ])
    }

    @Test("a global-webhook event in a connector without global webhooks is an error")
    func noGlobalWebhooks() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: ["connectors/github/global-webhooks": nil])
        #expect(problems == [
            "connectors/github/events/app-mention/spec.yml:3: error: global-webhook event but connector github has no global webhooks, expected a global-webhooks/<key>/spec.yml",
        ])
    }

    // MARK: - Data collection events

    @Test("full scan needs the collection's list method")
    func fullScanWithoutList() throws {
        var spec = try #require(try good(issues + "spec.yml", replacing: "  list:\n    implementationType: javascript\n", with: ""))
        spec = spec.replacingOccurrences(
            of: "implementationType: pull-latest-records\n    methods:\n      pullLatestRecords:\n        implementationType: javascript\n",
            with: "implementationType: full-scan\n")
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            issues + "spec.yml": spec,
            issues + "list.js": nil,
            issues + "events/updated": nil,
        ])
        #expect(problems == [
            "connectors/github/data/issues/spec.yml:33: error: updated uses full-scan but the collection has no list method, expected a list method (list.js, list.rest.yml, ...) declared under methods",
        ])
    }

    @Test("an event the spec does not mention uses full scan, and its leftover files are ignored with warnings")
    func defaultFullScan() throws {
        let spec = try #require(try good(issues + "spec.yml", replacing: """
              deleted:
                implementationType: custom-pull
                methods:
                  subscribe:
                    implementationType: javascript
                  pull:
                    implementationType: javascript

            """, with: ""))
        let folder = try WorkspaceFixtures.copy("good", editing: [issues + "spec.yml": spec])
        defer { try? FileManager.default.removeItem(at: folder) }
        let (workspace, problems) = WorkspaceLoader().load(from: folder)
        #expect(problems.rendered() == [
            "connectors/github/data/issues/events/deleted/pull.js:1: warning: pull.js is ignored: 'pull' is not a method of a full-scan event, expected no method files here",
            "connectors/github/data/issues/events/deleted/subscribe.js:1: warning: subscribe.js is ignored: 'subscribe' is not a method of a full-scan event, expected no method files here",
        ])
        let deleted = try #require(workspace?.connectors["github"]?.dataCollections["issues"]?.events[.deleted])
        #expect(deleted.implementationType == .fullScan)
        #expect(deleted.isDefault)
    }

    @Test("an unknown record event type is an error with a did-you-mean")
    func unknownRecordEvent() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            issues + "spec.yml": good(issues + "spec.yml", replacing: "  updated:\n", with: "  update:\n"),
            issues + "events/updated": nil,
        ])
        #expect(problems == [
            "connectors/github/data/issues/spec.yml:35: error: 'update' is not a record event, expected created, updated or deleted (did you mean 'updated'?)",
        ])
    }

    // MARK: - Fields and schemas

    @Test("a missing required field is named")
    func missingName() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            issueCreated + "spec.yml": good(issueCreated + "spec.yml", replacing: "name: Issue Created\n", with: ""),
        ])
        #expect(problems == ["connectors/github/events/issue-created/spec.yml:1: error: required field 'name' is missing, expected a string"])
    }

    @Test("an invalid JSON Schema is reported at the offending keyword with the schema pointer")
    func invalidSchema() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            "connectors/github/connector.yml": good("connectors/github/connector.yml", replacing: "      type: string", with: "      type: text"),
        ])
        #expect(problems == [
            "connectors/github/connector.yml:8: error: parametersSchema is not a valid JSON Schema at /properties/webhookSecret/type: unknown type \"text\"; expected one of null, boolean, integer, number, string, array, object",
        ])
    }

    @Test("a deliveryId that is not a valid mapping is an error naming the file, line and field")
    func invalidDeliveryId() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            issueCreated + "spec.yml": good(issueCreated + "spec.yml", replacing: "\nschema:", with: "\ndeliveryId:\n  $nope: headers.x\nschema:"),
        ])
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("connectors/github/events/issue-created/spec.yml:11: error: deliveryId is not a valid mapping") == true, "\(problems)")
    }

    @Test("an unknown top-level key is a warning, with a did-you-mean when one is close")
    func unknownKeys() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            issueCreated + "spec.yml": good(issueCreated + "spec.yml", replacing: "\nschema:", with: "\ncolor: blue\nschemma:"),
        ])
        #expect(problems == [
            "connectors/github/events/issue-created/spec.yml:11: warning: unknown key 'color' is ignored, expected one of name, description, implementationType, parametersSchema, schema, methods, deliveryId, respondsToWebhook",
            "connectors/github/events/issue-created/spec.yml:12: warning: unknown key 'schemma' is ignored, did you mean 'schema'?",
        ])
    }

    @Test("a key that differs from its folder name is an error")
    func keyMismatch() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            "connectors/github/connector.yml": good("connectors/github/connector.yml", replacing: "key: github", with: "key: git-hub"),
        ])
        #expect(problems == ["connectors/github/connector.yml:2: error: key 'git-hub' differs from the connector folder name 'github', expected them to be equal"])
    }

    @Test("allowedHosts must be bare host names")
    func allowedHostsAreHosts() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            "connectors/github/connector.yml": good("connectors/github/connector.yml", replacing: "  - api.github.com", with: "  - api.github.com\n  - https://uploads.github.com/"),
        ])
        #expect(problems == [
            "connectors/github/connector.yml:14: error: allowedHosts entry 'https://uploads.github.com/' is not a host name, expected a bare host such as api.github.com or *.github.com",
        ])
    }

    @Test("an app event example must match its schema")
    func appEventExampleMismatch() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            "app-events/order-created.yml": good("app-events/order-created.yml", replacing: "example:", with: "schema: {type: object, required: [orderId, shippedAt]}\nexample:"),
        ])
        #expect(problems == [
            "app-events/order-created.yml:4: error: example does not match the schema at / (missing required property 'shippedAt'), expected an example the schema accepts",
        ])
    }

    // MARK: - YAML and mappings

    @Test("a YAML syntax error is reported with its line")
    func yamlSyntaxError() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            "connectors/github/connector.yml": good("connectors/github/connector.yml", replacing: "description: Issues and", with: "description: Issues: and"),
        ])
        #expect(problems == ["connectors/github/connector.yml:3: error: YAML syntax error: mapping values are not allowed in this context, expected valid YAML"])
    }

    @Test("a mapping method file that is not valid YAML is an error")
    func invalidMappingFile() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            appMention + "getEventSelector.map.yml": "globalWebhookKey: app\nglobalWebhookEventSelector: {$var: parameters.installationId\n",
        ])
        #expect(problems == [
            "connectors/github/events/app-mention/getEventSelector.map.yml:3: error: mapping file is not valid YAML: did not find expected ',' or '}' (while parsing a flow mapping at line 2), expected a YAML or JSON document",
        ])
    }

    @Test("a REST API mapping needs a path and a known HTTP method")
    func restMappingShape() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [
            issues + "findById.rest.yml": good(issues + "findById.rest.yml", replacing: "method: GET", with: "method: FETCH"),
        ])
        #expect(problems == [
            "connectors/github/data/issues/findById.rest.yml:2: error: HTTP method 'FETCH' is not known, expected GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS",
        ])
    }

    @Test("findings of the mapping hook are errors at the line of their pointer")
    func mappingHookFindings() throws {
        let problems = try WorkspaceFixtures.problems(afterEditing: [:]) { value in
            if value["baseUri"] != nil { return [("/headers/Authorization/$concat/1", "unknown variable credentials.access_token, expected credentials.accessToken")] }
            if value == ["$var": "customerId"] { return [("/$var", "customerId is not in the example, expected a path into the event")] }
            return []
        }
        #expect(problems == [
            "app-events/order-created.yml:11: error: customerId is not in the example, expected a path into the event",
            "connectors/github/auth/make-api-client.map.yml:7: error: unknown variable credentials.access_token, expected credentials.accessToken",
        ])
    }

    // MARK: - Rendering

    @Test("problems render like compiler diagnostics and summarise in one line")
    func rendering() {
        let problems = [
            WorkspaceProblem(severity: .error, path: "connectors/x/auth", line: nil, message: "connector auth has no make-api-client method, expected make-api-client.js"),
            WorkspaceProblem(severity: .warning, path: "connectors/x/connector.yml", line: 3, message: "unknown key 'nmae' is ignored, did you mean 'name'?"),
        ]
        #expect(problems.rendered() == [
            "connectors/x/auth: error: connector auth has no make-api-client method, expected make-api-client.js",
            "connectors/x/connector.yml:3: warning: unknown key 'nmae' is ignored, did you mean 'name'?",
        ])
        #expect(problems.hasErrors)
        #expect(problems.summary() == "1 error and 1 warning in 2 files")
        #expect(!Array(problems.dropFirst()).hasErrors)
        #expect([WorkspaceProblem]().summary() == "no problems")
    }
}
