import Foundation

/// One reason an instance failed validation against a ``JSONSchema``.
public struct SchemaValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// JSON Pointer to the failing value inside the instance, e.g. `/items/0/name` (`""` is the whole instance).
    public let instancePath: String
    /// JSON Pointer of the failing keyword along the evaluation path through the schema, `$ref`s included,
    /// e.g. `/properties/items/items/$ref/required`.
    public let keywordLocation: String
    /// The keyword that failed, e.g. `required` (`false` for a `false` schema).
    public let keyword: String
    /// A human-readable explanation, e.g. `missing required property 'id'`.
    public let message: String

    /// Creates an error; normally only the validator does this.
    public init(instancePath: String, keywordLocation: String, keyword: String, message: String) {
        self.instancePath = instancePath
        self.keywordLocation = keywordLocation
        self.keyword = keyword
        self.message = message
    }

    /// `/instance/path: message (keyword at /keyword/location)`; the root is shown as `/`.
    public var description: String {
        let path = instancePath.isEmpty ? "/" : instancePath
        let location = keywordLocation.isEmpty ? "/" : keywordLocation
        return "\(path): \(message) (\(keyword) at \(location))"
    }
}

/// A schema that cannot be compiled: malformed keyword values, unresolvable references, bad regexes.
public struct SchemaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// JSON Pointer of the offending keyword inside its schema document (`""` is the document root).
    public let pointer: String
    /// The URI of the document holding the offending keyword when it is not the root schema
    /// (a remote or `$ref`-loaded document), otherwise `nil`.
    public let documentURI: String?
    /// What is wrong, e.g. `"type" must be a type name or an array of type names`.
    public let message: String

    /// Creates a compile error.
    public init(pointer: String, documentURI: String? = nil, message: String) {
        self.pointer = pointer
        self.documentURI = documentURI
        self.message = message
    }

    /// `schema error at /properties/a/type: "type" must be ...`.
    public var description: String {
        let at = pointer.isEmpty ? "/" : pointer
        if let documentURI { return "schema error at \(documentURI)#\(pointer): \(message)" }
        return "schema error at \(at): \(message)"
    }
}
