import Foundation

/// A connector folder (`connectors/<key>/`): `connector.yml`, its auth methods, events, global
/// webhooks and data collections, loaded and validated.
public struct Connector: Sendable {
    /// The folder name, e.g. `github`.
    public let key: String
    /// `name` from connector.yml.
    public let name: String
    /// `description` from connector.yml, if any.
    public let description: String?
    /// The connector folder.
    public let directory: URL
    /// `parametersSchema` from connector.yml: the connector parameters a workspace configures.
    public let parametersSchema: JSONValue?
    /// ``parametersSchema`` compiled once at load.
    public let validParametersSchema: JSONSchema?
    /// Hosts the connector's API client and JavaScript may call (`allowedHosts`); `nil` when not
    /// restricted. An entry may start with `*.` for any subdomain.
    public let allowedHosts: [String]?
    /// `baseUri` from connector.yml, without a trailing slash: where the API client of a
    /// connector without `auth/make-api-client` sends relative paths.
    public let baseUri: String?
    /// `auth/` methods by name: optional `make-api-client` and `refresh-credentials`.
    public let auth: [String: MethodImplementation]
    /// `events/<key>/` by key.
    public let events: [String: EventSpec]
    /// `global-webhooks/<key>/` by key.
    public let globalWebhooks: [String: GlobalWebhook]
    /// `data/<collection>/` by key.
    public let dataCollections: [String: DataCollection]

    /// The method that turns a connection's credentials into the API client (`auth/make-api-client.*`).
    public var makeAPIClient: MethodImplementation? { auth["make-api-client"] }

    /// The implementation of method `name` of `owner`, or `nil` when the connector has no such method.
    ///
    /// ```swift
    /// connector.method(for: .event("issue-created"), name: "handle")
    /// connector.method(for: .collectionEvent("issues", .deleted), name: "pull")
    /// connector.method(for: .auth, name: "make-api-client")
    /// ```
    public func method(for owner: MethodOwner, name: String) -> MethodImplementation? {
        switch owner {
        case .event(let key): events[key]?.methods[name]
        case .globalWebhook(let key): globalWebhooks[key]?.methods[name]
        case .collection(let key): dataCollections[key]?.methods[name]
        case .collectionEvent(let key, let type): dataCollections[key]?.events[type]?.methods[name]
        case .auth: auth[name]
        }
    }
}

/// What a connector method belongs to, for ``Connector/method(for:name:)``.
public enum MethodOwner: Sendable, Hashable {
    /// An event under `events/<key>/`.
    case event(String)
    /// A global webhook under `global-webhooks/<key>/`.
    case globalWebhook(String)
    /// A data collection's own methods (`list`, `findById`, ...) under `data/<key>/`.
    case collection(String)
    /// A data collection event's methods under `data/<key>/events/<type>/`.
    case collectionEvent(String, DataCollection.EventType)
    /// The connector's `auth/` methods.
    case auth
}

// MARK: - Loading

extension WorkspaceLoadContext {
    private static let connectorKeys = ["name", "key", "description", "logoUri", "appUri", "version", "parametersSchema", "allowedHosts", "baseUri"]
    private static let connectorEntries = ["connector.yml", "auth", "events", "global-webhooks", "data"]

