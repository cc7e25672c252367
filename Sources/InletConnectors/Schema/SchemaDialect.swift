import Foundation

/// A JSON Schema dialect (specification version) understood by ``JSONSchema``.
///
/// The dialect of a schema resource is chosen by its `$schema` keyword; resources without one use
/// ``JSONSchema/Options/defaultDialect`` (draft 2020-12 unless told otherwise).
public enum SchemaDialect: String, Sendable, Hashable, CaseIterable {
    /// JSON Schema draft-07 (`definitions`, `dependencies`, array-form `items`, `$ref` siblings ignored).
    case draft7
    /// JSON Schema draft 2020-12 (`$defs`, `prefixItems`, `unevaluated*`, `$dynamicRef`, vocabularies).
    case draft2020_12

    /// The canonical meta-schema URI of the dialect, as written in `$schema`.
    public var metaSchemaURI: String {
        switch self {
        case .draft7: return "http://json-schema.org/draft-07/schema#"
        case .draft2020_12: return "https://json-schema.org/draft/2020-12/schema"
        }
    }

    /// The dialect named by a `$schema` URI, or `nil` when it is not one of the standard meta-schemas.
    public init?(metaSchemaURI uri: String) {
        var u = uri
        if u.hasSuffix("#") { u.removeLast() }
        switch u {
        case "http://json-schema.org/draft-07/schema", "https://json-schema.org/draft-07/schema":
            self = .draft7
        case "https://json-schema.org/draft/2020-12/schema", "http://json-schema.org/draft/2020-12/schema":
            self = .draft2020_12
        default:
            return nil
        }
    }
}

/// The draft 2020-12 vocabularies; keywords of a vocabulary that a custom meta-schema leaves out
/// of its `$vocabulary` are ignored.
struct SchemaVocabularies: OptionSet, Sendable, Hashable {
    let rawValue: UInt8

    init(rawValue: UInt8) { self.rawValue = rawValue }

    static let core = SchemaVocabularies(rawValue: 1 << 0)
    static let applicator = SchemaVocabularies(rawValue: 1 << 1)
    static let unevaluated = SchemaVocabularies(rawValue: 1 << 2)
    static let validation = SchemaVocabularies(rawValue: 1 << 3)
    static let metaData = SchemaVocabularies(rawValue: 1 << 4)
    static let formatAnnotation = SchemaVocabularies(rawValue: 1 << 5)
    static let formatAssertion = SchemaVocabularies(rawValue: 1 << 6)
    static let content = SchemaVocabularies(rawValue: 1 << 7)

    static let all: SchemaVocabularies = [.core, .applicator, .unevaluated, .validation, .metaData, .formatAnnotation, .content]

    /// The vocabulary named by a draft 2020-12 vocabulary URI.
    init?(vocabularyURI: String) {
        let prefix = "https://json-schema.org/draft/2020-12/vocab/"
        guard vocabularyURI.hasPrefix(prefix) else { return nil }
        switch vocabularyURI.dropFirst(prefix.count) {
        case "core": self = .core
        case "applicator": self = .applicator
        case "unevaluated": self = .unevaluated
        case "validation": self = .validation
        case "meta-data": self = .metaData
        case "format-annotation": self = .formatAnnotation
        case "format-assertion": self = .formatAssertion
        case "content": self = .content
        default: return nil
        }
    }

    /// Reads a meta-schema's `$vocabulary` object; `nil` when it has none (all vocabularies apply).
    static func declared(by metaSchema: JSONValue) -> SchemaVocabularies? {
        guard let vocab = metaSchema["$vocabulary"]?.objectValue else { return nil }
        var set: SchemaVocabularies = [.core]
        for key in vocab.keys {
            if let v = SchemaVocabularies(vocabularyURI: key) { set.insert(v) }
        }
        return set
    }
}
