// The baseline of ingress: a bare Hummingbird server that reads a webhook's body (same route
// shape, same body limit) and answers 200 with a small JSON body, and does nothing else.
import Foundation
import Hummingbird
import Logging

func runBareHTTP(port: Int) async throws {
    let router = Router()
    router.get("/health") { _, _ in "ok" }
    router.post("/webhooks/:token") { request, _ -> Response in
        var request = request
        let body = try await request.collectBody(upTo: 700_848)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(
            status: .ok, headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: #"{"status":"accepted","bytes":\#(body.readableBytes)}"#))
        )
    }
    let app = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "bare"),
        logger: quietLogger("bare-http")
    )
    try await app.runService()
}
