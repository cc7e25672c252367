import Foundation

// `$eval` and its operators, `$and`, `$or`, `$case`, `$cond`.

/// An operator of `$eval` and of `$case` filters; the evaluated value is the left operand.
enum ConditionOperator: String, Sendable, CaseIterable {
    case `is`, isNot, isEmpty, isNotEmpty, contains, doesNotContain, oneOf, noneOf, gt, gte, lt, lte

    /// `isEmpty` and `isNotEmpty` ignore their operand.
    var takesOperand: Bool { self != .isEmpty && self != .isNotEmpty }

    static let namesList = allCases.map(\.rawValue).joined(separator: ", ")

    /// Whether `value <operator> operand` holds. Never throws for data: operands of the wrong
    /// type make the condition false (its negated operators true).
    func holds(_ value: JSONValue?, _ operand: JSONValue?) -> Bool {
        switch self {
        case .is: return Self.equal(value, operand)
        case .isNot: return !Self.equal(value, operand)
        case .isEmpty: return value.isEmptyValue
        case .isNotEmpty: return !value.isEmptyValue
        case .contains: return Self.contains(value, operand)
        case .doesNotContain: return !Self.contains(value, operand)
        case .oneOf: return Self.isMember(value, of: operand)
        case .noneOf: return !Self.isMember(value, of: operand)
        case .gt: return Self.compare(value, operand).map { $0 == .orderedDescending } ?? false
        case .gte: return Self.compare(value, operand).map { $0 != .orderedAscending } ?? false
        case .lt: return Self.compare(value, operand).map { $0 == .orderedAscending } ?? false
        case .lte: return Self.compare(value, operand).map { $0 != .orderedDescending } ?? false
        }
    }

    /// JSON equality where `1` equals `1.0` and nothing equals null.
    static func equal(_ left: JSONValue?, _ right: JSONValue?) -> Bool {
        switch (left ?? .null, right ?? .null) {
        case (.integer(let a), .integer(let b)): return a == b
        case let (a, b) where a.doubleValue != nil && b.doubleValue != nil: return a.doubleValue == b.doubleValue
        case (.array(let a), .array(let b)): return a.count == b.count && zip(a, b).allSatisfy { equal($0, $1) }
        case (.object(let a), .object(let b)):
            return a.count == b.count && a.allSatisfy { key, value in b[key].map { equal(value, $0) } ?? false }
        case let (a, b): return a == b
        }
    }

    /// Substring of a string (numbers and booleans as their text), or member of an array.
    private static func contains(_ value: JSONValue?, _ operand: JSONValue?) -> Bool {
        switch value {
        case .string(let text)?:
            switch operand {
            case .string?, .integer?, .number?, .bool?: return text.contains(operand.formulaText)
            default: return false
            }
        case .array(let elements)?:
            return elements.contains { equal($0, operand) }
        default:
            return false
        }
    }

    /// Member of the operand array (a single operand is a list of one).
    private static func isMember(_ value: JSONValue?, of operand: JSONValue?) -> Bool {
        if case .array(let candidates)? = operand { return candidates.contains { equal(value, $0) } }
        return operand != nil && equal(value, operand)
    }

    /// Numbers numerically, strings lexicographically (so ISO dates compare in time order); a
    /// number and numeric text numerically; anything else is not comparable (`nil`).
    static func compare(_ left: JSONValue?, _ right: JSONValue?) -> ComparisonResult? {
        func numeric(_ value: JSONValue?) -> Double? {
            switch value {
            case .integer(let integer)?: return Double(integer)
            case .number(let double)?: return double
            case .string(let text)?: return Formula.parseNumber(text)?.doubleValue
            default: return nil
            }
        }
        switch (left, right) {
        case (.integer(let a)?, .integer(let b)?):
            return a < b ? .orderedAscending : a > b ? .orderedDescending : .orderedSame
        case (.string(let a)?, .string(let b)?):
            return a < b ? .orderedAscending : a > b ? .orderedDescending : .orderedSame
        case (.integer?, _), (.number?, _), (_, .integer?), (_, .number?):
            guard let a = numeric(left), let b = numeric(right), !a.isNaN, !b.isNaN else { return nil }
            return a < b ? .orderedAscending : a > b ? .orderedDescending : .orderedSame
        default:
            return nil
        }
    }
}

