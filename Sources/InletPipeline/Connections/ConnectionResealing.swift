import Foundation
import InletKafka
import Logging

/// After a key rotation (a new sealing key first in `INLET_SECRET_KEYS`), writes the
/// connections and the workspace connector parameters again, sealed with the sealing key, so
/// that the older key can leave the ring once no record needs it: credentials and connector
/// parameters sealed with another key or before they were bound to their connection, and
/// connector parameters still in clear text from before records were sealed.
///
/// Each record is rewritten by one handler: the one whose credential refresher owns the
/// record key's partition of `commands` (``CredentialRefreshes``), the same one that stores a
/// connection's refreshed credentials. A record is written only if it is unchanged since it
/// was read (read again up to date just before), so a PATCH in between wins; the next sweep
/// looks again.
struct ConnectionResealing: Sendable {
    let topics: InletTopics
    let connections: ConnectionDirectory
    let connectorParameters: ConnectorParametersDirectory?
    let vault: CredentialVault
    let write: @Sendable (KafkaRecord) async throws -> Void
    /// Whether this handler owns a partition of `commands` (the refresher's assignment).
    let owns: @Sendable (Int32) -> Bool
    /// Whether a refresh of a connection is under way here (its write must not be crossed).
    let refreshing: @Sendable (String) -> Bool
    let logger: Logger

    /// Rewrites up to `limit` records that need sealing anew; returns how many it wrote.
    func sweep(limit: Int = 64) async -> Int {
        guard vault.sealsRecords else { return 0 }
        let partitions = topics.partitions
        let connectionsDue = connections.all()
            .filter { $0.archivedAt == nil && owns(KafkaPartitioner.partition(forKey: $0.id, partitions: partitions)) && needsSealingAnew($0) }
            .sorted { $0.id < $1.id }.prefix(limit)
        let parametersDue = (connectorParameters?.records() ?? [])
            .filter { record in
                record.parameters.keyId != vault.keyId && owns(KafkaPartitioner.partition(forKey: record.connectorKey, partitions: partitions))
                    && (try? vault.open(record.parameters, boundTo: ConnectorParametersRecord.binding(connectorKey: record.connectorKey))) != nil
            }
            .sorted { $0.connectorKey < $1.connectorKey }.prefix(max(0, limit - connectionsDue.count))
        guard !connectionsDue.isEmpty || !parametersDue.isEmpty else { return 0 }
        var written = 0
        for record in connectionsDue {
            do {
                let fresh = try sealedAnew(record)
                // Read up to date right before the write: a PATCH stored meanwhile wins.
                try await connections.sync(timeout: .seconds(5))
                guard connections[record.id] == record, !refreshing(record.id) else { continue }
                try await write(KafkaRecord(topic: topics.connections, key: record.id, value: fresh.encoded()))
                written += 1
            } catch {
                logger.warning("connection \(record.id) could not be sealed with the current key (\(error)); the next sweep tries again")
            }
        }
        for record in parametersDue {
            try? await connectorParameters?.sync(timeout: .seconds(5))
            guard connectorParameters?.record(for: record.connectorKey) == record else { continue }
            do {
                let binding = ConnectorParametersRecord.binding(connectorKey: record.connectorKey)
                var fresh = record
                fresh.parameters = try vault.seal(try vault.open(record.parameters, boundTo: binding), boundTo: binding)
                try await write(KafkaRecord(topic: topics.connectorParameters, key: record.connectorKey, value: fresh.encoded()))
                written += 1
            } catch {
                logger.warning("the connector parameters of \(record.connectorKey) could not be sealed with the current key (\(error)); the next sweep tries again")
            }
        }
        if written > 0 { logger.info("sealed \(written) connection and connector parameter records with key \(vault.keyId)") }
        return written
    }

    /// Whether a value of `record` was not sealed by the sealing key, bound to the connection —
    /// and every value opens here (one whose key left the ring, or copied from another record,
    /// cannot be sealed anew: retrying it every sweep would hold up the others).
    func needsSealingAnew(_ record: ConnectionRecord) -> Bool {
        let due = vault.needsResealing(record.credentials) || record.connectorParameters != nil
            || (record.sealedConnectorParameters.map(vault.needsResealing) ?? false)
        return due && (try? record.openedCredentials(vault)) != nil && (try? record.openedConnectorParameters(vault)) != nil
    }

    /// `record` with its credentials and connector parameters sealed with the sealing key.
    private func sealedAnew(_ record: ConnectionRecord) throws -> ConnectionRecord {
        var fresh = record
        fresh.credentials = try vault.seal(try record.openedCredentials(vault), for: .connectionCredentials(connectionId: record.id))
        if let parameters = try record.openedConnectorParameters(vault) {
            fresh.sealedConnectorParameters = try vault.seal(parameters, for: .connectionParameters(connectionId: record.id))
            fresh.connectorParameters = nil
        }
        return fresh
    }
}
