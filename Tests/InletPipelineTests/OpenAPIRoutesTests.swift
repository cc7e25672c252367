import Foundation
import HummingbirdTesting
import InletHTTP
import InletJSON
import InletPipeline
import Testing
import Yams

/// schemas/openapi.yml describes what ingress serves, no more and no less, and the binary serves
/// that very document.
@Suite("OpenAPI document")
struct OpenAPIRoutesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func specText() throws -> String {
        try String(contentsOf: root.appendingPathComponent("schemas/openapi.yml"), encoding: .utf8)
    }

    @Test("every route ingress serves (webhooks, app events, health, metrics, the whole admin API) is in schemas/openapi.yml with its method, and every path and method there is served")
    func routesMatchTheSpec() throws {
        let spec = try #require(try Yams.load(yaml: Self.specText()) as? [String: Any])
        let paths = try #require(spec["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
        let documented = Set(paths.flatMap { path, operations in
            operations.keys.filter(methods.contains).map { "\($0.uppercased()) \(path)" }
        })
        let pipeline = try TestPipeline(workspace: try TestPipeline.fixtureWorkspace("pulls"))
        let served = Set(pipeline.server().router().routes.map { "\($0.method) \($0.path)" })
        #expect(served.subtracting(documented).sorted() == [], "served but not in schemas/openapi.yml")
        #expect(documented.subtracting(served).sorted() == [], "in schemas/openapi.yml but not served")
        #expect(served.count >= 30)
    }

    @Test("GET /api/v1/openapi.yml serves schemas/openapi.yml as it is in the repository (.ci/embed-openapi writes the embedded copy)")
    func servesTheDocument() async throws {
        let pipeline = try TestPipeline(workspace: try TestPipeline.fixtureWorkspace("pulls"))
        try await pipeline.server().application().test(.router) { client in
            try await client.execute(uri: "/api/v1/openapi.yml", method: .get, headers: [.authorization: "Bearer \(WebhookEndToEndTests.adminToken)"]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/yaml")
                let served = String(buffer: response.body)
                let file = try Self.specText()
                #expect(served.trimmingCharacters(in: .newlines) == file.trimmingCharacters(in: .newlines), "the embedded document is stale: run .ci/embed-openapi")
            }
            try await client.execute(uri: "/api/v1/openapi.yml", method: .get) { #expect($0.status == .unauthorized) }
        }
    }
}
