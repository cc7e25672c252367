import Foundation

/// Turns a mapping's JSON into `MappingNode`s, collecting every `MappingProblem` on the way
/// (it does not stop at the first), so validation and evaluation share one reading of the
/// language.
struct MappingCompiler {
    /// What was found wrong so far.
    private(set) var problems: [MappingProblem] = []

    /// One literal object being compiled, for resolving and checking `$copy`.
    private struct CopyScope {
        var keys: Set<String>
        var currentMember = ""
        /// member → the siblings its formulas copy, with the pointer of each `$copy`.
        var references: [String: [(key: String, pointer: String)]] = [:]
    }

    private var copyScopes: [CopyScope] = []

    init() {}

    mutating func report(_ pointer: String, _ message: String) {
        problems.append(MappingProblem(pointer: pointer, message: message))
    }

    /// Compiles any value in mapping position.
    mutating func compile(_ value: JSONValue, at pointer: String) -> MappingNode {
        switch value {
        case .array(let elements):
            let nodes = elements.enumerated().map { compile($1, at: pointer.appendingPointer(index: $0)) }
            if let literals = Self.literals(nodes) { return .literal(.array(literals)) }
            return .array(nodes)
        case .object(let members):
            if members["$eval"] != nil {
                return compileEval(members, at: pointer)
            }
            if members.count == 1, let (name, argument) = members.first, name.hasPrefix("$") {
                return compileFormula(name, argument, at: pointer)
            }
            return compileObject(members, at: pointer)
        default:
            return .literal(value)
        }
    }

    /// Compiles a value in which only `{$var: locator}` is a formula (the argument of
    /// `$formula`); everything else, other formulas included, is data.
    mutating func compileVariablesOnly(_ value: JSONValue, at pointer: String) -> MappingNode {
        switch value {
        case .array(let elements):
            let nodes = elements.enumerated().map { compileVariablesOnly($1, at: pointer.appendingPointer(index: $0)) }
            if let literals = Self.literals(nodes) { return .literal(.array(literals)) }
            return .array(nodes)
        case .object(let members):
            if members.count == 1, let argument = members["$var"] {
                return compileFormula("$var", argument, at: pointer)
            }
            var nodes: [String: MappingNode] = [:]
            for key in members.keys.sorted() {
                nodes[key] = compileVariablesOnly(members[key]!, at: pointer.appendingPointer(key: key))
            }
            if let literals = Self.literals(nodes) { return .literal(.object(literals)) }
            return .object(ObjectNode(members: nodes, hasCopies: false))
        default:
            return .literal(value)
        }
    }

    // MARK: - Formulas by name

    private mutating func compileFormula(_ name: String, _ argument: JSONValue, at pointer: String) -> MappingNode {
        let argumentPointer = pointer.appendingPointer(key: name)
        let formula: Formula?
        switch name {
        case "$var": formula = compileVar(argument, at: argumentPointer)
        case "$plain": formula = .plain(argument)
        case "$formula": return compileVariablesOnly(argument, at: argumentPointer)
        case "$firstNotEmpty": formula = compileList(argument, of: name, at: argumentPointer).map(Formula.firstNotEmpty)
        case "$number": formula = .number(compile(argument, at: argumentPointer))
        case "$and": formula = compileList(argument, of: name, at: argumentPointer).map(Formula.and)
        case "$or": formula = compileList(argument, of: name, at: argumentPointer).map(Formula.or)
        case "$case": formula = compileCase(argument, at: argumentPointer)
        case "$cond": formula = compileCond(argument, at: argumentPointer)
        case "$concat": formula = compileList(argument, of: name, at: argumentPointer).map(Formula.concat)
        case "$tpl": formula = compileTemplate(argument, at: argumentPointer)
        case "$firstName": formula = .firstName(compile(argument, at: argumentPointer))
        case "$lastName": formula = .lastName(compile(argument, at: argumentPointer))
        case "$string": formula = .string(compile(argument, at: argumentPointer))
        case "$join": formula = compileJoin(argument, at: argumentPointer)
        case "$iterate": formula = compileIterate(argument, at: argumentPointer)
        case "$map": formula = compileMap(argument, at: argumentPointer)
        case "$copy": formula = compileCopy(argument, at: argumentPointer)
        case "$sum": formula = compileList(argument, of: name, at: argumentPointer).map(Formula.sum)
        default:
            if let reason = Formula.unsupported[name] {
                report(pointer, "\(name) is not supported by Inlet: \(reason)")
            } else {
                report(pointer, "unknown formula '\(name)'; known formulas are \(Formula.names.joined(separator: ", ")); wrap literal data whose only key starts with '$' in $plain")
            }
            formula = nil
        }
        // A formula with problems compiles to null so that compilation can go on and report the rest.
        return formula.map { .formula($0, pointer: pointer) } ?? .literal(.null)
    }

