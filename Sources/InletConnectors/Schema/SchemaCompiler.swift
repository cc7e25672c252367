import Foundation

/// Builds a ``SchemaGraph`` from a schema document: finds every `$id` / `$anchor` /
/// `$dynamicAnchor`, loads referenced documents from the registry (or local files when allowed),
/// checks keyword values and resolves every reference to a node index. Single-use and not shared
/// between threads; the graph it produces is immutable.
final class SchemaCompiler {
    struct Location: Hashable {
        let doc: Int
        let pointer: String
    }

    /// The lexical scope of a subschema: base URI, dialect and vocabularies.
    struct Scope {
        var base: String
        var dialect: SchemaDialect
        var vocabularies: SchemaVocabularies
    }

    private let registry: SchemaRegistry
    private let options: JSONSchema.Options
    private var documents: [(value: JSONValue, uri: String?)] = []
    private var documentsByURI: [String: Int] = [:]
    private var resources: [String: Location] = [:]
    private var anchors: [String: Location] = [:]
    private var scopes: [Location: Scope] = [:]
    private var dynamicAnchorSites: [(resource: String, name: String, location: Location)] = []
    private var resourceIndex: [String: Int] = [:]
    private var nodes: [SchemaNode?] = []
    private var nodeIndex: [Location: Int] = [:]
    private var pending: [(Int, Location)] = []
    private var tracksEvaluation = false

    init(registry: SchemaRegistry, options: JSONSchema.Options) {
        self.registry = registry
        self.options = options
    }

    /// Compiles `schema`, whose retrieval URI is `baseURI` (may be empty).
    func compile(_ schema: JSONValue, baseURI: String) throws -> (SchemaGraph, SchemaDialect) {
        let base = SchemaURI.split(baseURI).base
        let doc = try addDocument(schema, uri: base.isEmpty ? nil : base, isRoot: true)
        let rootLocation = Location(doc: doc, pointer: "")
        let root = node(at: rootLocation)
        try drain()
        // Every `$dynamicAnchor` may become a `$dynamicRef` target at run time: compile them all.
        var compiledSites = 0
        while compiledSites < dynamicAnchorSites.count {
            let end = dynamicAnchorSites.count
            for site in dynamicAnchorSites[compiledSites..<end] { _ = node(at: site.location) }
            compiledSites = end
            try drain()
        }
        var dynamic = Array(repeating: [String: Int](), count: resourceIndex.count)
        for site in dynamicAnchorSites {
            let r = resourceID(site.resource)
            if dynamic.count <= r { dynamic.append(contentsOf: Array(repeating: [:], count: r - dynamic.count + 1)) }
            if dynamic[r][site.name] == nil { dynamic[r][site.name] = nodeIndex[site.location] }
        }
        let built = nodes.map { $0! }
        let graph = SchemaGraph(nodes: built, root: root, dynamicAnchors: dynamic, tracksEvaluation: tracksEvaluation)
        return (graph, scopes[rootLocation]?.dialect ?? options.defaultDialect)
    }

    // MARK: - Documents and scanning

    private func addDocument(_ value: JSONValue, uri: String?, isRoot: Bool) throws -> Int {
        let doc = documents.count
        documents.append((value, isRoot ? nil : uri))
        if let uri { documentsByURI[uri] = doc }
        let base = uri ?? ""
        resources[base] = resources[base] ?? Location(doc: doc, pointer: "")
        let scope = Scope(base: base, dialect: options.defaultDialect, vocabularies: .all)
        try scan(value, at: Location(doc: doc, pointer: ""), parent: scope)
        return doc
    }

    private func error(_ location: Location, _ message: String) -> SchemaError {
        SchemaError(pointer: location.pointer, documentURI: documents[location.doc].uri, message: message)
    }

    private func error(_ location: Location, keyword: String, _ message: String) -> SchemaError {
        error(Location(doc: location.doc, pointer: SchemaPointer.append(location.pointer, keyword)), message)
    }

