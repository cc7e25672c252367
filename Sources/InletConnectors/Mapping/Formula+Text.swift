import Foundation

// `$concat`, `$tpl`, `$firstName`, `$lastName`, `$string`, `$join`, and how values become text.

extension MappingCompiler {
    /// `$tpl: {template: 'Hello, {first}!', values: {first: <formula>}}`.
    mutating func compileTemplate(_ argument: JSONValue, at pointer: String) -> Formula? {
        guard case .object(let members) = argument else {
            report(pointer, "$tpl takes {template: 'Hello, {name}!', values: {name: ...}}, got \(argument.formulaTypeName)")
            return nil
        }
        reportUnknownKeys(in: members, allowed: ["template", "values"], of: "$tpl", at: pointer)
        let templatePointer = pointer.appendingPointer(key: "template")
        var template: MappingNode?
        switch members["template"] {
        case nil:
            report(pointer, "$tpl needs template, e.g. 'Hello, {name}!'")
        case .string?:
            template = compile(members["template"]!, at: templatePointer)
        case let other? where Self.isFormula(other):
            template = compile(other, at: templatePointer)
        case let other?:
            report(templatePointer, "$tpl template must be a string, got \(other.formulaTypeName)")
        }
        var values: [String: MappingNode] = [:]
        let valuesPointer = pointer.appendingPointer(key: "values")
        switch members["values"] {
        case nil:
            break
        case .object(let entries)?:
            for key in entries.keys.sorted() {
                values[key] = compile(entries[key]!, at: valuesPointer.appendingPointer(key: key))
            }
        case let other?:
            report(valuesPointer, "$tpl values must be an object of placeholder → value, got \(other.formulaTypeName)")
        }
        if case .string(let text)? = members["template"] {
            for name in Formula.placeholders(in: text) where values[name] == nil {
                report(templatePointer, "$tpl placeholder {\(name)} has no entry in values")
            }
        }
        guard let template else { return nil }
        return .template(template, values: values)
    }

    /// `$join: [separator, [items]]`.
    mutating func compileJoin(_ argument: JSONValue, at pointer: String) -> Formula? {
        guard case .array(let parts) = argument, parts.count == 2 else {
            report(pointer, "$join takes [separator, [items]], got \(argument.formulaTypeName)\(argument.arrayValue.map { " of \($0.count)" } ?? "")")
            return nil
        }
        let separator = compile(parts[0], at: pointer.appendingPointer(index: 0))
        guard let items = compileList(parts[1], of: "$join's second element", at: pointer.appendingPointer(index: 1)) else { return nil }
        return .join(separator: separator, items: items)
    }
}

extension Formula {
    /// The `{name}` placeholders of a template, in order.
    static func placeholders(in template: String) -> [String] {
        templateParts(template).compactMap { if case .placeholder(let name) = $0 { name } else { nil } }
    }

    private enum TemplatePart {
        case text(Substring)
        case placeholder(String)
    }

    /// `{name}` is a placeholder when `name` is non-empty and holds no brace; any other brace
    /// is text.
    private static func templateParts(_ template: String) -> [TemplatePart] {
        var parts: [TemplatePart] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(where: { $0 == "}" || $0 == "{" }), rest[close] == "}", close > afterOpen else {
                parts.append(.text(rest[...open]))
                rest = rest[afterOpen...]
                continue
            }
            parts.append(.text(rest[..<open]))
            parts.append(.placeholder(String(rest[afterOpen..<close])))
            rest = rest[rest.index(after: close)...]
        }
        parts.append(.text(rest))
        return parts
    }

    static func evaluateTemplate(_ template: MappingNode, values: [String: MappingNode], in scope: MappingScope, at pointer: String) throws -> JSONValue? {
        guard let evaluated = try template.evaluate(in: scope) else { return nil }
        guard case .string(let text) = evaluated else {
            throw MappingError(pointer: pointer, message: "$tpl template must be a string, got \(evaluated.formulaTypeName)")
        }
        var result = ""
        for part in templateParts(text) {
            switch part {
            case .text(let literal): result += literal
            case .placeholder(let name): result += try values[name]?.evaluate(in: scope).formulaText ?? ""
            }
        }
        return .string(result)
    }

    /// A full name's words: the last word is the last name, the words before it the first name.
    static func splitName(_ value: JSONValue?) -> (first: String?, last: String?) {
        guard case .string(let name)? = value else { return (nil, nil) }
        let words = name.split(whereSeparator: \.isWhitespace)
        guard let last = words.last else { return (nil, nil) }
        let first = words.dropLast().joined(separator: " ")
        return (first.isEmpty ? nil : first, String(last))
    }

    /// `$string`: text as is, numbers and booleans as their text, arrays and objects as compact
    /// JSON; null and nothing stay nothing.
    static func stringValue(_ value: JSONValue?) -> JSONValue? {
        switch value {
        case nil, .null?: return nil
        case .string?: return value
        default: return .string(value.formulaText)
        }
    }

    static func evaluateJoin(separator: MappingNode, items: MappingNode, in scope: MappingScope) throws -> JSONValue? {
        let glue = try separator.evaluate(in: scope).formulaText
        let texts = try items.evaluateList(in: scope).compactMap { item -> String? in
            guard let item, !item.isNull else { return nil }
            return Optional(item).formulaText
        }
        return .string(texts.joined(separator: glue))
    }
}

extension Optional where Wrapped == JSONValue {
    /// The value as text inside a string (`$concat`, `$tpl`, `$join`): nothing and null are
    /// "", integers without a fraction, arrays and objects as compact JSON.
    var formulaText: String {
        switch self {
        case nil, .null?: return ""
        case .string(let text)?: return text
        case .bool(let flag)?: return flag ? "true" : "false"
        case .integer(let integer)?: return String(integer)
        case .number(let double)?:
            if double.rounded() == double, abs(double) < 1e15 { return String(Int64(double)) }
            return String(double)
        case let value?: return value.jsonText
        }
    }
}
