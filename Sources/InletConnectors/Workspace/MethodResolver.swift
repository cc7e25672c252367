import Foundation

/// Which methods an owner (a webhook event, a global webhook, a pull strategy, ...) may have and how
/// each may be implemented, as the seeds specify.
struct MethodRules {
    struct Rule {
        let name: String
        let kinds: [MethodImplementation.Kind]
        let required: Bool
    }

    /// How the owner is named in problems, e.g. `webhook event`.
    let owner: String
    /// `nil` when any method name and implementation type is allowed (data collection methods).
    let rules: [Rule]?

    func rule(named name: String) -> Rule? { rules?.first { $0.name == name } }

    private static let api: [MethodImplementation.Kind] = [.javascript, .restAPIMapping, .graphqlAPIMapping]
    private static let function: [MethodImplementation.Kind] = [.javascript, .mapping]
    /// Seed 004 names no implementation types for pull methods: any of them.
    private static let pull = MethodImplementation.Kind.allCases

    /// Seed 001: `subscribe`, `unsubscribe`, optional `handle` and `refresh`. Seed 000's own
    /// example declares no `handle`: the request's parsed body is then the record.
    static let webhook = MethodRules(owner: "webhook event", rules: [
        Rule(name: "subscribe", kinds: api, required: true),
        Rule(name: "handle", kinds: function, required: false),
        Rule(name: "unsubscribe", kinds: api, required: true),
        Rule(name: "refresh", kinds: api, required: false),
    ])
    /// ARCHITECTURE: `getEventSelector`, and an optional `handle` for the matched payload.
    static let globalWebhookEvent = MethodRules(owner: "global-webhook event", rules: [
        Rule(name: "getEventSelector", kinds: function, required: true),
        Rule(name: "handle", kinds: function, required: false),
    ])
    /// Seed 003: `handle`.
    static let globalWebhook = MethodRules(owner: "global webhook", rules: [
        Rule(name: "handle", kinds: function, required: true),
    ])
    /// Seed 004: `pullLatestRecords`.
    static let pullLatestRecords = MethodRules(owner: "pull-latest-records event", rules: [
        Rule(name: "pullLatestRecords", kinds: pull, required: true),
    ])
    /// Seed 004: `subscribe` + `pull`.
    static let customPull = MethodRules(owner: "custom-pull event", rules: [
        Rule(name: "subscribe", kinds: pull, required: true),
        Rule(name: "pull", kinds: pull, required: true),
    ])
    /// Seed 004: full scan uses the collection's `list`, no methods of its own.
    static let fullScan = MethodRules(owner: "full-scan event", rules: [])
    /// FORMULAS.md: `make-api-client` turns credentials into the API client; `refresh-credentials` is optional.
    /// A connector without `auth/` is valid: its client calls connector.yml's `baseUri`.
    static let auth = MethodRules(owner: "connector auth", rules: [
        Rule(name: "make-api-client", kinds: function, required: false),
        Rule(name: "refresh-credentials", kinds: MethodImplementation.Kind.allCases, required: false),
    ])
    /// Data collection methods (`list`, `findById`, ...): any name, any implementation type.
    static let collection = MethodRules(owner: "data collection", rules: nil)
}

/// Where the declarations of a folder's methods live (`methods:` in a spec.yml).
struct MethodDeclarations {
    let spec: SpecFile
    /// The `methods` value, `nil` when the spec has none.
    let value: JSONValue?
    /// Pointer of `methods` in the spec, e.g. `/methods` or `/events/created/methods`.
    let pointer: String
    /// Where "method missing" problems point, e.g. `/implementationType` or `/events/created`.
    let ownerPointer: String
}

/// Where a problem about a method points.
private enum MethodSite {
    /// A pointer inside a spec.yml (a declaration).
    case spec(SpecFile, String)
    /// A method file, at its first line.
    case file(URL)
}

/// What the rules say about a method name.
private enum RuleLookup {
    /// The owner takes any method name and implementation type.
    case any
    case rule(MethodRules.Rule)
    /// Not a method of this owner; already reported.
    case unknown
}

