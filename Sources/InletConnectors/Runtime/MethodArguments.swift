import Foundation

/// The single argument a connector method receives: an object of named values, some of which
/// are other names of one value (`handle`'s `body` is its `data`).
///
/// JavaScript gets each aliased value once, as one object under every name, instead of a copy
/// per name; the long strings (`rawBody`) as strings rather than inside JSON text that would
/// escape and parse them again; and a value that is the JSON of one of those strings (a JSON
/// body's `data`) parsed by JavaScriptCore from that string, instead of written out by Swift
/// and parsed from the copy. Mappings see an object with every name filled in.
struct MethodArguments: Sendable {
    /// The values by name, without the aliases and the texts.
    var values: JSONValue
    /// Alias → the name whose value it is.
    var aliases: [String: String]
    /// Members that are strings, by name, kept out of `values`.
    var texts: [String: String]
    /// Member of `values` → the text whose JSON it is: JavaScript parses the text instead of
    /// receiving the member's value written out (which stays in `values` for mappings, and
    /// for a text JavaScriptCore would not parse).
    var parsedTexts: [String: String]

    init(_ values: [String: JSONValue], aliases: [String: String] = [:], texts: [String: String] = [:], parsedTexts: [String: String] = [:]) {
        self.init(value: .object(values), aliases: aliases, texts: texts, parsedTexts: parsedTexts)
    }

    /// Arguments that may be a single value other than an object (``ScriptEngine/call(source:fileName:arguments:texts:aliases:host:)``).
    init(value: JSONValue, aliases: [String: String] = [:], texts: [String: String] = [:], parsedTexts: [String: String] = [:]) {
        self.values = value
        self.aliases = aliases
        self.texts = texts
        self.parsedTexts = parsedTexts.filter { texts[$0.value] != nil && value.objectValue?[$0.key] != nil }
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
