import Foundation

/// One method of a connector (`subscribe`, `handle`, `list`, `make-api-client`, ...) as loaded
/// from its file: which implementation type, where it lives, and its content (JavaScript source,
/// or the parsed mapping).
public struct MethodImplementation: Sendable, Hashable {
    /// How a method is implemented; the raw value is the spec's `implementationType`.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// `<method>.js`: an ES module whose default export is an async function.
        case javascript
        /// `<method>.map.yml`: a mapping whose result is the method's result.
        case mapping
        /// `<method>.rest.yml` or `<method>.api.yml`: `{path, method, requestMapping, responseMapping}`.
        case restAPIMapping = "rest-api-mapping"
        /// `<method>.graphql.yml`: `{query, variables, responseMapping}`.
        case graphqlAPIMapping = "graphql-api-mapping"

        /// File name endings that hold this kind, preferred first.
        public var fileSuffixes: [String] {
            switch self {
            case .javascript: [".js"]
            case .mapping: [".map.yml"]
            case .restAPIMapping: [".rest.yml", ".api.yml"]
            case .graphqlAPIMapping: [".graphql.yml"]
            }
        }

        /// The kind and method name a file name stands for (`handle.map.yml` → `.mapping`, `handle`),
        /// or `nil` for a file that is not a method file.
        static func parse(fileName: String) -> (method: String, kind: Kind)? {
            // Longest suffixes first, so `x.map.yml` is never mistaken for something shorter.
            for kind in [Kind.mapping, .restAPIMapping, .graphqlAPIMapping, .javascript] {
                for suffix in kind.fileSuffixes where fileName.hasSuffix(suffix) && fileName.count > suffix.count {
                    return (String(fileName.dropLast(suffix.count)), kind)
                }
            }
            return nil
        }
    }

    /// What the file holds.
    public enum Content: Sendable, Hashable {
        /// The JavaScript module's source text.
        case javascript(source: String)
        /// The parsed YAML/JSON of a mapping, REST API mapping or GraphQL API mapping.
        case mapping(JSONValue)
    }

    /// The method's name, e.g. `handle` or `make-api-client`.
    public let name: String
    /// The implementation type.
    public let kind: Kind
    /// Absolute file URL.
    public let file: URL
    /// The file's path relative to the workspace root, as used in problems and logs.
    public let path: String
    /// Source text or parsed mapping.
    public let content: Content
    /// For mappings, the parsed file with the line of every value, so a runtime error at a pointer
    /// can be reported as `path:line`; `nil` for JavaScript.
    public let document: YAMLDocument?

    /// Creates a method; normally only the loader does this.
    public init(name: String, kind: Kind, file: URL, path: String, content: Content, document: YAMLDocument? = nil) {
        self.name = name
        self.kind = kind
        self.file = file
        self.path = path
        self.content = content
        self.document = document
    }

    /// The JavaScript source, for ``Kind/javascript`` methods.
    public var source: String? {
        if case .javascript(let source) = content { return source }
        return nil
    }

    /// The parsed mapping, for every kind except ``Kind/javascript``.
    public var mapping: JSONValue? {
        if case .mapping(let value) = content { return value }
        return nil
    }
}
