import Testing

@testable import InletConnectors

@Suite("Script module loading")
struct ScriptModuleLoaderTests {
    private func lines(_ text: String) -> Int { text.split(separator: "\n", omittingEmptySubsequences: false).count }

    @Test("rewriting keeps every line where it was")
    func keepsLineNumbers() throws {
        let source = "// a\nconst x = `multi\nline ${ { a: 1 }.a }`\nexport default async function handle(args) {\n  return x\n}\n"
        let module = try ScriptModuleLoader.load(source: source, fileName: "m.js")
        let wrappedLines = module.wrappedSource.split(separator: "\n", omittingEmptySubsequences: false)
        let sourceLines = source.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(wrappedLines[3].contains("async function handle(args) {"))
        #expect(!wrappedLines[3].contains("export"))
        #expect(wrappedLines[1] == sourceLines[1])
        #expect(module.wrappedSource.contains("return handle;"))
    }

    @Test("export and import inside strings, comments and templates are left alone")
    func ignoresStringsAndComments() throws {
        let source = """
            /* export default 1
            import x from 'y' */
            const s = 'import x from "y"'
            const t = `
            import nothing
            `
            export default function () { return s + t }
            """
        let module = try ScriptModuleLoader.load(source: source, fileName: "m.js")
        #expect(module.wrappedSource.contains("function \(ScriptModuleLoader.hiddenDefaultName) ()"))
        #expect(module.wrappedSource.contains("const s = 'import x from \"y\"'"))
        #expect(module.wrappedSource.contains("/* export default 1"))
    }

    @Test("import, export lists and a second default export are errors with their line")
    func rejectsUnsupported() {
        #expect(throws: ScriptError.self) { try ScriptModuleLoader.load(source: "\n\nimport { a } from './a.js'", fileName: "m.js") }
        do {
            _ = try ScriptModuleLoader.load(source: "export default 1\nexport default 2", fileName: "m.js")
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .syntax)
            #expect(error.line == 2)
        }
        do {
            _ = try ScriptModuleLoader.load(source: "const a = 1\nexport { a }", fileName: "m.js")
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .unsupported)
            #expect(error.line == 2)
        }
    }
}
