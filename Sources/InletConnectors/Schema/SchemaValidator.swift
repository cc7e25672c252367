import Foundation

/// Properties and items that successful subschemas evaluated, for `unevaluatedProperties` / `unevaluatedItems`.
struct EvaluatedLocations {
    var properties: Set<String> = []
    var allProperties = false
    var itemPrefix = 0
    var allItems = false
    var items: Set<Int> = []

    mutating func merge(_ other: EvaluatedLocations) {
        if !other.properties.isEmpty { properties.formUnion(other.properties) }
        allProperties = allProperties || other.allProperties
        itemPrefix = max(itemPrefix, other.itemPrefix)
        allItems = allItems || other.allItems
        if !other.items.isEmpty { items.formUnion(other.items) }
    }
}

/// One validation run over a ``SchemaGraph``. A value type with no shared state, so concurrent
/// validations never interfere.
struct SchemaEvaluator {
    let graph: SchemaGraph
    /// When true, stop at the first failure and build no error messages (used by `isValid` and for
    /// subschemas whose errors are discarded, such as `anyOf` branches and `not`).
    var failFast: Bool
    private(set) var errors: [SchemaValidationError] = []
    private var dynamicScope: [Int] = []
    /// Nodes entered since the validator last descended into the instance.
    private var depth = 0
    /// Nodes currently on the evaluation stack.
    private var totalDepth = 0
    private let tracks: Bool

    /// How many schemas may be entered without descending into the instance; exceeded only by
    /// reference cycles that never consume the instance (e.g. `{"$ref": "#"}`).
    static let maxDepth = 128

    /// Overall nesting limit, so pathologically deep instances fail cleanly instead of exhausting the stack.
    static let maxTotalDepth = 1024

    init(graph: SchemaGraph, failFast: Bool) {
        self.graph = graph
        self.failFast = failFast
        self.tracks = graph.tracksEvaluation
    }

    private mutating func fail(_ instancePath: SchemaPath, _ keywordPath: SchemaPath, _ keyword: String, _ message: @autoclosure () -> String) {
        guard !failFast else { return }
        errors.append(SchemaValidationError(instancePath: instancePath.pointer, keywordLocation: keywordPath.pointer, keyword: keyword, message: message()))
    }

    /// Evaluates `node` without reporting errors; returns validity and evaluated locations.
    private mutating func quietly(_ node: Int, _ instance: JSONValue, _ ip: SchemaPath, _ kp: SchemaPath) -> (Bool, EvaluatedLocations) {
        let saved = failFast
        failFast = true
        defer { failFast = saved }
        return validate(node, instance, ip, kp)
    }

    /// Validates `instance` against node `index`; errors go to `errors` unless `failFast`.
    mutating func validate(_ index: Int, _ instance: JSONValue, _ ip: SchemaPath, _ kp: SchemaPath) -> (Bool, EvaluatedLocations) {
        let node = graph.nodes[index]
        if let constant = node.constant {
            if !constant { fail(ip, kp, "false", "no value is allowed here (the schema is false)") }
            return (constant, EvaluatedLocations())
        }
        guard depth < Self.maxDepth else {
            fail(ip, kp, "$ref", "schema references nest too deeply without descending into the value (a reference cycle?)")
            return (false, EvaluatedLocations())
        }
        guard totalDepth < Self.maxTotalDepth else {
            fail(ip, kp, "$ref", "value is nested too deeply to validate (more than \(Self.maxTotalDepth) schema levels)")
            return (false, EvaluatedLocations())
        }
        depth += 1
        totalDepth += 1
        let pushed = dynamicScope.last != node.resource
        if pushed { dynamicScope.append(node.resource) }
        defer {
            depth -= 1
            totalDepth -= 1
            if pushed { dynamicScope.removeLast() }
        }
        var evaluated = EvaluatedLocations()
        var valid = true
        for keyword in node.keywords {
            if !evaluate(keyword, instance, ip, kp, &evaluated) {
                valid = false
                if failFast { break }
            }
        }
        return (valid, valid ? evaluated : EvaluatedLocations())
    }

