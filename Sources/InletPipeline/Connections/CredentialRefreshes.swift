import Crypto
import Foundation
import InletConnectors
import InletKafka
import Logging
import Synchronization

/// Refreshes a connection's credentials once across every handler replica, and stores the
/// result on the connection (sealed), so rotating refresh tokens (valid once) keep working.
///
/// One handler refreshes a connection: the one that owns the connection id's partition of
/// `commands` (the partition librdkafka's partitioner gives the key).
/// - A method of that handler that got a 401 runs the connector's `refresh-credentials` here,
///   once for every lane that asks meanwhile, and writes the new credentials to
///   `connections`.
/// - A method of another handler sends it a `refresh-credentials` command keyed by the
///   connection id, with the digest of the sealed credentials it saw, and waits a little
///   (``Configuration/waitForOwner``) for new credentials in the connections table. Without
///   them by then, the method fails with `CREDENTIALS_REFRESHING`, a transient error: its
///   input is deferred and runs again, with the stored credentials once they are there. The
///   command is sent again only after ``Configuration/askAgainAfter``.
/// - The owner runs a command only while the connection still has the credentials it names;
///   otherwise they were refreshed or replaced (PATCH) since.
///
/// Before any of it, the table is read up to date: credentials that differ from the ones the
/// API refused are someone's refresh already, and are used as they are.
///
/// During a rebalance two handlers may each believe they own a partition for a moment; a
/// refresh started by the former owner then may overlap one by the new owner.
final class CredentialRefreshes: Sendable {
    struct Configuration: Sendable {
        /// How long a method of a handler that does not own the connection waits for the
        /// owner's refresh before it fails transiently (it blocks its batch meanwhile).
        var waitForOwner: Duration = .seconds(3)
        /// How long after asking the owner a handler asks again for the same credentials.
        var askAgainAfter: Duration = .seconds(30)
        /// How often the table is read while waiting.
        var pollInterval: Duration = .milliseconds(50)
    }

    private let configuration: Configuration
    private let topics: InletTopics
    private let runtime: ConnectorRuntime
    private let connections: ConnectionDirectory
    private let vault: CredentialVault
    private let connectorParameters: ConnectorParametersDirectory?
    private let writeConnection: @Sendable (ConnectionRecord) async throws -> Void
    private let sendCommand: @Sendable (KafkaRecord) async throws -> Void
    /// Whether this handler owns the partition of `commands` that holds a key.
    private let ownsPartition: @Sendable (Int32) -> Bool
    private let logger: Logger
    /// The refresh in flight per connection, shared by every lane that asks meanwhile.
    private let flights = Mutex<[String: SingleFlight<JSONValue>]>([:])
    /// Commands sent, by connection: for which sealed credentials, and when.
    private let asked = Mutex<[String: (digest: String, at: ContinuousClock.Instant)]>([:])

    init(
        configuration: Configuration = Configuration(), topics: InletTopics, runtime: ConnectorRuntime, connections: ConnectionDirectory, vault: CredentialVault,
        connectorParameters: ConnectorParametersDirectory?, writeConnection: @escaping @Sendable (ConnectionRecord) async throws -> Void,
        sendCommand: @escaping @Sendable (KafkaRecord) async throws -> Void, ownsPartition: @escaping @Sendable (Int32) -> Bool, logger: Logger
    ) {
        self.configuration = configuration
        self.topics = topics
        self.runtime = runtime
        self.connections = connections
        self.vault = vault
        self.connectorParameters = connectorParameters
        self.writeConnection = writeConnection
        self.sendCommand = sendCommand
        self.ownsPartition = ownsPartition
        self.logger = logger
    }

