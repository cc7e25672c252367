/// A mapping after compilation: formulas parsed into `Formula` values, locators parsed,
/// formula-free subtrees folded into literals. Evaluating a node never re-reads the mapping's
/// JSON, so a `CompiledMapping` can be evaluated for every event at the cost of the formulas
/// alone.
indirect enum MappingNode: Sendable {
    /// Copied as is (no formula inside).
    case literal(JSONValue)
    /// An array with at least one formula inside; elements that yield nothing become `null`.
    case array([MappingNode])
    /// An object with at least one formula inside; members that yield nothing are omitted.
    case object(ObjectNode)
    /// A formula; `pointer` locates it in the mapping for run-time errors.
    case formula(Formula, pointer: String)
}

/// The members of a literal object of a mapping.
struct ObjectNode: Sendable {
    var members: [String: MappingNode]
    /// Whether a `$copy` refers to one of these members; such objects evaluate their members
    /// through a `SiblingTable` so that a copied member is computed once, whatever the order.
    var hasCopies: Bool
}

/// What a node is evaluated against.
struct MappingScope {
    /// The variables locators resolve against (an object: `data`, `query`, `item`, ...).
    var variables: JSONValue
    /// The members of the nearest enclosing literal object, for `$copy`.
    var siblings: SiblingTable?
}

/// The evaluated members of one object, filled on demand; lets `$copy` read a sibling that
/// is written before or after it, and detects cycles.
///
/// Lives only for the duration of one synchronous evaluation, so it is a plain class.
final class SiblingTable {
    private let members: [String: MappingNode]
    private let variables: JSONValue
    private var results: [String: JSONValue?] = [:]
    private var inProgress: Set<String> = []

    init(members: [String: MappingNode], variables: JSONValue) {
        self.members = members
        self.variables = variables
    }

    /// The evaluated member `key`; nothing when there is no such member.
    func value(of key: String, requestedAt pointer: String) throws -> JSONValue? {
        if let done = results[key] { return done }
        guard let node = members[key] else { return nil }
        guard inProgress.insert(key).inserted else {
            throw MappingError(pointer: pointer, message: "$copy of '\(key)' depends on itself")
        }
        defer { inProgress.remove(key) }
        let value = try node.evaluate(in: MappingScope(variables: variables, siblings: self))
        results[key] = .some(value)
        return value
    }
}

// MARK: - Evaluation

extension MappingNode {
    /// The value of this node, or `nil` for "nothing" (a missing path, a `$map` without a
    /// match, ...).
    func evaluate(in scope: MappingScope) throws -> JSONValue? {
        switch self {
        case .literal(let value):
            return value
        case .array(let elements):
            return .array(try elements.map { try $0.evaluate(in: scope) ?? .null })
        case .object(let object):
            return try object.evaluate(in: scope)
        case .formula(let formula, let pointer):
            return try formula.evaluate(in: scope, at: pointer)
        }
    }

    /// The elements of a list argument (`$concat`, `$and`, `$sum`, ...): the evaluated elements
    /// of an array, keeping "nothing" as `nil`; a single value is a list of one; nothing is an
    /// empty list.
    func evaluateList(in scope: MappingScope) throws -> [JSONValue?] {
        switch self {
        case .array(let elements):
            return try elements.map { try $0.evaluate(in: scope) }
        default:
            switch try evaluate(in: scope) {
            case .array(let elements)?: return elements.map(Optional.some)
            case nil: return []
            case let value?: return [value]
            }
        }
    }
}

extension ObjectNode {
    func evaluate(in scope: MappingScope) throws -> JSONValue {
        var result: [String: JSONValue] = [:]
        result.reserveCapacity(members.count)
        if hasCopies {
            let table = SiblingTable(members: members, variables: scope.variables)
            for key in members.keys {
                if let value = try table.value(of: key, requestedAt: "") { result[key] = value }
            }
        } else {
            for (key, node) in members {
                if let value = try node.evaluate(in: scope) { result[key] = value }
            }
        }
        return .object(result)
    }
}
