import InletPipeline

/// Settings of the admin API (`/api/v1`).
public struct AdminConfiguration: Sendable {
    /// Every request must carry `Authorization: Bearer <token>`.
    public var token: String
    /// The base of webhook URLs handed to external apps, e.g. `https://hooks.example.com`.
    public var publicURL: String
    /// How long creating or deleting a subscription waits for the handler before 202.
    public var waitTimeout: Duration

    public init(token: String, publicURL: String, waitTimeout: Duration = .seconds(10)) {
        self.token = token
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.waitTimeout = waitTimeout
    }

    public func webhookURL(token: String) -> String { "\(publicURL)/webhooks/\(token)" }

    /// The public URL of a global webhook (`<public-url>/webhooks/global/<connector>/<key>/<token>`).
    public func globalWebhookURL(_ record: GlobalWebhookRecord) -> String { publicURL + record.path }
}
