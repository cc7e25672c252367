import Foundation

/// A parsed YAML file of the workspace, with the path used in problems.
struct SpecFile {
    let url: URL
    let path: String
    let document: YAMLDocument

    var value: JSONValue { document.value }
}

/// One directory entry, hidden files excluded.
struct DirectoryEntry {
    let name: String
    let url: URL
    let isDirectory: Bool
}

/// State of one load: where paths are relative to, the mapping hook, and every problem found so far.
/// Loading never stops at a problem; each step reports and carries on with what it could read.
struct WorkspaceLoadContext {
    let root: URL
    let mappingCheck: WorkspaceLoader.MappingCheck
    private(set) var problems: [WorkspaceProblem] = []

    init(root: URL, mappingCheck: @escaping WorkspaceLoader.MappingCheck) {
        self.root = root.standardizedFileURL
        self.mappingCheck = mappingCheck
    }

    /// Problems ordered by path, then line, then the order they were found in, so reports are stable.
    var sortedProblems: [WorkspaceProblem] {
        problems.enumerated().sorted { a, b in
            if a.element.path != b.element.path { return a.element.path < b.element.path }
            let lineA = a.element.line ?? 0, lineB = b.element.line ?? 0
            if lineA != lineB { return lineA < lineB }
            return a.offset < b.offset
        }.map(\.element)
    }

    // MARK: - Reporting

    func relativePath(_ url: URL) -> String {
        let path = url.standardizedFileURL.path
        let rootPath = root.path.hasSuffix("/") ? root.path : root.path + "/"
        if path.hasPrefix(rootPath) { return String(path.dropFirst(rootPath.count)) }
        return path == root.path ? "." : path
    }

    mutating func report(_ severity: WorkspaceProblem.Severity, _ path: String, line: Int?, _ message: String) {
        problems.append(WorkspaceProblem(severity: severity, path: path, line: line, message: message))
    }

    mutating func error(_ file: SpecFile, at pointer: String, _ message: String) {
        report(.error, file.path, line: file.document.line(of: pointer), message)
    }

    mutating func warning(_ file: SpecFile, at pointer: String, _ message: String) {
        report(.warning, file.path, line: file.document.line(of: pointer), message)
    }

    // MARK: - Files

