import Foundation
import InletConnectors
import InletPipeline
import Testing

/// Realistic sample values for every message type, shared by the round-trip and schema tests.
enum MessageSamples {
    /// 2026-11-25T09:35:31.123Z
    static let receivedAt = Date(epochMilliseconds: 1_795_599_331_123)
    static let later = Date(epochMilliseconds: 1_795_599_332_456)

    static let rawRequest = RawRequest(
        requestId: "5b0f2a5e-8c1d-4c55-9a43-2f1f7f0e9a10",
        receivedAt: receivedAt,
        method: "POST",
        path: "/webhooks/s/wht_6Jq2mV9xQe3LrT8b",
        rawQuery: "delivery=1&tag=a&tag=b%20c",
        headers: [
            "content-type": "application/json",
            "x-github-event": "issues",
            "x-hub-signature-256": "sha256=1f3a9b",
            "accept": "application/json, text/plain",
        ],
        body: Data(#"{"action":"opened","issue":{"id":1347,"title":"Found a bug"}}"#.utf8),
        replyExpected: true,
        subscriptionId: "sub_01JD9ZQ4",
        remoteAddress: "140.82.115.7")

    static let globalRawRequest = RawRequest(
        requestId: "0f8e1f2a-7b3c-4d5e-8f90-a1b2c3d4e5f6",
        receivedAt: receivedAt,
        method: "POST",
        path: "/webhooks/global/slack/app",
        headers: ["content-type": "application/x-www-form-urlencoded"],
        body: Data([0x70, 0x61, 0x79, 0x6c, 0x6f, 0x61, 0x64, 0x3d, 0xff, 0x00]),
        connectorKey: "slack",
        globalWebhookKey: "app")

    static let routedGlobalEvent = RoutedGlobalEvent(
        subscriptionId: "sub_01JD9ZQ4", connectorKey: "slack", globalWebhookKey: "events", selector: "T0001",
        payload: ["teamId": "T0001", "event": ["type": "message", "channel": "C1", "ts": "1700000000.000100", "text": "hi"]],
        source: .init(topic: "inlet.ingress.global", partition: 3, offset: 1207, index: 0),
        receivedAt: receivedAt, requestId: "0f8e1f2a-7b3c-4d5e-8f90-a1b2c3d4e5f6")

    static let globalWebhookRecord = GlobalWebhookRecord(
        connectorKey: "slack", key: "events", token: "q3V1cmwtdG9rZW4tZm9yLXRoZS1zbGFjay1ldmVudHM", createdAt: receivedAt)

    static let appEvent = AppEventMessage(
        type: "order-placed",
        customerId: "cus_42",
        payload: ["orderId": "ord_9001", "total": 129.5, "items": 3, "gift": false],
        receivedAt: receivedAt,
        requestId: "7a1c9d3e-2b4f-4a6e-9c8d-1e2f3a4b5c6d",
        id: "evt_2026_11_25_0001")

    static let newSubscription = Command.NewSubscription(
        connectionId: "con_github_acme",
        customerId: "cus_42",
        connectorKey: "github",
        target: .event(eventKey: "issue-created"),
        config: .init(parameters: ["repository": "acme/inlet"]),
        webhookToken: "wht_9f2c41d0b7e84a6f8a1c")

    static let command = Command(
        commandId: "c2a4e6f8-1b3d-4f5a-8c7e-9d0b1a2c3e4f",
        type: .subscribe,
        subscriptionId: "sub_01JD9ZQ4",
        issuedAt: receivedAt,
        requestId: "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
        subscription: newSubscription)

    static let refreshCredentialsCommand = Command.refreshCredentials(
        of: "con_github_acme", digest: "5f0c2a9e7d4b1c3a8e6f0d2b4a9c7e1f", issuedAt: receivedAt)

    static let subscription = SubscriptionRecord(
        id: "sub_01JD9ZQ4",
        status: .active,
        connectionId: "con_github_acme",
        customerId: "cus_42",
        connectorKey: "github",
        target: .collection(collectionKey: "issues", collectionEvent: .updated),
        config: .init(parameters: ["repository": "acme/inlet", "labels": ["bug", "p1"]], ignoredFields: ["fields.url"]),
        state: ["webhookId": 98_765_432, "secret": "whsec_x"],
        webhookToken: "wht_6Jq2mV9xQe3LrT8b",
        webhookUri: "https://inlet.example.com/webhooks/s/wht_6Jq2mV9xQe3LrT8b",
        nextRefreshTimestamp: 1_795_685_731_123,
        nextPullEventsTimestamp: 1_795_599_631_123,
        pullUpdatesIntervalSeconds: 300,
        fullSyncIntervalSeconds: 86_400,
        error: .init(message: "GitHub answered 502", code: "http-502", at: receivedAt),
        pullState: .init(cursor: "Y3Vyc29yOjQy", lastPulledAt: receivedAt, snapshotDigest: "ab12cd34", snapshotChunks: 2),
        createdAt: receivedAt,
        updatedAt: later,
        appliedOffsets: ["inlet.ingress:3": 1042, "inlet.commands:3": 17])

    static let connection = ConnectionRecord(
        id: "con_github_acme",
        connectorKey: "github",
        customerId: "cus_42",
        name: "Acme's GitHub",
        credentials: .init(keyId: "2026-01", sealed: Data((0..<44).map { UInt8($0 &* 37 & 0xff) })),
        connectorParameters: ["baseUri": "https://api.github.com"],
        createdAt: receivedAt,
        updatedAt: later)

    static let connectorParameters = ConnectorParametersRecord(
        connectorKey: "slack", parameters: .init(keyId: "2026-01", sealed: Data((0..<60).map { UInt8($0 &* 41 & 0xff) })), updatedAt: later)

    static let customer = CustomerRecord(
        id: "cus_42", name: "Acme Inc.", fields: ["plan": "team", "region": "eu"], createdAt: receivedAt, updatedAt: later)

    static let scanSnapshotChunk = ScanSnapshotChunk(
        subscriptionId: "sub_01JD9ZQ5", snapshot: "5e0a3c1d9b2f4e67", chunk: 1, chunks: 3,
        entries: ["proj-1": "00c0ffee00c0ffee", "proj-2": "8badf00d8badf00d", "é/\"quoted\"": "0123456789abcdef"])

    static let appEventSubscription = AppEventSubscriptionRecord(
        customerId: "cus_42", appEventKey: "order-placed", webhookToken: "q8Vb2c9Qw-3yKf0x1ZPl7o5H4tRj6Uc", status: .active,
        subscribe: .init(method: "POST", uri: "/webhooks", status: 201, response: #"{"id":"wh_9"}"#, at: receivedAt),
        createdAt: receivedAt, updatedAt: later)

    static let recordEvent = RecordEvent(
        subscriptionId: "sub_01JD9ZQ4",
        customerId: "cus_42",
        connectorKey: "github",
        target: .event(eventKey: "issue-created"),
        type: .created,
        record: ["id": "1347", "name": "Found a bug", "fields": ["state": "open", "labels": ["bug"]]],
        source: .init(topic: "inlet.ingress", partition: 3, offset: 1042, index: 0),
        occurredAt: receivedAt,
        requestId: "5b0f2a5e-8c1d-4c55-9a43-2f1f7f0e9a10")

    static let normalizedEvent = NormalizedEvent(recordEvent)

    static let reply = Reply(
        requestId: "5b0f2a5e-8c1d-4c55-9a43-2f1f7f0e9a10",
        status: 200,
        headers: ["x-hook-secret": "abc123"],
        body: Data(#"{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#.utf8),
        contentType: "application/json",
        createdAt: later)

    static let deadLetter = DeadLetter(
        failedAt: later,
        stage: .handler,
        reason: .init(
            code: .handleError,
            message: "Invalid webhook signature",
            details: ["method": "handle", "line": 12]),
        original: .init(
            topic: "inlet.ingress",
            partition: 3,
            offset: 1042,
            key: "sub_01JD9ZQ4",
            headers: [.init(key: "traceparent", text: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), .init(key: "empty", value: nil)],
            value: MessageCodec.encode(rawRequest),
            timestamp: receivedAt),
        subscriptionId: "sub_01JD9ZQ4",
        connectorKey: "github")

    /// One or more samples per message type, type-erased.
    static let auditRecord = AuditRecord(
        id: "9d7c1f0e-2b3a-4c5d-8e6f-0a1b2c3d4e5f", phase: .completed, at: later, actor: "deploy-bot", scope: "admin",
        method: "POST", path: "/api/v1/subscriptions", status: 201
    )

    static let all: [any TopicMessage] = [
        rawRequest, globalRawRequest, routedGlobalEvent, appEvent, command, refreshCredentialsCommand, subscription, connection, globalWebhookRecord, connectorParameters, customer, scanSnapshotChunk, appEventSubscription, recordEvent,
        normalizedEvent, reply, deadLetter, auditRecord,
    ]
}

@Suite("Message samples")
struct MessagesSamplesTests {
    @Test("every message type has at least one sample")
    func everyTypeHasASample() {
        let sampled = Set(MessageSamples.all.map { ObjectIdentifier(type(of: $0)) })
        for messageType in TopicMessages.all {
            #expect(sampled.contains(ObjectIdentifier(messageType)), "no sample for \(messageType)")
        }
    }
}
