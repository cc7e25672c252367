import Foundation

/// A connector's global webhook (`global-webhooks/<key>/spec.yml` + `handle`, seed 003): one URL per
/// connector and workspace whose `handle` returns `{events: [{selector, payload}], response}`.
public struct GlobalWebhook: Sendable {
    /// The folder name, which global-webhook events name as `globalWebhookKey`.
    public let key: String
    /// `name`, shown to people.
    public let name: String
    /// `description`, if any.
    public let description: String?
    /// Methods by name: `handle`.
    public let methods: [String: MethodImplementation]
    /// `respondsToWebhook`: whether `handle` may answer the HTTP request itself (Slack's
    /// `url_verification` challenge), so ingress holds the request open until the handler
    /// answered; see ``EventSpec/respondsToWebhook``.
    public var respondsToWebhook = false
    /// `deliveryId`: a formula over the request's `headers`, `data` and `query` naming the
    /// sender's id of one request (Slack: `{$var: data.event_id}`), the same when the sender
    /// retries it, so the records it yields keep their ids and repeats are dropped.
    public var deliveryId: CompiledMapping? = nil
    /// The global webhook folder.
    public let directory: URL

    /// The `handle` method (always present in a loaded workspace).
    public var handle: MethodImplementation? { methods["handle"] }
}

// MARK: - Loading

extension WorkspaceLoadContext {
    /// Loads `global-webhooks/<key>/`, reporting every problem.
    mutating func loadGlobalWebhook(at folder: URL) -> GlobalWebhook? {
        let key = folder.lastPathComponent
        guard let spec = readYAML(folder.appendingPathComponent("spec.yml"), what: "the global webhook's spec.yml with name, key and methods"),
            let object = rootObject(spec, what: "name, key and methods")
        else { return nil }
        checkKeys(spec, object, allowed: ["name", "key", "description", "methods", "respondsToWebhook", "deliveryId"])
        let name = requiredString(spec, object, "name")
        let description = optionalString(spec, object, "description")
        checkKey(spec, object, matches: key, in: "global webhook folder")
        let methods = resolveMethods(
            in: folder, rules: .globalWebhook,
            declarations: MethodDeclarations(spec: spec, value: object["methods"], pointer: "/methods",
                                             ownerPointer: object["methods"] == nil ? "" : "/methods"))
        let responds = optionalBool(spec, object, "respondsToWebhook") || methods["handle"]?.mapping?["response"] != nil
        let deliveryId = deliveryIdFormula(spec, object, example: "{$var: data.event_id}")
        guard let name else { return nil }
        var webhook = GlobalWebhook(key: key, name: name, description: description, methods: methods, directory: folder)
        webhook.respondsToWebhook = responds
        webhook.deliveryId = deliveryId
        return webhook
    }
}
