import Foundation

// `$var`, `$plain`, `$formula`, `$firstNotEmpty`, `$number`, and what "empty" and "true" mean.

extension MappingCompiler {
    /// `$var: <locator>` (parsed now) or `$var: <formula yielding a locator>` (parsed per call).
    mutating func compileVar(_ argument: JSONValue, at pointer: String) -> Formula? {
        switch argument {
        case .string(let text):
            do {
                return .variable(try Locator(parsing: text))
            } catch {
                report(pointer, "$var: \(error)")
                return nil
            }
        case .object where Self.isFormula(argument):
            return .computedVariable(compile(argument, at: pointer))
        default:
            report(pointer, "$var takes a locator such as $.data.id, got \(argument.formulaTypeName)")
            return nil
        }
    }
}

extension Formula {
    static func evaluateComputedVariable(_ node: MappingNode, in scope: MappingScope, at pointer: String) throws -> JSONValue? {
        guard let value = try node.evaluate(in: scope) else { return nil }
        guard case .string(let text) = value else {
            throw MappingError(pointer: pointer, message: "$var: the formula must yield a locator string, got \(value.formulaTypeName)")
        }
        do {
            return try Locator(parsing: text).resolve(in: scope.variables)
        } catch {
            throw MappingError(pointer: pointer, message: "$var: \(error)")
        }
    }

    /// `$number`: numbers as they are, numeric text parsed (integers stay integers), booleans
    /// as 1 and 0; anything else is nothing.
    static func numberValue(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .integer, .number: return value
        case .bool(let flag): return .integer(flag ? 1 : 0)
        case .string(let text): return parseNumber(text)
        default: return nil
        }
    }

    /// Decimal text as a JSON number; `nil` when it is not one.
    static func parseNumber(_ text: String) -> JSONValue? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let integer = Int64(trimmed) { return .integer(integer) }
        guard !trimmed.isEmpty, let double = Double(trimmed), double.isFinite,
              trimmed.allSatisfy({ $0.isNumber || "+-.eE".contains($0) })
        else { return nil }
        return .number(double)
    }
}

extension Optional where Wrapped == JSONValue {
    /// "Empty" per the formula language: nothing, null, "", [] or {}.
    var isEmptyValue: Bool {
        switch self {
        case nil, .null?: return true
        case .string(let text)?: return text.isEmpty
        case .array(let elements)?: return elements.isEmpty
        case .object(let members)?: return members.isEmpty
        default: return false
        }
    }

    /// JavaScript truthiness, as the original evaluates conditions: nothing, null, false, 0,
    /// NaN and "" are false; everything else (empty arrays and objects too) is true.
    var isTruthy: Bool {
        switch self {
        case nil, .null?: return false
        case .bool(let flag)?: return flag
        case .integer(let integer)?: return integer != 0
        case .number(let double)?: return double != 0 && !double.isNaN
        case .string(let text)?: return !text.isEmpty
        case .array?, .object?: return true
        }
    }
}
