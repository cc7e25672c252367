import Foundation

/// A compiled JSON Schema (draft 2020-12 or draft-07): compile once, validate many instances.
///
/// ```swift
/// let schema = try JSONSchema(["type": "object", "required": ["id"]])
/// schema.validate(["name": "x"])  // [/: missing required property 'id' (required at /required)]
/// ```
///
/// A `JSONSchema` is an immutable value: it can be shared and used from any number of tasks at once.
/// All references are resolved while compiling, so validation never touches the registry, files or network.
public struct JSONSchema: Sendable {
    /// Compilation options.
    public struct Options: Sendable, Hashable {
        /// Dialect for schema resources without `$schema` (default: draft 2020-12).
        public var defaultDialect: SchemaDialect
        /// Whether `format` is an assertion for the formats the validator knows (date-time, date, time,
        /// email, hostname, uri, uri-reference, uuid, ipv4, ipv6, regex). Off by default: the spec
        /// makes `format` an annotation unless asked otherwise.
        public var assertFormats: Bool
        /// Whether `$ref`s may load `file:` URLs from disk (e.g. `./other.json` next to a schema file
        /// compiled with a file `baseURI`). Off by default so untrusted schemas cannot read local files.
        public var allowFileReferences: Bool

        /// Creates options; the defaults are draft 2020-12, annotation-only `format`, no file access.
        public init(defaultDialect: SchemaDialect = .draft2020_12, assertFormats: Bool = false, allowFileReferences: Bool = false) {
            self.defaultDialect = defaultDialect
            self.assertFormats = assertFormats
            self.allowFileReferences = allowFileReferences
        }
    }

    let graph: SchemaGraph
    /// The dialect of the root schema resource.
    public let dialect: SchemaDialect
    /// The options the schema was compiled with.
    public let options: Options

    /// Compiles `schema`.
    /// - Parameters:
    ///   - schema: The schema document (an object or a boolean).
    ///   - baseURI: Retrieval URI of the document, against which relative `$id`/`$ref` resolve; pass the
    ///     file URL when the schema was read from a file so `./other.json` references work.
    ///   - registry: Documents that references may point to (remote schemas preloaded by URI).
    ///   - options: Dialect default, format assertion, local-file references.
    /// - Throws: ``SchemaError`` naming the JSON pointer of the first malformed keyword or unresolvable reference.
    public init(_ schema: JSONValue, baseURI: URL? = nil, registry: SchemaRegistry = .init(), options: Options = .init()) throws {
        try self.init(schema, baseURIString: baseURI?.absoluteString ?? "", registry: registry, options: options)
    }

    /// Compiles `schema` with a base URI given as text (useful for URNs and other non-URL identifiers).
    /// - Throws: ``SchemaError`` for malformed schemas and unresolvable references.
    public init(_ schema: JSONValue, baseURIString: String, registry: SchemaRegistry = .init(), options: Options = .init()) throws {
        let compiler = SchemaCompiler(registry: registry, options: options)
        let (graph, dialect) = try compiler.compile(schema, baseURI: baseURIString)
        self.graph = graph
        self.dialect = dialect
        self.options = options
    }

    /// Parses and compiles schema JSON text.
    /// - Throws: the JSON parsing error, or ``SchemaError``.
    public init(parsing text: String, baseURI: URL? = nil, registry: SchemaRegistry = .init(), options: Options = .init()) throws {
        try self.init(JSONValue(parsing: text), baseURI: baseURI, registry: registry, options: options)
    }

    /// Validates `instance` and returns every failure found (empty when valid).
    ///
    /// Subschemas of `anyOf`, `oneOf`, `not`, `contains` and `if` are summarised by one error on the
    /// keyword rather than one per failing branch.
    public func validate(_ instance: JSONValue) -> [SchemaValidationError] {
        var evaluator = SchemaEvaluator(graph: graph, failFast: false)
        _ = evaluator.validate(graph.root, instance, .root, .root)
        return evaluator.errors
    }

    /// Whether `instance` is valid; faster than `validate(_:).isEmpty` as it stops at the first failure.
    public func isValid(_ instance: JSONValue) -> Bool {
        var evaluator = SchemaEvaluator(graph: graph, failFast: true)
        return evaluator.validate(graph.root, instance, .root, .root).0
    }
}
