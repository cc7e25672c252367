import Foundation
import InletConnectors
import InletPipeline
import Logging

/// Answers requests to the webhook URL of a subscription whose `subscribe` is still running
/// (status `pending`) by running its `handle` right here: some apps (Microsoft Graph)
/// validate the URL before they answer the subscribe call, while the handler that owns the
/// subscription is busy with exactly that call. The request is still appended to `ingress`,
/// so whatever events it carries are handled in order once the subscription is active.
public struct PendingHandshakes: Sendable {
    let runtime: ConnectorRuntime
    let connections: ConnectionDirectory
    let vault: CredentialVault
    let logger: Logger

    public init(runtime: ConnectorRuntime, connections: ConnectionDirectory, vault: CredentialVault, logger: Logger) {
        self.runtime = runtime
        self.connections = connections
        self.vault = vault
        self.logger = logger
    }

    /// `handle`'s `response` for the request, or `nil` when it gives none or fails.
    func response(for subscription: SubscriptionRecord, request: RawRequest) async -> WebhookResponse? {
        guard let connection = connections[subscription.connectionId] else { return nil }
        do {
            var context = try subscription.methodContext(connection: connection, vault: vault)
            // A refresh here would spend a rotating refresh token without storing what it got:
            // the handlers refresh (once across replicas) and store; the handshake goes
            // without a response, and the handler handles the request once it is active.
            context.refreshCredentials = { _ in
                throw APIError(code: APIError.credentialsRefreshing, message: "a webhook handshake in ingress does not refresh credentials; the handler that owns the connection does")
            }
            let webhook = request.webhookRequest
            return try await runtime.handle(context, request: webhook).response
        } catch {
            logger.info("handshake for pending subscription \(subscription.id) gave no response: \(error)")
            return nil
        }
    }
}
