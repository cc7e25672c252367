import Foundation
import Testing

@testable import InletConnectors

/// Runs the official JSON Schema Test Suite (draft2020-12 and draft7, required tests only) from
/// `Tests/Fixtures/json-schema-test-suite`, one parameterized test case per file.
@Suite("JSON Schema Test Suite")
struct JSONSchemaSuiteTests {
    /// Cases known to fail, keyed `file|group description|case description`, each with the reason.
    static let skipped: [String: String] = [:]

    @Test("fixture files are present")
    func fixturesPresent() {
        #expect(SuiteFixtures.files.count >= 80, "expected the draft2020-12 and draft7 suite files under \(SuiteFixtures.root.path)")
    }

    @Test("suite file", arguments: SuiteFixtures.files)
    func suiteFile(_ file: String) throws {
        let outcome = try SuiteFixtures.run(file)
        print("\(file): \(outcome.passed)/\(outcome.total)\(outcome.skipped > 0 ? " (\(outcome.skipped) skipped)" : "")")
        for failure in outcome.failures {
            Issue.record(Comment(rawValue: failure))
        }
    }

    @Test("conformance totals")
    func totals() throws {
        var byDraft: [String: (passed: Int, total: Int, skipped: Int)] = [:]
        for file in SuiteFixtures.files {
            let draft = String(file.split(separator: "/")[0])
            let outcome = try SuiteFixtures.run(file)
            var t = byDraft[draft] ?? (0, 0, 0)
            t.passed += outcome.passed
            t.total += outcome.total
            t.skipped += outcome.skipped
            byDraft[draft] = t
        }
        for (draft, t) in byDraft.sorted(by: { $0.key < $1.key }) {
            print("\(draft) total: \(t.passed)/\(t.total) (\(t.skipped) skipped)")
            #expect(t.passed + t.skipped == t.total)
        }
    }
}

/// Locating, loading and running the suite files.
enum SuiteFixtures {
    /// `<package root>/Tests/Fixtures/json-schema-test-suite`, found by walking up from this file.
    static let root: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("Tests/Fixtures/json-schema-test-suite")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/json-schema-test-suite")
    }()

    /// `draft2020-12/<name>.json` and `draft7/<name>.json` for every file of the two folders.
    static let files: [String] = {
        var out: [String] = []
        for draft in ["draft2020-12", "draft7"] {
            let dir = root.appendingPathComponent(draft)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            out += names.filter { $0.hasSuffix(".json") }.sorted().map { "\(draft)/\($0)" }
        }
        return out
    }()

    /// The `remotes/` folder, served at `http://localhost:1234/` in the suite's convention.
    static let registry: SchemaRegistry = {
        var registry = SchemaRegistry()
        _ = try? registry.registerDirectory(root.appendingPathComponent("remotes"), baseURI: "http://localhost:1234/")
        return registry
    }()

    struct Outcome {
        var passed = 0
        var total = 0
        var skipped = 0
        var failures: [String] = []
    }

    static func run(_ file: String) throws -> Outcome {
        let dialect: SchemaDialect = file.hasPrefix("draft7/") ? .draft7 : .draft2020_12
        let groups = try JSONValue(parsing: Data(contentsOf: root.appendingPathComponent(file)))
        var outcome = Outcome()
        for group in groups.arrayValue ?? [] {
            let groupName = group["description"]?.stringValue ?? "?"
            let tests = group["tests"]?.arrayValue ?? []
            let schema: JSONSchema?
            var compileError = ""
            do {
                schema = try JSONSchema(group["schema"] ?? true, baseURIString: "", registry: registry,
                    options: .init(defaultDialect: dialect))
            } catch {
                schema = nil
                compileError = "\(error)"
            }
            for test in tests {
                let caseName = test["description"]?.stringValue ?? "?"
                let key = "\(file)|\(groupName)|\(caseName)"
                outcome.total += 1
                if JSONSchemaSuiteTests.skipped[key] != nil {
                    outcome.skipped += 1
                    continue
                }
                let expected = test["valid"]?.boolValue ?? false
                let data = test["data"] ?? .null
                guard let schema else {
                    outcome.failures.append("\(key): schema did not compile: \(compileError)")
                    continue
                }
                let quick = schema.isValid(data)
                let errors = schema.validate(data)
                if quick == expected && errors.isEmpty == expected {
                    outcome.passed += 1
                } else {
                    outcome.failures.append(
                        "\(key): expected \(expected ? "valid" : "invalid"), isValid=\(quick), errors=\(errors.map(\.description))")
                }
            }
        }
        return outcome
    }
}
