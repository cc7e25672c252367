/// Who a method runs for: the subscription's (or caller's) connector, owner, parameters, state
/// and connection. Passed to every ``ConnectorRuntime`` call.
public struct MethodContext: Sendable {
    /// The connector folder name, e.g. `github`.
    public var connectorKey: String
    /// The event, collection or collection event the method belongs to.
    public var owner: MethodOwner
    /// The subscription's `parameters` (matching the owner's `parametersSchema`).
    public var parameters: JSONValue
    /// The subscription's `state` as the last method left it; `nil` before `subscribe`.
    public var state: JSONValue?
    /// The connection's decrypted credentials; they build the API client (`make-api-client`).
    public var credentials: JSONValue?
    /// The connector parameters the workspace configured (connector.yml `parametersSchema`).
    public var connectorParameters: JSONValue?
    /// Added to every log line of the call (subscription id, customer, ...).
    public var logMetadata: [String: String]
    /// The connection whose credentials these are, when the caller knows it: API clients are
    /// kept per connection, so a refresh of one connection's credentials stays its own.
    public var connectionId: String?
    /// Where new credentials come from after the API answered 401 to `previous`: `nil` runs
    /// the connector's `refresh-credentials` here and keeps the result in this process. A
    /// pipeline worker sets it, so that one replica refreshes a connection (rotating refresh
    /// tokens are valid once) and stores what it got on the connection. It may throw an
    /// ``APIError`` with ``APIError/credentialsRefreshing`` while another replica refreshes:
    /// the method then fails transiently and runs again.
    public var refreshCredentials: (@Sendable (_ previous: JSONValue) async throws -> JSONValue)?

    /// Creates a context; `parameters` defaults to `{}`, everything else to nothing.
    public init(
        connectorKey: String, owner: MethodOwner, parameters: JSONValue = .object([:]), state: JSONValue? = nil,
        credentials: JSONValue? = nil, connectorParameters: JSONValue? = nil, logMetadata: [String: String] = [:]
    ) {
        self.connectorKey = connectorKey
        self.owner = owner
        self.parameters = parameters
        self.state = state
        self.credentials = credentials
        self.connectorParameters = connectorParameters
        self.logMetadata = logMetadata
    }
}
