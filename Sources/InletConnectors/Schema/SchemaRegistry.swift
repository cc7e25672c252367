import Foundation

/// Schema documents that `$ref` / `$dynamicRef` / `$schema` may point to, keyed by absolute URI.
///
/// Nothing is ever fetched from the network: a reference to a URI that is neither inside the schema
/// being compiled, nor registered here, nor a standard meta-schema, nor (when
/// ``JSONSchema/Options/allowFileReferences`` is on) a readable `file:` URL, fails to compile.
/// The draft-07 and draft 2020-12 meta-schemas are always available.
public struct SchemaRegistry: Sendable {
    private var documents: [String: JSONValue] = [:]

    /// An empty registry (the standard meta-schemas are still resolvable).
    public init() {}

    /// Registers `document` under `uri` (any fragment, such as a trailing `#`, is ignored).
    public mutating func register(_ document: JSONValue, uri: String) {
        documents[Self.key(uri)] = document
    }

    /// Registers `document` under its own top-level `$id`.
    /// - Throws: ``SchemaError`` when the document has no absolute `$id`.
    public mutating func register(_ document: JSONValue) throws {
        guard let id = document["$id"]?.stringValue, SchemaURI(parsing: id).scheme != nil else {
            throw SchemaError(pointer: "", message: "document has no absolute \"$id\" to register it under")
        }
        register(document, uri: id)
    }

    /// Registers every `*.json` file below `directory` under `baseURI` + its relative path, e.g. with
    /// `baseURI` `http://localhost:1234/` the file `nested/string.json` becomes
    /// `http://localhost:1234/nested/string.json`.
    /// - Returns: how many documents were registered.
    /// - Throws: file-system or JSON parsing errors.
    @discardableResult
    public mutating func registerDirectory(_ directory: URL, baseURI: String) throws -> Int {
        let root = directory.standardizedFileURL.resolvingSymlinksInPath()
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
            return 0
        }
        let prefix = root.path.hasSuffix("/") ? root.path : root.path + "/"
        var count = 0
        for case let url as URL in enumerator where url.pathExtension == "json" {
            let path = url.standardizedFileURL.resolvingSymlinksInPath().path
            guard path.hasPrefix(prefix) else { continue }
            let relative = String(path.dropFirst(prefix.count))
            let document = try JSONValue(parsing: Data(contentsOf: url))
            let base = baseURI.hasSuffix("/") ? baseURI : baseURI + "/"
            register(document, uri: base + relative)
            count += 1
        }
        return count
    }

    /// The document registered for `uri` (fragment ignored), falling back to the standard meta-schemas.
    public func document(for uri: String) -> JSONValue? {
        let k = Self.key(uri)
        return documents[k] ?? StandardMetaSchemas.document(for: k)
    }

    /// The registered URIs (standard meta-schemas not included).
    public var registeredURIs: [String] { documents.keys.sorted() }

    static func key(_ uri: String) -> String { SchemaURI.split(uri).base }
}
