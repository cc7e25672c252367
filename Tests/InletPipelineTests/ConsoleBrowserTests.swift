import AsyncHTTPClient
import Foundation
import InletJSON
import InletObservability
import InletPipeline
import NIOCore
import NIOHTTP1
import Testing

/// The web console in a real headless browser (Debian's chromium, driven through chromedriver's
/// W3C WebDriver protocol): it loads with the token from the fragment, lists a subscription the
/// test created, and its Replay button replays a dead letter. The screenshot is saved as
/// `.build/artifacts/console.png` (or in `INLET_TEST_ARTIFACTS`).
@Suite("Web console in a browser", .serialized, .timeLimit(.minutes(5)), .enabled(if: HeadlessBrowser.installed, "needs chromium and chromium-driver (apt)"))
struct ConsoleBrowserTests {

    let helpers = WebhookEndToEndTests()

    @Test("the console signs in from #token= (then drops it from the address), lists the subscription, and replays a dead letter with its button")
    func consoleListsAndReplays() async throws {
        let port = try Self.freePort()
        let driverProcess = Process()
        driverProcess.executableURL = URL(fileURLWithPath: try #require(HeadlessBrowser.driver))
        driverProcess.arguments = ["--port=\(port)"]
        driverProcess.standardOutput = FileHandle.nullDevice
        driverProcess.standardError = FileHandle.nullDevice
        try driverProcess.run()
        defer { driverProcess.terminate() }
        let webDriver = WebDriver(base: "http://127.0.0.1:\(port)")
        try await eventually(timeout: .seconds(30)) { (try? await webDriver.call(.GET, "/status"))?["value"]?["ready"] == true }

        // The console's throughput table reads this process's metrics.
        InletMetrics.bootstrap()
        let pipeline = try TestPipeline()
        try await pipeline.run(replies: false) { client in
            let subscriptionId = try await DeadLetterRoutesTests.forgedWebhook(client, helpers: helpers, title: "forged")
            let base = "http://127.0.0.1:\(try #require(client.port))"
            var letterId = ""
            try await eventually(timeout: .seconds(60)) {
                letterId = try await helpers.admin(client, .get, "/api/v1/dead-letters").1["deadLetters"]?[0]?["id"]?.stringValue ?? ""
                return !letterId.isEmpty
            }

            let options: JSONValue = .object([
                "binary": .string(try #require(HeadlessBrowser.chromium)),
                "args": .array(["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1100"].map { JSONValue.string($0) }),
            ])
            let capabilities: JSONValue = .object(["alwaysMatch": .object(["browserName": "chrome", "goog:chromeOptions": options])])
            let session = try await webDriver.call(.POST, "/session", .object(["capabilities": capabilities]))
            let sessionId = try #require(session["value"]?["sessionId"]?.stringValue, "\(session)")
            let s = "/session/\(sessionId)"
            do {
                _ = try await webDriver.call(.POST, s + "/url", .object(["url": .string("\(base)/console#token=\(WebhookEndToEndTests.adminToken)")]))
                // The subscription the test made, listed from the admin API.
                let row = try await webDriver.waitForElement(session: s, css: "#subscriptions tr[data-id='\(subscriptionId)']")
                let rowText = try await webDriver.call(.GET, s + "/element/\(row)/text")["value"]?.stringValue ?? ""
                #expect(rowText.contains("active") && rowText.contains("github"), "\(rowText)")
                let address = try await webDriver.call(.GET, s + "/url")["value"]?.stringValue ?? ""
                #expect(!address.contains("token"), "the token leaves the address bar: \(address)")

                // Replay from the console: the forged request fails again, naming the first dead letter.
                let replayButton = "#dead-letters tr[data-id='\(letterId)'] button.replay"
                let button = try await webDriver.waitForElement(session: s, css: replayButton)
                _ = try await webDriver.call(.POST, s + "/element/\(button)/click", [:])
                let result = try await webDriver.waitForElement(session: s, css: "#replay-result")
                // The tables are drawn again on a timer, so on a loaded machine a click can land on
                // a button just replaced and be lost (failed once locally and once in CI). While the
                // page shows no answer at all, the current button is clicked again; once replayed,
                // it is disabled, and any answer other than "Replayed" still fails the test.
                var clicked = ContinuousClock.now
                try await eventually(timeout: .seconds(90)) {
                    let text = try await webDriver.call(.GET, s + "/element/\(result)/text")["value"]?.stringValue ?? ""
                    if text.isEmpty, ContinuousClock.now - clicked > .seconds(10),
                        let again = try? await webDriver.waitForElement(session: s, css: replayButton, timeout: .seconds(5))
                    {
                        _ = try? await webDriver.call(.POST, s + "/element/\(again)/click", [:])
                        clicked = ContinuousClock.now
                    }
                    return text.hasPrefix("Replayed \(letterId)")
                }
                try await eventually(timeout: .seconds(60)) {
                    let letters = try await helpers.admin(client, .get, "/api/v1/dead-letters").1["deadLetters"]?.arrayValue ?? []
                    return letters.contains { $0["replayOf"]?.stringValue == letterId }
                }
                // Throughput per stage, from the metrics.
                let stage = try await webDriver.waitForElement(session: s, css: "#stages tbody tr td.number")
                _ = stage
                let stages = try await webDriver.waitForElement(session: s, css: "#stages")
                let stagesText = try await webDriver.call(.GET, s + "/element/\(stages)/text")["value"]?.stringValue ?? ""
                #expect(stagesText.contains(pipeline.harness.topics.prefix + "handler"), "\(stagesText)")
                // The sign-in form is gone once signed in.
                let form = try await webDriver.waitForElement(session: s, css: "#sign-in")
                #expect(try await webDriver.call(.GET, s + "/element/\(form)/displayed")["value"] == false)
                // The page, as the operator saw it.
                _ = try await webDriver.waitForElement(session: s, css: "#dead-letters tbody tr:nth-child(2)")
                let png = try #require(Data(base64Encoded: try await webDriver.call(.GET, s + "/screenshot")["value"]?.stringValue ?? ""))
                let folder = ProcessInfo.processInfo.environment["INLET_TEST_ARTIFACTS"].map { URL(fileURLWithPath: $0) }
                    ?? RoleProcess.binary.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("artifacts")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                try png.write(to: folder.appendingPathComponent("console.png"))
                #expect(png.count > 10_000)
            } catch {
                _ = try? await webDriver.call(.DELETE, s)
                throw error
            }
            _ = try? await webDriver.call(.DELETE, s)
        }
    }
}

extension ConsoleBrowserTests {
    /// A port nothing listens on now (bound, read, released).
    static func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw RoleProcessError(message: "no free port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Debian's chromium and its WebDriver.
enum HeadlessBrowser {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let driver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static var installed: Bool { chromium != nil && driver != nil }
    static let elementKey = "element-6066-11e4-a52e-4f735466cecf"
}

/// A few calls of the W3C WebDriver protocol.
struct WebDriver {
    let base: String

    func call(_ method: HTTPMethod, _ path: String, _ body: JSONValue? = nil) async throws -> JSONValue {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body.jsonText))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 32 << 20)
        return (try? JSONValue(parsing: Data(buffer: bytes))) ?? .null
    }

    /// Waits (bounded) for an element matching `css`; its WebDriver id.
    func waitForElement(session: String, css: String, timeout: Duration = .seconds(60)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let found = try await call(.POST, session + "/element", .object(["using": "css selector", "value": .string(css)]))
            if let id = found["value"]?[HeadlessBrowser.elementKey]?.stringValue { return id }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw RoleProcessError(message: "no element '\(css)' on the page within \(timeout)")
    }
}
