import InletConnectors

extension SubscriptionTarget {
    /// The connector part whose methods serve this target (`events/<key>`, or a collection's
    /// record event); `nil` for app events, which have no connector methods.
    public var methodOwner: MethodOwner? {
        switch self {
        case .event(let key): .event(key)
        case .collection(let key, let change): .collectionEvent(key, DataCollection.EventType(rawValue: change.rawValue) ?? .created)
        case .appEvent: nil
        }
    }
}

extension SubscriptionRecord {
    /// What a connector method of this subscription runs with: its parameters and state, and
    /// the connection's credentials and connector parameters, opened with `vault`.
    public func methodContext(connection: ConnectionRecord, vault: CredentialVault) throws -> MethodContext {
        try methodContext(connection: connection, credentials: connection.openedCredentials(vault), vault: vault)
    }

    /// What a connector method of this subscription runs with, given the connection's
    /// credentials already opened.
    public func methodContext(connection: ConnectionRecord, credentials: JSONValue, vault: CredentialVault) throws -> MethodContext {
        try methodContext(connection: connection, credentials: credentials, open: vault.open(_:for:))
    }

    /// What a connector method of this subscription runs with, given the connection's
    /// credentials already opened, every other sealed value opened by `open`.
    public func methodContext(connection: ConnectionRecord, credentials: JSONValue, open: SealedValueOpener) throws -> MethodContext {
        guard let owner = target.methodOwner else {
            throw ConnectorMethodError(code: "method-not-found", message: "app event subscriptions have no connector methods", file: "")
        }
        return MethodContext(
            connectorKey: connectorKey, owner: owner, parameters: try config.openedParameters(subscriptionId: id, open: open), state: try openedState(open: open),
            credentials: credentials, connectorParameters: try connection.openedConnectorParameters(open: open),
            logMetadata: ["subscription": id, "customer": customerId]
        )
    }
}
