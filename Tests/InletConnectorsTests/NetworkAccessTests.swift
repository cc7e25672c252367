import Foundation
import NIOCore
import Testing

@testable import InletConnectors

/// Answers fixed addresses for the names it knows (and fails for the rest), counting lookups.
struct FixedResolver: HostResolver {
    let answers: [String: [String]]

    func resolve(host: String, port: Int) async throws -> [SocketAddress] {
        guard let addresses = answers[host] else { throw SystemHostResolver.LookupFailed(host: host, reason: "unknown to the test") }
        return try addresses.map { try SocketAddress(ipAddress: $0, port: port) }
    }
}

@Suite("Network access of connector API clients (SSRF)")
struct NetworkAccessTests {
    @Test("loopback, private, link-local, shared, multicast and reserved addresses are not public", arguments: [
        "127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.1", "198.18.0.1",
        "::", "::1", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "2001:db8::1",
    ])
    func notPublic(address: String) throws {
        #expect(!NetworkAccess.isPublic(try SocketAddress(ipAddress: address, port: 443)))
        #expect(NetworkAccess.publicAddressesOnly.refuses(try SocketAddress(ipAddress: address, port: 443)))
        #expect(!NetworkAccess.privateNetworksAllowed.refuses(try SocketAddress(ipAddress: address, port: 443)))
    }

    @Test("public addresses pass", arguments: ["8.8.8.8", "140.82.112.3", "172.32.0.1", "172.15.255.255", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"])
    func publicAddresses(address: String) throws {
        #expect(NetworkAccess.isPublic(try SocketAddress(ipAddress: address, port: 443)))
    }

    @Test("a name that resolves to 127.0.0.1 is refused by default, and nothing reaches the loopback server")
    func nameResolvingToLoopback() async throws {
        let server = try await TestHTTPServer.start { _, _ in ScriptedResponse(body: #"{"secret":"internal"}"#) }
        defer { Task { await server.stop() } }
        let resolver = FixedResolver(answers: ["api.rebind.test": ["127.0.0.1"]])
        let client = HTTPAPIClient(configuration: APIClientConfiguration(baseURI: "https://api.rebind.test:\(server.port)"), resolver: resolver)
        let error = try await #require(throws: APIError.self) { try await client.send(APIRequest(method: "GET", path: "/admin")) }
        #expect(error.code == APIError.hostNotAllowed)
        #expect(error.message.contains("127.0.0.1"))
        #expect(error.message.contains("--allow-private-networks"))
        #expect(server.requests.isEmpty)
    }

    @Test("with the system resolver: localhost, 127.0.0.1, its decimal form and the metadata address are refused", arguments: [
        "https://localhost:PORT/x", "https://127.0.0.1:PORT/x", "https://2130706433:PORT/x", "https://169.254.169.254/latest/meta-data",
        "https://[::1]:PORT/x",
    ])
    func systemResolverRefusesLocal(url: String) async throws {
        let server = try await TestHTTPServer.start { _, _ in ScriptedResponse() }
        defer { Task { await server.stop() } }
        let target = url.replacingOccurrences(of: "PORT", with: String(server.port))
        let client = HTTPAPIClient(configuration: APIClientConfiguration(baseURI: target))
        let error = try await #require(throws: APIError.self) { try await client.send(APIRequest(method: "GET", path: "")) }
        #expect(error.code == APIError.hostNotAllowed, "\(error)")
        #expect(server.requests.isEmpty)
    }

    @Test("one address of several being private is enough to refuse the name")
    func anyPrivateAddressRefuses() async throws {
        let resolver = FixedResolver(answers: ["api.mixed.test": ["140.82.112.3", "10.0.0.7"]])
        let client = HTTPAPIClient(configuration: APIClientConfiguration(baseURI: "https://api.mixed.test"), resolver: resolver)
        let error = try await #require(throws: APIError.self) { try await client.send(APIRequest(method: "GET", path: "/x")) }
        #expect(error.code == APIError.hostNotAllowed)
        #expect(error.message.contains("10.0.0.7"))
    }

    @Test("plain http is refused to a host not in allowedHosts, before any lookup or connection")
    func plainHTTPNeedsAllowedHost() async throws {
        let resolver = FixedResolver(answers: [:])
        let client = HTTPAPIClient(configuration: APIClientConfiguration(baseURI: "http://api.public.test"), resolver: resolver)
        let error = try await #require(throws: APIError.self) { try await client.send(APIRequest(method: "GET", path: "/x")) }
        #expect(error.code == APIError.hostNotAllowed)
        #expect(error.message.contains("use https"))
    }

    @Test("the request goes to the address that was checked, with the name in its Host header")
    func connectionIsPinnedToCheckedAddress() async throws {
        let server = try await TestHTTPServer.start { _, _ in ScriptedResponse(body: #"{"ok":true}"#) }
        defer { Task { await server.stop() } }
        // The name exists only in this resolver: the request can arrive only through the pin.
        let resolver = FixedResolver(answers: ["api.pinned.test": ["127.0.0.1"]])
        let client = HTTPAPIClient(
            configuration: APIClientConfiguration(baseURI: "http://api.pinned.test:\(server.port)"), networkAccess: .privateNetworksAllowed, resolver: resolver)
        let response = try await client.send(APIRequest(method: "GET", path: "/thing"))
        #expect(response.data == ["ok": true])
        let request = try #require(server.requests.first)
        #expect(request.uri == "/thing")
        #expect(request.headers["host"] == "api.pinned.test:\(server.port)")

        // A host written in capitals is checked and pinned the same (the pin is looked up by
        // the host as written; a miss would let the client resolve the name by itself).
        let shouting = HTTPAPIClient(
            configuration: APIClientConfiguration(baseURI: "http://API.Pinned.TEST:\(server.port)"), networkAccess: .privateNetworksAllowed, resolver: resolver)
        #expect(try await shouting.send(APIRequest(method: "GET", path: "/again")).data == ["ok": true])
        let refusing = HTTPAPIClient(configuration: APIClientConfiguration(baseURI: "https://API.Pinned.TEST:\(server.port)"), resolver: resolver)
        let error = try await #require(throws: APIError.self) { try await refusing.send(APIRequest(method: "GET", path: "/x")) }
        #expect(error.code == APIError.hostNotAllowed)
        #expect(server.requests.map(\.uri) == ["/thing", "/again"])
    }
}

@Suite("Network access through the connector runtime")
struct RuntimeNetworkAccessTests {
    @Test("a connector whose make-api-client points at the cloud metadata address gets HOST_NOT_ALLOWED from apiClient, by default")
    func metadataAddressRefused() async throws {
        let subscribe = """
            export default async function subscribe({ apiClient }) {
              try { await apiClient.get('/latest/meta-data/iam/security-credentials') } catch (error) { return { state: { code: error.code, message: error.message } } }
              return { state: { code: 'reached' } }
            }
            """
        let runtime = try RuntimeFixtures.acme(
            ["subscribe.js": subscribe, "handle.js": "export default async function () { return { events: [] } }", "unsubscribe.js": RuntimeFixtures.noopUnsubscribe],
            extra: ["connectors/acme/auth/make-api-client.map.yml": "baseUri: https://169.254.169.254\n"])
        let context = MethodContext(connectorKey: "acme", owner: .event("thing"), parameters: ["project": "p1"], credentials: [:])
        let result = try await runtime.subscribe(context, webhookUri: "https://inlet.test/w/1")
        #expect(result.state?["code"] == "HOST_NOT_ALLOWED")
        #expect(result.state?["message"]?.stringValue?.contains("169.254.169.254") == true)
    }
}
