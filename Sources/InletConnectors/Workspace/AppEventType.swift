import Foundation

/// An App Event Type (`app-events/<type>.yml`, seed 002): an event your own app sends, its schema,
/// and the formulas that pick the customer it belongs to.
public struct AppEventType: Sendable {
    /// The file name without `.yml`, e.g. `order-created`.
    public let key: String
    /// `name`, shown to people.
    public let name: String
    /// `description`, if any.
    public let description: String?
    /// `schema`, or a schema inferred from ``example`` when the file gives only an example.
    public let schema: JSONValue
    /// ``schema`` compiled once at load.
    public let validSchema: JSONSchema?
    /// Whether ``schema`` was inferred from ``example``.
    public let isSchemaInferred: Bool
    /// `example`: a sample event, if any (it matches ``schema``).
    public let example: JSONValue?
    /// `tenantIdFormula`: a mapping formula computing the tenant of an event, if any.
    public let tenantIdFormula: JSONValue?
    /// `userIdFormula`: a mapping formula computing the customer (user) of an event, if any.
    public let userIdFormula: JSONValue?
    /// The `.yml` file.
    public let file: URL
    /// `tenantIdFormula`, then `userIdFormula`, compiled (the ones given, in that order).
    public var customerFormulas: [CompiledMapping] = []
    /// `idFormula`: your app's own id of an event (e.g. `{$var: $.eventId}`), by which repeats
    /// of one event are delivered once; never a field that merely names the business object.
    public var idFormula: CompiledMapping? = nil
    /// `subscriptionRequest`: the request to your app's API (`INLET_APP_API_URL`) that makes it
    /// send this type's events for one customer to that customer's webhook URI — a mapping
    /// over `webhookUri` and `customer` (`{id, name, fields}`) giving `{method, uri, headers,
    /// body}`; called once per customer, the first time the type is used for them.
    public var subscriptionRequest: CompiledMapping? = nil
    /// `unsubscribeRequest`: the same, called when that customer's subscription is deleted.
    public var unsubscribeRequest: CompiledMapping? = nil

    /// The customer an event belongs to by the type's formulas (evaluated with the event as
    /// the root, `{$var: $.account.id}`): the first that yields a non-empty string or a number.
    public func customerId(of event: JSONValue) -> String? {
        for formula in customerFormulas {
            if let id = Self.text(try? formula.evaluate(variables: event)) { return id }
        }
        return nil
    }

    /// The event's own id by ``idFormula``, if the type has one and it yields a value.
    public func eventId(of event: JSONValue) -> String? {
        idFormula.flatMap { Self.text(try? $0.evaluate(variables: event)) }
    }

    private static func text(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let text)? where !text.isEmpty: text
        case .integer(let number)?: String(number)
        default: nil
        }
    }
}

// MARK: - Loading

extension WorkspaceLoadContext {
    private static let appEventKeys = ["name", "key", "description", "schema", "example", "tenantIdFormula", "userIdFormula", "idFormula", "subscriptionRequest", "unsubscribeRequest"]

    /// Loads every `app-events/<type>.yml`, reporting every problem.
    mutating func loadAppEventTypes(in folder: URL) -> [String: AppEventType] {
        var types: [String: AppEventType] = [:]
        for entry in entries(of: folder) {
            guard !entry.isDirectory, entry.name.hasSuffix(".yml"), entry.name.count > 4 else {
                if !entry.name.hasSuffix(".md") {
                    report(.warning, relativePath(entry.url), line: entry.isDirectory ? nil : 1,
                           "\(entry.name) is ignored, expected app event type files named <type>.yml")
                }
                continue
            }
            if let type = loadAppEventType(entry.url) { types[type.key] = type }
        }
        return types
    }

    private mutating func loadAppEventType(_ url: URL) -> AppEventType? {
        let key = String(url.lastPathComponent.dropLast(".yml".count))
        guard let spec = readYAML(url, what: "an app event type"),
            let object = rootObject(spec, what: "name and a schema or an example")
        else { return nil }
        checkKeys(spec, object, allowed: Self.appEventKeys)
        let name = requiredString(spec, object, "name")
        let description = optionalString(spec, object, "description")
        checkKey(spec, object, matches: key, in: "file")
        var (schemaValue, compiled) = schema(spec, object, "schema")
        let example = object["example"].flatMap { $0.isNull ? nil : $0 }
        var inferred = false
        if let example {
            if schemaValue == nil {
                schemaValue = JSONSchema.infer(fromExample: example)
                compiled = try? JSONSchema(schemaValue ?? true)
                inferred = true
            } else if let compiled {
                for failure in compiled.validate(example) {
                    let at = failure.instancePath.isEmpty ? "/" : failure.instancePath
                    error(spec, at: "/example" + failure.instancePath,
                          "example does not match the schema at \(at) (\(failure.message)), expected an example the schema accepts")
                }
            }
        } else if schemaValue == nil {
            error(spec, at: "", "app event type has neither schema nor example, expected a schema (a JSON Schema) or an example event")
        }
        var formulas: [String: CompiledMapping] = [:]
        for formula in ["tenantIdFormula", "userIdFormula", "idFormula", "subscriptionRequest", "unsubscribeRequest"] {
            guard let value = object[formula], !value.isNull else { continue }
            checkMapping(value, in: spec, at: "/" + formula)
            formulas[formula] = try? CompiledMapping(value)
        }
        var requests: [String: CompiledMapping] = [:]
        for request in ["subscriptionRequest", "unsubscribeRequest"] {
            guard let value = object[request], !value.isNull else { continue }
            guard case .object(let members) = value, members["uri"] != nil else {
                error(spec, at: "/" + request, "\(request) must be an object with uri (a path under INLET_APP_API_URL) and optionally method, headers and body, each a mapping over webhookUri and customer")
                continue
            }
            let unknown = Set(members.keys).subtracting(["method", "uri", "headers", "body"])
            if !unknown.isEmpty {
                error(spec, at: "/" + request, "\(request) has \(unknown.sorted().joined(separator: ", ")), expected only method, uri, headers and body")
            }
            checkMapping(value, in: spec, at: "/" + request)
            requests[request] = try? CompiledMapping(value)
        }
        guard let name, let schemaValue else { return nil }
        var type = AppEventType(
            key: key, name: name, description: description, schema: schemaValue, validSchema: compiled,
            isSchemaInferred: inferred, example: example,
            tenantIdFormula: object["tenantIdFormula"], userIdFormula: object["userIdFormula"], file: url)
        type.customerFormulas = ["tenantIdFormula", "userIdFormula"].compactMap { formulas[$0] }
        type.idFormula = formulas["idFormula"]
        type.subscriptionRequest = requests["subscriptionRequest"]
        type.unsubscribeRequest = requests["unsubscribeRequest"]
        return type
    }
}
