import InletConnectors
import Foundation
import Hummingbird

/// Requires `Authorization: Bearer <token>` (compared in constant time).
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            ConstantTime.equal(header.dropFirst("Bearer ".count).utf8, token.utf8)
        else {
            throw ProblemDetails(
                .unauthorized, detail: "send the admin token as `Authorization: Bearer <token>` (INLET_ADMIN_TOKEN)",
                headers: [.wwwAuthenticate: "Bearer"]
            )
        }
        return try await next(request, context)
    }
}
