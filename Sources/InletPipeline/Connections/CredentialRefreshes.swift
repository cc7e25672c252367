import Crypto
import Foundation
import InletConnectors
import InletKafka
import Logging
import Synchronization

/// Refreshes a connection's credentials once across every handler replica, and stores the
/// result on the connection (sealed), so rotating refresh tokens (valid once) keep working.
///
/// One handler refreshes a connection: the one whose credential refresher (``run(consumer:)``,
/// consumer group `<prefix>credential-refresher` on `commands`, a group of its own so that no
/// deferred webhook of the handler loop holds a request up) owns the partition of `commands`
/// librdkafka's partitioner gives the connection id.
/// - A method of that handler that got a 401 runs the connector's `refresh-credentials` here,
///   once for every lane that asks meanwhile, and writes the new credentials to
///   `connections` before the method goes on with them.
/// - A method of another handler sends a `refresh-credentials` command keyed by the connection
///   id, with ``digest(of:connectionId:)`` of the credentials the API refused, and watches the
///   connections table a little (``Configuration/waitForOwner``) for other credentials.
///   Without them by then, the method fails with `CREDENTIALS_REFRESHING`, a transient error:
///   its input is deferred and runs again, with the stored credentials once they are there.
///   The command is sent again only after ``Configuration/askAgainAfter``.
/// - The owner runs a command only while the connection still has the credentials it names;
///   otherwise they were refreshed or replaced (PATCH) since. A refresh that failed for good is
///   not tried again for the same credentials.
///
/// New credentials are used only once they are stored: when the write fails they are kept
/// here and written again on the next attempt, instead of spending the used refresh token
/// again. Before any of it, the table is read up to date: credentials that differ from the
/// ones the API refused are someone's refresh already, and are used as they are.
///
/// A handler still running an older version refreshes in its own process (it does not know
/// the command), so during a rolling upgrade two refreshes of one connection can still meet.
final class CredentialRefreshes: Sendable {
    struct Configuration: Sendable {
        /// How long a method of a handler that does not own the connection waits for the
        /// owner's refresh before it fails transiently (it blocks its batch meanwhile).
        var waitForOwner: Duration = .seconds(3)
        /// How long after asking the owner a handler asks again for the same credentials.
        var askAgainAfter: Duration = .seconds(30)
        /// How often the table is read while waiting.
        var pollInterval: Duration = .milliseconds(50)
        /// How long a refresh that failed for good is not tried again for the same credentials.
        var failedRefreshMemory: Duration = .seconds(600)
    }

    private let configuration: Configuration
    private let topics: InletTopics
    private let runtime: ConnectorRuntime
    private let connections: ConnectionDirectory
    private let vault: CredentialVault
    private let connectorParameters: ConnectorParametersDirectory?
    private let writeConnection: @Sendable (ConnectionRecord) async throws -> Void
    private let sendCommand: @Sendable (KafkaRecord) async throws -> Void
    private let logger: Logger
    /// The partitions of `commands` this handler's credential refresher owns.
    private let owned = OwnedPartitions()
    /// The refresh in flight per connection, shared by every lane that asks meanwhile.
    private let flights = Mutex<[String: SingleFlight<JSONValue>]>([:])
    /// What happened per connection: the commands sent (for which credentials, when), the
    /// refreshed credentials not stored yet, and credentials whose refresh failed for good.
    private let memory = Mutex(Memory())

    private struct Memory {
        var asked: [String: (digest: String, at: ContinuousClock.Instant)] = [:]
        var unstored: [String: (previous: JSONValue, fresh: JSONValue)] = [:]
        var failed: [String: (digest: String, at: ContinuousClock.Instant)] = [:]
    }

    init(
        configuration: Configuration = Configuration(), topics: InletTopics, runtime: ConnectorRuntime, connections: ConnectionDirectory, vault: CredentialVault,
        connectorParameters: ConnectorParametersDirectory?, writeConnection: @escaping @Sendable (ConnectionRecord) async throws -> Void,
        sendCommand: @escaping @Sendable (KafkaRecord) async throws -> Void, logger: Logger
    ) {
        self.configuration = configuration
        self.topics = topics
        self.runtime = runtime
        self.connections = connections
        self.vault = vault
        self.connectorParameters = connectorParameters
        self.writeConnection = writeConnection
        self.sendCommand = sendCommand
        self.logger = logger
    }

    /// Identifies a connection's credentials without telling them: HMAC-SHA256 with a key
    /// derived from the sealing key (`purpose` "credentials-digest") over the connection id and
    /// the credentials' JSON (keys sorted), first 16 bytes in hex. Sealing anew (a PATCH of the
    /// name) does not change it.
    func digest(of credentials: JSONValue, connectionId: String) -> String {
        Self.digest(credentials, connectionId: connectionId, key: vault.derivedKey(purpose: Self.digestPurpose))
    }

