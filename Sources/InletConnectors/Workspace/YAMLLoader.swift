import Foundation
import Yams

/// A YAML (or JSON) document turned into a ``JSONValue``, remembering the line of every value so
/// problems can point at `file:line`.
public struct YAMLDocument: Sendable, Hashable {
    /// The document's content; an empty document is `.null`.
    public let value: JSONValue
    /// Line (1-based) of the value at each JSON pointer (`""` is the root).
    let valueLines: [String: Int]
    /// Line of the key that introduces each object member, by the member's pointer.
    let keyLines: [String: Int]

    /// The line of the value at `pointer` (e.g. `/methods/handle`): the line of its key when it is an
    /// object member, else of the value itself. A pointer that does not exist in the document falls
    /// back to its nearest existing ancestor, so a problem about a missing member points at its parent.
    public func line(of pointer: String) -> Int {
        var current = pointer
        while true {
            if let line = keyLines[current] ?? valueLines[current] { return line }
            guard let slash = current.lastIndex(of: "/") else { return 1 }
            current = String(current[..<slash])
        }
    }
}

/// A YAML document that could not be parsed.
public struct YAMLSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1-based line of the offending character.
    public let line: Int
    /// What the parser found, e.g. `mapping values are not allowed in this context`.
    public let message: String

    /// `line 3: mapping values are not allowed in this context`.
    public var description: String { "line \(line): \(message)" }
}

/// Parses YAML into ``YAMLDocument``s with Yams' node tree (`Yams.compose`), which keeps every
/// node's line; a plain `Yams.load` would lose them.
///
/// Scalars follow YAML 1.2 core-schema resolution (`true`, `1`, `1.5`, `null`, else a string).
/// Timestamps and binary scalars stay strings, so the result is always plain JSON. Aliases are
/// expanded and `<<` merge keys are applied.
public enum YAMLLoader {
    /// Parses `text`.
    /// - Throws: ``YAMLSyntaxError`` with the line of the first syntax error.
    public static func parse(_ text: String) throws(YAMLSyntaxError) -> YAMLDocument {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw syntaxError(from: error)
        } catch {
            throw YAMLSyntaxError(line: 1, message: String(describing: error))
        }
        guard let root else { return YAMLDocument(value: .null, valueLines: [:], keyLines: [:]) }
        var builder = Builder()
        let value = builder.convert(root, pointer: "")
        return YAMLDocument(value: value, valueLines: builder.valueLines, keyLines: builder.keyLines)
    }

    /// `/`-joined JSON pointer of `key` inside `parent` (RFC 6901 escaping).
    static func pointer(_ parent: String, _ key: String) -> String {
        parent + "/" + key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    private static func syntaxError(from error: YamlError) -> YAMLSyntaxError {
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var message = problem
            if let context { message += " (\(context.text) at line \(context.mark.line))" }
            return YAMLSyntaxError(line: max(mark.line, 1), message: message)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
            return YAMLSyntaxError(line: max(context.mark.line, 1), message: "duplicate key \(keys) in a mapping")
        case .reader(let problem, let offset, _, let yaml):
            let line = offset.map { offset in yaml.utf8.prefix(offset).reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 } } ?? 1
            return YAMLSyntaxError(line: line, message: problem)
        default:
            return YAMLSyntaxError(line: 1, message: error.description)
        }
    }

    /// Walks the node tree once, recording lines by pointer.
    private struct Builder {
        var valueLines: [String: Int] = [:]
        var keyLines: [String: Int] = [:]

        mutating func convert(_ node: Node, pointer: String) -> JSONValue {
            if let mark = node.mark { valueLines[pointer] = mark.line }
            switch node {
            case .scalar:
                return scalar(node)
            case .sequence(let sequence):
                return .array(sequence.enumerated().map { index, element in
                    convert(element, pointer: pointer + "/\(index)")
                })
            case .mapping(let mapping):
                var members: [String: JSONValue] = [:]
                var merged: [(Node, Node)] = []
                for (key, value) in mapping {
                    if key.tag.rawValue == Tag.Name.merge.rawValue {
                        merged.append(contentsOf: Self.mergePairs(value))
                        continue
                    }
                    let name = key.string ?? key.scalar?.string ?? "?"
                    let memberPointer = YAMLLoader.pointer(pointer, name)
                    if let mark = key.mark { keyLines[memberPointer] = mark.line }
                    members[name] = convert(value, pointer: memberPointer)
                }
                // Explicit keys win over merged ones, as YAML's merge-key spec says.
                for (key, value) in merged {
                    let name = key.string ?? "?"
                    guard members[name] == nil else { continue }
                    let memberPointer = YAMLLoader.pointer(pointer, name)
                    if let mark = key.mark { keyLines[memberPointer] = mark.line }
                    members[name] = convert(value, pointer: memberPointer)
                }
                return .object(members)
            case .alias:
                // `compose` resolves aliases to the anchored node; an unresolved one has no value.
                return .null
            }
        }

        private static func mergePairs(_ node: Node) -> [(Node, Node)] {
            switch node {
            case .mapping(let mapping): return mapping.map { ($0.key, $0.value) }
            case .sequence(let sequence): return sequence.flatMap { mergePairs($0) }
            default: return []
            }
        }

        private func scalar(_ node: Node) -> JSONValue {
            let text = node.scalar?.string ?? ""
            switch node.tag.rawValue {
            case Tag.Name.null.rawValue:
                return .null
            case Tag.Name.bool.rawValue:
                return node.bool.map(JSONValue.bool) ?? .string(text)
            case Tag.Name.int.rawValue:
                if let int = node.int { return .integer(Int64(int)) }
                return node.float.map(JSONValue.number) ?? .string(text)
            case Tag.Name.float.rawValue:
                return node.float.map(JSONValue.number) ?? .string(text)
            default:
                return .string(text)
            }
        }
    }
}