/// One entry of `$case.cases`.
struct CaseBranch: Sendable {
    /// All must hold; an empty filter always matches.
    var filter: [CaseCondition]
    /// The result when the filter holds; nothing when absent.
    var value: MappingNode?
}

/// `{field, operator, value}` inside a `$case` filter.
struct CaseCondition: Sendable {
    var field: Locator
    var `operator`: ConditionOperator
    var operand: MappingNode
}

extension MappingCompiler {
    /// `{$eval: <value>, <operator>: <operand>}`: exactly one operator next to `$eval`.
    mutating func compileEval(_ members: [String: JSONValue], at pointer: String) -> MappingNode {
        let value = compile(members["$eval"]!, at: pointer.appendingPointer(key: "$eval"))
        let others = members.keys.filter { $0 != "$eval" }.sorted()
        var operators: [ConditionOperator] = []
        for key in others {
            if let op = ConditionOperator(rawValue: key) {
                operators.append(op)
            } else {
                report(pointer.appendingPointer(key: key), "unknown $eval operator '\(key)'; operators are \(ConditionOperator.namesList)")
            }
        }
        guard operators.count == 1, let op = operators.first else {
            if operators.isEmpty {
                report(pointer, "$eval needs one operator next to it (\(ConditionOperator.namesList)), e.g. {$eval: {$var: data.status}, is: open}")
            } else {
                report(pointer, "$eval takes exactly one operator, found \(operators.map(\.rawValue).joined(separator: ", ")); combine conditions with $and or $or")
            }
            return .literal(.null)
        }
        let operandPointer = pointer.appendingPointer(key: op.rawValue)
        let operand = compile(members[op.rawValue]!, at: operandPointer)
        checkOperand(members[op.rawValue]!, of: op, at: operandPointer)
        return .formula(.eval(value: value, operator: op, operand: operand), pointer: pointer)
    }

    /// `oneOf` and `noneOf` need an array (or a formula yielding one).
    private mutating func checkOperand(_ operand: JSONValue, of op: ConditionOperator, at pointer: String) {
        guard op == .oneOf || op == .noneOf else { return }
        if case .array = operand { return }
        if Self.isFormula(operand) { return }
        report(pointer, "\(op.rawValue) takes an array of values, got \(operand.formulaTypeName)")
    }

    /// `$case: {cases: [{filter: [{field, operator, value}], value}], default}`.
    mutating func compileCase(_ argument: JSONValue, at pointer: String) -> Formula? {
        guard case .object(let members) = argument else {
            report(pointer, "$case takes {cases: [{filter, value}], default}, got \(argument.formulaTypeName)")
            return nil
        }
        let before = problems.count
        reportUnknownKeys(in: members, allowed: ["cases", "default"], of: "$case", at: pointer)
        let casesPointer = pointer.appendingPointer(key: "cases")
        var branches: [CaseBranch] = []
        switch members["cases"] {
        case nil:
            report(pointer, "$case needs cases: [{filter: [{field, operator, value}], value}]")
        case .array(let cases)? where cases.isEmpty:
            report(casesPointer, "$case needs at least one case")
        case .array(let cases)?:
            for (index, entry) in cases.enumerated() {
                if let branch = compileCaseBranch(entry, at: casesPointer.appendingPointer(index: index)) { branches.append(branch) }
            }
        case let other?:
            report(casesPointer, "$case cases must be an array, got \(other.formulaTypeName)")
        }
        let fallback = members["default"].map { compile($0, at: pointer.appendingPointer(key: "default")) }
        guard problems.count == before else { return nil }
        return .switchCase(cases: branches, default: fallback)
    }

