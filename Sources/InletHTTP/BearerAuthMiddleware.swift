import Crypto
import Foundation
import Hummingbird

/// Requires `Authorization: Bearer <token>` (compared in constant time).
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            Self.equal(Array(header.dropFirst("Bearer ".count).utf8), Array(token.utf8))
        else {
            throw ProblemDetails(
                .unauthorized, detail: "send the admin token as `Authorization: Bearer <token>` (INLET_ADMIN_TOKEN)",
                headers: [.wwwAuthenticate: "Bearer"]
            )
        }
        return try await next(request, context)
    }

    private static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
