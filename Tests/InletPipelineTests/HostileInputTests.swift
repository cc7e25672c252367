import Foundation
import HTTPTypes
import Hummingbird
@testable import InletConnectors
import InletJSON
import Testing

@testable import InletHTTP
@testable import InletPipeline

/// Inputs crafted to hurt (issue 12 item 6): they get an answer, in linear time, and a
/// connector cannot make ingress send a malformed response.
@Suite("Hostile inputs")
struct HostileInputTests {
    @Test("a query or form body repeating one name 262,144 times parses in one pass, every value kept in order")
    func repeatedNames() {
        let repeated = Array(repeating: "a=1", count: 262_143).joined(separator: "&") + "&a=last&b=x+y"
        let query = RawRequest.parseQuery(repeated)
        guard case .multiple(let values)? = query["a"] else {
            Issue.record("expected every value of a")
            return
        }
        #expect(values.count == 262_144)
        #expect(values.last == "last")
        #expect(query["b"] == .single("x y"))
        let form = WebhookRequest.formFields(repeated)
        #expect(form["a"]?.arrayValue?.count == 262_144)
        #expect(form["a"]?.arrayValue?.last == "last")
        #expect(form["b"] == "x y")
        #expect(WebhookRequest.formFields("a=1")["a"] == "1", "a name given once stays a string")
    }

    @Test("a connector's answer cannot set framing headers or an impossible status, nor a header HTTP cannot carry")
    func connectorAnswers() {
        let response = IngressRoutes.httpResponse(
            status: 200,
            headers: ["Content-Length": "0", "transfer-encoding": "chunked", "Connection": "close", "X-Hook-Secret": "abc", "X-Bad": "a\r\nInjected: yes"],
            body: Data("hello".utf8), contentType: "text/plain")
        #expect(response.status == .ok)
        #expect(response.headers[HTTPField.Name("X-Hook-Secret")!] == "abc")
        #expect(response.headers[.contentLength] == nil || response.headers[.contentLength] == "5", "the real length, never the connector's 0")
        #expect(response.headers[.transferEncoding] == nil)
        #expect(response.headers[.connection] == nil)
        #expect(response.headers[HTTPField.Name("X-Bad")!] == nil)
        #expect(response.headers[HTTPField.Name("Injected")!] == nil)
        for status in [0, 42, 100, 101, 199, 600, 1000, -1] {
            #expect(IngressRoutes.httpResponse(status: status, headers: [:], body: Data(), contentType: nil).status == .badGateway, "status \(status)")
        }
        #expect(IngressRoutes.httpResponse(status: 599, headers: [:], body: Data(), contentType: nil).status.code == 599)
    }
}