    private mutating func compileCaseBranch(_ entry: JSONValue, at pointer: String) -> CaseBranch? {
        guard case .object(let members) = entry else {
            report(pointer, "a $case case is {filter: [{field, operator, value}], value}, got \(entry.formulaTypeName)")
            return nil
        }
        reportUnknownKeys(in: members, allowed: ["filter", "value"], of: "a $case case", at: pointer)
        var conditions: [CaseCondition] = []
        let filterPointer = pointer.appendingPointer(key: "filter")
        switch members["filter"] {
        case nil, .null?:
            break
        case .array(let filter)?:
            for (index, condition) in filter.enumerated() {
                if let compiled = compileCaseCondition(condition, at: filterPointer.appendingPointer(index: index)) { conditions.append(compiled) }
            }
        case let other?:
            report(filterPointer, "a $case filter is an array of {field, operator, value}, got \(other.formulaTypeName)")
        }
        let value = members["value"].map { compile($0, at: pointer.appendingPointer(key: "value")) }
        return CaseBranch(filter: conditions, value: value)
    }

    private mutating func compileCaseCondition(_ condition: JSONValue, at pointer: String) -> CaseCondition? {
        guard case .object(let members) = condition else {
            report(pointer, "a $case filter condition is {field, operator, value}, got \(condition.formulaTypeName)")
            return nil
        }
        reportUnknownKeys(in: members, allowed: ["field", "operator", "value"], of: "a $case filter condition", at: pointer)
        var locator: Locator?
        switch members["field"] {
        case .string(let text)?:
            do { locator = try Locator(parsing: text) } catch { report(pointer.appendingPointer(key: "field"), "\(error)") }
        case nil:
            report(pointer, "a $case filter condition needs field (a locator such as data.status)")
        case let other?:
            report(pointer.appendingPointer(key: "field"), "field must be a locator string, got \(other.formulaTypeName)")
        }
        var op: ConditionOperator?
        switch members["operator"] {
        case .string(let name)?:
            op = ConditionOperator(rawValue: name)
            if op == nil { report(pointer.appendingPointer(key: "operator"), "unknown operator '\(name)'; operators are \(ConditionOperator.namesList)") }
        case nil:
            report(pointer, "a $case filter condition needs operator (\(ConditionOperator.namesList))")
        case let other?:
            report(pointer.appendingPointer(key: "operator"), "operator must be a string, got \(other.formulaTypeName)")
        }
        if let op, op.takesOperand, members["value"] == nil {
            report(pointer, "operator '\(op.rawValue)' needs a value")
        }
        if let op, let operand = members["value"] { checkOperand(operand, of: op, at: pointer.appendingPointer(key: "value")) }
        let operand = members["value"].map { compile($0, at: pointer.appendingPointer(key: "value")) } ?? .literal(.null)
        guard let locator, let op else { return nil }
        return CaseCondition(field: locator, operator: op, operand: operand)
    }

    /// `$cond: [condition, then]` or `[condition, then, else]`.
    mutating func compileCond(_ argument: JSONValue, at pointer: String) -> Formula? {
        guard case .array(let parts) = argument, parts.count == 2 || parts.count == 3 else {
            report(pointer, "$cond takes [condition, then, else] (else optional), got \(argument.formulaTypeName)\(argument.arrayValue.map { " of \($0.count)" } ?? "")")
            return nil
        }
        let nodes = parts.enumerated().map { compile($1, at: pointer.appendingPointer(index: $0)) }
        return .cond(condition: nodes[0], then: nodes[1], else: nodes.count == 3 ? nodes[2] : nil)
    }
}

extension Formula {
    static func evaluateCase(_ cases: [CaseBranch], default fallback: MappingNode?, in scope: MappingScope) throws -> JSONValue? {
        for branch in cases {
            var matches = true
            for condition in branch.filter {
                let value = condition.field.resolve(in: scope.variables)
                if try !condition.operator.holds(value, condition.operand.evaluate(in: scope)) {
                    matches = false
                    break
                }
            }
            if matches { return try branch.value?.evaluate(in: scope) }
        }
        return try fallback?.evaluate(in: scope)
    }
}
