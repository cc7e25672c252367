import Foundation

/// The engine behind `inlet schema validate <schema.json> <instance.json>...`.
///
/// The schema is compiled with its file URL as base URI and local-file references enabled, so
/// `{"$ref": "./other.json"}` loads `other.json` from the schema's folder.
public struct SchemaFileCheck: Sendable {
    /// Validates every instance file against the schema file.
    ///
    /// - Returns: report lines and whether everything was valid. Per instance there is one verdict line,
    ///   `valid: <path>` or `invalid: <path>` followed by one `  /instance/path: message (keyword at location)`
    ///   line per error; files that cannot be read or parsed get an `error: ...` line saying what to fix.
    public static func run(schemaPath: String, instancePaths: [String], options: JSONSchema.Options = .init()) -> (lines: [String], allValid: Bool) {
        let schemaURL = URL(fileURLWithPath: schemaPath).standardizedFileURL
        let schemaValue: JSONValue
        switch readJSON(at: schemaURL, display: schemaPath, role: "schema") {
        case .failure(let line): return ([line], false)
        case .success(let v): schemaValue = v
        }
        var compileOptions = options
        compileOptions.allowFileReferences = true
        let schema: JSONSchema
        do {
            schema = try JSONSchema(schemaValue, baseURI: schemaURL, options: compileOptions)
        } catch let error as SchemaError {
            return (["error: \(schemaPath) is not a valid JSON Schema: \(error.description); fix the schema and retry"], false)
        } catch {
            return (["error: \(schemaPath) is not a valid JSON Schema: \(error); fix the schema and retry"], false)
        }
        if instancePaths.isEmpty {
            return (["error: no instance files given; usage: inlet schema validate <schema.json> <instance.json>..."], false)
        }
        var lines: [String] = []
        var allValid = true
        for path in instancePaths {
            switch readJSON(at: URL(fileURLWithPath: path), display: path, role: "instance") {
            case .failure(let line):
                lines.append(line)
                allValid = false
            case .success(let instance):
                let errors = schema.validate(instance)
                if errors.isEmpty {
                    lines.append("valid: \(path)")
                } else {
                    allValid = false
                    lines.append("invalid: \(path)")
                    lines.append(contentsOf: errors.map { "  \($0.description)" })
                }
            }
        }
        return (lines, allValid)
    }

    private enum ReadResult {
        case success(JSONValue)
        case failure(String)
    }

    private static func readJSON(at url: URL, display: String, role: String) -> ReadResult {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let exists = FileManager.default.fileExists(atPath: url.path)
            let reason = exists ? "it exists but cannot be read; check its permissions" : "no such file; check the path"
            return .failure("error: cannot read \(role) file \(display): \(reason)")
        }
        do {
            return .success(try JSONValue(parsing: data))
        } catch {
            return .failure("error: \(role) file \(display) is not valid JSON (\(describe(error))); fix the JSON syntax and retry")
        }
    }

    private static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            if let underlying = context.underlyingError as NSError?, let detail = underlying.userInfo[NSDebugDescriptionErrorKey] as? String {
                return detail
            }
            return context.debugDescription
        }
        return String(describing: error)
    }
}
