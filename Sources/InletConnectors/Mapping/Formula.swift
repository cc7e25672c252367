/// One compiled formula. Each family (values, conditions, text, collections) compiles and
/// evaluates its cases in its own `Formula+<Family>.swift` file.
indirect enum Formula: Sendable {
    // MARK: Values (Formula+Values.swift)
    /// `$var: <locator>`
    case variable(Locator)
    /// `$var: <formula yielding a locator>`
    case computedVariable(MappingNode)
    /// `$plain: <value>`
    case plain(JSONValue)
    /// `$firstNotEmpty: [a, b, ...]`
    case firstNotEmpty(MappingNode)
    /// `$number: <value>`
    case number(MappingNode)

    // MARK: Conditions (Formula+Conditions.swift)
    /// `{$eval: <value>, <operator>: <operand>}`
    case eval(value: MappingNode, operator: ConditionOperator, operand: MappingNode)
    /// `$and: [conditions]`
    case and(MappingNode)
    /// `$or: [conditions]`
    case or(MappingNode)
    /// `$case: {cases, default}`
    case switchCase(cases: [CaseBranch], default: MappingNode?)
    /// `$cond: [condition, then, else]`
    case cond(condition: MappingNode, then: MappingNode, else: MappingNode?)

    // MARK: Text (Formula+Text.swift)
    /// `$concat: [a, b, ...]`
    case concat(MappingNode)
    /// `$tpl: {template, values}`
    case template(MappingNode, values: [String: MappingNode])
    /// `$firstName: <full name>`
    case firstName(MappingNode)
    /// `$lastName: <full name>`
    case lastName(MappingNode)
    /// `$string: <value>`
    case string(MappingNode)
    /// `$join: [separator, [items]]`
    case join(separator: MappingNode, items: MappingNode)

    // MARK: Collections (Formula+Collections.swift)
    /// `$iterate: {source, item}`
    case iterate(source: MappingNode, item: MappingNode)
    /// `$map: {value, mapping, default}`
    case map(value: MappingNode, rows: [MapRow], default: MappingNode?)
    /// `$copy: <sibling key>`
    case copy(key: String)
    /// `$sum: [numbers]`
    case sum(MappingNode)

    /// Every formula Inlet evaluates, for messages and for spotting a formula key that is not
    /// alone in its object.
    static let names: [String] = [
        "$var", "$plain", "$formula", "$firstNotEmpty", "$number",
        "$eval", "$and", "$or", "$case", "$cond",
        "$concat", "$tpl", "$firstName", "$lastName", "$string", "$join",
        "$iterate", "$map", "$copy", "$sum",
    ]

    /// Formulas of the original product that belong to parts Inlet does not build, with why.
    static let unsupported: [String: String] = [
        "$lookup": "it finds or creates records in related data collections (data links), which Inlet does not have; resolve the record in a javascript method",
        "$findExternalRecordId": "it needs data links between app and external records, which Inlet does not have; use a javascript method",
        "$findAppRecordId": "it needs data links between app and external records, which Inlet does not have; use a javascript method",
        "$jsonata": "Inlet has no JSONata engine; use the other formulas or a javascript method",
    ]

    /// Evaluates the formula; `pointer` locates it for errors.
    func evaluate(in scope: MappingScope, at pointer: String) throws -> JSONValue? {
        switch self {
        case .variable(let locator):
            return locator.resolve(in: scope.variables)
        case .computedVariable(let node):
            return try Self.evaluateComputedVariable(node, in: scope, at: pointer)
        case .plain(let value):
            return value
        case .firstNotEmpty(let list):
            return try list.evaluateList(in: scope).first { !$0.isEmptyValue } ?? nil
        case .number(let node):
            return try node.evaluate(in: scope).flatMap(Self.numberValue)
        case .eval(let value, let op, let operand):
            return .bool(try op.holds(try value.evaluate(in: scope), operand.evaluate(in: scope)))
        case .and(let list):
            return .bool(try list.evaluateList(in: scope).allSatisfy(\.isTruthy))
        case .or(let list):
            return .bool(try list.evaluateList(in: scope).contains(where: \.isTruthy))
        case .switchCase(let cases, let fallback):
            return try Self.evaluateCase(cases, default: fallback, in: scope)
        case .cond(let condition, let then, let otherwise):
            return try condition.evaluate(in: scope).isTruthy ? then.evaluate(in: scope) : otherwise?.evaluate(in: scope)
        case .concat(let list):
            return .string(try list.evaluateList(in: scope).map(\.formulaText).joined())
        case .template(let template, let values):
            return try Self.evaluateTemplate(template, values: values, in: scope, at: pointer)
        case .firstName(let node):
            return try Self.splitName(node.evaluate(in: scope)).first.map(JSONValue.string)
        case .lastName(let node):
            return try Self.splitName(node.evaluate(in: scope)).last.map(JSONValue.string)
        case .string(let node):
            return try Self.stringValue(node.evaluate(in: scope))
        case .join(let separator, let items):
            return try Self.evaluateJoin(separator: separator, items: items, in: scope)
        case .iterate(let source, let item):
            return try Self.evaluateIterate(source: source, item: item, in: scope)
        case .map(let value, let rows, let fallback):
            return try Self.evaluateMap(value: value, rows: rows, default: fallback, in: scope)
        case .copy(let key):
            return try scope.siblings?.value(of: key, requestedAt: pointer)
        case .sum(let list):
            return Self.sum(try list.evaluateList(in: scope))
        }
    }
}
