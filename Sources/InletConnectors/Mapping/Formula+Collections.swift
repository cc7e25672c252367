// `$iterate`, `$map`, `$copy`, `$sum`.

/// One row of a `$map` table.
struct MapRow: Sendable {
    var from: MappingNode
    var to: MappingNode
}

extension MappingCompiler {
    /// `$iterate: {source: <array>, item: <mapping>}`.
    mutating func compileIterate(_ argument: JSONValue, at pointer: String) -> Formula? {
        guard case .object(let members) = argument else {
            report(pointer, "$iterate takes {source: <array>, item: <mapping>}, got \(argument.formulaTypeName)")
            return nil
        }
        let before = problems.count
        reportUnknownKeys(in: members, allowed: ["source", "item"], of: "$iterate", at: pointer)
        if members["source"] == nil { report(pointer, "$iterate needs source (the array to iterate)") }
        if members["item"] == nil { report(pointer, "$iterate needs item (the mapping applied to each element, with variables item and parent)") }
        let source = members["source"].map { compileLocatorOrValue($0, at: pointer.appendingPointer(key: "source")) }
        let item = members["item"].map { compile($0, at: pointer.appendingPointer(key: "item")) }
        guard problems.count == before, let source, let item else { return nil }
        return .iterate(source: source, item: item)
    }

    /// `$map: {value, mapping: [{from, to}], default}` (`mappings` is accepted for `mapping`).
    mutating func compileMap(_ argument: JSONValue, at pointer: String) -> Formula? {
        guard case .object(let members) = argument else {
            report(pointer, "$map takes {value, mapping: [{from, to}], default}, got \(argument.formulaTypeName)")
            return nil
        }
        let before = problems.count
        reportUnknownKeys(in: members, allowed: ["value", "mapping", "mappings", "default"], of: "$map", at: pointer)
        if members["value"] == nil { report(pointer, "$map needs value (what to translate)") }
        let value = members["value"].map { compileLocatorOrValue($0, at: pointer.appendingPointer(key: "value")) }
        var rows: [MapRow] = []
        switch (members["mapping"], members["mappings"]) {
        case (nil, nil):
            report(pointer, "$map needs mapping: [{from, to}, ...]")
        case (.some, .some):
            report(pointer, "$map takes mapping or mappings, not both")
        case (let table?, nil), (nil, let table?):
            let tablePointer = pointer.appendingPointer(key: members["mapping"] != nil ? "mapping" : "mappings")
            guard case .array(let entries) = table else {
                report(tablePointer, "$map mapping must be an array of {from, to}, got \(table.formulaTypeName)")
                break
            }
            for (index, entry) in entries.enumerated() {
                let rowPointer = tablePointer.appendingPointer(index: index)
                guard case .object(let row) = entry, let from = row["from"], let to = row["to"] else {
                    report(rowPointer, "a $map row is {from: <value>, to: <value>}")
                    continue
                }
                reportUnknownKeys(in: row, allowed: ["from", "to"], of: "a $map row", at: rowPointer)
                rows.append(MapRow(from: compile(from, at: rowPointer.appendingPointer(key: "from")), to: compile(to, at: rowPointer.appendingPointer(key: "to"))))
            }
        }
        let fallback = members["default"].map { compile($0, at: pointer.appendingPointer(key: "default")) }
        guard problems.count == before, let value else { return nil }
        return .map(value: value, rows: rows, default: fallback)
    }

    /// `$copy: <key of a sibling field>`.
    mutating func compileCopy(_ argument: JSONValue, at pointer: String) -> Formula? {
        guard case .string(let key) = argument else {
            report(pointer, "$copy takes the key of a sibling field, got \(argument.formulaTypeName)")
            return nil
        }
        return registerCopy(of: key, at: pointer) ? .copy(key: key) : nil
    }

    /// A string that starts with `$.` (or is `$`) is a locator, as in the original's
    /// `$map: {value: $.status}`; anything else is a mapping.
    private mutating func compileLocatorOrValue(_ argument: JSONValue, at pointer: String) -> MappingNode {
        guard case .string(let text) = argument, text == "$" || text.hasPrefix("$.") || text.hasPrefix("$[") else {
            return compile(argument, at: pointer)
        }
        do {
            return .formula(.variable(try Locator(parsing: text)), pointer: pointer)
        } catch {
            report(pointer, "\(error)")
            return .literal(.null)
        }
    }
}

extension Formula {
    /// Each element evaluated with `item` (the element) and `parent` (the enclosing variables)
    /// added to the variables; elements whose item yields nothing are left out.
    static func evaluateIterate(source: MappingNode, item: MappingNode, in scope: MappingScope) throws -> JSONValue? {
        guard case .array(let elements)? = try source.evaluate(in: scope) else { return nil }
        var base = scope.variables.objectValue ?? [:]
        base["parent"] = scope.variables
        var results: [JSONValue] = []
        results.reserveCapacity(elements.count)
        for element in elements {
            var variables = base
            variables["item"] = element
            if let value = try item.evaluate(in: MappingScope(variables: .object(variables), siblings: scope.siblings)) {
                results.append(value)
            }
        }
        return .array(results)
    }

    /// The `to` of the first row whose `from` equals the value, else the default, else nothing.
    static func evaluateMap(value: MappingNode, rows: [MapRow], default fallback: MappingNode?, in scope: MappingScope) throws -> JSONValue? {
        let input = try value.evaluate(in: scope)
        for row in rows where try ConditionOperator.equal(input, row.from.evaluate(in: scope)) {
            return try row.to.evaluate(in: scope)
        }
        return try fallback?.evaluate(in: scope)
    }

    /// Numbers and numeric text added up (integers stay integers unless they overflow); other
    /// values are skipped; an empty list sums to 0.
    static func sum(_ values: [JSONValue?]) -> JSONValue {
        var integerTotal: Int64 = 0
        var doubleTotal = 0.0
        var isInteger = true
        for value in values {
            let number: JSONValue?
            switch value {
            case .integer?, .number?: number = value
            case .string(let text)?: number = parseNumber(text)
            default: number = nil
            }
            switch number {
            case .integer(let integer)?:
                doubleTotal += Double(integer)
                if isInteger {
                    let (total, overflow) = integerTotal.addingReportingOverflow(integer)
                    if overflow { isInteger = false } else { integerTotal = total }
                }
            case .number(let double)?:
                doubleTotal += double
                isInteger = false
            default:
                continue
            }
        }
        return isInteger ? .integer(integerTotal) : .number(doubleTotal)
    }
}
