/// One thing wrong with a mapping, found without evaluating it.
public struct MappingProblem: Sendable, Hashable, CustomStringConvertible {
    /// A JSON pointer (RFC 6901) to the offending value inside the mapping, `""` for the root.
    public var pointer: String
    /// What is wrong, naming the formula.
    public var message: String

    /// A problem at `pointer` (a JSON pointer into the mapping) saying `message`.
    public init(pointer: String, message: String) {
        self.pointer = pointer
        self.message = message
    }

    /// `<pointer>: <message>`, with `/` for the root.
    public var description: String { "\(pointer.isEmpty ? "/" : pointer): \(message)" }
}

/// Static validation of mappings, run when a workspace is loaded so that a broken `.map.yml`
/// is reported with its file before any event reaches it.
///
/// It reports unknown formulas, formulas Inlet does not support (`$lookup`,
/// `$findExternalRecordId`, `$findAppRecordId`, `$jsonata`), malformed arguments (`$tpl`
/// without `template`, `$eval` with no or two operators, `$case` without cases, ...), locators
/// that do not parse, and `$copy` of a missing sibling or in a cycle. A mapping with no
/// problems never fails evaluation for a structural reason. Cost: one pass over the mapping.
public enum MappingValidator {
    /// Every problem in `mapping`, in document order of discovery; empty when it is valid.
    public static func problems(in mapping: JSONValue) -> [MappingProblem] {
        var compiler = MappingCompiler()
        _ = compiler.compile(mapping, at: "")
        return compiler.problems
    }
}