    /// Resolves a `$schema` value to a dialect and vocabulary set.
    private func metaSchema(_ uri: String, at location: Location) throws -> (SchemaDialect, SchemaVocabularies) {
        if let dialect = SchemaDialect(metaSchemaURI: uri) { return (dialect, .all) }
        if let meta = registry.document(for: uri) {
            var dialect = options.defaultDialect
            if let parent = meta["$schema"]?.stringValue, let d = SchemaDialect(metaSchemaURI: parent) { dialect = d }
            return (dialect, SchemaVocabularies.declared(by: meta) ?? .all)
        }
        throw error(location, keyword: "$schema",
            "unsupported \"$schema\" '\(uri)': use \(SchemaDialect.draft2020_12.metaSchemaURI) or \(SchemaDialect.draft7.metaSchemaURI), or register the meta-schema")
    }

    /// Records identifiers, anchors and scopes of the schema at `location` and all its subschemas.
    private func scan(_ value: JSONValue, at location: Location, parent: Scope) throws {
        if scopes[location] != nil { return }  // already scanned (e.g. reached again through a fallback scan)
        guard case .object(let object) = value else {
            scopes[location] = parent
            return
        }
        var scope = parent
        if let s = object["$schema"] {
            guard let uri = s.stringValue else { throw error(location, keyword: "$schema", "\"$schema\" must be a URI string") }
            (scope.dialect, scope.vocabularies) = try metaSchema(uri, at: location)
        }
        let draft7 = scope.dialect == .draft7
        if let idValue = object["$id"], !(draft7 && object["$ref"] != nil) {
            guard let id = idValue.stringValue else { throw error(location, keyword: "$id", "\"$id\" must be a URI-reference string") }
            if draft7 && id.hasPrefix("#") {
                anchors[scope.base + id] = anchors[scope.base + id] ?? location
            } else {
                let (base, fragment) = SchemaURI.split(SchemaURI.resolve(id, against: scope.base))
                scope.base = base
                if resources[base] == nil { resources[base] = location }
                if draft7, let fragment, !fragment.isEmpty, !fragment.hasPrefix("/") {
                    anchors[base + "#" + fragment] = anchors[base + "#" + fragment] ?? location
                }
            }
        }
        if !draft7 {
            if let a = object["$anchor"] {
                guard let name = a.stringValue else { throw error(location, keyword: "$anchor", "\"$anchor\" must be a string") }
                anchors[scope.base + "#" + name] = anchors[scope.base + "#" + name] ?? location
            }
            if let a = object["$dynamicAnchor"] {
                guard let name = a.stringValue else {
                    throw error(location, keyword: "$dynamicAnchor", "\"$dynamicAnchor\" must be a string")
                }
                anchors[scope.base + "#" + name] = anchors[scope.base + "#" + name] ?? location
                dynamicAnchorSites.append((scope.base, name, location))
            }
        }
        scopes[location] = scope
        for (tokens, child) in Self.subschemas(of: object, dialect: scope.dialect) {
            var pointer = location.pointer
            for t in tokens { pointer = SchemaPointer.append(pointer, t) }
            try scan(child, at: Location(doc: location.doc, pointer: pointer), parent: scope)
        }
    }

    /// The subschemas of a schema object that can carry identifiers, as pointer tokens and values.
    static func subschemas(of object: [String: JSONValue], dialect: SchemaDialect) -> [([String], JSONValue)] {
        var out: [([String], JSONValue)] = []
        let single: [String]
        let arrays: [String]
        let maps: [String]
        switch dialect {
        case .draft2020_12:
            single = ["additionalProperties", "propertyNames", "items", "contains", "not", "if", "then", "else",
                "unevaluatedItems", "unevaluatedProperties", "contentSchema"]
            arrays = ["allOf", "anyOf", "oneOf", "prefixItems"]
            maps = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"]
        case .draft7:
            single = ["additionalItems", "additionalProperties", "propertyNames", "contains", "not", "if", "then", "else", "items"]
            arrays = ["allOf", "anyOf", "oneOf", "items"]
            maps = ["properties", "patternProperties", "definitions", "dependencies"]
        }
        for key in single {
            if let v = object[key], v.objectValue != nil || v.boolValue != nil { out.append(([key], v)) }
        }
        for key in arrays {
            if let a = object[key]?.arrayValue {
                for (i, v) in a.enumerated() { out.append(([key, String(i)], v)) }
            }
        }
        for key in maps {
            if let m = object[key]?.objectValue {
                for (name, v) in m where v.objectValue != nil || v.boolValue != nil { out.append(([key, name], v)) }
            }
        }
        return out
    }

