import Foundation

/// The single argument a connector method receives: an object of named values, some of which
/// are other names of one value (`handle`'s `body` is its `data`).
///
/// JavaScript gets each aliased value once, as one object under every name, instead of a copy
/// per name, and the long strings (`rawBody`) as strings rather than inside JSON text that
/// would escape and parse them again; mappings see an object with every name filled in.
struct MethodArguments: Sendable {
    /// The values by name, without the aliases and the texts.
    var values: JSONValue
    /// Alias → the name whose value it is.
    var aliases: [String: String]
    /// Members that are strings, by name, kept out of `values`.
    var texts: [String: String]

    init(_ values: [String: JSONValue], aliases: [String: String] = [:], texts: [String: String] = [:]) {
        self.values = .object(values)
        self.aliases = aliases
        self.texts = texts
    }

    /// Every name with its value, the texts and aliases included (what mappings read).
    var object: JSONValue {
        guard !aliases.isEmpty || !texts.isEmpty, case .object(var members) = values else { return values }
        for (name, text) in texts { members[name] = .string(text) }
        for (alias, name) in aliases {
            if let value = members[name] { members[alias] = value }
        }
        return .object(members)
    }
}