    /// Whether `digest` is that of `credentials` under any key of the ring (a replica may still
    /// seal with the previous key during a rotation).
    func matches(_ digest: String, _ credentials: JSONValue, connectionId: String) -> Bool {
        vault.derivedKeys(purpose: Self.digestPurpose).contains { Self.digest(credentials, connectionId: connectionId, key: $0.key) == digest }
    }

    private static let digestPurpose = "credentials-digest"

    private static func digest(_ credentials: JSONValue, connectionId: String, key: SymmetricKey) -> String {
        var hmac = HMAC<SHA256>(key: key)
        hmac.update(data: Array(connectionId.utf8) + [0])
        hmac.update(data: credentials.serialized())
        return Data(hmac.finalize()).prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether a refresh of the connection runs here now, or its result waits to be stored:
    /// whoever else would write the connection must wait (``ConnectionResealing``).
    func isBusy(_ connectionId: String) -> Bool {
        flights.withLock { $0[connectionId]?.isRunning ?? false } || memory.withLock { $0.unstored[connectionId] != nil }
    }

    /// The partitions of `commands` this handler's credential refresher owns now.
    var ownedPartitions: Set<Int32> { owned.all }

    /// The partition of `commands` for a connection's refresh commands.
    func partition(of connectionId: String) -> Int32 {
        KafkaPartitioner.partition(forKey: connectionId, partitions: topics.partitions)
    }

    /// New credentials for a connection whose API refused `previous` (a 401 in one of this
    /// handler's methods): see the type.
    ///
    /// - Throws: ``APIError`` `CREDENTIALS_REFRESHING` (transient) while another handler
    ///   refreshes, or when Kafka failed on the way (reading the table, sending the command,
    ///   storing); ``ConnectorMethodError`` when the connection is gone or the connector's
    ///   refresh failed.
    func refreshed(connectionId: String, previous: JSONValue, logMetadata: [String: String]) async throws -> JSONValue {
        do {
            return try await flight(connectionId).run { [self] in
                let record = try await latest(connectionId)
                let current = try record.openedCredentials(vault)
                if current != previous {
                    logger.info("credentials of connection \(connectionId) were refreshed or replaced meanwhile; using them")
                    return current
                }
                // Refreshed here before and not stored yet (the partition may have moved since):
                // storing them spends no token, asking the new owner would spend a spent one.
                if let stored = try await storeKept(connectionId, previous: current) { return stored }
                if owned.contains(partition(of: connectionId)) {
                    return try await refreshHere(record, previous: current, logMetadata: logMetadata)
                }
                return try await askOwner(record, previous: current)
            }
        } catch let error as KafkaError {
            // Reading the table or sending the command failed: nobody's input's fault.
            throw APIError(code: APIError.credentialsRefreshing, message: "the credentials of connection \(connectionId) expired and Kafka failed while refreshing them (\(error)); the method runs again")
        }
    }

    /// Serves `refresh-credentials` commands of the partitions of `commands` its consumer
    /// group assigns this handler (their connections are this handler's to refresh), until
    /// cancelled. Offsets are committed after each poll's commands ran; one served twice
    /// finds the credentials changed and does nothing.
    func run(consumer configuration: KafkaConsumerConfiguration) async throws {
        // Revocations wait until refreshes in flight here are over, so the next owner never
        // starts one while this handler may still spend the same refresh token.
        let consumer = try KafkaConsumer(configuration: configuration, topics: [topics.commands], logger: logger, defersRevocation: true)
        do {
            while !Task.isCancelled {
                var served: [TopicPartition: Int64] = [:]
                // Few at a time: each may wait for a token endpoint, and the group must hear
                // from this member within max.poll.interval.ms.
                for event in try await consumer.poll(maxMessages: 10, timeout: .milliseconds(500)) {
                    switch event {
                    case .rebalance(.assigned(let partitions)):
                        owned.add(Set(partitions.map(\.partition)))
                    case .rebalance(.revoked(let partitions)):
                        let revoked = Set(partitions.map(\.partition))
                        await handOver(revoked, served: &served, consumer: consumer)
                        await consumer.releaseRevokedPartitions()
                    case .message(let message):
                        if let value = message.value, let command = try? Command.decoded(from: value), command.type == .refreshCredentials {
                            await serve(command)
                        }
                        served[TopicPartition(topic: message.topic, partition: message.partition)] = message.offset + 1
                    case .endOfPartition:
                        break
                    }
                }
                await commit(served, consumer)
            }
        } catch {
            await stop(consumer)
            throw error
        }
        await stop(consumer)
    }

    /// Hands every partition over, then leaves the group.
    private func stop(_ consumer: KafkaConsumer) async {
        var nothing: [TopicPartition: Int64] = [:]
        await handOver(owned.all, served: &nothing, consumer: consumer)
        await consumer.close()
    }

    /// Commits the next offsets of what was served.
    private func commit(_ served: [TopicPartition: Int64], _ consumer: KafkaConsumer) async {
        guard !served.isEmpty else { return }
        try? await consumer.commit(served.map { TopicPartition(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value) })
    }

    /// Before partitions go to another handler (a rebalance, or this one stopping): no new
    /// refresh may start for them, the ones in flight end, what was served is committed, and
    /// credentials refreshed but not stored are written — so the next owner never spends a
    /// refresh token this handler may still spend, or has spent.
    private func handOver(_ partitions: Set<Int32>, served: inout [TopicPartition: Int64], consumer: KafkaConsumer) async {
        owned.remove(partitions)
        // Ownership is checked inside a flight, so every refresh that still counted these
        // partitions as owned is among the flights running now.
        for flight in flights.withLock({ Array($0.values) }) { await flight.finished() }
        await commit(served, consumer)
        served.removeAll()
        let kept = memory.withLock { $0.unstored }.filter { partitions.contains(partition(of: $0.key)) }
        for (connectionId, credentials) in kept {
            do {
                _ = try await store(credentials.fresh, replacing: credentials.previous, of: connectionId)
            } catch {
                logger.error("handing over: the refreshed credentials of connection \(connectionId) could not be stored (\(error)); its next refresh may fail: PATCH the connection with new credentials if it does")
            }
        }
    }

    /// Runs one `refresh-credentials` command: refreshes while the connection still has the
    /// credentials it names. Failures are logged; the asking handler asks again.
    func serve(_ command: Command) async {
        guard let connectionId = command.connectionId, let digest = command.credentialsDigest else { return }
        do {
            let record = try await latest(connectionId)
            let previous = try record.openedCredentials(vault)
            guard matches(digest, previous, connectionId: connectionId) else {
                logger.info("credentials of connection \(connectionId) were refreshed or replaced since the refresh was asked for; nothing to do")
                return
            }
            // A refresh that failed for good is not repeated for the same credentials for a while
            // (a revoked grant stays revoked; a connector bug may be fixed by a redeploy).
            if let failed = memory.withLock({ $0.failed[connectionId] }), failed.digest == digest, ContinuousClock.now - failed.at < configuration.failedRefreshMemory,
                memory.withLock({ $0.unstored[connectionId] }) == nil
            {
                return
            }
            _ = try await flight(connectionId).run { [self] in
                // A lane of this handler may have refreshed them while the command waited.
                let again = try await latest(connectionId)
                let current = try again.openedCredentials(vault)
                guard current == previous else { return current }
                return try await refreshHere(again, previous: previous, logMetadata: ["connection": connectionId])
            }
        } catch let error as ConnectorMethodError where !error.isTransient {
            memory.withLock { $0.failed[connectionId] = (digest, .now) }
            logger.error("refreshing the credentials of connection \(connectionId) failed: \(error); PATCH the connection with new credentials")
        } catch {
            logger.warning("refreshing the credentials of connection \(connectionId) failed for now, the handler that asked will ask again: \(error)")
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

    /// The connector's `refresh-credentials` here, and the result stored on the connection;
    /// credentials refreshed before but not stored are stored now instead (the refresh token
    /// they came from is spent).
    private func refreshHere(_ record: ConnectionRecord, previous: JSONValue, logMetadata: [String: String]) async throws -> JSONValue {
        if let stored = try await storeKept(record.id, previous: previous) { return stored }
        var merged = try record.openedConnectorParameters(vault)
        if let connectorParameters {
            // The connection's own connector parameters win over the workspace's.
            merged = try connectorParameters.merged(merged, connectorKey: record.connectorKey)
        }
        let fresh = try await runtime.refreshCredentials(
            connectorKey: record.connectorKey, credentials: previous, connectorParameters: merged, logMetadata: logMetadata)
        memory.withLock { $0.unstored[record.id] = (previous, fresh) }
        return try await store(fresh, replacing: previous, of: record.id)
    }

    /// Stores refreshed credentials on their connection, sealed — only while the connection
    /// still holds the credentials the refresh started from (read up to date just before the
    /// write): not over credentials a PATCH put there, not for a connection deleted since.
    /// Returns the credentials to use: the refreshed ones once stored, or the ones a PATCH put
    /// there.
    ///
    /// - Throws: ``APIError`` `CREDENTIALS_REFRESHING` when the write failed: the credentials
    ///   stay kept for the next attempt; ``ConnectorMethodError`` when the connection is gone.
    private func store(_ fresh: JSONValue, replacing previous: JSONValue, of connectionId: String) async throws -> JSONValue {
        let record: ConnectionRecord?
        do {
            try await connections.sync(timeout: .seconds(5))
            record = connections[connectionId]
        } catch {
            throw notStoredYet(connectionId, error)
        }
        guard var record, record.archivedAt == nil else {
            logger.info("refreshed credentials of connection \(connectionId) are not stored: the connection no longer exists")
            memory.withLock { _ = $0.unstored.removeValue(forKey: connectionId) }
            throw ConnectorMethodError(code: "unknown-connection", message: "connection \(connectionId) was deleted while its credentials were refreshed", file: "")
        }
        let current = try record.openedCredentials(vault)
        guard current == previous else {
            logger.warning("refreshed credentials of connection \(connectionId) are not stored: its credentials were replaced since the refresh began; using those")
            memory.withLock { _ = $0.unstored.removeValue(forKey: connectionId) }
            return current
        }
        do {
            record.credentials = try ConnectionRecord.sealedCredentials(fresh, connectionId: connectionId, vault: vault)
            record.updatedAt = Date()
            try await writeConnection(record)
        } catch {
            throw notStoredYet(connectionId, error)
        }
        memory.withLock { _ = $0.unstored.removeValue(forKey: connectionId) }
        logger.info("stored the refreshed credentials of connection \(connectionId)")
        return fresh
    }

    /// Logs that refreshed credentials could not be stored (they stay kept); the transient
    /// error that makes the method run again.
    private func notStoredYet(_ connectionId: String, _ error: any Error) -> APIError {
        logger.error("the refreshed credentials of connection \(connectionId) could not be stored (\(error)); they are kept and written again on the next attempt")
        return APIError(code: APIError.credentialsRefreshing, message: "the refreshed credentials of connection \(connectionId) could not be stored yet (\(error)); the method runs again")
    }

    /// Credentials refreshed here from `previous` and not stored yet, stored now (that spends
    /// no token); `nil` when none are kept for them.
    private func storeKept(_ connectionId: String, previous: JSONValue) async throws -> JSONValue? {
        guard let kept = memory.withLock({ $0.unstored[connectionId] }), kept.previous == previous else { return nil }
        return try await store(kept.fresh, replacing: previous, of: connectionId)
    }

    /// Asks the owning handler to refresh (once per ``Configuration/askAgainAfter``), then
    /// watches the table a little for other credentials.
    private func askOwner(_ record: ConnectionRecord, previous: JSONValue) async throws -> JSONValue {
        let connectionId = record.id
        let digest = digest(of: previous, connectionId: connectionId)
        let now = ContinuousClock.now
        let ask = memory.withLock { memory in
            if let last = memory.asked[connectionId], last.digest == digest, now - last.at < configuration.askAgainAfter { return false }
            memory.asked[connectionId] = (digest, now)
            return true
        }
        if ask {
            let command = Command.refreshCredentials(of: connectionId, digest: digest)
            do {
                try await sendCommand(KafkaRecord(topic: topics.commands, key: connectionId, value: command.encoded()))
            } catch {
                memory.withLock { _ = $0.asked.removeValue(forKey: connectionId) }
                throw error
            }
            logger.info("asked the handler owning partition \(partition(of: connectionId)) of \(topics.commands) to refresh the credentials of connection \(connectionId)")
        }
        // The table follows the topic by itself: read it, without a request each time.
        let deadline = ContinuousClock.now + configuration.waitForOwner
        while ContinuousClock.now < deadline {
            if let fresh = changedCredentials(connectionId, from: previous) { return fresh }
            try await Task.sleep(for: configuration.pollInterval)
        }
        try? await connections.sync(timeout: .seconds(1))
        if let fresh = changedCredentials(connectionId, from: previous) { return fresh }
        throw APIError(
            code: APIError.credentialsRefreshing,
            message: "the credentials of connection \(connectionId) expired and the handler owning partition \(partition(of: connectionId)) of \(topics.commands) is refreshing them; the method runs again when they are stored (if it keeps failing, see that handler's log)")
    }

    /// The connection's credentials when they differ from `previous` (refreshed or replaced).
    private func changedCredentials(_ connectionId: String, from previous: JSONValue) -> JSONValue? {
        guard let stored = connections[connectionId], stored.archivedAt == nil, let current = try? stored.openedCredentials(vault), current != previous else { return nil }
        return current
    }
}

/// The partition numbers of `commands` a credential refresher is assigned, read by the lanes
/// that need to know whether a connection is theirs to refresh.
private final class OwnedPartitions: Sendable {
    private let partitions = Mutex<Set<Int32>>([])

    func add(_ assigned: Set<Int32>) { partitions.withLock { $0.formUnion(assigned) } }
    func remove(_ revoked: Set<Int32>) { partitions.withLock { $0.subtract(revoked) } }
    func contains(_ partition: Int32) -> Bool { partitions.withLock { $0.contains(partition) } }
    var all: Set<Int32> { partitions.withLock { $0 } }
}
