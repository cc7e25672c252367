import Crypto
import Foundation
import Testing

@testable import InletConnectors

/// connectors/slack: one Events API endpoint (global webhook) routed by team id.
@Suite("Example connector: Slack Events API")
struct ExampleConnectorSlackTests {
    static let signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"
    let subscription = MethodContext(connectorKey: "slack", owner: .event("message-posted"), parameters: ["teamId": "T0001"])

    /// An Events API request signed the way Slack signs it (v0, timestamp now).
    static func request(_ body: JSONValue, secret: String = Self.signingSecret, timestamp: Int = Int(Date().timeIntervalSince1970)) -> WebhookRequest {
        let raw = body.serialized()
        let base = Data("v0:\(timestamp):".utf8) + raw
        let mac = HMAC<SHA256>.authenticationCode(for: base, using: SymmetricKey(data: Data(secret.utf8)))
        return WebhookRequest(method: "POST", path: "/global/slack/events",
                              headers: ["Content-Type": "application/json", "X-Slack-Request-Timestamp": String(timestamp),
                                        "X-Slack-Signature": "v0=" + mac.map { String(format: "%02x", $0) }.joined()],
                              rawBody: raw)
    }

    static func message(_ event: JSONValue, team: String = "T0001") -> JSONValue {
        ["type": "event_callback", "team_id": .string(team), "api_app_id": "A1", "event_id": "Ev1", "event_time": 1_700_000_000, "event": event]
    }

    static let parameters: JSONValue = ["signingSecret": .string(signingSecret)]

    @Test("url_verification is answered with the challenge through response")
    func challenge() async throws {
        let api = try await StubAPIServer.start()
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)
        let result = try await runtime.handleGlobalWebhook(
            connectorKey: "slack", globalWebhookKey: "events",
            request: Self.request(["type": "url_verification", "token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"]),
            connectorParameters: Self.parameters)
        #expect(result.events.isEmpty)
        let response = try #require(result.response)
        #expect(response.status == 200)
        #expect(response.contentType == "application/json")
        #expect(try JSONValue(parsing: response.body) == ["challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"])
    }

    @Test("event_callback is routed by team_id, matching the selector getEventSelector computes")
    func routing() async throws {
        let api = try await StubAPIServer.start()
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)
        let posted: JSONValue = ["type": "message", "channel": "C1", "user": "U1", "text": "Hello, world", "ts": "1700000000.000100"]
        let routed = try await runtime.handleGlobalWebhook(connectorKey: "slack", globalWebhookKey: "events", request: Self.request(Self.message(posted)),
                                                           connectorParameters: Self.parameters)
        let global = try #require(routed.events.first)
        #expect(routed.events.count == 1)
        #expect(global.selector == "T0001")
        #expect(global.payload["event"] == posted)
        #expect(routed.response == nil)

        let selector = try await runtime.eventSelector(subscription)
        #expect(selector == EventSelector(globalWebhookKey: "events", selector: "T0001"))

        let handled = try await runtime.handlePayload(subscription, payload: global.payload)
        let event = try #require(handled.events.first)
        #expect(event.type == "created")
        #expect(event.record["id"] == "C1:1700000000.000100")
        #expect(event.record["fields"]?["text"] == "Hello, world")
        #expect(event.record["createdTime"] == "2023-11-14T22:13:20.000Z")
    }

    @Test("edits and deletions become updated and deleted; other event types and other channels give nothing")
    func messageSubtypes() async throws {
        let api = try await StubAPIServer.start()
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)
        let changed: JSONValue = ["teamId": "T0001", "event": ["type": "message", "subtype": "message_changed", "channel": "C1",
                                                                 "message": ["ts": "1700000000.000100", "text": "Hello, edited", "user": "U1"], "ts": "1700000100.000000"]]
        #expect(try await runtime.handlePayload(subscription, payload: changed).events.map(\.type) == ["updated"])
        let deleted: JSONValue = ["teamId": "T0001", "event": ["type": "message", "subtype": "message_deleted", "channel": "C1",
                                                                 "deleted_ts": "1700000000.000100", "ts": "1700000200.000000"]]
        let gone = try await runtime.handlePayload(subscription, payload: deleted)
        #expect(gone.events.map(\.type) == ["deleted"])
        #expect(gone.events.first?.record["id"] == "C1:1700000000.000100")
        let reaction: JSONValue = ["teamId": "T0001", "event": ["type": "reaction_added", "reaction": "thumbsup"]]
        #expect(try await runtime.handlePayload(subscription, payload: reaction).events.isEmpty)

        var oneChannel = subscription
        oneChannel.parameters = ["teamId": "T0001", "channelId": "C2"]
        let elsewhere: JSONValue = ["event": ["type": "message", "channel": "C1", "text": "hi", "ts": "1.0"]]
        #expect(try await runtime.handlePayload(oneChannel, payload: elsewhere).events.isEmpty)
    }

    @Test("a request not signed with the signing secret, or too old, is refused")
    func signature() async throws {
        let api = try await StubAPIServer.start()
        defer { Task { await api.stop() } }
        let runtime = try RuntimeFixtures.exampleRuntime(api: api)
        let body = Self.message(["type": "message", "channel": "C1", "text": "hi", "ts": "1.0"])
        let forged = await connectorError {
            _ = try await runtime.handleGlobalWebhook(connectorKey: "slack", globalWebhookKey: "events",
                                                      request: Self.request(body, secret: "wrong"), connectorParameters: Self.parameters)
        }
        #expect(forged?.code == "handle-error")
        #expect(forged?.file == "connectors/slack/global-webhooks/events/handle.js")
        let replayed = await connectorError {
            _ = try await runtime.handleGlobalWebhook(connectorKey: "slack", globalWebhookKey: "events",
                                                      request: Self.request(body, timestamp: Int(Date().timeIntervalSince1970) - 3600),
                                                      connectorParameters: Self.parameters)
        }
        #expect(replayed?.message.contains("older than five minutes") == true)
    }
}
