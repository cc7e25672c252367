import Foundation

/// A connector's data collection (`data/<collection>/spec.yml`, seed 004): its records' fields, its
/// methods (`list`, `findById`, ...) and how each kind of record event is obtained.
///
/// Methods of an event live in `data/<collection>/events/<created|updated|deleted>/`, because two
/// strategies may need a method of the same name (a webhook's `subscribe` and a custom pull's
/// `subscribe` do different things).
public struct DataCollection: Sendable {
    /// The three record events a collection can emit.
    public enum EventType: String, Sendable, Hashable, CaseIterable {
        /// A record appeared.
        case created
        /// A record changed.
        case updated
        /// A record disappeared.
        case deleted
    }

    /// How a record event is obtained.
    public enum EventImplementationType: String, Sendable, Hashable, CaseIterable {
        /// Like a connector webhook event: `subscribe`, `handle`, `unsubscribe`, optional `refresh`.
        case webhook
        /// `pullLatestRecords({cursor, parameters})` → `{records, cursor}`, newest first.
        case pullLatestRecords = "pull-latest-records"
        /// `subscribe({parameters})` → state, then `pull({state, parameters})` → `{events, state}`.
        case customPull = "custom-pull"
        /// The collection's `list`, page by page, diffed against the previous snapshot (the default).
        case fullScan = "full-scan"
    }

    /// One record event of the collection.
    public struct Event: Sendable {
        /// created, updated or deleted.
        public let type: EventType
        /// The strategy.
        public let implementationType: EventImplementationType
        /// The strategy's methods by name; empty for full scan, which uses the collection's `list`.
        public let methods: [String: MethodImplementation]
        /// Whether the spec did not mention this event and full scan was chosen by default.
        public let isDefault: Bool
        /// `respondsToWebhook` (webhook strategy): whether `handle` may answer the HTTP
        /// request itself; see ``EventSpec/respondsToWebhook``.
        public var respondsToWebhook = false
    }

    /// The folder name, e.g. `issues`.
    public let key: String
    /// `name`, shown to people.
    public let name: String
    /// `description`, if any.
    public let description: String?
    /// `parametersSchema`: what a subscription to the collection must provide.
    public let parametersSchema: JSONValue?
    /// ``parametersSchema`` compiled once at load.
    public let validParametersSchema: JSONSchema?
    /// `fieldsSchema`: the shape of a record's `fields`.
    public let fieldsSchema: JSONValue?
    /// ``fieldsSchema`` compiled once at load.
    public let validFieldsSchema: JSONSchema?
    /// The collection's own methods by name (`list`, `findById`, ...).
    public let methods: [String: MethodImplementation]
    /// Record events by type. An event the spec does not mention uses full scan when the collection
    /// has a `list` method and is absent otherwise.
    public let events: [EventType: Event]
    /// `ignoredFields`: fields a full scan leaves out when comparing records.
    public let ignoredFields: [String]
    /// `pullUpdatesIntervalSeconds`: how often its pull-latest-records and custom-pull events
    /// pull (a subscription may set its own); `nil`: the default, 300.
    public var pullUpdatesIntervalSeconds: Int? = nil
    /// `fullSyncIntervalSeconds`: how often its full-scan events scan; `nil`: the default, 3600.
    public var fullSyncIntervalSeconds: Int? = nil
    /// The collection folder.
    public let directory: URL
}

// MARK: - Loading

extension WorkspaceLoadContext {
    private static let collectionKeys = ["name", "description", "parametersSchema", "fieldsSchema", "methods", "events", "ignoredFields",
                                                "pullUpdatesIntervalSeconds", "fullSyncIntervalSeconds"]
    /// Method names that only make sense for an event strategy, used to hint where a stray file belongs.
    private static let eventMethodNames: Set<String> = ["subscribe", "handle", "unsubscribe", "refresh", "pullLatestRecords", "pull"]

    /// Loads `data/<collection>/`, reporting every problem.
    mutating func loadDataCollection(at folder: URL) -> DataCollection? {
        let key = folder.lastPathComponent
        guard let spec = readYAML(folder.appendingPathComponent("spec.yml"), what: "the collection's spec.yml with name, fieldsSchema, methods and events"),
            let object = rootObject(spec, what: "name, fieldsSchema, methods and events")
        else { return nil }
        checkKeys(spec, object, allowed: Self.collectionKeys)
        let name = requiredString(spec, object, "name")
        let description = optionalString(spec, object, "description")
        let parameters = schema(spec, object, "parametersSchema")
        let fields = schema(spec, object, "fieldsSchema")
        let methods = resolveMethods(
            in: folder, rules: .collection,
            declarations: MethodDeclarations(spec: spec, value: object["methods"], pointer: "/methods", ownerPointer: ""),
            undeclaredHint: { name in
                Self.eventMethodNames.contains(name)
                    ? "expected event methods in events/<created|updated|deleted>/ or a `\(name):` entry under methods"
                    : nil
            })
        let events = collectionEvents(spec, object, folder: folder, hasList: methods["list"] != nil)
        let ignoredFields = stringList(spec, object, "ignoredFields")
        let pullInterval = optionalSeconds(spec, object, "pullUpdatesIntervalSeconds")
        let fullSyncInterval = optionalSeconds(spec, object, "fullSyncIntervalSeconds")
        guard let name else { return nil }
        var collection = DataCollection(
            key: key, name: name, description: description,
            parametersSchema: parameters.0, validParametersSchema: parameters.1,
            fieldsSchema: fields.0, validFieldsSchema: fields.1,
            methods: methods, events: events, ignoredFields: ignoredFields, directory: folder)
        collection.pullUpdatesIntervalSeconds = pullInterval
        collection.fullSyncIntervalSeconds = fullSyncInterval
        return collection
    }

