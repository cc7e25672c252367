import InletPipeline

/// Settings of the admin API (`/api/v1`).
public struct AdminConfiguration: Sendable {
    /// The tokens a request may carry as `Authorization: Bearer <token>`, with their scopes.
    public var tokens: AdminTokens
    /// The base of webhook URLs handed to external apps, e.g. `https://hooks.example.com`.
    public var publicURL: String
    /// How long creating or deleting a subscription waits for the handler before 202.
    public var waitTimeout: Duration

    /// One token with the admin scope (named `admin` in the audit trail).
    public init(token: String, publicURL: String, waitTimeout: Duration = .seconds(10)) {
        self.init(tokens: AdminTokens(single: token), publicURL: publicURL, waitTimeout: waitTimeout)
    }

    public init(tokens: AdminTokens, publicURL: String, waitTimeout: Duration = .seconds(10)) {
        self.tokens = tokens
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.waitTimeout = waitTimeout
    }

    public func webhookURL(token: String) -> String { "\(publicURL)/webhooks/\(token)" }

    /// The public URL of a global webhook (`<public-url>/webhooks/global/<connector>/<key>/<token>`).
    public func globalWebhookURL(_ record: GlobalWebhookRecord) -> String { publicURL + record.path }
}
