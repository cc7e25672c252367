import ArgumentParser
import InletConnectors

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Work with JSON Schemas (draft 2020-12 and draft-07).",
        subcommands: [Validate.self]
    )

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate JSON documents against a schema; exit 1 if any is invalid.",
            discussion: "`$ref`s to local files (relative to the schema) and to `$defs` are resolved."
        )

        @Argument(help: "The schema file.")
        var schema: String

        @Argument(help: "One or more JSON documents to check.")
        var instances: [String]

        func run() throws {
            let result = SchemaFileCheck.run(schemaPath: schema, instancePaths: instances)
            result.lines.forEach { print($0) }
            if !result.allValid { throw ExitCode(1) }
        }
    }
}
