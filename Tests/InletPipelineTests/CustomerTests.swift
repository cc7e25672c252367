import Foundation
import HTTPTypes
import HummingbirdTesting
import InletConnectors
import InletJSON
import InletKafka
import InletPipeline
import NIOCore
import Testing

/// Customer tokens: HS256 JWTs with a key derived from the secret key.
@Suite("Customer tokens")
struct CustomerTokenTests {
    let customer = CustomerRecord(id: "cus_42", name: "Acme", fields: ["plan": "team"], createdAt: Date(), updatedAt: Date())

    @Test("a token names its customer and kid, verifies under the same secret key, and not under another or once expired or altered")
    func roundTrip() async throws {
        let tokens = CustomerTokens(vault: CredentialVault(secret: "one secret key for the tokens test"))
        let issued = try await tokens.issue(for: customer, lifetime: .seconds(3600))
        let claims = try await tokens.verify(issued.token)
        #expect(claims.sub.value == "cus_42")
        #expect(claims.name == "Acme")
        #expect(claims.fields == ["plan": "team"])
        let header = try #require(Data(base64Encoded: Self.padded(String(issued.token.split(separator: ".")[0]))))
        let kid = try JSONValue(parsing: header)["kid"]?.stringValue
        #expect(kid?.hasPrefix("ct-") == true)

        let other = CustomerTokens(vault: CredentialVault(secret: "another secret key entirely"))
        await #expect(throws: CustomerTokens.Refused.self) { _ = try await other.verify(issued.token) }
        let expired = try await tokens.issue(for: customer, lifetime: .seconds(60), now: Date().addingTimeInterval(-120))
        await #expect(throws: CustomerTokens.Refused.self) { _ = try await tokens.verify(expired.token) }
        // The same signature over claims naming another customer.
        var parts = issued.token.split(separator: ".").map(String.init)
        let payload = try #require(Data(base64Encoded: Self.padded(parts[1])))
        let forged = String(decoding: payload, as: UTF8.self).replacingOccurrences(of: "cus_42", with: "cus_43")
        parts[1] = Data(forged.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        await #expect(throws: CustomerTokens.Refused.self) { _ = try await tokens.verify(parts.joined(separator: ".")) }
    }

    static func padded(_ base64url: String) -> String {
        var text = base64url.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return text
    }
}

/// `/api/v1/customers` and app events sent with a customer token, through the pipeline.
@Suite("Customers and customer tokens", .timeLimit(.minutes(5)))
struct CustomerPipelineTests {
    let helpers = WebhookEndToEndTests()

    @Test("customers: create, read, change, list, delete; a token sends that customer's app events only, and stops working once the customer is deleted")
    func customersAndTokens() async throws {
        let pipeline = try TestPipeline(workspace: try TestPipeline.fixtureWorkspace("app-events"), appKey: IngressHarness.appKey)
        try await pipeline.run { client in
            let (created, customer) = try await helpers.admin(client, .post, "/api/v1/customers", ["id": "acme", "name": "Acme", "fields": ["plan": "team"]])
            #expect(created == .created, "\(customer)")
            let (again, _) = try await helpers.admin(client, .post, "/api/v1/customers", ["id": "acme"])
            #expect(again == .conflict)
            // An admin body over its 1 MiB limit is 413 with a problem body, not a 500.
            let (tooLarge, problem) = try await helpers.admin(client, .post, "/api/v1/customers", ["id": "big", "fields": ["blob": .string(String(repeating: "x", count: 1_100_000))]])
            #expect(tooLarge == .contentTooLarge, "\(problem)")
            let (patched, changed) = try await helpers.admin(client, .patch, "/api/v1/customers/acme", ["fields": ["plan": "enterprise"]])
            #expect(patched == .ok)
            #expect(changed["fields"] == ["plan": "enterprise"])
            #expect(changed["name"] == "Acme")
            // Created through another replica: written to the topic, not yet read here.
            let elsewhere = CustomerRecord(id: "globex", name: "Globex", createdAt: Date(), updatedAt: Date())
            _ = try await pipeline.harness.producer.sendAll([KafkaRecord(topic: pipeline.harness.topics.customers, key: elsewhere.id, value: elsewhere.encoded())])
            let (found, globex) = try await helpers.admin(client, .get, "/api/v1/customers/globex")
            #expect(found == .ok, "a customer written by another replica is found at once: \(globex)")
            _ = try await helpers.admin(client, .delete, "/api/v1/customers/globex")
            let (_, listed) = try await helpers.admin(client, .get, "/api/v1/customers")
            #expect(listed["customers"]?.arrayValue?.map { $0["id"] } == ["acme"])

            let (issued, token) = try await helpers.admin(client, .post, "/api/v1/customers/acme/token", ["expiresInSeconds": 600])
            #expect(issued == .created)
            let jwt = try #require(token["token"]?.stringValue)
            let (unknown, _) = try await helpers.admin(client, .post, "/api/v1/customers/nobody/token")
            #expect(unknown == .notFound)

            // The token's customer owns every event, whatever the event says.
            let order = #"{"eventId":"e-1","orderId":"o-1","customerId":"someone-else","total":5}"#
            var headers: HTTPFields = [.contentType: "application/json", .authorization: "Bearer \(jwt)"]
            try await client.execute(uri: "/app-events/order-created", method: .post, headers: headers, body: ByteBuffer(string: order)) { response in
                #expect(response.status == .ok)
            }
            headers[.init("X-Inlet-Customer-Id")!] = "globex"
            try await client.execute(uri: "/app-events/order-created", method: .post, headers: headers, body: ByteBuffer(string: order)) { response in
                #expect(response.status == .forbidden)
            }
            let forged = jwt.dropLast(2) + "xx"
            try await client.execute(uri: "/app-events/order-created", method: .post, headers: [.authorization: "Bearer \(forged)"], body: ByteBuffer(string: order)) { response in
                #expect(response.status == .unauthorized)
            }
            let events = try await pipeline.harness.read(pipeline.harness.topics.appEvents, count: 1)
            let event = try NormalizedEvent.decoded(from: try #require(events.first?.value))
            #expect(event.subject == "acme")

            let (deleted, _) = try await helpers.admin(client, .delete, "/api/v1/customers/acme")
            #expect(deleted == .noContent)
            let (gone, _) = try await helpers.admin(client, .get, "/api/v1/customers/acme")
            #expect(gone == .notFound)
            headers[.init("X-Inlet-Customer-Id")!] = nil
            try await client.execute(uri: "/app-events/order-created", method: .post, headers: headers, body: ByteBuffer(string: order)) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("not a customer"))
            }
        }
    }
}