    /// Dispatches one keyword. Each keyword lives in its own non-inlined method so the frames on the
    /// recursion path stay small (deeply nested instances must not exhaust small thread stacks).
    private mutating func evaluate(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        switch keyword.check {
        case .type: return checkType(keyword, instance, ip, nodePath, &ev)
        case .enumeration: return checkEnumeration(keyword, instance, ip, nodePath, &ev)
        case .constant: return checkConstant(keyword, instance, ip, nodePath, &ev)
        case .multipleOf: return checkMultipleOf(keyword, instance, ip, nodePath, &ev)
        case .maximum: return checkMaximum(keyword, instance, ip, nodePath, &ev)
        case .minimum: return checkMinimum(keyword, instance, ip, nodePath, &ev)
        case .maxLength: return checkMaxLength(keyword, instance, ip, nodePath, &ev)
        case .minLength: return checkMinLength(keyword, instance, ip, nodePath, &ev)
        case .pattern: return checkPattern(keyword, instance, ip, nodePath, &ev)
        case .format: return checkFormat(keyword, instance, ip, nodePath, &ev)
        case .maxItems: return checkMaxItems(keyword, instance, ip, nodePath, &ev)
        case .minItems: return checkMinItems(keyword, instance, ip, nodePath, &ev)
        case .uniqueItems: return checkUniqueItems(keyword, instance, ip, nodePath, &ev)
        case .maxProperties: return checkMaxProperties(keyword, instance, ip, nodePath, &ev)
        case .minProperties: return checkMinProperties(keyword, instance, ip, nodePath, &ev)
        case .required: return checkRequired(keyword, instance, ip, nodePath, &ev)
        case .dependentRequired: return checkDependentRequired(keyword, instance, ip, nodePath, &ev)
        case .ref: return checkRef(keyword, instance, ip, nodePath, &ev)
        case .dynamicRef: return checkDynamicRef(keyword, instance, ip, nodePath, &ev)
        case .allOf: return checkAllOf(keyword, instance, ip, nodePath, &ev)
        case .anyOf: return checkAnyOf(keyword, instance, ip, nodePath, &ev)
        case .oneOf: return checkOneOf(keyword, instance, ip, nodePath, &ev)
        case .not: return checkNot(keyword, instance, ip, nodePath, &ev)
        case .conditional: return checkConditional(keyword, instance, ip, nodePath, &ev)
        case .properties: return checkProperties(keyword, instance, ip, nodePath, &ev)
        case .patternProperties: return checkPatternProperties(keyword, instance, ip, nodePath, &ev)
        case .additionalProperties: return checkAdditionalProperties(keyword, instance, ip, nodePath, &ev)
        case .unevaluatedProperties: return checkUnevaluatedProperties(keyword, instance, ip, nodePath, &ev)
        case .propertyNames: return checkPropertyNames(keyword, instance, ip, nodePath, &ev)
        case .dependentSchemas: return checkDependentSchemas(keyword, instance, ip, nodePath, &ev)
        case .prefixItems: return checkPrefixItems(keyword, instance, ip, nodePath, &ev)
        case .items: return checkItems(keyword, instance, ip, nodePath, &ev)
        case .contains: return checkContains(keyword, instance, ip, nodePath, &ev)
        case .unevaluatedItems: return checkUnevaluatedItems(keyword, instance, ip, nodePath, &ev)
        }
    }

    @inline(never)
    private mutating func checkType(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .type(let types) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        if types.contains(where: { $0.matches(instance) }) { return true }
        let expected = types.count == 1 ? types[0].rawValue : "one of " + types.map(\.rawValue).joined(separator: ", ")
        fail(ip, kp, name, "expected \(expected), got \(instance.schemaTypeName)")
        return false
    }

    @inline(never)
    private mutating func checkEnumeration(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .enumeration(let values, let normalized) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        // The set uses Swift string equality (canonical equivalence); confirm code-point equality.
        if normalized.contains(instance.schemaNormalized), values.contains(where: { $0.schemaEquals(instance) }) { return true }
        fail(ip, kp, name, "value \(instance.schemaSnippet) is not one of \(JSONValue.array(values).schemaSnippet)")
        return false
    }

    @inline(never)
    private mutating func checkConstant(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .constant(let value) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        if instance.schemaEquals(value) { return true }
        fail(ip, kp, name, "value must be \(value.schemaSnippet), got \(instance.schemaSnippet)")
        return false
    }

