import Foundation
import InletConnectors
import InletKafka
import Logging
import ServiceLifecycle

/// Every process's view of the `connector-parameters` topic: the connector parameters
/// configured for the workspace, opened with the vault when asked for.
public final class ConnectorParametersDirectory: Service, Sendable {
    private let table: KafkaTable<ConnectorParametersRecord>
    private let vault: CredentialVault

    public init(topics: InletTopics, client: KafkaClientConfiguration, vault: CredentialVault, logger: Logger) {
        table = KafkaTable(topic: topics.connectorParameters, configuration: client, logger: logger) {
            try ConnectorParametersRecord.decoded(from: $0)
        }
        self.vault = vault
    }

    public func run() async throws {
        try await table.run()
    }

    /// Whether the initial load reached the end of the topic.
    public var isLoaded: Bool { table.isCaughtUp }

    /// Waits until every record written so far is visible here.
    public func sync(timeout: Duration = .seconds(30)) async throws { try await table.sync(timeout: timeout) }

    /// Every connector's record as stored (sealed).
    func records() -> [ConnectorParametersRecord] { Array(table.snapshot().values) }

    /// A connector's record as stored (sealed).
    func record(for connectorKey: String) -> ConnectorParametersRecord? { table[connectorKey] }

    /// The workspace's parameters of a connector, opened; `{}` when none were set.
    ///
    /// - Throws: `VaultError` when they cannot be opened (another `INLET_SECRET_KEY`, or a
    ///   sealed value that belongs to another connector).
    public func parameters(for connectorKey: String) throws -> JSONValue {
        guard let record = table[connectorKey] else { return [:] }
        return try vault.open(record.parameters, boundTo: ConnectorParametersRecord.binding(connectorKey: connectorKey))
    }

    /// `connectionParameters` merged over the workspace's parameters of the connector (members
    /// of the connection win).
    public func merged(_ connectionParameters: JSONValue?, connectorKey: String) throws -> JSONValue {
        guard case .object(var members) = try parameters(for: connectorKey) else { return connectionParameters ?? [:] }
        for (key, value) in connectionParameters?.objectValue ?? [:] { members[key] = value }
        return .object(members)
    }
}