    private mutating func collectionEvents(_ spec: SpecFile, _ object: [String: JSONValue], folder: URL, hasList: Bool) -> [DataCollection.EventType: DataCollection.Event] {
        let eventsFolder = folder.appendingPathComponent("events")
        let typeNames = DataCollection.EventType.allCases.map(\.rawValue)
        for entry in entries(of: eventsFolder) where !(entry.isDirectory && typeNames.contains(entry.name)) {
            report(.warning, relativePath(entry.url), line: entry.isDirectory ? nil : 1,
                   "\(entry.name) is ignored, expected only the folders \(WorkspaceWording.alternatives(typeNames, conjunction: "and"))")
        }

        var declared: [String: JSONValue] = [:]
        if let value = object["events"], !value.isNull {
            if let members = value.objectValue {
                declared = members
            } else {
                error(spec, at: "/events", "events is \(Self.describe(value)), expected a mapping with created, updated or deleted")
            }
        }
        for name in declared.keys.sorted() where DataCollection.EventType(rawValue: name) == nil {
            let hint = WorkspaceWording.closestMatch(name, in: typeNames).map { " (did you mean '\($0)'?)" } ?? ""
            error(spec, at: "/events/\(name)", "'\(name)' is not a record event, expected \(WorkspaceWording.alternatives(typeNames))\(hint)")
        }

        var events: [DataCollection.EventType: DataCollection.Event] = [:]
        for type in DataCollection.EventType.allCases {
            let pointer = "/events/\(type.rawValue)"
            let typeFolder = eventsFolder.appendingPathComponent(type.rawValue)
            guard let declaration = declared[type.rawValue], !declaration.isNull else {
                // Not mentioned: full scan when the collection can list, otherwise no such event.
                if isDirectory(typeFolder) {
                    _ = resolveMethods(in: typeFolder, rules: .fullScan, declarations: nil, ignoring: [])
                }
                if hasList { events[type] = DataCollection.Event(type: type, implementationType: .fullScan, methods: [:], isDefault: true) }
                continue
            }
            guard let members = declaration.objectValue else {
                error(spec, at: pointer, "\(type.rawValue) is \(Self.describe(declaration)), expected a mapping such as {implementationType: webhook}")
                continue
            }
            checkKeys(spec, members, at: pointer, allowed: ["implementationType", "methods", "respondsToWebhook"])
            guard let strategy = enumField(spec, members, "implementationType", DataCollection.EventImplementationType.self,
                                           default: .fullScan, at: pointer)
            else { continue }
            let rules: MethodRules = switch strategy {
            case .webhook: .webhook
            case .pullLatestRecords: .pullLatestRecords
            case .customPull: .customPull
            case .fullScan: .fullScan
            }
            let methods = resolveMethods(
                in: typeFolder, rules: rules,
                declarations: MethodDeclarations(spec: spec, value: members["methods"], pointer: pointer + "/methods", ownerPointer: pointer),
                ignoring: [])
            if strategy == .fullScan && !hasList {
                error(spec, at: pointer, "\(type.rawValue) uses full-scan but the collection has no list method, expected a list method (list.js, list.rest.yml, ...) declared under methods")
            }
            var event = DataCollection.Event(type: type, implementationType: strategy, methods: methods, isDefault: false)
            event.respondsToWebhook = optionalBool(spec, members, "respondsToWebhook", at: pointer) || methods["handle"]?.mapping?["response"] != nil
            events[type] = event
        }
        return events
    }

    /// An optional list of strings.
    private mutating func stringList(_ spec: SpecFile, _ object: [String: JSONValue], _ key: String) -> [String] {
        guard let value = object[key], !value.isNull else { return [] }
        guard let items = value.arrayValue else {
            error(spec, at: "/\(key)", "\(key) is \(Self.describe(value)), expected a list of field names")
            return []
        }
        var strings: [String] = []
        for (index, item) in items.enumerated() {
            if let string = item.stringValue {
                strings.append(string)
            } else {
                error(spec, at: "/\(key)/\(index)", "\(key) entry is \(Self.describe(item)), expected a field name")
            }
        }
        return strings
    }
}