    /// Identifies one sealing of a connection's credentials: the first 16 bytes of SHA-256 over
    /// the sealed bytes, in hex. Every write seals anew (a fresh nonce), so a new digest means
    /// new credentials; the sealed bytes are on `connections` already, so the digest tells
    /// nothing about the secret.
    static func digest(of sealed: EncryptedCredentials) -> String {
        SHA256.hash(data: sealed.sealed).prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    /// The partition of `commands` for a connection's refresh commands.
    func partition(of connectionId: String) -> Int32 {
        KafkaPartitioner.partition(forKey: connectionId, partitions: topics.partitions)
    }

    /// New credentials for a connection whose API refused `previous` (a 401 in one of this
    /// handler's methods): see the type.
    ///
    /// - Throws: ``APIError`` `CREDENTIALS_REFRESHING` (transient) while another handler
    ///   refreshes; ``ConnectorMethodError`` when the connection is gone or the connector's
    ///   refresh failed; `KafkaError` when the command could not be sent.
    func refreshed(connectionId: String, previous: JSONValue, logMetadata: [String: String]) async throws -> JSONValue {
        try await flight(connectionId).run { [self] in
            let record = try await latest(connectionId)
            let current = try record.openedCredentials(vault)
            if current != previous {
                logger.info("credentials of connection \(connectionId) were refreshed or replaced meanwhile; using them")
                return current
            }
            if ownsPartition(partition(of: connectionId)) {
                return try await refreshHere(record, previous: current, logMetadata: logMetadata)
            }
            return try await askOwner(record, previous: current)
        }
    }

    /// Runs a `refresh-credentials` command of a partition this handler owns.
    ///
    /// - Throws: ``ConnectorMethodError`` when the connector's refresh failed.
    func run(_ command: Command) async throws {
        guard let connectionId = command.connectionId, let digest = command.credentialsDigest else { return }
        let record = try await latest(connectionId)
        guard Self.digest(of: record.credentials) == digest else {
            logger.info("handler: credentials of connection \(connectionId) were refreshed or replaced since the refresh was asked for; nothing to do")
            return
        }
        let previous = try record.openedCredentials(vault)
        _ = try await flight(connectionId).run { [self] in
            // A lane of this handler may have refreshed them while the command waited.
            let again = try await latest(connectionId)
            guard Self.digest(of: again.credentials) == digest else { return try again.openedCredentials(vault) }
            return try await refreshHere(again, previous: previous, logMetadata: ["connection": connectionId])
        }
    }

    // MARK: - Steps

    private func flight(_ connectionId: String) -> SingleFlight<JSONValue> {
        flights.withLock { flights in
            if let flight = flights[connectionId] { return flight }
            let flight = SingleFlight<JSONValue>()
            flights[connectionId] = flight
            return flight
        }
    }

    /// The connection as `connections` holds it now (read up to date first).
    private func latest(_ connectionId: String) async throws -> ConnectionRecord {
        try await connections.sync(timeout: .seconds(5))
        guard let record = connections[connectionId], record.archivedAt == nil else {
            throw ConnectorMethodError(code: "unknown-connection", message: "connection \(connectionId) does not exist (deleted?); its credentials cannot be refreshed", file: "")
        }
        return record
    }

    /// The connector's `refresh-credentials` here, and the result stored on the connection.
    private func refreshHere(_ record: ConnectionRecord, previous: JSONValue, logMetadata: [String: String]) async throws -> JSONValue {
        var merged = try record.openedConnectorParameters(vault)
        if let connectorParameters {
            // The connection's own connector parameters win over the workspace's.
            merged = try connectorParameters.merged(merged, connectorKey: record.connectorKey)
        }
        let fresh = try await runtime.refreshCredentials(
            connectorKey: record.connectorKey, credentials: previous, connectorParameters: merged, logMetadata: logMetadata)
        await store(fresh, replacing: previous, of: record.id)
        return fresh
    }

    /// Stores refreshed credentials on their connection, sealed — only while the connection
    /// still holds the credentials the refresh started from (read up to date): never over
    /// credentials a PATCH put there meanwhile, never for a connection deleted since. A
    /// failure is logged (the refreshed credentials still serve this process).
    private func store(_ fresh: JSONValue, replacing previous: JSONValue, of connectionId: String) async {
        try? await connections.sync(timeout: .seconds(5))
        guard var record = connections[connectionId], record.archivedAt == nil else {
            logger.info("refreshed credentials of connection \(connectionId) are not stored: the connection no longer exists")
            return
        }
        guard (try? record.openedCredentials(vault)) == previous else {
            logger.warning("refreshed credentials of connection \(connectionId) are not stored: its credentials were replaced since the refresh began")
            return
        }
        do {
            record.credentials = try ConnectionRecord.sealedCredentials(fresh, connectionId: connectionId, vault: vault)
            record.updatedAt = Date()
            try await writeConnection(record)
            logger.info("stored the refreshed credentials of connection \(connectionId)")
        } catch {
            logger.error("the refreshed credentials of connection \(connectionId) could not be stored (\(error)); they serve this process, but a rotating refresh token will be lost when it stops: PATCH the connection with new credentials if it then fails")
        }
    }

    /// Asks the owning handler to refresh (once per ``Configuration/askAgainAfter``), then
    /// waits a little for the new credentials.
    private func askOwner(_ record: ConnectionRecord, previous: JSONValue) async throws -> JSONValue {
        let connectionId = record.id
        let digest = Self.digest(of: record.credentials)
        let now = ContinuousClock.now
        let ask = asked.withLock { asked in
            if let last = asked[connectionId], last.digest == digest, now - last.at < configuration.askAgainAfter { return false }
            asked[connectionId] = (digest, now)
            return true
        }
        if ask {
            let command = Command.refreshCredentials(of: connectionId, digest: digest)
            do {
                try await sendCommand(KafkaRecord(topic: topics.commands, key: connectionId, value: command.encoded()))
            } catch {
                asked.withLock { _ = $0.removeValue(forKey: connectionId) }
                throw error
            }
            logger.info("asked the handler owning partition \(partition(of: connectionId)) of \(topics.commands) to refresh the credentials of connection \(connectionId)")
        }
        let deadline = ContinuousClock.now + configuration.waitForOwner
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: configuration.pollInterval)
            try? await connections.sync(timeout: .seconds(1))
            if let stored = connections[connectionId], stored.archivedAt == nil, Self.digest(of: stored.credentials) != digest,
                let fresh = try? stored.openedCredentials(vault)
            {
                return fresh
            }
        }
        throw APIError(
            code: APIError.credentialsRefreshing,
            message: "the credentials of connection \(connectionId) expired and the handler owning partition \(partition(of: connectionId)) of \(topics.commands) is refreshing them; the method runs again when they are stored (if it keeps failing, see that handler's log and the DLQ)")
    }
}