extension WorkspaceLoadContext {
    /// Loads the method files of `folder` following `rules`: declared methods must have their file,
    /// undeclared files are loaded with a warning, required methods must exist, and every problem is
    /// reported. `declarations` is `nil` where methods are found by file name only (`auth/`).
    mutating func resolveMethods(
        in folder: URL,
        rules: MethodRules,
        declarations: MethodDeclarations?,
        ignoring: Set<String> = ["spec.yml"],
        undeclaredHint: (String) -> String? = { _ in nil }
    ) -> [String: MethodImplementation] {
        var files: [String: [(kind: MethodImplementation.Kind, entry: DirectoryEntry)]] = [:]
        for entry in entries(of: folder) where !entry.isDirectory && !ignoring.contains(entry.name) && !entry.name.hasSuffix(".md") {
            if let parsed = MethodImplementation.Kind.parse(fileName: entry.name) {
                files[parsed.method, default: []].append((parsed.kind, entry))
            } else {
                report(.warning, relativePath(entry.url), line: 1,
                       "\(entry.name) is not a method file and is ignored, expected <method>.js, .map.yml, .rest.yml, .api.yml or .graphql.yml")
            }
        }

        var methods: [String: MethodImplementation] = [:]
        var declared: [String: JSONValue] = [:]
        if let declarations, let value = declarations.value, !value.isNull {
            if let object = value.objectValue {
                declared = object
            } else {
                error(declarations.spec, at: declarations.pointer,
                      "methods is \(Self.describe(value)), expected a mapping of method names to {implementationType: ...}")
            }
        }

        for name in declared.keys.sorted() {
            guard let declarations, let declaration = declared[name] else { continue }
            let pointer = YAMLLoader.pointer(declarations.pointer, name)
            let spec = declarations.spec
            let rule: MethodRules.Rule?
            switch lookUp(name, rules, site: .spec(spec, pointer)) {
            case .unknown: continue
            case .any: rule = nil
            case .rule(let found): rule = found
            }
            var requested: MethodImplementation.Kind?
            switch declaration {
            case .null:
                break
            case .object(let members):
                checkKeys(spec, members, at: pointer, allowed: ["implementationType"])
                if let type = members["implementationType"] {
                    let typeName = type.stringValue ?? Self.describe(type)
                    guard let kind = MethodImplementation.Kind(rawValue: typeName) else {
                        let kinds = (rule?.kinds ?? MethodImplementation.Kind.allCases).map(\.rawValue)
                        let hint = WorkspaceWording.closestMatch(typeName, in: kinds).map { " (did you mean '\($0)'?)" } ?? ""
                        error(spec, at: pointer + "/implementationType",
                              "implementationType '\(typeName)' of \(name) is not known, expected \(WorkspaceWording.alternatives(kinds))\(hint)")
                        continue
                    }
                    requested = kind
                }
            default:
                error(spec, at: pointer, "method \(name) is \(Self.describe(declaration)), expected a mapping such as {implementationType: javascript}")
                continue
            }
            if let method = loadMethod(name, requested: requested, candidates: files[name] ?? [], rule: rule, rules: rules,
                                       site: .spec(spec, pointer)) {
                methods[name] = method
            }
        }

        for name in files.keys.sorted() where declared[name] == nil {
            let candidates = files[name] ?? []
            guard let first = candidates.first else { continue }
            let rule: MethodRules.Rule?
            switch lookUp(name, rules, site: .file(first.entry.url), ignoredFiles: candidates.map(\.entry)) {
            case .unknown: continue
            case .any: rule = nil
            case .rule(let found): rule = found
            }
            if let declarations {
                let location = declarations.pointer.split(separator: "/").joined(separator: ".")
                let hint = undeclaredHint(name) ?? "expected a `\(name):` entry under \(location) in \(declarations.spec.url.lastPathComponent)"
                report(.warning, relativePath(first.entry.url), line: 1, "method \(name) is not declared, \(hint)")
            }
            if let method = loadMethod(name, requested: nil, candidates: candidates, rule: rule, rules: rules, site: .file(first.entry.url)) {
                methods[name] = method
            }
        }

        for rule in rules.rules ?? [] where rule.required && methods[rule.name] == nil && declared[rule.name] == nil && files[rule.name] == nil {
            let expected = "expected \(fileNames(rule.name, rule.kinds))"
            if let declarations {
                error(declarations.spec, at: declarations.ownerPointer,
                      "\(rules.owner) has no \(rule.name) method, \(expected) and a `\(rule.name):` entry under methods")
            } else {
                report(.error, relativePath(folder), line: nil, "\(rules.owner) has no \(rule.name) method, \(expected)")
            }
        }
        return methods
    }

    /// The rule for `name`; an unknown method is reported as an error where it is declared, or as a
    /// warning on each of its files (which are then ignored) when it is only a file.
    private mutating func lookUp(_ name: String, _ rules: MethodRules, site: MethodSite,
                                 ignoredFiles: [DirectoryEntry] = []) -> RuleLookup {
        guard let all = rules.rules else { return .any }
        if let rule = rules.rule(named: name) { return .rule(rule) }
        let names = all.map(\.name)
        let expected = names.isEmpty ? "expected no method files here" : "expected \(WorkspaceWording.alternatives(names))"
        let hint = WorkspaceWording.closestMatch(name, in: names).map { " (did you mean '\($0)'?)" } ?? ""
        if ignoredFiles.isEmpty {
            report(.error, site, "'\(name)' is not a method of a \(rules.owner), \(expected)\(hint)")
        } else {
            for file in ignoredFiles {
                report(.warning, .file(file.url), "\(file.name) is ignored: '\(name)' is not a method of a \(rules.owner), \(expected)\(hint)")
            }
        }
        return .unknown
    }