    /// The scope of `location`, scanning it first when it was only reached through a JSON pointer.
    private func scope(of location: Location) throws -> Scope {
        if let s = scopes[location] { return s }
        var pointer = location.pointer
        var ancestor: Scope?
        while ancestor == nil {
            guard let slash = pointer.lastIndex(of: "/") else { break }
            pointer = String(pointer[..<slash])
            ancestor = scopes[Location(doc: location.doc, pointer: pointer)]
        }
        let parent = ancestor ?? Scope(base: documents[location.doc].uri ?? "", dialect: options.defaultDialect, vocabularies: .all)
        if let value = documents[location.doc].value.schemaValue(atPointer: location.pointer) {
            try scan(value, at: location, parent: parent)
        }
        return scopes[location] ?? parent
    }

    private func resourceID(_ uri: String) -> Int {
        if let id = resourceIndex[uri] { return id }
        let id = resourceIndex.count
        resourceIndex[uri] = id
        return id
    }

    // MARK: - References

    /// Loads the document for `uri` from the registry or, when allowed, from a local file.
    private func load(_ uri: String, from location: Location, keyword: String) throws {
        guard documentsByURI[uri] == nil else { return }
        if let document = registry.document(for: uri) {
            _ = try addDocument(document, uri: uri, isRoot: false)
            return
        }
        if options.allowFileReferences, let url = URL(string: uri), url.isFileURL {
            let data: Data
            do {
                data = try Data(contentsOf: url)
            } catch {
                throw self.error(location, keyword: keyword, "cannot read referenced schema file '\(url.path)': \(error.localizedDescription)")
            }
            let document: JSONValue
            do {
                document = try JSONValue(parsing: data)
            } catch {
                throw self.error(location, keyword: keyword, "referenced schema file '\(url.path)' is not valid JSON")
            }
            _ = try addDocument(document, uri: uri, isRoot: false)
        }
    }

    /// Resolves a `$ref` / `$dynamicRef` value to the location of its target.
    private func resolve(_ reference: String, scope: Scope, at location: Location, keyword: String) throws -> Location {
        let absolute = SchemaURI.resolve(reference, against: scope.base)
        let (base, fragment) = SchemaURI.split(absolute)
        if resources[base] == nil { try load(base, from: location, keyword: keyword) }
        guard let resource = resources[base] else {
            let hint = base.hasPrefix("file:") && !options.allowFileReferences
                ? " (file references are disabled; set Options.allowFileReferences)" : "; register the document in the SchemaRegistry"
            throw error(location, keyword: keyword, "cannot resolve \(keyword) '\(reference)': no schema is known at '\(base)'\(hint)")
        }
        guard let fragment, !fragment.isEmpty else { return resource }
        if fragment.hasPrefix("/") {
            let target = Location(doc: resource.doc, pointer: resource.pointer + fragment)
            guard documents[target.doc].value.schemaValue(atPointer: target.pointer) != nil else {
                throw error(location, keyword: keyword, "cannot resolve \(keyword) '\(reference)': JSON pointer '\(fragment)' does not exist")
            }
            return target
        }
        guard let target = anchors[base + "#" + fragment] else {
            throw error(location, keyword: keyword, "cannot resolve \(keyword) '\(reference)': no anchor '\(fragment)' in '\(base)'")
        }
        return target
    }

    // MARK: - Nodes

    private func node(at location: Location) -> Int {
        if let i = nodeIndex[location] { return i }
        let i = nodes.count
        nodes.append(nil)
        nodeIndex[location] = i
        pending.append((i, location))
        return i
    }

    private func drain() throws {
        while let (i, location) = pending.popLast() {
            nodes[i] = try compileNode(at: location)
        }
    }

    private func child(_ location: Location, _ tokens: String...) -> Location {
        var pointer = location.pointer
        for t in tokens { pointer = SchemaPointer.append(pointer, t) }
        return Location(doc: location.doc, pointer: pointer)
    }

