import Foundation
import HummingbirdTesting
import InletJSON
import InletPipeline
import Synchronization
import Testing

/// Generated hostile requests against ingress and the admin API, sent as raw bytes.
@Suite("Hostile requests, generated", .timeLimit(.minutes(5)))
struct HostileRequestFuzzTests {
    @Test("10,000 generated hostile requests (bad JSON and UTF-8, huge and repeated headers, wrong methods, content types and tokens, path tricks, truncated bodies): each refused with a 4xx — a problem body when it was well framed — the server lives on, and no topic but the audit trail gets a record")
    func generatedHostileRequests() async throws {
        let pipeline = try TestPipeline()
        try await pipeline.run(replies: false) { client in
            let port = UInt16(try #require(client.port))
            let topics = pipeline.harness.topics
            // Every topic a request could append to; `audit` records admin write attempts
            // with a valid token before they run, refused or not, so it is left out.
            let watched = [
                topics.ingress, topics.ingressGlobal, topics.ingressAppEvents, topics.commands, topics.subscriptions, topics.connections,
                topics.connectorParameters, topics.customers, topics.appEventSubscriptions, topics.globalWebhooks, topics.records, topics.dlq,
            ]
            // Ready, and the global webhooks' URLs issued (a write of its own): the counts then
            // change only through requests.
            try await eventually(timeout: .seconds(60)) {
                guard pipeline.globalWebhooks.isIssued else { return false }
                return (try? await RawHTTP.exchange(HostileRequest.ready, port: port))?.status == 200
            }
            var before: [String: Int64] = [:]
            for topic in watched { before[topic] = try await pipeline.harness.messageCount(topic) }

            var generator = SplitMix64(seed: 0x1A7E_F022)
            let requests = (0..<10_000).map { _ in HostileRequest.make(&generator) }
            let outcomes = try await RawHTTP.exchangeAll(requests, port: port, workers: 8)

            var failures: [String] = []
            var statuses: [Int: Int] = [:]
            for (request, outcome) in zip(requests, outcomes) {
                if let problem = request.problem(with: outcome) { failures.append(problem) }
                statuses[outcome?.status ?? 0, default: 0] += 1
            }
            #expect(failures.isEmpty, "\(failures.count) of \(requests.count) wrong, e.g. \(failures.prefix(5))")
            #expect(statuses.keys.contains { (400..<500).contains($0) })
            // The server lives on and still serves.
            #expect(try await RawHTTP.exchange(HostileRequest.health, port: port)?.status == 200)
            for topic in watched {
                #expect(try await pipeline.harness.messageCount(topic) == before[topic], "\(topic) got records from refused requests")
            }
        }
    }
}

/// One generated request: its bytes, and what a right answer looks like.
struct HostileRequest: Sendable {
    enum Kind: Sendable {
        /// A well-framed HTTP/1.1 request: a 4xx with a problem body (no body for HEAD).
        case framed(method: String)
        /// A well-framed read with the valid admin token: 2xx or a 4xx problem.
        case authorizedRead
        /// Broken framing: a 4xx of any kind, or the connection closed without an answer.
        case malformed
    }

    var bytes: [UInt8]
    var kind: Kind
    var summary: String

