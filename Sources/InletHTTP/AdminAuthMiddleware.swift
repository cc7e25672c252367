import Foundation
import Hummingbird
import InletPipeline

/// Requires an admin token (`Authorization: Bearer <secret>`, compared in constant time with
/// every token in force), lets a `read` token only read, and records every write in the audit
/// trail (`AdminAudit`) before and after it runs, and every request it refuses (rate-limited).
struct AdminAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: AdminTokens
    let audit: AdminAudit?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            let token = tokens.token(presented: header.dropFirst("Bearer ".count))
        else {
            await audit?.refused(token: nil, method: request.method.rawValue, path: request.uri.path, status: 401)
            throw ProblemDetails(
                .unauthorized, detail: "send an admin token as `Authorization: Bearer <token>` (INLET_ADMIN_TOKEN, or a line of INLET_ADMIN_TOKENS_FILE)",
                headers: [.wwwAuthenticate: "Bearer"]
            )
        }
        let method = request.method.rawValue
        guard token.scope.allows(method: method) else {
            await audit?.refused(token: token, method: method, path: request.uri.path, status: 403)
            throw ProblemDetails(
                .forbidden, title: "Read-only token",
                detail: "the admin token '\(token.name)' has the read scope: it may only GET; \(method) needs a token with the admin scope"
            )
        }
        guard let audit, !AdminScope.reads(method) else { return try await next(request, context) }
        let write = AdminAudit.Write(id: RandomUUID.make(), token: token, method: method, path: request.uri.path)
        try await audit.requested(write)
        do {
            let response = try await next(request, context)
            await audit.completed(write, status: Int(response.status.code))
            return response
        } catch {
            await audit.completed(write, status: Int((error as? any HTTPResponseError)?.status.code ?? 500))
            throw error
        }
    }
}