    /// A child schema node; throws when the value there is not a schema.
    private func schemaChild(_ location: Location, _ tokens: String...) throws -> Int {
        var pointer = location.pointer
        for t in tokens { pointer = SchemaPointer.append(pointer, t) }
        let target = Location(doc: location.doc, pointer: pointer)
        guard let value = documents[target.doc].value.schemaValue(atPointer: target.pointer) else {
            throw error(target, "missing schema")
        }
        guard value.objectValue != nil || value.boolValue != nil else {
            throw error(target, "expected a schema (object or boolean), got \(value.schemaTypeName)")
        }
        return node(at: target)
    }

    private func compileNode(at location: Location) throws -> SchemaNode {
        guard let value = documents[location.doc].value.schemaValue(atPointer: location.pointer) else {
            throw error(location, "missing schema")
        }
        let scope = try self.scope(of: location)
        let resource = resourceID(scope.base)
        switch value {
        case .bool(let b):
            return SchemaNode(constant: b, keywords: [], resource: resource)
        case .object(let object):
            let keywords = try compileKeywords(object, at: location, scope: scope)
            return SchemaNode(constant: nil, keywords: keywords, resource: resource)
        default:
            throw error(location, "a schema must be an object or a boolean, got \(value.schemaTypeName)")
        }
    }

    private func nonNegativeInteger(_ object: [String: JSONValue], _ key: String, at location: Location) throws -> Int? {
        guard let v = object[key] else { return nil }
        guard let i = v.integerValue, i >= 0, i <= Int64(Int32.max) else {
            throw error(location, keyword: key, "\"\(key)\" must be a non-negative integer, got \(v.schemaSnippet)")
        }
        return Int(i)
    }

    private func number(_ object: [String: JSONValue], _ key: String, at location: Location) throws -> JSONValue? {
        guard let v = object[key] else { return nil }
        guard v.doubleValue != nil else { throw error(location, keyword: key, "\"\(key)\" must be a number, got \(v.schemaSnippet)") }
        return v
    }

    private func stringArray(_ value: JSONValue, at location: Location, keyword: String) throws -> [String] {
        guard let array = value.arrayValue else {
            throw error(location, "\"\(keyword)\" must be an array of strings, got \(value.schemaTypeName)")
        }
        return try array.map {
            guard let s = $0.stringValue else { throw error(location, "\"\(keyword)\" must be an array of strings") }
            return s
        }
    }

    private func regex(_ pattern: String, at location: Location) throws -> SchemaRegex {
        do {
            return try SchemaRegex(pattern)
        } catch {
            throw self.error(location, "invalid regular expression '\(pattern)'")
        }
    }

    private func schemaArray(_ object: [String: JSONValue], _ key: String, at location: Location) throws -> [Int]? {
        guard let v = object[key] else { return nil }
        guard let a = v.arrayValue else { throw error(location, keyword: key, "\"\(key)\" must be an array of schemas") }
        return try a.indices.map { try schemaChild(location, key, String($0)) }
    }

    private func schemaMap(_ object: [String: JSONValue], _ key: String, at location: Location) throws -> [(String, Int)]? {
        guard let v = object[key] else { return nil }
        guard let m = v.objectValue else { throw error(location, keyword: key, "\"\(key)\" must be an object of schemas") }
        return try m.keys.sorted().map { ($0, try schemaChild(location, key, $0)) }
    }