    private mutating func loadMethod(
        _ name: String,
        requested: MethodImplementation.Kind?,
        candidates: [(kind: MethodImplementation.Kind, entry: DirectoryEntry)],
        rule: MethodRules.Rule?,
        rules: MethodRules,
        site: MethodSite
    ) -> MethodImplementation? {
        let allowed = rule?.kinds ?? MethodImplementation.Kind.allCases
        let allowedText = WorkspaceWording.alternatives(allowed.map(\.rawValue))
        var chosen = candidates
        if let requested {
            let typeSite: MethodSite = if case .spec(let spec, let pointer) = site { .spec(spec, pointer + "/implementationType") } else { site }
            guard allowed.contains(requested) else {
                report(.error, typeSite, "\(name) cannot be implemented as \(requested.rawValue) in a \(rules.owner), expected \(allowedText)")
                return nil
            }
            chosen = candidates.filter { $0.kind == requested }
            for other in candidates where other.kind != requested {
                report(.warning, .file(other.entry.url),
                       "\(other.entry.name) is ignored because \(name) is declared as \(requested.rawValue), expected one file per method")
            }
            if chosen.isEmpty {
                report(.error, site, "\(name) is declared as \(requested.rawValue) but its file is missing, expected \(fileNames(name, [requested]))")
                return nil
            }
        } else if chosen.isEmpty {
            report(.error, site, "\(name) is declared but has no file, expected \(fileNames(name, allowed))")
            return nil
        }
        guard chosen.count == 1, let (kind, entry) = chosen.first else {
            let names = chosen.map(\.entry.name).joined(separator: ", ")
            let choose = requested == nil ? " or an implementationType choosing one" : ""
            report(.error, site, "\(name) has several files (\(names)), expected exactly one\(choose)")
            return nil
        }
        guard allowed.contains(kind) else {
            report(.error, .file(entry.url), "\(entry.name) implements \(name) as \(kind.rawValue), expected \(allowedText) for a \(rules.owner)'s \(name)")
            return nil
        }
        return loadImplementation(name, kind: kind, url: entry.url)
    }

    /// Reads one method file and checks its content.
    private mutating func loadImplementation(_ name: String, kind: MethodImplementation.Kind, url: URL) -> MethodImplementation? {
        guard let text = readText(url) else { return nil }
        let path = relativePath(url)
        guard kind != .javascript else {
            if !text.contains("export default") {
                report(.warning, path, line: 1,
                       "\(url.lastPathComponent) has no default export, expected `export default async function \(name)(...)`")
            }
            return MethodImplementation(name: name, kind: kind, file: url, path: path, content: .javascript(source: text))
        }
        let document: YAMLDocument
        do {
            document = try YAMLLoader.parse(text)
        } catch {
            report(.error, path, line: error.line, "\(kind.rawValue) file is not valid YAML: \(error.message), expected a YAML or JSON document")
            return nil
        }
        let file = SpecFile(url: url, path: path, document: document)
        checkShape(of: file, kind: kind)
        checkMapping(document.value, in: file)
        return MethodImplementation(name: name, kind: kind, file: url, path: path, content: .mapping(document.value), document: document)
    }

    /// FORMULAS.md's shapes of REST and GraphQL API mappings.
    private mutating func checkShape(of file: SpecFile, kind: MethodImplementation.Kind) {
        switch kind {
        case .javascript:
            return
        case .mapping:
            if file.value.isNull { error(file, at: "", "mapping file is empty, expected the method's result as a mapping") }
        case .restAPIMapping:
            guard let object = rootObject(file, what: "path, method, requestMapping and responseMapping") else { return }
            checkKeys(file, object, allowed: ["path", "method", "requestMapping", "responseMapping"])
            _ = requiredString(file, object, "path")
            if let method = optionalString(file, object, "method") {
                let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
                if !methods.contains(method.uppercased()) {
                    error(file, at: "/method", "HTTP method '\(method)' is not known, expected \(WorkspaceWording.alternatives(methods))")
                }
            }
            if let request = object["requestMapping"] {
                if let members = request.objectValue {
                    checkKeys(file, members, at: "/requestMapping", allowed: ["query", "data", "headers", "pathParameters"])
                } else if !request.isNull {
                    error(file, at: "/requestMapping", "requestMapping is \(Self.describe(request)), expected a mapping with query, data, headers or pathParameters")
                }
            }
        case .graphqlAPIMapping:
            guard let object = rootObject(file, what: "query, variables and responseMapping") else { return }
            checkKeys(file, object, allowed: ["query", "variables", "responseMapping"])
            _ = requiredString(file, object, "query")
        }
    }

    /// `handle.js or handle.map.yml`.
    func fileNames(_ name: String, _ kinds: [MethodImplementation.Kind]) -> String {
        WorkspaceWording.alternatives(kinds.flatMap(\.fileSuffixes).map { name + $0 })
    }

    private mutating func report(_ severity: WorkspaceProblem.Severity, _ site: MethodSite, _ message: String) {
        switch site {
        case .spec(let spec, let pointer): report(severity, spec.path, line: spec.document.line(of: pointer), message)
        case .file(let url): report(severity, relativePath(url), line: 1, message)
        }
    }
}
