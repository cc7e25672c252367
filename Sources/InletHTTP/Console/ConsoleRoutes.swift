import Hummingbird

/// The web console at `/console`: a page, its script and style, embedded in the binary and
/// loading nothing from elsewhere (`Content-Security-Policy`: only its own script, style and
/// API). The page
/// reads everything through the admin API with the admin token the operator signs in with.
struct ConsoleRoutes {
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy: "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        .init("X-Content-Type-Options")!: "nosniff",
        .init("Referrer-Policy")!: "no-referrer",
        .cacheControl: "no-store",
    ]

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/console") { _, _ in Self.asset(ConsolePage.html, type: "text/html; charset=utf-8") }
        router.get("/console/console.js") { _, _ in Self.asset(ConsoleScript.javascript, type: "text/javascript; charset=utf-8") }
        router.get("/console/console.css") { _, _ in Self.asset(ConsoleStyle.css, type: "text/css; charset=utf-8") }
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = securityHeaders
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