    @inline(never)
    private mutating func checkMultipleOf(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .multipleOf(let divisor) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard instance.doubleValue != nil else { return true }
        if Self.isMultiple(instance, of: divisor) { return true }
        fail(ip, kp, name, "\(instance.schemaSnippet) is not a multiple of \(divisor.schemaSnippet)")
        return false
    }

    @inline(never)
    private mutating func checkMaximum(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .maximum(let limit, let exclusive) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard let order = Self.compare(instance, limit) else { return true }
        if order == .orderedAscending || (!exclusive && order == .orderedSame) { return true }
        fail(ip, kp, name, "\(instance.schemaSnippet) is greater than \(exclusive ? "or equal to " : "")\(exclusive ? "the exclusive maximum" : "the maximum") \(limit.schemaSnippet)")
        return false
    }

    @inline(never)
    private mutating func checkMinimum(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .minimum(let limit, let exclusive) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard let order = Self.compare(instance, limit) else { return true }
        if order == .orderedDescending || (!exclusive && order == .orderedSame) { return true }
        fail(ip, kp, name, "\(instance.schemaSnippet) is less than \(exclusive ? "or equal to " : "")\(exclusive ? "the exclusive minimum" : "the minimum") \(limit.schemaSnippet)")
        return false
    }

    @inline(never)
    private mutating func checkMaxLength(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .maxLength(let limit) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .string(let s) = instance else { return true }
        let length = s.unicodeScalars.count
        if length <= limit { return true }
        fail(ip, kp, name, "string is \(length) characters long, at most \(limit) allowed")
        return false
    }

    @inline(never)
    private mutating func checkMinLength(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .minLength(let limit) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .string(let s) = instance else { return true }
        let length = s.unicodeScalars.count
        if length >= limit { return true }
        fail(ip, kp, name, "string is \(length) characters long, at least \(limit) required")
        return false
    }

    @inline(never)
    private mutating func checkPattern(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .pattern(let regex) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .string(let s) = instance else { return true }
        if regex.matches(s) { return true }
        fail(ip, kp, name, "string \(instance.schemaSnippet) does not match pattern '\(regex.source)'")
        return false
    }

    @inline(never)
    private mutating func checkFormat(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .format(let format) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .string(let s) = instance, let ok = SchemaFormat.check(format, s) else { return true }
        if ok { return true }
        fail(ip, kp, name, "string \(instance.schemaSnippet) is not a valid \(format)")
        return false
    }

    @inline(never)
    private mutating func checkMaxItems(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .maxItems(let limit) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .array(let a) = instance else { return true }
        if a.count <= limit { return true }
        fail(ip, kp, name, "array has \(a.count) items, at most \(limit) allowed")
        return false
    }

    @inline(never)
    private mutating func checkMinItems(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .minItems(let limit) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .array(let a) = instance else { return true }
        if a.count >= limit { return true }
        fail(ip, kp, name, "array has \(a.count) items, at least \(limit) required")
        return false
    }

    @inline(never)
    private mutating func checkUniqueItems(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .uniqueItems = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .array(let a) = instance, a.count > 1 else { return true }
        var seen: [JSONValue: Int] = [:]
        var exhaustive = false
        for (i, item) in a.enumerated() {
            let key = item.schemaNormalized
            if let first = seen[key] {
                if a[first].schemaEquals(item) {
                    fail(ip, kp, name, "array items \(first) and \(i) are equal; items must be unique")
                    return false
                }
                exhaustive = true  // canonically equivalent but different strings: fall back to pairwise
                break
            }
            seen[key] = i
        }
        guard exhaustive else { return true }
        for i in a.indices {
            for j in a.indices where j > i && a[i].schemaEquals(a[j]) {
                fail(ip, kp, name, "array items \(i) and \(j) are equal; items must be unique")
                return false
            }
        }
        return true
    }

    @inline(never)
    private mutating func checkMaxProperties(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .maxProperties(let limit) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .object(let o) = instance else { return true }
        if o.count <= limit { return true }
        fail(ip, kp, name, "object has \(o.count) properties, at most \(limit) allowed")
        return false
    }

