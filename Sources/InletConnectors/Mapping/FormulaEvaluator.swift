/// Evaluates mappings: plain JSON in which an object whose single key starts with `$` (or an
/// object with a `$eval` key) is a formula. See docs/formulas.md for the language.
///
/// Results follow the original's handling of JavaScript's `undefined` ("nothing"): a member
/// whose value yields nothing (a missing locator path, a `$map` without match or default) is
/// omitted from its object; an array element that yields nothing becomes `null` (except in
/// `$iterate`, which leaves the element out); a whole mapping that yields nothing is `null`.
///
/// `evaluate` compiles the mapping on every call (one pass over it); to evaluate the same
/// mapping many times, compile it once with `CompiledMapping`.
public struct FormulaEvaluator: Sendable {
    /// An evaluator; it holds no state, so one can be shared freely.
    public init() {}

    /// Evaluates `mapping` against `variables` (an object: `data`, `query`, `headers`, `state`,
    /// `parameters`, `record`, `payload`, `webhookUri`, `credentials`, ...).
    ///
    /// - Throws: `MappingError` for the first problem `MappingValidator` would report, or for a
    ///   run-time failure (a `$var` formula that does not yield a locator, a `$tpl` template
    ///   that is not a string).
    public func evaluate(_ mapping: JSONValue, variables: JSONValue) throws -> JSONValue {
        try CompiledMapping(mapping).evaluate(variables: variables)
    }
}

/// A mapping checked and compiled once, to be evaluated many times (a method's `.map.yml`
/// loaded with its workspace). Immutable and `Sendable`; evaluating costs only the formulas.
public struct CompiledMapping: Sendable {
    let root: MappingNode

    /// Compiles `mapping`.
    ///
    /// - Throws: `MappingError` for the first of `MappingValidator.problems(in:)`.
    public init(_ mapping: JSONValue) throws {
        try self.init(mapping, at: "")
    }

    /// Compiles `mapping`, which sits at `pointer` inside a larger document (a rest-api-mapping
    /// spec), so that errors point into that document.
    init(_ mapping: JSONValue, at pointer: String) throws {
        var compiler = MappingCompiler()
        root = compiler.compile(mapping, at: pointer)
        if let problem = compiler.problems.first { throw MappingError(problem) }
    }

    /// The mapping's value for `variables`; `null` when it yields nothing.
    public func evaluate(variables: JSONValue) throws -> JSONValue {
        try evaluateIfPresent(variables: variables) ?? .null
    }

    /// The mapping's value for `variables`, or `nil` when it yields nothing.
    func evaluateIfPresent(variables: JSONValue) throws -> JSONValue? {
        try root.evaluate(in: MappingScope(variables: variables, siblings: nil))
    }
}