    private func compileKeywords(_ object: [String: JSONValue], at location: Location, scope: Scope) throws -> [SchemaKeyword] {
        var out: [SchemaKeyword] = []
        let draft7 = scope.dialect == .draft7
        let vocab = scope.vocabularies
        func add(_ name: String, _ check: KeywordCheck) { out.append(SchemaKeyword(name: name, check: check)) }

        // Core: references.
        if let r = object["$ref"] {
            guard let reference = r.stringValue else { throw error(location, keyword: "$ref", "\"$ref\" must be a URI-reference string") }
            let target = try resolve(reference, scope: scope, at: location, keyword: "$ref")
            add("$ref", .ref(node(at: target)))
            if draft7 { return out }  // draft-07: keywords next to $ref are ignored
        }
        if !draft7, let r = object["$dynamicRef"] {
            guard let reference = r.stringValue else {
                throw error(location, keyword: "$dynamicRef", "\"$dynamicRef\" must be a URI-reference string")
            }
            let target = try resolve(reference, scope: scope, at: location, keyword: "$dynamicRef")
            var anchor: String?
            if let fragment = SchemaURI.split(SchemaURI.resolve(reference, against: scope.base)).fragment,
                !fragment.isEmpty, !fragment.hasPrefix("/"),
                documents[target.doc].value.schemaValue(atPointer: target.pointer)?["$dynamicAnchor"]?.stringValue == fragment
            {
                anchor = fragment
            }
            add("$dynamicRef", .dynamicRef(target: node(at: target), anchor: anchor))
        }

        if vocab.contains(.validation) {
            if let t = object["type"] {
                let names: [JSONValue]
                switch t {
                case .string: names = [t]
                case .array(let a): names = a
                default: throw error(location, keyword: "type", "\"type\" must be a type name or an array of type names, got \(t.schemaSnippet)")
                }
                let types = try names.map {
                    guard let s = $0.stringValue, let type = SchemaType(rawValue: s) else {
                        throw error(location, keyword: "type",
                            "unknown type \($0.schemaSnippet); expected one of null, boolean, integer, number, string, array, object")
                    }
                    return type
                }
                add("type", .type(types))
            }
            if let e = object["enum"] {
                guard let values = e.arrayValue else { throw error(location, keyword: "enum", "\"enum\" must be an array") }
                add("enum", .enumeration(values: values, normalized: Set(values.map(\.schemaNormalized))))
            }
            if let c = object["const"] { add("const", .constant(c)) }
            if let m = try number(object, "multipleOf", at: location) {
                guard let d = m.doubleValue, d > 0 else { throw error(location, keyword: "multipleOf", "\"multipleOf\" must be greater than 0") }
                add("multipleOf", .multipleOf(m))
            }
            if let v = try number(object, "maximum", at: location) { add("maximum", .maximum(v, exclusive: false)) }
            if let v = try number(object, "exclusiveMaximum", at: location) { add("exclusiveMaximum", .maximum(v, exclusive: true)) }
            if let v = try number(object, "minimum", at: location) { add("minimum", .minimum(v, exclusive: false)) }
            if let v = try number(object, "exclusiveMinimum", at: location) { add("exclusiveMinimum", .minimum(v, exclusive: true)) }
            if let v = try nonNegativeInteger(object, "maxLength", at: location) { add("maxLength", .maxLength(v)) }
            if let v = try nonNegativeInteger(object, "minLength", at: location) { add("minLength", .minLength(v)) }
            if let p = object["pattern"] {
                guard let s = p.stringValue else { throw error(location, keyword: "pattern", "\"pattern\" must be a string") }
                add("pattern", .pattern(try regex(s, at: child(location, "pattern"))))
            }
            if let v = try nonNegativeInteger(object, "maxItems", at: location) { add("maxItems", .maxItems(v)) }
            if let v = try nonNegativeInteger(object, "minItems", at: location) { add("minItems", .minItems(v)) }
            if let u = object["uniqueItems"] {
                guard let b = u.boolValue else { throw error(location, keyword: "uniqueItems", "\"uniqueItems\" must be a boolean") }
                if b { add("uniqueItems", .uniqueItems) }
            }
            if let v = try nonNegativeInteger(object, "maxProperties", at: location) { add("maxProperties", .maxProperties(v)) }
            if let v = try nonNegativeInteger(object, "minProperties", at: location) { add("minProperties", .minProperties(v)) }
            if let r = object["required"] {
                add("required", .required(try stringArray(r, at: child(location, "required"), keyword: "required")))
            }
            if !draft7, let d = object["dependentRequired"] {
                guard let m = d.objectValue else {
                    throw error(location, keyword: "dependentRequired", "\"dependentRequired\" must be an object of string arrays")
                }
                let entries = try m.keys.sorted().map {
                    (property: $0, required: try stringArray(m[$0]!, at: child(location, "dependentRequired", $0), keyword: "dependentRequired"))
                }
                add("dependentRequired", .dependentRequired(entries))
            }
        }
        if let f = object["format"], vocab.contains(.formatAnnotation) || vocab.contains(.formatAssertion) {
            guard let name = f.stringValue else { throw error(location, keyword: "format", "\"format\" must be a string") }
            if options.assertFormats || vocab.contains(.formatAssertion) { add("format", .format(name)) }
        }

        if vocab.contains(.applicator) {
            if let a = try schemaArray(object, "allOf", at: location) { add("allOf", .allOf(a)) }
            if let a = try schemaArray(object, "anyOf", at: location) { add("anyOf", .anyOf(a)) }
            if let a = try schemaArray(object, "oneOf", at: location) { add("oneOf", .oneOf(a)) }
            if object["not"] != nil { add("not", .not(try schemaChild(location, "not"))) }
            if object["if"] != nil {
                let i = try schemaChild(location, "if")
                let t = object["then"] != nil ? try schemaChild(location, "then") : nil
                let e = object["else"] != nil ? try schemaChild(location, "else") : nil
                add("if", .conditional(if: i, then: t, else: e))
            }

            let properties = try schemaMap(object, "properties", at: location)
            if let properties { add("properties", .properties(properties.map { (name: $0.0, node: $0.1) })) }
            var patterns: [PatternSchema] = []
            if let pp = try schemaMap(object, "patternProperties", at: location) {
                patterns = try pp.map {
                    PatternSchema(regex: try regex($0.0, at: child(location, "patternProperties", $0.0)), node: $0.1)
                }
                add("patternProperties", .patternProperties(patterns))
            }
            if object["additionalProperties"] != nil {
                let n = try schemaChild(location, "additionalProperties")
                add("additionalProperties", .additionalProperties(n, known: Set(properties?.map(\.0) ?? []), patterns: patterns.map(\.regex)))
            }
            if object["propertyNames"] != nil { add("propertyNames", .propertyNames(try schemaChild(location, "propertyNames"))) }

            if draft7 {
                if let d = object["dependencies"] {
                    guard let m = d.objectValue else { throw error(location, keyword: "dependencies", "\"dependencies\" must be an object") }
                    var required: [(property: String, required: [String])] = []
                    var schemas: [(property: String, node: Int)] = []
                    for key in m.keys.sorted() {
                        if case .array = m[key]! {
                            required.append((key, try stringArray(m[key]!, at: child(location, "dependencies", key), keyword: "dependencies")))
                        } else {
                            schemas.append((key, try schemaChild(location, "dependencies", key)))
                        }
                    }
                    if !required.isEmpty { add("dependencies", .dependentRequired(required)) }
                    if !schemas.isEmpty { add("dependencies", .dependentSchemas(schemas)) }
                }
                if let items = object["items"] {
                    if case .array(let a) = items {
                        add("items", .prefixItems(try a.indices.map { try schemaChild(location, "items", String($0)) }))
                        if object["additionalItems"] != nil {
                            add("additionalItems", .items(try schemaChild(location, "additionalItems"), from: a.count))
                        }
                    } else {
                        add("items", .items(try schemaChild(location, "items"), from: 0))
                    }
                }
                if object["contains"] != nil { add("contains", .contains(try schemaChild(location, "contains"), min: 1, max: nil)) }
            } else {
                if let d = try schemaMap(object, "dependentSchemas", at: location) {
                    add("dependentSchemas", .dependentSchemas(d.map { (property: $0.0, node: $0.1) }))
                }
                let prefix = try schemaArray(object, "prefixItems", at: location)
                if let prefix { add("prefixItems", .prefixItems(prefix)) }
                if object["items"] != nil { add("items", .items(try schemaChild(location, "items"), from: prefix?.count ?? 0)) }
                if object["contains"] != nil {
                    let minimum = vocab.contains(.validation) ? try nonNegativeInteger(object, "minContains", at: location) : nil
                    let maximum = vocab.contains(.validation) ? try nonNegativeInteger(object, "maxContains", at: location) : nil
                    add("contains", .contains(try schemaChild(location, "contains"), min: minimum ?? 1, max: maximum))
                }
            }
        }

        if !draft7 && vocab.contains(.unevaluated) {
            if object["unevaluatedProperties"] != nil {
                tracksEvaluation = true
                add("unevaluatedProperties", .unevaluatedProperties(try schemaChild(location, "unevaluatedProperties")))
            }
            if object["unevaluatedItems"] != nil {
                tracksEvaluation = true
                add("unevaluatedItems", .unevaluatedItems(try schemaChild(location, "unevaluatedItems")))
            }
        }
        return out
    }
}
