import Foundation

/// A connector event (`events/<key>/spec.yml` and its method files, seeds 000/001).
public struct EventSpec: Sendable {
    /// How the event's notifications arrive.
    public enum ImplementationType: String, Sendable, Hashable, CaseIterable {
        /// A webhook per subscription: `subscribe`, `handle`, `unsubscribe`, optional `refresh`.
        case webhook
        /// Payloads routed from a global webhook by selector: `getEventSelector`, optional `handle`.
        case globalWebhook = "global-webhook"
    }

    /// The folder name, e.g. `issue-created`.
    public let key: String
    /// `name`, shown to people.
    public let name: String
    /// `description`, if any.
    public let description: String?
    /// `implementationType`.
    public let implementationType: ImplementationType
    /// `parametersSchema`: what a subscription to this event must provide.
    public let parametersSchema: JSONValue?
    /// ``parametersSchema`` compiled once at load.
    public let validParametersSchema: JSONSchema?
    /// `schema`: the shape of the event's records.
    public let schema: JSONValue?
    /// ``schema`` compiled once at load.
    public let validSchema: JSONSchema?
    /// Methods by name (`subscribe`, `handle`, ... or `getEventSelector`, `handle`).
    public let methods: [String: MethodImplementation]
    /// `deliveryId`: a mapping (a formula over `headers`, `data` and `query` of the webhook
    /// request) naming the sender's id of one delivery, e.g. `{$var: headers.x-github-delivery}`
    /// — the same on every redelivery, so events of a redelivered webhook keep their ids
    /// and are dropped as repeats.
    public var deliveryId: CompiledMapping? = nil
    /// `respondsToWebhook`: whether `handle` may answer the webhook's HTTP request itself
    /// (its result's `response`, e.g. a validation token echoed back), so ingress holds the
    /// request open until the handler answered. Also true for a `handle` mapping with a
    /// `response` member. Without it, ingress answers as soon as the request is stored.
    public var respondsToWebhook = false
    /// The event folder.
    public let directory: URL
}

// MARK: - Loading

extension WorkspaceLoadContext {
    private static let eventKeys = ["name", "description", "implementationType", "parametersSchema", "schema", "methods", "deliveryId", "respondsToWebhook"]

    /// Loads `events/<key>/`; a global-webhook event's selector is checked against `globalWebhookKeys`.
    mutating func loadEvent(at folder: URL, connectorKey: String, globalWebhookKeys: [String]) -> EventSpec? {
        let key = folder.lastPathComponent
        guard let spec = readYAML(folder.appendingPathComponent("spec.yml"), what: "the event's spec.yml with name, implementationType, schema and methods"),
            let object = rootObject(spec, what: "name, implementationType, parametersSchema, schema and methods")
        else { return nil }
        checkKeys(spec, object, allowed: Self.eventKeys)
        let name = requiredString(spec, object, "name")
        let description = optionalString(spec, object, "description")
        let parameters = schema(spec, object, "parametersSchema")
        let recordSchema = schema(spec, object, "schema")
        let type = enumField(spec, object, "implementationType", EventSpec.ImplementationType.self, default: nil)
        guard let type else { return nil }

        let methods = resolveMethods(
            in: folder, rules: type == .webhook ? .webhook : .globalWebhookEvent,
            declarations: MethodDeclarations(spec: spec, value: object["methods"], pointer: "/methods",
                                             ownerPointer: object["methods"] == nil ? "/implementationType" : "/methods"))
        if type == .globalWebhook {
            if globalWebhookKeys.isEmpty {
                error(spec, at: "/implementationType",
                      "global-webhook event but connector \(connectorKey) has no global webhooks, expected a global-webhooks/<key>/spec.yml")
            } else if let selector = methods["getEventSelector"] {
                checkGlobalWebhookKey(in: selector, known: globalWebhookKeys, connectorKey: connectorKey)
            }
        }
        let deliveryId = deliveryIdFormula(spec, object, example: "{$var: headers.x-github-delivery}")
        guard let name else { return nil }
        var event = EventSpec(
            key: key, name: name, description: description, implementationType: type,
            parametersSchema: parameters.0, validParametersSchema: parameters.1,
            schema: recordSchema.0, validSchema: recordSchema.1, methods: methods, directory: folder)
        event.deliveryId = deliveryId
        event.respondsToWebhook = optionalBool(spec, object, "respondsToWebhook") || methods["handle"]?.mapping?["response"] != nil
        return event
    }

    /// The optional `deliveryId` formula of an event or global webhook spec, compiled;
    /// reports it when it is not a valid mapping.
    mutating func deliveryIdFormula(_ spec: SpecFile, _ object: [String: JSONValue], example: String) -> CompiledMapping? {
        guard let formula = object["deliveryId"], !formula.isNull else { return nil }
        do {
            return try CompiledMapping(formula, at: "/deliveryId")
        } catch let problem as MappingError {
            error(spec, at: problem.pointer.isEmpty ? "/deliveryId" : problem.pointer, "deliveryId is not a valid mapping: \(problem.message), expected a formula over headers, data and query such as \(example)")
        } catch {
            self.error(spec, at: "/deliveryId", "deliveryId is not a valid mapping: \(error)")
        }
        return nil
    }

    /// A required (or defaulted) enum field; reports it missing or unknown with the valid values.
    mutating func enumField<T: RawRepresentable & CaseIterable>(
        _ spec: SpecFile, _ object: [String: JSONValue], _ key: String, _: T.Type, default defaultValue: T?, at pointer: String = ""
    ) -> T? where T.RawValue == String {
        let valid = T.allCases.map(\.rawValue)
        guard let value = object[key], !value.isNull else {
            if let defaultValue { return defaultValue }
            error(spec, at: pointer, "required field '\(key)' is missing, expected \(WorkspaceWording.alternatives(valid))")
            return nil
        }
        let text = value.stringValue ?? Self.describe(value)
        if let parsed = T(rawValue: text) { return parsed }
        let hint = WorkspaceWording.closestMatch(text, in: valid).map { " (did you mean '\($0)'?)" } ?? ""
        error(spec, at: YAMLLoader.pointer(pointer, key), "\(key) '\(text)' is not known, expected \(WorkspaceWording.alternatives(valid))\(hint)")
        return nil
    }

    /// A mapping `getEventSelector` whose `globalWebhookKey` is a literal, or a JavaScript one returning a
    /// string literal for it, must name one of the connector's global webhooks: otherwise no payload
    /// would ever reach the subscription.
    private mutating func checkGlobalWebhookKey(in selector: MethodImplementation, known: [String], connectorKey: String) {
        var found: (key: String, line: Int)?
        switch selector.content {
        case .mapping(let value):
            if let key = value["globalWebhookKey"]?.stringValue {
                found = (key, selector.document?.line(of: "/globalWebhookKey") ?? 1)
            }
        case .javascript(let source):
            if let regex = try? Regex(#"globalWebhookKey\s*:\s*['"]([^'"\n]+)['"]"#),
                let match = source.firstMatch(of: regex), let captured = match.output[1].substring
            {
                let line = source[..<match.range.lowerBound].reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
                found = (String(captured), line)
            }
        }
        guard let found, !known.contains(found.key) else { return }
        let hint = WorkspaceWording.closestMatch(found.key, in: known).map { " (did you mean '\($0)'?)" } ?? ""
        report(.error, selector.path, line: found.line,
               "globalWebhookKey '\(found.key)' is not a global webhook of connector \(connectorKey), expected \(WorkspaceWording.alternatives(known))\(hint)")
    }
}