    /// Loads `connectors/<key>/`, reporting every problem; `nil` when connector.yml is unusable.
    mutating func loadConnector(at folder: URL) -> Connector? {
        let key = folder.lastPathComponent
        for entry in entries(of: folder) where !Self.connectorEntries.contains(entry.name) && !entry.name.hasSuffix(".md") {
            let expected = WorkspaceWording.alternatives(Self.connectorEntries.map { $0.contains(".") ? $0 : $0 + "/" })
            report(.warning, relativePath(entry.url), line: entry.isDirectory ? nil : 1,
                   "unexpected \(entry.isDirectory ? "folder" : "file") \(entry.name) is ignored, expected \(expected)")
        }

        var name: String?
        var description: String?
        var parameters: (schema: JSONValue?, compiled: JSONSchema?) = (nil, nil)
        var hosts: [String]?
        var baseUri: String?
        if let spec = readYAML(folder.appendingPathComponent("connector.yml"), what: "connector.yml with the connector's name and parametersSchema"),
            let object = rootObject(spec, what: "name, parametersSchema and allowedHosts")
        {
            checkKeys(spec, object, allowed: Self.connectorKeys)
            name = requiredString(spec, object, "name")
            description = optionalString(spec, object, "description")
            checkKey(spec, object, matches: key, in: "connector folder")
            parameters = schema(spec, object, "parametersSchema")
            hosts = allowedHosts(spec, object)
            baseUri = self.baseUri(spec, object)
            // When connector.yml lists hosts, nothing else is reachable: its own baseUri included.
            if let baseUri, let hosts, let host = URLComponents(string: baseUri)?.host?.lowercased(), !HostPolicy.matches(host, hosts) {
                error(spec, at: "/baseUri", "baseUri host \(host) is not in allowedHosts (\(hosts.joined(separator: ", "))), expected it listed there")
            }
        }

        let auth = resolveMethods(in: folder.appendingPathComponent("auth"), rules: .auth, declarations: nil, ignoring: [])
        var globalWebhooks: [String: GlobalWebhook] = [:]
        let globalWebhookFolders = subfolders(of: folder.appendingPathComponent("global-webhooks"), holding: "global webhooks")
        for child in globalWebhookFolders {
            if let webhook = loadGlobalWebhook(at: child) { globalWebhooks[webhook.key] = webhook }
        }
        // Events are checked against every global webhook folder, loaded or not, so one broken
        // global webhook is reported once and not again by each event that uses it.
        let globalWebhookKeys = globalWebhookFolders.map(\.lastPathComponent)
        var events: [String: EventSpec] = [:]
        for child in subfolders(of: folder.appendingPathComponent("events"), holding: "events") {
            if let event = loadEvent(at: child, connectorKey: key, globalWebhookKeys: globalWebhookKeys) { events[event.key] = event }
        }
        var collections: [String: DataCollection] = [:]
        for child in subfolders(of: folder.appendingPathComponent("data"), holding: "data collections") {
            if let collection = loadDataCollection(at: child) { collections[collection.key] = collection }
        }

        guard let name else { return nil }
        return Connector(
            key: key, name: name, description: description, directory: folder,
            parametersSchema: parameters.schema, validParametersSchema: parameters.compiled,
            allowedHosts: hosts, baseUri: baseUri, auth: auth, events: events, globalWebhooks: globalWebhooks,
            dataCollections: collections)
    }

    /// The folders inside `folder` (one per event, webhook or collection); stray files are reported.
    mutating func subfolders(of folder: URL, holding what: String) -> [URL] {
        var result: [URL] = []
        for entry in entries(of: folder) {
            if entry.isDirectory {
                result.append(entry.url)
            } else if !entry.name.hasSuffix(".md") {
                report(.warning, relativePath(entry.url), line: 1,
                       "file \(entry.name) is ignored, expected only folders here (one per \(what.dropLast()), each with a spec.yml)")
            }
        }
        return result
    }

    private mutating func baseUri(_ spec: SpecFile, _ object: [String: JSONValue]) -> String? {
        guard let value = object["baseUri"], !value.isNull else { return nil }
        guard let text = value.stringValue, let components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https", components.host?.isEmpty == false
        else {
            let shown = value.stringValue.map { "'\($0)'" } ?? Self.describe(value)
            error(spec, at: "/baseUri", "baseUri is \(shown), expected an http(s) URL such as https://api.example.com/v1")
            return nil
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    private mutating func allowedHosts(_ spec: SpecFile, _ object: [String: JSONValue]) -> [String]? {
        guard let value = object["allowedHosts"], !value.isNull else { return nil }
        guard let items = value.arrayValue else {
            error(spec, at: "/allowedHosts", "allowedHosts is \(Self.describe(value)), expected a list of host names such as api.github.com")
            return nil
        }
        var hosts: [String] = []
        for (index, item) in items.enumerated() {
            let pointer = "/allowedHosts/\(index)"
            guard let host = item.stringValue, !host.isEmpty else {
                error(spec, at: pointer, "allowedHosts entry is \(Self.describe(item)), expected a host name such as api.github.com")
                continue
            }
            if host.contains("://") || host.contains("/") || host.contains(where: \.isWhitespace) {
                error(spec, at: pointer, "allowedHosts entry '\(host)' is not a host name, expected a bare host such as api.github.com or *.github.com")
                continue
            }
            hosts.append(host.lowercased())
        }
        return hosts
    }
}
