import Foundation
import InletJSON
import Testing

@testable import InletPipeline

@Suite("Secrets at rest: sealed, bound records and key rotation")
struct SealedRecordsTests {
    static let oldKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    static let newKey = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
    static let state: JSONValue = ["hookId": 42, "secret": "whsec-do-not-leak"]

    static func subscription(_ id: String = "sub_1", state: JSONValue? = Self.state) -> SubscriptionRecord {
        var record = MessageSamples.subscription
        record.id = id
        record.state = state
        return record
    }

    @Test("a subscription's state goes onto the topic sealed and bound to it: no clear text, it opens for that subscription only")
    func stateIsSealedAndBound() throws {
        let vault = try CredentialVault(strictSecret: Self.newKey)
        let written = try Self.subscription().forTopic(vault)
        let bytes = written.encoded()
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("whsec-do-not-leak") && !text.contains("hookId"), "the state is not on the topic in clear text")
        let read = try SubscriptionRecord.decoded(from: bytes)
        #expect(read.state == nil && read.sealedState?.bound == true && read.sealedState?.keyId == vault.keyId)
        #expect(try read.openedState(vault) == Self.state)

        // The same sealed state copied into another subscription's record does not open.
        var other = Self.subscription("sub_2", state: nil)
        other.sealedState = read.sealedState
        let error = #expect(throws: VaultError.self) { try other.openedState(vault) }
        #expect(error?.message.contains("sub_2") == true)
    }

    @Test("a connection's credentials and connector parameters are sealed and bound; copied into another connection they do not open")
    func connectionIsSealedAndBound() throws {
        let vault = try CredentialVault(strictSecret: Self.newKey)
        let parameters: JSONValue = ["clientId": "app", "clientSecret": "cs-do-not-leak"]
        let record = try ConnectionRecord.sealing(
            id: "con_1", connectorKey: "msgraph", customerId: "cus_1", name: nil, credentials: ["refreshToken": "rt-do-not-leak"],
            connectorParameters: parameters, vault: vault, at: Date())
        let text = String(decoding: record.encoded(), as: UTF8.self)
        #expect(!text.contains("do-not-leak"))
        let read = try ConnectionRecord.decoded(from: record.encoded())
        #expect(try read.openedCredentials(vault) == ["refreshToken": "rt-do-not-leak"])
        #expect(try read.openedConnectorParameters(vault) == parameters)

        var copied = try ConnectionRecord.sealing(
            id: "con_2", connectorKey: "msgraph", customerId: "cus_2", name: nil, credentials: [:], connectorParameters: nil, vault: vault, at: Date())
        copied.credentials = read.credentials
        copied.sealedConnectorParameters = read.sealedConnectorParameters
        #expect(throws: VaultError.self) { try copied.openedCredentials(vault) }
        #expect(throws: VaultError.self) { try copied.openedConnectorParameters(vault) }
    }

    @Test("records in the previous format still read: state and connector parameters in clear text, credentials sealed unbound")
    func previousFormatReads() throws {
        let vault = try CredentialVault(strictSecret: Self.newKey)
        // As a version before sealed records wrote them.
        var legacySubscription = MessageSamples.subscription
        legacySubscription.state = Self.state
        let legacyBytes = legacySubscription.encoded()
        let subscription = try SubscriptionRecord.decoded(from: legacyBytes)
        #expect(try subscription.openedState(vault) == Self.state)
        // Written again by this version: sealed.
        let rewritten = try subscription.forTopic(vault)
        #expect(rewritten.state == nil && rewritten.sealedState != nil)
        #expect(try rewritten.openedState(vault) == Self.state)

        let legacyConnection = ConnectionRecord(
            id: "con_1", connectorKey: "github", customerId: "cus_1", credentials: try vault.seal(["token": "t"]), connectorParameters: ["region": "eu"],
            createdAt: Date(), updatedAt: Date())
        let connection = try ConnectionRecord.decoded(from: legacyConnection.encoded())
        #expect(try connection.openedCredentials(vault) == ["token": "t"])
        #expect(try connection.openedConnectorParameters(vault) == ["region": "eu"])
    }

    @Test("INLET_RECORD_SEALING=compatible writes what the previous version reads: state in clear text, also when it was sealed")
    func compatibleModeForRollingUpgrades() throws {
        var vault = try CredentialVault(strictSecret: Self.newKey)
        let sealed = try Self.subscription().forTopic(vault)
        vault.sealsRecords = false
        let written = try SubscriptionRecord.decoded(from: sealed.encoded()).forTopic(vault)
        let document = try JSONValue(parsing: written.encoded())
        #expect(document["state"] == Self.state)
        #expect(document["sealedState"] == nil)
        let connection = try ConnectionRecord.sealing(
            id: "con_1", connectorKey: "github", customerId: "cus_1", name: nil, credentials: ["token": "t"], connectorParameters: ["region": "eu"],
            vault: vault, at: Date())
        let connectionDocument = try JSONValue(parsing: connection.encoded())
        #expect(connectionDocument["connectorParameters"] == ["region": "eu"])
        #expect(connectionDocument["credentials"]?["bound"] == nil)
        // What the previous version does to open credentials: no associated data.
        #expect(try vault.open(connection.credentials) == ["token": "t"])
    }

    @Test("key rotation: with INLET_SECRET_KEYS=new,old both open, new values are sealed with the new key, and state sealed with the old one is sealed again when written")
    func keyRotation() throws {
        let old = try CredentialVault(strictSecret: Self.oldKey)
        let sealedWithOld = try SubscriptionRecord.decoded(from: try Self.subscription().forTopic(old).encoded())
        #expect(sealedWithOld.sealedState?.keyId == old.keyId)

        let ring = try CredentialVault(ring: [Self.newKey, Self.oldKey], strict: true)
        #expect(ring.keyId == (try CredentialVault(strictSecret: Self.newKey)).keyId)
        #expect(ring.keyIds == [ring.keyId, old.keyId])
        #expect(try sealedWithOld.openedState(ring) == Self.state)
        let rewritten = try sealedWithOld.forTopic(ring)
        #expect(rewritten.sealedState?.keyId == ring.keyId)
        #expect(try rewritten.openedState(ring) == Self.state)

        // Once the old key is dropped, what it sealed is reported by key, not as corrupt data.
        let newOnly = try CredentialVault(strictSecret: Self.newKey)
        let error = #expect(throws: VaultError.self) { try sealedWithOld.openedState(newOnly) }
        #expect(error?.message.contains(old.keyId) == true)
        #expect(error?.message.contains("INLET_SECRET_KEYS") == true)
        #expect(try rewritten.openedState(newOnly) == Self.state)
    }

    @Test("after a key rotation the handlers write every connection, subscription and connector parameter record again with the new key, so the old one can leave the ring")
    func rotationSweep() async throws {
        let pipeline = try TestPipeline(workspace: try TestPipeline.fixtureWorkspace("rotating-tokens")) { $0.resealInterval = .milliseconds(500) }
        let helpers = WebhookEndToEndTests()
        let harness = pipeline.harness
        try await pipeline.run { client in
            let (_, connection) = try await helpers.admin(client, .post, "/api/v1/connections", [
                "connectorKey": "rotating", "customerId": "acme", "credentials": ["access_token": "at-0", "refresh_token": "rt-1"],
                "connectorParameters": ["tenant": "t1"],
            ])
            let connectionId = try #require(connection["id"]?.stringValue)
            let subscription = try await helpers.subscribed(
                client, ["connectionId": .string(connectionId), "eventKey": "profile", "parameters": ["apiKey": "key_rotation", "plan": "paid"]])
            let subscriptionId = try #require(subscription["id"]?.stringValue)
            let (put, _) = try await helpers.admin(client, .put, "/api/v1/connectors/rotating/parameters", ["region": "eu"])
            #expect(put == .ok)

            // Rotation: the handlers now seal with a new key and still open the old one.
            await pipeline.stopHandlers()
            let newKey = "rotated-test-pipeline-key"
            pipeline.startHandler(vault: try CredentialVault(ring: [newKey, "test-pipeline-key"], strict: false))
            let newOnly = CredentialVault(secret: newKey)
            try await eventually(timeout: .seconds(60)) {
                try await harness.subscriptions.sync()
                try await pipeline.connections.sync()
                try await pipeline.connectorParameters.sync()
                guard let stored = pipeline.connections[connectionId], let record = harness.subscriptions[subscriptionId],
                    let parameters = pipeline.connectorParameters.record(for: "rotating")
                else { return false }
                return stored.credentials.keyId == newOnly.keyId && stored.sealedConnectorParameters?.keyId == newOnly.keyId
                    && record.sealedState?.keyId == newOnly.keyId && record.config.sealedParameters?.keyId == newOnly.keyId
                    && parameters.parameters.keyId == newOnly.keyId
            }
            // Everything opens without the old key.
            let stored = try #require(pipeline.connections[connectionId])
            #expect(try stored.openedCredentials(newOnly) == ["access_token": "at-0", "refresh_token": "rt-1"])
            #expect(try stored.openedConnectorParameters(newOnly) == ["tenant": "t1"])
            let record = try #require(harness.subscriptions[subscriptionId])
            #expect(try record.openedState(newOnly) == ["user": "octocat"])
            #expect(try record.config.openedParameters(newOnly, subscriptionId: subscriptionId)["apiKey"] == "key_rotation")
            let parameters = try #require(pipeline.connectorParameters.record(for: "rotating"))
            #expect(try newOnly.open(parameters.parameters, boundTo: ConnectorParametersRecord.binding(connectorKey: "rotating")) == ["region": "eu"])
        }
    }

    @Test("secret parameters are sealed and bound to the subscription; the rest stay readable; compatible mode opens them again")
    func secretParametersAreSealed() throws {
        var vault = try CredentialVault(strictSecret: Self.newKey)
        let parameters: JSONValue = ["owner": "octo", "repo": "hello", "secret": "whsec-param-do-not-leak"]
        let config = try SubscriptionRecord.Config(parameters: parameters)
            .sealing(redacted: ["owner": "octo", "repo": "hello"], vault: vault, subscriptionId: "sub_1")
        var record = Self.subscription(state: nil)
        record.config = config
        let bytes = try record.forTopic(vault).encoded()
        #expect(!String(decoding: bytes, as: UTF8.self).contains("do-not-leak"))
        let read = try SubscriptionRecord.decoded(from: bytes)
        #expect(read.config.parameters == ["owner": "octo", "repo": "hello"])
        #expect(try read.config.openedParameters(vault, subscriptionId: "sub_1") == parameters)
        #expect(throws: VaultError.self) { try read.config.openedParameters(vault, subscriptionId: "sub_2") }
        // Nothing secret: nothing sealed.
        let plain = try SubscriptionRecord.Config(parameters: ["owner": "octo"]).sealing(redacted: ["owner": "octo"], vault: vault, subscriptionId: "sub_1")
        #expect(plain.sealedParameters == nil)

        vault.sealsRecords = false
        let compatible = try JSONValue(parsing: try read.forTopic(vault).encoded())
        #expect(compatible["config"]?["parameters"] == parameters)
        #expect(compatible["config"]?["sealedParameters"] == nil)
    }

    @Test("an unbound sealed value (credentials) copied into a subscription's state does not open; a record whose state does not open is still written as it is")
    func unboundCopiesAreRefused() throws {
        let vault = try CredentialVault(strictSecret: Self.newKey)
        var record = Self.subscription(state: nil)
        record.sealedState = try vault.seal(["token": "stolen"])
        let error = #expect(throws: VaultError.self) { try record.openedState(vault) }
        #expect(error?.message.contains("not bound") == true)
        // Sealed under a key this process lacks: writing the record keeps it unchanged instead
        // of failing the whole batch.
        var foreign = Self.subscription(state: nil)
        foreign.sealedState = try Self.subscription(state: Self.state).forTopic(try CredentialVault(strictSecret: Self.oldKey)).sealedState
        #expect(try foreign.forTopic(vault).sealedState == foreign.sealedState)
    }

    @Test("every entry of INLET_SECRET_KEYS must be a real key outside inlet dev")
    func strictRing() throws {
        let error = #expect(throws: VaultError.self) { try CredentialVault(ring: [Self.newKey, "a passphrase"], strict: true) }
        #expect(error?.message.contains("entry 2") == true)
        #expect(throws: VaultError.self) { try CredentialVault(ring: [" ", ""], strict: true) }
        #expect(try CredentialVault(ring: ["a passphrase"], strict: false).keyIds.count == 1)
    }

    @Test("customer tokens signed before a key rotation stay valid while the old key is in the ring")
    func customerTokensSurviveRotation() async throws {
        let customer = CustomerRecord(id: "cus_1", name: "Acme", fields: [:], createdAt: Date(), updatedAt: Date())
        let old = CustomerTokens(vault: try CredentialVault(strictSecret: Self.oldKey))
        let token = try await old.issue(for: customer, lifetime: .seconds(600)).token
        let rotated = CustomerTokens(vault: try CredentialVault(ring: [Self.newKey, Self.oldKey], strict: true))
        #expect(try await rotated.verify(token).sub.value == "cus_1")
        let newOnly = CustomerTokens(vault: try CredentialVault(strictSecret: Self.newKey))
        await #expect(throws: CustomerTokens.Refused.self) { try await newOnly.verify(token) }
    }
}
