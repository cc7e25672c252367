/// The members of one JSON object being written straight into a ``JSONWriter``, without
/// building a ``JSONValue`` tree first: for the messages written once per webhook.
///
/// Give the members in the order ``JSONWriter`` sorts keys (by their UTF-8 bytes) and the
/// bytes are exactly those of writing the tree; debug builds check the order. A `nil` value
/// leaves its member out, as an optional field is left out of a message.
///
/// ```swift
/// writer.writeObject { members in
///     members.string("id", id)
///     members.object("source") { source in source.integer("offset", offset) }
/// }
/// ```
public struct JSONObjectMembers {
    fileprivate var writer: JSONWriter
    private var isFirst = true
    #if DEBUG
    private var previousKey: String?
    #endif

    fileprivate init(writer: JSONWriter) {
        self.writer = writer
    }

    public mutating func string(_ key: String, _ value: String?) {
        guard let value else { return }
        self.key(key)
        writer.writeString(value)
    }

    public mutating func integer(_ key: String, _ value: Int64) {
        self.key(key)
        writer.write(.integer(value))
    }

    public mutating func bool(_ key: String, _ value: Bool) {
        self.key(key)
        writer.append(raw: value ? "true" : "false")
    }

    /// A member whose value is a tree (a connector's record), written as ``JSONWriter/write(_:)`` writes it.
    public mutating func value(_ key: String, _ value: JSONValue?) {
        guard let value else { return }
        self.key(key)
        writer.write(value)
    }

    /// A member whose value is an object written member by member.
    public mutating func object(_ key: String, _ body: (inout JSONObjectMembers) -> Void) {
        self.key(key)
        writer.writeObject(body)
    }

    /// A member whose value is an object of strings, written with its keys sorted.
    public mutating func strings(_ key: String, _ members: [String: String]) {
        object(key, sorting: members) { $0.string($1, $2) }
    }

    /// A member whose value is an object with the members of a dictionary, keys sorted, each
    /// written by `write` (given the members, the key and the value).
    public mutating func object<Value>(_ key: String, sorting members: [String: Value], _ write: (inout JSONObjectMembers, String, Value) -> Void) {
        object(key) { object in
            for (name, value) in members.sorted(by: { JSONWriter.precedes($0.key, $1.key) }) { write(&object, name, value) }
        }
    }

    private mutating func key(_ key: String) {
        #if DEBUG
        if let previousKey { assert(JSONWriter.precedes(previousKey, key), "JSONObjectMembers: \"\(key)\" given after \"\(previousKey)\"") }
        previousKey = key
        #endif
        writer.append(raw: isFirst ? "{" : ",")
        isFirst = false
        writer.writeString(key)
        writer.append(raw: ":")
    }

    fileprivate mutating func finish() {
        writer.append(raw: isFirst ? "{}" : "}")
    }
}

extension JSONWriter {
    /// Writes an object member by member (``JSONObjectMembers``).
    public mutating func writeObject(_ body: (inout JSONObjectMembers) -> Void) {
        // The writer moves into the members and back, so its bytes are never copied.
        var members = JSONObjectMembers(writer: JSONWriter(capacity: 0))
        swap(&self, &members.writer)
        body(&members)
        members.finish()
        swap(&self, &members.writer)
    }
}