    @inline(never)
    private mutating func checkMinProperties(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .minProperties(let limit) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .object(let o) = instance else { return true }
        if o.count >= limit { return true }
        fail(ip, kp, name, "object has \(o.count) properties, at least \(limit) required")
        return false
    }

    @inline(never)
    private mutating func checkRequired(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .required(let names) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .object(let o) = instance else { return true }
        var valid = true
        for n in names where o[n] == nil {
            valid = false
            fail(ip, kp, name, "missing required property '\(n)'")
            if failFast { break }
        }
        return valid
    }

    @inline(never)
    private mutating func checkDependentRequired(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .dependentRequired(let entries) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .object(let o) = instance else { return true }
        var valid = true
        for entry in entries where o[entry.property] != nil {
            for n in entry.required where o[n] == nil {
                valid = false
                fail(ip, kp.appending(entry.property), name, "property '\(n)' is required when '\(entry.property)' is present")
                if failFast { return false }
            }
        }
        return valid
    }

    @inline(never)
    private mutating func checkRef(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .ref(let target) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let (ok, sub) = validate(target, instance, ip, kp)
        if ok && tracks { ev.merge(sub) }
        return ok
    }

    @inline(never)
    private mutating func checkDynamicRef(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .dynamicRef(let target, let anchor) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        var resolved = target
        if let anchor {
            for resource in dynamicScope {
                if resource < graph.dynamicAnchors.count, let n = graph.dynamicAnchors[resource][anchor] {
                    resolved = n
                    break
                }
            }
        }
        let (ok, sub) = validate(resolved, instance, ip, kp)
        if ok && tracks { ev.merge(sub) }
        return ok
    }

    @inline(never)
    private mutating func checkAllOf(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .allOf(let nodes) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        var valid = true
        for (i, n) in nodes.enumerated() {
            let (ok, sub) = validate(n, instance, ip, kp.appending(i))
            if ok {
                if tracks { ev.merge(sub) }
            } else {
                valid = false
                if failFast { return false }
            }
        }
        return valid
    }

    @inline(never)
    private mutating func checkAnyOf(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .anyOf(let nodes) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        var valid = false
        for (i, n) in nodes.enumerated() {
            let (ok, sub) = quietly(n, instance, ip, kp.appending(i))
            if ok {
                valid = true
                if !tracks { break }
                ev.merge(sub)
            }
        }
        if !valid { fail(ip, kp, name, "value does not match any of the \(nodes.count) schemas in anyOf") }
        return valid
    }

    @inline(never)
    private mutating func checkOneOf(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .oneOf(let nodes) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        var matches: [Int] = []
        var matched = EvaluatedLocations()
        for (i, n) in nodes.enumerated() {
            let (ok, sub) = quietly(n, instance, ip, kp.appending(i))
            if ok {
                matches.append(i)
                matched = sub
                if matches.count > 1 && failFast { break }
            }
        }
        if matches.count == 1 {
            if tracks { ev.merge(matched) }
            return true
        }
        if matches.isEmpty {
            fail(ip, kp, name, "value does not match any of the \(nodes.count) schemas in oneOf")
        } else {
            fail(ip, kp, name, "value matches \(matches.count) schemas in oneOf (indexes \(matches.map(String.init).joined(separator: ", "))), exactly one required")
        }
        return false
    }

    @inline(never)
    private mutating func checkNot(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .not(let n) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        let (ok, _) = quietly(n, instance, ip, kp)
        if !ok { return true }
        fail(ip, kp, name, "value must not match the schema in 'not'")
        return false
    }

    @inline(never)
    private mutating func checkConditional(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .conditional(let condition, let then, let otherwise) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let (ok, sub) = quietly(condition, instance, ip, kp)
        if ok {
            if tracks { ev.merge(sub) }
            guard let then else { return true }
            let (thenOK, thenEv) = validate(then, instance, ip, nodePath.appending("then"))
            if thenOK && tracks { ev.merge(thenEv) }
            return thenOK
        }
        guard let otherwise else { return true }
        let (elseOK, elseEv) = validate(otherwise, instance, ip, nodePath.appending("else"))
        if elseOK && tracks { ev.merge(elseEv) }
        return elseOK
    }