    // MARK: - Literal objects

    private mutating func compileObject(_ members: [String: JSONValue], at pointer: String) -> MappingNode {
        for key in members.keys.sorted() where Formula.names.contains(key) || Formula.unsupported[key] != nil {
            report(pointer.appendingPointer(key: key), "\(key) is a formula and must be the only key of its object (found next to \(members.keys.filter { $0 != key }.sorted().joined(separator: ", ")))")
        }
        copyScopes.append(CopyScope(keys: Set(members.keys)))
        var nodes: [String: MappingNode] = [:]
        for key in members.keys.sorted() {
            copyScopes[copyScopes.count - 1].currentMember = key
            nodes[key] = compile(members[key]!, at: pointer.appendingPointer(key: key))
        }
        let scope = copyScopes.removeLast()
        reportCopyCycles(scope)
        if scope.references.isEmpty, let literals = Self.literals(nodes) { return .literal(.object(literals)) }
        return .object(ObjectNode(members: nodes, hasCopies: !scope.references.isEmpty))
    }

    /// Records a `$copy` of `key` in the current object; returns whether that sibling exists.
    mutating func registerCopy(of key: String, at pointer: String) -> Bool {
        guard !copyScopes.isEmpty else {
            report(pointer, "$copy must be inside an object, next to the field it copies")
            return false
        }
        let index = copyScopes.count - 1
        guard copyScopes[index].keys.contains(key) else {
            let siblings = copyScopes[index].keys.sorted().joined(separator: ", ")
            report(pointer, "$copy of '\(key)': there is no sibling field '\(key)' (siblings: \(siblings))")
            return false
        }
        copyScopes[index].references[copyScopes[index].currentMember, default: []].append((key, pointer))
        return true
    }

    private mutating func reportCopyCycles(_ scope: CopyScope) {
        var finished: Set<String> = []
        for start in scope.references.keys.sorted() where !finished.contains(start) {
            var path: [String] = []
            var onPath: Set<String> = []

            func visit(_ member: String) {
                if finished.contains(member) { return }
                path.append(member)
                onPath.insert(member)
                for reference in scope.references[member] ?? [] {
                    if onPath.contains(reference.key) {
                        let cycle = path.drop(while: { $0 != reference.key }) + [reference.key]
                        report(reference.pointer, "$copy cycle: \(cycle.joined(separator: " → "))")
                    } else {
                        visit(reference.key)
                    }
                }
                path.removeLast()
                onPath.remove(member)
                finished.insert(member)
            }

            visit(start)
        }
    }

    // MARK: - Helpers for formula families

    /// An argument that must be a list: an array, or a formula yielding one.
    mutating func compileList(_ argument: JSONValue, of name: String, at pointer: String) -> MappingNode? {
        switch argument {
        case .array:
            return compile(argument, at: pointer)
        case .object where Self.isFormula(argument):
            return compile(argument, at: pointer)
        default:
            report(pointer, "\(name) takes an array (or a formula yielding one), got \(argument.formulaTypeName)")
            return nil
        }
    }

    /// Reports members of a formula's object argument that it does not know.
    mutating func reportUnknownKeys(in members: [String: JSONValue], allowed: [String], of name: String, at pointer: String) {
        for key in members.keys.sorted() where !allowed.contains(key) {
            report(pointer.appendingPointer(key: key), "\(name) does not take '\(key)'; it takes \(allowed.joined(separator: ", "))")
        }
    }

    /// Whether `value` is an object read as a formula.
    static func isFormula(_ value: JSONValue) -> Bool {
        guard case .object(let members) = value else { return false }
        if members["$eval"] != nil { return true }
        return members.count == 1 && members.keys.first!.hasPrefix("$")
    }

    private static func literals(_ nodes: [MappingNode]) -> [JSONValue]? {
        var values: [JSONValue] = []
        values.reserveCapacity(nodes.count)
        for node in nodes {
            guard case .literal(let value) = node else { return nil }
            values.append(value)
        }
        return values
    }

    private static func literals(_ nodes: [String: MappingNode]) -> [String: JSONValue]? {
        var values: [String: JSONValue] = [:]
        for (key, node) in nodes {
            guard case .literal(let value) = node else { return nil }
            values[key] = value
        }
        return values
    }
}

// MARK: - JSON pointers

extension String {
    /// This JSON pointer extended by an object key (escaping `~` and `/`).
    func appendingPointer(key: String) -> String {
        self + "/" + key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    /// This JSON pointer extended by an array index.
    func appendingPointer(index: Int) -> String {
        self + "/" + String(index)
    }
}

extension JSONValue {
    /// The JSON type's name, for messages.
    var formulaTypeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer, .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
