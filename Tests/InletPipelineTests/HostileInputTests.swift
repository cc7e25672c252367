import Foundation
import HTTPTypes
import Hummingbird
@testable import InletConnectors
import InletJSON
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

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

/// Ingress against clients that hold connections (issue 12 item 6).
@Suite("Ingress connections", .timeLimit(.minutes(2)))
struct IngressConnectionTests {
    @Test("a connection beyond the cap is closed at once; one that trickles its headers past the header timeout is closed; a quiet one is left to the idle timeout; a normal request still works")
    func capAndHeaderTimeout() async throws {
        let harness = try IngressHarness()
        var configuration = IngressConfiguration(port: 0, maxBodyBytes: 1 << 20, appKey: IngressHarness.appKey)
        configuration.maxConnections = 2
        // Long enough that a close within 4 s can only be the cap's doing. (Generous bounds
        // throughout: the whole suite shares 2 cores.)
        configuration.headerTimeout = .seconds(8)
        let server = IngressServer(configuration: configuration, topics: harness.topics, producer: harness.producer, subscriptions: harness.subscriptions, logger: harness.logger)
        let port = Mutex<Int>(0)
        let app = server.application { bound in port.withLock { $0 = bound } }
        let running = Task { try await app.runService() }
        defer { running.cancel() }
        for _ in 0..<200 where port.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(20)) }
        let bound = UInt16(port.withLock { $0 })

        // Two slow clients hold the two connections; a third is closed when accepted.
        let first = try RawConnection(port: bound)
        let second = try RawConnection(port: bound)
        try first.send("POST /health HTTP/1.1\r\nHost: x\r\n")
        try second.send("POST /health HTTP/1.1\r\n")
        try await Task.sleep(for: .seconds(1))
        let third = try RawConnection(port: bound)
        #expect(try await third.closedByPeer(within: .seconds(4)), "beyond the cap")
        #expect(try await !first.closedByPeer(within: .milliseconds(300)), "still within its header timeout")
        // The trickling ones are closed after the header timeout.
        #expect(try await first.closedByPeer(within: .seconds(15)))
        #expect(try await second.closedByPeer(within: .seconds(15)))
        // The server counts a connection gone once its channel is closed, a moment after the
        // client sees it.
        try await Task.sleep(for: .seconds(1))

        // Their places are free again: a whole request gets its answer, and a connection that
        // says nothing yet (a client's pool opening one early) is left to the idle timeout.
        let quiet = try RawConnection(port: bound)
        let fourth = try RawConnection(port: bound)
        try fourth.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        let answer = try await fourth.read(within: .seconds(10))
        #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer)")
        #expect(try await !quiet.closedByPeer(within: .seconds(6)), "no bytes, no header clock")
        for connection in [first, second, third, quiet, fourth] { connection.close() }
        await harness.stop()
    }
}

/// A plain TCP client, to send exactly the bytes a hostile client would.
final class RawConnection: @unchecked Sendable {
    // @unchecked Sendable: used by one test task at a time; the descriptor is an Int32.
    let descriptor: Int32

    /// Connects to `port` on loopback; reads wait at most `timeout` each (sends too, when
    /// `timeoutSends`).
    init(port: UInt16, timeout: timeval = timeval(tv_sec: 0, tv_usec: 100_000), timeoutSends: Bool = false) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            Glibc.close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
        var timeout = timeout
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if timeoutSends { setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) }
    }

    func send(_ text: String) throws {
        let sent = Array(text.utf8).withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if sent < 0 { throw POSIXError(.EPIPE) }
    }

    /// Whether the server closed the connection (a read gives end of file or a reset) in time.
    func closedByPeer(within limit: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// What arrives within `limit`.
    func read(within limit: Duration) async throws -> String {
        let deadline = ContinuousClock.now + limit
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count > 0 {
                received += buffer[0..<count]
                if String(decoding: received, as: UTF8.self).contains("\r\n\r\n") { break }
            } else if count == 0 {
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return String(decoding: received, as: UTF8.self)
    }

    func close() { Glibc.close(descriptor) }
}