    @inline(never)
    private mutating func checkProperties(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .properties(let entries) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .object(let o) = instance else { return true }
        var valid = true
        for entry in entries {
            guard let value = o[entry.name] else { continue }
            if tracks { ev.properties.insert(entry.name) }
            if !propertyValue(entry.node, value, ip.appending(entry.name), kp.appending(entry.name), name, entry.name) {
                valid = false
                if failFast { return false }
            }
        }
        return valid
    }

    @inline(never)
    private mutating func checkPatternProperties(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .patternProperties(let patterns) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .object(let o) = instance else { return true }
        var valid = true
        for (key, value) in o {
            for p in patterns where p.regex.matches(key) {
                if tracks { ev.properties.insert(key) }
                if !propertyValue(p.node, value, ip.appending(key), kp.appending(p.regex.source), name, key) {
                    valid = false
                    if failFast { return false }
                }
            }
        }
        return valid
    }

    @inline(never)
    private mutating func checkAdditionalProperties(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .additionalProperties(let n, let known, let patterns) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .object(let o) = instance else { return true }
        var valid = true
        for (key, value) in o where !known.contains(key) && !patterns.contains(where: { $0.matches(key) }) {
            if tracks { ev.properties.insert(key) }
            if !propertyValue(n, value, ip.appending(key), kp, name, key) {
                valid = false
                if failFast { return false }
            }
        }
        return valid
    }

    @inline(never)
    private mutating func checkUnevaluatedProperties(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .unevaluatedProperties(let n) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .object(let o) = instance, !ev.allProperties else { return true }
        var valid = true
        for (key, value) in o where !ev.properties.contains(key) {
            if !propertyValue(n, value, ip.appending(key), kp, name, key) {
                valid = false
                if failFast { return false }
            }
        }
        if valid { ev.allProperties = true }
        return valid
    }

    @inline(never)
    private mutating func checkPropertyNames(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .propertyNames(let n) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .object(let o) = instance else { return true }
        var valid = true
        for key in o.keys {
            if graph.nodes[n].constant == false {
                fail(ip.appending(key), kp, name, "property name '\(key)' is not allowed")
                valid = false
            } else if !descend(n, .string(key), ip.appending(key), kp) {
                valid = false
            }
            if !valid && failFast { return false }
        }
        return valid
    }

    @inline(never)
    private mutating func checkDependentSchemas(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .dependentSchemas(let entries) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        guard case .object(let o) = instance else { return true }
        var valid = true
        for entry in entries where o[entry.property] != nil {
            let (ok, sub) = validate(entry.node, instance, ip, kp.appending(entry.property))
            if ok {
                if tracks { ev.merge(sub) }
            } else {
                valid = false
                if failFast { return false }
            }
        }
        return valid
    }

    @inline(never)
    private mutating func checkPrefixItems(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .prefixItems(let nodes) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .array(let a) = instance else { return true }
        var valid = true
        let count = min(nodes.count, a.count)
        for i in 0..<count where !itemValue(nodes[i], a[i], ip.appending(i), kp.appending(i), name, i) {
            valid = false
            if failFast { return false }
        }
        ev.itemPrefix = max(ev.itemPrefix, count)
        return valid
    }

    @inline(never)
    private mutating func checkItems(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .items(let n, let from) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .array(let a) = instance, a.count > from else { return true }
        var valid = true
        for i in from..<a.count where !itemValue(n, a[i], ip.appending(i), kp, name, i) {
            valid = false
            if failFast { return false }
        }
        ev.allItems = true
        return valid
    }

    @inline(never)
    private mutating func checkContains(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .contains(let n, let minimum, let maximum) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .array(let a) = instance else { return true }
        var count = 0
        for (i, item) in a.enumerated() where quietlyDescend(n, item, ip.appending(i), kp) {
            count += 1
            if tracks { ev.items.insert(i) }
        }
        if count < minimum {
            fail(ip, kp, name, minimum == 1 && count == 0
                ? "array does not contain an item matching the 'contains' schema"
                : "array contains \(count) items matching the 'contains' schema, at least \(minimum) required")
            return false
        }
        if let maximum, count > maximum {
            fail(ip, kp, name, "array contains \(count) items matching the 'contains' schema, at most \(maximum) allowed")
            return false
        }
        return true
    }