    static let health = HostileRequest(bytes: Array("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), kind: .authorizedRead, summary: "health")
    static let ready = HostileRequest(bytes: Array("GET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), kind: .authorizedRead, summary: "ready")

    /// What is wrong with `outcome` for this request, or `nil` when it is right.
    func problem(with outcome: RawHTTP.Outcome?) -> String? {
        guard let outcome else {
            if case .malformed = kind { return nil }
            return "\(summary): no answer"
        }
        switch kind {
        case .malformed:
            return (400..<500).contains(outcome.status) ? nil : "\(summary): \(outcome.status)"
        case .authorizedRead:
            if (200..<300).contains(outcome.status) { return nil }
            return Self.problemBody(outcome, method: "GET", summary: summary)
        case .framed(let method):
            return Self.problemBody(outcome, method: method, summary: summary)
        }
    }

    private static func problemBody(_ outcome: RawHTTP.Outcome, method: String, summary: String) -> String? {
        guard (400..<500).contains(outcome.status) else { return "\(summary): \(outcome.status) \(outcome.bodyText.prefix(200))" }
        if method == "HEAD" { return nil }
        guard outcome.contentType?.hasPrefix("application/problem+json") == true else {
            return "\(summary): \(outcome.status) with content type \(outcome.contentType ?? "none")"
        }
        guard let body = try? JSONValue(parsing: outcome.body), body["status"] == .integer(Int64(outcome.status)), body["title"]?.stringValue != nil else {
            return "\(summary): \(outcome.status) with a body that is not a problem: \(outcome.bodyText.prefix(200))"
        }
        return nil
    }

    // MARK: - Generation

    static let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]
    static let writes = ["POST", "PUT", "PATCH", "DELETE"]
    static let adminPaths = [
        "/api/v1/connections", "/api/v1/connections/%@", "/api/v1/subscriptions", "/api/v1/subscriptions/%@", "/api/v1/subscriptions/%@/pull",
        "/api/v1/customers", "/api/v1/customers/%@", "/api/v1/customers/%@/token", "/api/v1/dead-letters", "/api/v1/dead-letters/%@/replay",
        "/api/v1/dead-letters/replay", "/api/v1/connectors/%@/parameters", "/api/v1/global-webhooks", "/api/v1/app-event-subscriptions",
        "/api/v1/app-event-subscriptions/%@", "/api/v1/%@", "//api/v1//connections", "/api/v1/connections/../subscriptions",
    ]
    static let ingressPaths = [
        "/webhooks/%@", "/webhooks/global/%@/%@/%@", "/webhooks/global/github/%@/%@", "/app-events/%@", "/app-events/%@/%@",
        "/webhooks/%@/../../api/v1/connections", "/webhooks", "/webhooks/",
    ]
    static let tokens = [
        "..", "%2e%2e%2fapi%2fv1", "%00", "a%ZZ", "%C3%28", "tok?x=1", "%F0%9F%A6%86", "t%20oken", String(repeating: "a", count: 4096), "sub_00000000000000000000",
        "github", "../../etc/passwd", "%2F", ";", "null", "-1",
    ]
    static let contentTypes = [
        nil, "application/json", "application/json; charset=utf-16", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
        "application/xml", "", "*/*", "application/json;;;charset",
    ]
    static let authorizations = [
        nil, "Bearer wrong-token", "Bearer ", "Bearer", "Basic dGVzdDp0ZXN0", "bearer \(WebhookEndToEndTests.adminToken)x", "Bearer x\(WebhookEndToEndTests.adminToken)",
        "Bearer ../\(WebhookEndToEndTests.adminToken)", "Bearer \(String(repeating: "t", count: 8_000))",
    ]

    static func make(_ random: inout SplitMix64) -> HostileRequest {
        switch random.below(10) {
        case 0: return malformed(&random)
        case 1, 2, 3: return ingress(&random)
        default: return admin(&random)
        }
    }

    /// Webhooks and app events with unknown tokens and types.
    static func ingress(_ random: inout SplitMix64) -> HostileRequest {
        let method = methods[random.below(methods.count)]
        let path = fill(ingressPaths[random.below(ingressPaths.count)], &random)
        var headers = randomHeaders(&random)
        if random.below(3) == 0 { headers.append(("Authorization", "Bearer app-\(random.below(1000))")) }
        return framed(method: method, path: path, headers: headers, body: randomBody(&random), summary: "\(method) \(path.prefix(80))")
    }

    /// The admin API without a valid token, or with it and a body that can never be valid.
    static func admin(_ random: inout SplitMix64) -> HostileRequest {
        let path = fill(adminPaths[random.below(adminPaths.count)], &random)
        var headers = randomHeaders(&random)
        if random.below(4) == 0 {
            // The valid token: a write whose body is not a JSON object, or a read.
            headers.append(("Authorization", "Bearer \(WebhookEndToEndTests.adminToken)"))
            if random.below(3) == 0 {
                var request = framed(method: "GET", path: path, headers: headers, body: nil, summary: "GET \(path.prefix(80)) (admin)")
                request.kind = .authorizedRead
                return request
            }
            let method = writes[random.below(writes.count)]
            return framed(method: method, path: path, headers: headers, body: invalidJSON(&random), summary: "\(method) \(path.prefix(80)) (admin, invalid body)")
        }
        if let authorization = authorizations[random.below(authorizations.count)] { headers.append(("Authorization", authorization)) }
        let method = methods[random.below(methods.count)]
        return framed(method: method, path: path, headers: headers, body: randomBody(&random), summary: "\(method) \(path.prefix(80))")
    }

    /// Broken framing: huge or repeated headers, lying lengths, truncated bodies, bad chunks,
    /// control bytes and invalid UTF-8 where HTTP allows none.
    static func malformed(_ random: inout SplitMix64) -> HostileRequest {
        let path = random.below(2) == 0 ? "/webhooks/\(tokens[random.below(tokens.count)])" : "/api/v1/connections"
        let text: [UInt8]
        let variant = random.below(12)
        switch variant {
        case 0: text = Array("POST \(path) HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "b", count: 100_000 + random.below(50_000)))\r\n\r\n".utf8)
        case 1: text = Array("POST \(path) HTTP/1.1\r\nHost: x\r\n\(String(repeating: "X-Same: 1\r\n", count: 1_000 + random.below(3_000)))Content-Length: 2\r\n\r\n{}".utf8)
        case 2: text = Array("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: \(["-1", "99999999999999999999", "abc", "1, 2", ""].randomElement(using: &random)!)\r\n\r\n{}".utf8)
        case 3: text = Array("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\nContent-Type: application/json\r\n\r\n{\"truncated\":".utf8)
        case 4: text = Array("POST \(path) HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n".utf8)
        case 5: text = Array("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 7\r\n\r\n{}".utf8)
        case 6: text = Array("GET /api/v1/conn".utf8) + [0xFF, 0xFE, 0x00] + Array("ections HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        case 10: text = Array("POST /webhooks/🦆 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}".utf8)
        case 7: text = Array("POST \(path) HTTP/1.1\r\nHost: x\r\nX-Bad\u{1}Name: 1\r\nContent-Length: 0\r\n\r\n".utf8)
        case 8: text = Array("\(["FOO", "post", "GE T"].randomElement(using: &random)!) \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".utf8)
        case 9: text = Array("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: \(["application/json\u{1}", "\u{7F}", "a\u{0}b"].randomElement(using: &random)!)\r\nContent-Length: 2\r\n\r\n{}".utf8)
        default: text = Array("\(["GET", "BREW", "POST"].randomElement(using: &random)!) \(path) HTTP/\(["9.9", "0.9", "1"].randomElement(using: &random)!)\r\nHost: x\r\n\r\n".utf8)
        }
        return HostileRequest(bytes: text, kind: .malformed, summary: "malformed \(variant) \(path.prefix(60))")
    }

    static func framed(method: String, path: String, headers: [(String, String)], body: [UInt8]?, summary: String) -> HostileRequest {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        return HostileRequest(bytes: Array(head.utf8) + (body ?? []), kind: .framed(method: method.uppercased()), summary: summary)
    }

    static func fill(_ template: String, _ random: inout SplitMix64) -> String {
        var path = template
        while let range = path.range(of: "%@") { path.replaceSubrange(range, with: tokens[random.below(tokens.count)]) }
        if random.below(20) == 0 { path += "?" + String(repeating: "a&", count: 2_000) }
        return path
    }

    static func randomHeaders(_ random: inout SplitMix64) -> [(String, String)] {
        var headers: [(String, String)] = []
        if let type = contentTypes[random.below(contentTypes.count)] { headers.append(("Content-Type", type)) }
        for _ in 0..<random.below(4) {
            headers.append((["X-GitHub-Event", "X-Hub-Signature-256", "Accept", "X-Forwarded-For", "Cookie"][random.below(5)],
                            ["issues", "sha256=00", "", String(repeating: "v", count: 2_000), "ä"][random.below(5)]))
        }
        return headers
    }

    static func randomBody(_ random: inout SplitMix64) -> [UInt8]? {
        switch random.below(4) {
        case 0: return nil
        case 1: return invalidJSON(&random)
        case 2: return Array("{\"id\":\"x\",\"connectorKey\":\"github\",\"customerId\":\"c\",\"credentials\":{}}".utf8)
        default: return (0..<random.below(300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        }
    }

    /// Bytes that are no JSON object whatever the endpoint.
    static func invalidJSON(_ random: inout SplitMix64) -> [UInt8] {
        switch random.below(8) {
        case 0: return Array("{\"a\":".utf8)
        case 1: return [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D]  // {"\xC3(":1}
        case 2: return Array((String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000)).utf8)
        case 3: return Array("[1,2,3]".utf8)
        case 4: return Array("\"just a string\"".utf8)
        case 5: return Array("{\"a\":1,}".utf8)
        case 6: return Array("1e99999".utf8)
        default: return Array("{\"\u{0}\":\u{1}}".utf8)
        }
    }
}

/// Requests as raw bytes over loopback, each on its own connection, on dedicated threads (the
/// calls block; the server's tasks keep the cooperative pool).
enum RawHTTP {
    struct Outcome: Sendable {
        var status: Int
        var contentType: String?
        var body: Data
        var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    /// Sends every request with `workers` threads; the outcomes in the requests' order.
    static func exchangeAll(_ requests: [HostileRequest], port: UInt16, workers: Int) async throws -> [Outcome?] {
        let results = Mutex([Outcome?](repeating: nil, count: requests.count))
        let next = Atomic<Int>(0)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let remaining = Atomic<Int>(workers)
            for _ in 0..<workers {
                let thread = Thread {
                    while true {
                        let index = next.add(1, ordering: .relaxed).oldValue
                        guard index < requests.count else { break }
                        let outcome = try? exchangeBlocking(requests[index].bytes, port: port)
                        results.withLock { $0[index] = outcome }
                    }
                    if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { done.resume() }
                }
                thread.start()
            }
        }
        return results.withLock { $0 }
    }

    static func exchange(_ request: HostileRequest, port: UInt16) async throws -> Outcome? {
        try await exchangeAll([request], port: port, workers: 1).first ?? nil
    }

    /// Writes `bytes` (then closes the sending side) and reads until the server closes, at
    /// most 10 s; `nil` when nothing that parses as a response came back.
    static func exchangeBlocking(_ bytes: [UInt8], port: UInt16) throws -> Outcome? {
        let connection = try RawConnection(port: port, timeout: timeval(tv_sec: 10, tv_usec: 0), timeoutSends: true)
        defer { connection.close() }
        let descriptor = connection.descriptor
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { break }  // the server may close early (a header too large): read what it said
            offset += sent
        }
        shutdown(descriptor, Int32(SHUT_WR))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return parse(received)
    }

    /// The first response in `bytes` (status, content type, body by Content-Length).
    static func parse(_ bytes: [UInt8]) -> Outcome? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4, let headEnd = (0...(bytes.count - 4)).first(where: { bytes[$0..<($0 + 4)].elementsEqual(separator) }) else { return nil }
        let lines = String(decoding: bytes[..<headEnd], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else { return nil }
        var contentType: String?
        var length: Int?
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            switch parts[0].lowercased() {
            case "content-type": contentType = parts[1]
            case "content-length": length = Int(parts[1])
            default: break
            }
        }
        let rest = Data(bytes[(headEnd + 4)...])
        return Outcome(status: status, contentType: contentType, body: length.map { Data(rest.prefix($0)) } ?? rest)
    }
}

/// A small seeded generator, so a failure can be reproduced from the test's seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
