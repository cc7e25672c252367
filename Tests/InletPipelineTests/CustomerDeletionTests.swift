import Foundation
import HTTPTypes
import HummingbirdTesting
import InletJSON
import InletPipeline
import Testing

/// Deleting a customer deletes everything Inlet keeps for them.
@Suite("Customer deletion", .timeLimit(.minutes(5)))
struct CustomerDeletionTests {
    let helpers = WebhookEndToEndTests()

    @Test("DELETE /api/v1/customers/<id> unsubscribes the customer's subscriptions (their hooks removed at the app), deletes their connections and the customer; another customer's data stays; nothing left answers 404")
    func deletesEverythingOfTheCustomer() async throws {
        let pipeline = try TestPipeline()
        try await pipeline.run(replies: false) { client in
            #expect(try await helpers.admin(client, .post, "/api/v1/customers", ["id": "acme"]).0 == .created)
            let secret: JSONValue = .string(WebhookEndToEndTests.secret)
            let acme = try await helpers.createSubscription(client, parameters: ["owner": "octo", "repo": "hello", "secret": secret])
            let acmeId = try #require(acme["id"]?.stringValue)
            let acmeConnection = try #require(acme["connectionId"]?.stringValue)
            let (created, globexConnection) = try await helpers.admin(client, .post, "/api/v1/connections", [
                "connectorKey": "github", "customerId": "globex", "credentials": ["access_token": "gh-token-2"],
            ])
            #expect(created == .created)
            let globex = try await helpers.subscribed(client, [
                "connectionId": .string(try #require(globexConnection["id"]?.stringValue)), "eventKey": "issues",
                "parameters": ["owner": "globex", "repo": "site", "secret": secret],
            ])
            let globexId = try #require(globex["id"]?.stringValue)
            let hooksRemovedBefore = pipeline.stub.received("DELETE", "/repos/").count
            #expect(pipeline.harness.subscriptions[acmeId]?.config.sealedParameters != nil, "the hook secret is sealed while live")

            #expect(try await helpers.admin(client, .delete, "/api/v1/customers/acme").0 == .noContent)

            #expect(try await helpers.admin(client, .get, "/api/v1/subscriptions/\(acmeId)").1["status"] == "archived")
            // Archived, it keeps no secret: no state, no sealed parameters.
            let archived = try #require(pipeline.harness.subscriptions[acmeId])
            #expect(archived.state == nil && archived.sealedState == nil && archived.config.sealedParameters == nil)
            #expect(pipeline.stub.received("DELETE", "/repos/octo/hello/hooks/").count == 1, "the hook was removed at the app")
            #expect(pipeline.stub.received("DELETE", "/repos/").count == hooksRemovedBefore + 1, "and no other")
            try await eventually(timeout: .seconds(30)) {
                try await helpers.admin(client, .get, "/api/v1/connections/\(acmeConnection)").0 == .notFound
            }
            #expect(try await helpers.admin(client, .get, "/api/v1/customers/acme").0 == .notFound)
            // The other customer's data stays.
            #expect(try await helpers.admin(client, .get, "/api/v1/subscriptions/\(globexId)").1["status"] == "active")
            #expect(try await helpers.admin(client, .get, "/api/v1/connections/\(try #require(globexConnection["id"]?.stringValue))").0 == .ok)
            // Nothing is left of acme.
            #expect(try await helpers.admin(client, .delete, "/api/v1/customers/acme").0 == .notFound)
        }
    }
}
