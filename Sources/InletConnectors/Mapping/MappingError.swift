/// A mapping could not be evaluated: it is malformed (what `MappingValidator` reports), or the
/// data it met at run time does not fit (a `$copy` cycle, a path parameter without a value, a
/// GraphQL response with errors and no data).
public struct MappingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A JSON pointer to the formula inside the mapping (`""` is the whole mapping).
    public var pointer: String
    /// What went wrong and, where it helps, what to write instead.
    public var message: String

    /// An error at `pointer` (a JSON pointer into the mapping) saying `message`.
    public init(pointer: String, message: String) {
        self.pointer = pointer
        self.message = message
    }

    /// The first problem of a static validation, as an error.
    public init(_ problem: MappingProblem) {
        self.init(pointer: problem.pointer, message: problem.message)
    }

    /// `mapping error at <pointer>: <message>`, with `/` for the root.
    public var description: String { "mapping error at \(pointer.isEmpty ? "/" : pointer): \(message)" }
}