    /// Entries of `url` sorted by name (hidden ones skipped); empty when it is not a readable folder.
    func entries(of url: URL) -> [DirectoryEntry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { name in
            let child = url.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: child.path, isDirectory: &isDirectory)
            return DirectoryEntry(name: name, url: child, isDirectory: isDirectory.boolValue)
        }
    }

    func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Reads a UTF-8 text file, reporting why it could not be read.
    mutating func readText(_ url: URL) -> String? {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            report(.error, relativePath(url), line: nil, "file cannot be read, expected a readable file")
            return nil
        }
        guard let text = String(data: data, encoding: .utf8) else {
            report(.error, relativePath(url), line: 1, "file is not UTF-8 text, expected UTF-8")
            return nil
        }
        return text
    }

    /// Reads and parses a YAML file; a missing file is reported against its folder, saying it should hold `what`.
    mutating func readYAML(_ url: URL, what: String) -> SpecFile? {
        let path = relativePath(url)
        guard FileManager.default.fileExists(atPath: url.path) else {
            report(.error, relativePath(url.deletingLastPathComponent()), line: nil,
                   "\(url.lastPathComponent) is missing, expected \(what)")
            return nil
        }
        guard let text = readText(url) else { return nil }
        do {
            return SpecFile(url: url, path: path, document: try YAMLLoader.parse(text))
        } catch {
            report(.error, path, line: error.line, "YAML syntax error: \(error.message), expected valid YAML")
            return nil
        }
    }

    // MARK: - Fields

    /// The file's top-level mapping, or `nil` after reporting that it is something else.
    mutating func rootObject(_ file: SpecFile, what: String) -> [String: JSONValue]? {
        if let object = file.value.objectValue { return object }
        let found = file.value.isNull ? "file is empty" : "file holds \(Self.describe(file.value))"
        error(file, at: "", "\(found), expected a mapping with \(what)")
        return nil
    }

    /// Warns about keys of `object` (at `pointer`) that are not in `allowed`.
    mutating func checkKeys(_ file: SpecFile, _ object: [String: JSONValue], at pointer: String = "", allowed: [String]) {
        for key in object.keys.sorted() where !allowed.contains(key) {
            let hint = WorkspaceWording.closestMatch(key, in: allowed).map { "did you mean '\($0)'?" }
                ?? "expected one of \(allowed.joined(separator: ", "))"
            warning(file, at: YAMLLoader.pointer(pointer, key), "unknown key '\(key)' is ignored, \(hint)")
        }
    }

    /// A required string member; reports it missing or of the wrong type.
    mutating func requiredString(_ file: SpecFile, _ object: [String: JSONValue], _ key: String, at pointer: String = "") -> String? {
        guard let value = object[key] else {
            error(file, at: pointer, "required field '\(key)' is missing, expected a string")
            return nil
        }
        return string(file, value, key, at: YAMLLoader.pointer(pointer, key))
    }

    /// An optional string member; reports a value of the wrong type.
    mutating func optionalString(_ file: SpecFile, _ object: [String: JSONValue], _ key: String, at pointer: String = "") -> String? {
        guard let value = object[key], !value.isNull else { return nil }
        return string(file, value, key, at: YAMLLoader.pointer(pointer, key))
    }

    /// An optional boolean member (`false` when absent); reports a value of the wrong type.
    mutating func optionalBool(_ file: SpecFile, _ object: [String: JSONValue], _ key: String, at pointer: String = "") -> Bool {
        guard let value = object[key], !value.isNull else { return false }
        guard let flag = value.boolValue else {
            error(file, at: YAMLLoader.pointer(pointer, key), "'\(key)' is \(Self.describe(value)), expected true or false")
            return false
        }
        return flag
    }

    /// An optional whole number of seconds (at least 1); reports anything else.
    mutating func optionalSeconds(_ file: SpecFile, _ object: [String: JSONValue], _ key: String, at pointer: String = "") -> Int? {
        guard let value = object[key], !value.isNull else { return nil }
        guard case .integer(let seconds) = value, seconds >= 1, seconds <= 366 * 24 * 3600 else {
            error(file, at: YAMLLoader.pointer(pointer, key), "'\(key)' is \(Self.describe(value)), expected a whole number of seconds from 1 to 31622400, such as 300")
            return nil
        }
        return Int(seconds)
    }

    private mutating func string(_ file: SpecFile, _ value: JSONValue, _ key: String, at pointer: String) -> String? {
        guard let string = value.stringValue, !string.isEmpty else {
            error(file, at: pointer, "'\(key)' is \(Self.describe(value)), expected a non-empty string")
            return nil
        }
        return string
    }

    /// An optional `key` field that must equal the folder or file name it was found under.
    mutating func checkKey(_ file: SpecFile, _ object: [String: JSONValue], matches expected: String, in place: String) {
        guard let key = optionalString(file, object, "key") else { return }
        if key != expected {
            error(file, at: "/key", "key '\(key)' differs from the \(place) name '\(expected)', expected them to be equal")
        }
    }

    /// Compiles the JSON Schema at `key`, reporting where it is malformed.
    mutating func schema(_ file: SpecFile, _ object: [String: JSONValue], _ key: String) -> (JSONValue?, JSONSchema?) {
        guard let value = object[key], !value.isNull else { return (nil, nil) }
        let pointer = YAMLLoader.pointer("", key)
        do {
            return (value, try JSONSchema(value, baseURI: file.url))
        } catch let schemaError as SchemaError {
            let at = schemaError.pointer.isEmpty ? "/" : schemaError.pointer
            let document = schemaError.documentURI.map { " of \($0)" } ?? ""
            // SchemaError messages usually say what they expected already; add it only when they do not.
            let expected = schemaError.message.contains("expected") ? "" : ", expected a valid draft 2020-12 or draft-07 schema"
            error(file, at: pointer + schemaError.pointer,
                  "\(key) is not a valid JSON Schema at \(at)\(document): \(schemaError.message)\(expected)")
        } catch {
            self.error(file, at: pointer, "\(key) is not a valid JSON Schema: \(error), expected a draft 2020-12 or draft-07 schema")
        }
        return (value, nil)
    }

    /// Runs the formula hook over a mapping (at `pointer` inside `file`) and reports what it finds.
    mutating func checkMapping(_ value: JSONValue, in file: SpecFile, at pointer: String = "") {
        for finding in mappingCheck(value) {
            error(file, at: pointer + finding.pointer, finding.message)
        }
    }

    // MARK: - Wording

    /// `a string`, `a number`, `a list`, ... for "expected" messages.
    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "empty"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "a mapping"
        }
    }
}

/// Shared wording of problems: lists of alternatives and "did you mean" suggestions.
enum WorkspaceWording {
    /// `a`, `a or b`, `a, b or c`.
    static func alternatives(_ items: [String], conjunction: String = "or") -> String {
        switch items.count {
        case 0: return "nothing"
        case 1: return items[0]
        default: return items.dropLast().joined(separator: ", ") + " \(conjunction) " + items[items.count - 1]
        }
    }

    /// The candidate closest to `word` by edit distance when it is close enough to be a likely typo.
    static func closestMatch(_ word: String, in candidates: [String]) -> String? {
        let lowered = word.lowercased()
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(lowered, candidate.lowercased())
            if distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        guard let best else { return nil }
        let allowed = max(1, min(3, best.candidate.count / 3))
        return best.distance <= allowed ? best.candidate : nil
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