    @inline(never)
    private mutating func checkUnevaluatedItems(
        _ keyword: SchemaKeyword, _ instance: JSONValue, _ ip: SchemaPath, _ nodePath: SchemaPath, _ ev: inout EvaluatedLocations
    ) -> Bool {
        guard case .unevaluatedItems(let n) = keyword.check else { return true }
        let kp = nodePath.appending(keyword.name)
        let name = keyword.name
        guard case .array(let a) = instance, !ev.allItems else { return true }
        var valid = true
        for i in ev.itemPrefix..<max(a.count, ev.itemPrefix) where !ev.items.contains(i) {
            if !itemValue(n, a[i], ip.appending(i), kp, name, i) {
                valid = false
                if failFast { return false }
            }
        }
        if valid { ev.allItems = true }
        return valid
    }

    /// Validates an object member, with a specific message when the member is simply forbidden.
    private mutating func propertyValue(_ n: Int, _ value: JSONValue, _ ip: SchemaPath, _ kp: SchemaPath, _ keyword: String, _ key: String) -> Bool {
        if graph.nodes[n].constant == false {
            let what = keyword == "unevaluatedProperties" ? "unevaluated property" : keyword == "additionalProperties" ? "additional property" : "property"
            fail(ip, kp, keyword, "\(what) '\(key)' is not allowed")
            return false
        }
        return descend(n, value, ip, kp)
    }

    /// Validates an array item, with a specific message when the item is simply forbidden.
    private mutating func itemValue(_ n: Int, _ value: JSONValue, _ ip: SchemaPath, _ kp: SchemaPath, _ keyword: String, _ index: Int) -> Bool {
        if graph.nodes[n].constant == false {
            fail(ip, kp, keyword, "item at index \(index) is not allowed (\(keyword) is false)")
            return false
        }
        return descend(n, value, ip, kp)
    }

    /// Validates a member or item of the current instance (resets the reference-cycle counter).
    private mutating func descend(_ n: Int, _ value: JSONValue, _ ip: SchemaPath, _ kp: SchemaPath) -> Bool {
        let saved = depth
        depth = 0
        defer { depth = saved }
        return validate(n, value, ip, kp).0
    }

    private mutating func quietlyDescend(_ n: Int, _ value: JSONValue, _ ip: SchemaPath, _ kp: SchemaPath) -> Bool {
        let saved = failFast
        failFast = true
        defer { failFast = saved }
        return descend(n, value, ip, kp)
    }

    // MARK: - Numbers

    /// Compares two numbers exactly when both are integers; `nil` when `a` is not a number.
    static func compare(_ a: JSONValue, _ b: JSONValue) -> ComparisonResult? {
        if case .integer(let x) = a, case .integer(let y) = b {
            return x < y ? .orderedAscending : x > y ? .orderedDescending : .orderedSame
        }
        guard let x = a.doubleValue, let y = b.doubleValue else { return nil }
        return x < y ? .orderedAscending : x > y ? .orderedDescending : .orderedSame
    }

    /// `multipleOf`, exact for integers and for decimals written with up to ~38 significant digits.
    static func isMultiple(_ value: JSONValue, of divisor: JSONValue) -> Bool {
        if case .integer(let v) = value, case .integer(let d) = divisor { return d != 0 && v % d == 0 }
        guard let v = value.doubleValue, let d = divisor.doubleValue, d > 0, v.isFinite else { return false }
        if v == 0 { return true }
        let quotient = v / d
        guard quotient.isFinite else { return false }
        // Fast paths: an exact integral quotient, or one clearly far from any integer.
        if quotient.rounded() == quotient && abs(quotient) < 1e15 { return true }
        if abs(quotient - quotient.rounded()) > 1e-6 * max(1, abs(quotient)) { return false }
        if abs(v) < 1e30, abs(v) > 1e-30, d < 1e30, d > 1e-30,
            let dv = Decimal(string: String(describing: v)), let dd = Decimal(string: String(describing: d))
        {
            var q = dv / dd
            var rounded = Decimal()
            NSDecimalRound(&rounded, &q, 0, .plain)
            return rounded == q
        }
        return quotient.rounded() == quotient
    }
}
