import Foundation
import NIOCore

/// Which addresses a connector's API client may connect to.
///
/// Connector code chooses the URLs it calls (`make-api-client`'s `baseUri`, absolute URLs),
/// and a customer's parameters can steer them, so by default an API client reaches only
/// public addresses: never loopback, link-local (cloud metadata at 169.254.169.254), private,
/// shared (CGNAT), multicast or reserved ranges. The host name is resolved first, every
/// address it resolves to is checked, and the connection goes to the checked address (so a
/// name that resolves to a public address for the check and to 127.0.0.1 for the connection
/// gains nothing).
public enum NetworkAccess: Sendable, Hashable {
    /// Only public addresses (the default, in `inlet dev` too).
    case publicAddressesOnly
    /// Private and loopback addresses too: `--allow-private-networks`, or a local stand-in
    /// given with `--api-base-override`, or an address the operator configured.
    case privateNetworksAllowed

    /// Whether this policy refuses `address`.
    public func refuses(_ address: SocketAddress) -> Bool {
        self == .publicAddressesOnly && !Self.isPublic(address)
    }

    /// Whether `address` is a public unicast address: not loopback, link-local, private,
    /// shared address space, multicast, unspecified, documentation or otherwise reserved
    /// (IPv4-mapped and NAT64 IPv6 addresses are judged by the IPv4 address they carry).
    public static func isPublic(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let v4):
            return isPublicIPv4(UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6):
            var raw = v6.address.sin6_addr
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            return isPublicIPv6(bytes)
        case .unixDomainSocket:
            return false
        }
    }

    static func isPublicIPv4(_ address: UInt32) -> Bool {
        func within(_ network: UInt32, _ prefix: Int) -> Bool {
            let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix)
            return address & mask == network & mask
        }
        let refused: [(UInt32, Int)] = [
            (0x0000_0000, 8),  // 0.0.0.0/8 "this network"
            (0x0A00_0000, 8),  // 10.0.0.0/8 private
            (0x6440_0000, 10),  // 100.64.0.0/10 shared address space (CGNAT)
            (0x7F00_0000, 8),  // 127.0.0.0/8 loopback
            (0xA9FE_0000, 16),  // 169.254.0.0/16 link-local, cloud metadata
            (0xAC10_0000, 12),  // 172.16.0.0/12 private
            (0xC000_0000, 24),  // 192.0.0.0/24 IETF protocol assignments
            (0xC000_0200, 24),  // 192.0.2.0/24 documentation
            (0xC0A8_0000, 16),  // 192.168.0.0/16 private
            (0xC612_0000, 15),  // 198.18.0.0/15 benchmarking
            (0xC633_6400, 24),  // 198.51.100.0/24 documentation
            (0xCB00_7100, 24),  // 203.0.113.0/24 documentation
            (0xE000_0000, 4),  // 224.0.0.0/4 multicast
            (0xF000_0000, 4),  // 240.0.0.0/4 reserved, broadcast
        ]
        return !refused.contains { within($0.0, $0.1) }
    }

    static func isPublicIPv6(_ bytes: [UInt8]) -> Bool {
        guard bytes.count == 16 else { return false }
        func ipv4(at offset: Int) -> UInt32 {
            bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) { return false }  // :: and ::1
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF { return isPublicIPv4(ipv4(at: 12)) }  // ::ffff:a.b.c.d
        if bytes[0..<12].allSatisfy({ $0 == 0 }) { return isPublicIPv4(ipv4(at: 12)) }  // ::a.b.c.d (deprecated IPv4-compatible)
        if bytes[0..<12] == [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0] { return isPublicIPv4(ipv4(at: 12)) }  // 64:ff9b::/96 NAT64
        if bytes[0] == 0x20 && bytes[1] == 0x02 { return isPublicIPv4(ipv4(at: 2)) }  // 2002::/16 6to4
        if bytes[0] == 0xFF { return false }  // multicast
        if bytes[0] & 0xFE == 0xFC { return false }  // fc00::/7 unique local
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return false }  // fe80::/10 link-local
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0xC0 { return false }  // fec0::/10 site-local (deprecated)
        if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0D && bytes[3] == 0xB8 { return false }  // 2001:db8::/32 documentation
        if bytes[0] == 0x01 && bytes[1..<8].allSatisfy({ $0 == 0 }) { return false }  // 100::/64 discard
        return true
    }
}

/// Resolves host names to addresses for ``HTTPAPIClient``; tests give names of their own.
public protocol HostResolver: Sendable {
    /// Every address `host` resolves to for TCP connections to `port`.
    func resolve(host: String, port: Int) async throws -> [SocketAddress]
}

/// The system's resolver (`getaddrinfo`: /etc/hosts, then DNS), called on a Dispatch thread so
/// that a slow DNS server never holds a thread Swift concurrency runs tasks on.
public struct SystemHostResolver: HostResolver {
    public init() {}

    public func resolve(host: String, port: Int) async throws -> [SocketAddress] {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try Self.lookUp(host: host, port: port) })
            }
        }
    }

    struct LookupFailed: Error, CustomStringConvertible {
        let host: String
        let reason: String
        var description: String { "cannot resolve \(host): \(reason)" }
    }

    static func lookUp(host: String, port: Int) throws -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw LookupFailed(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let entry = next {
            if let address = entry.pointee.ai_addr {
                switch Int32(address.pointee.sa_family) {
                case AF_INET:
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { addresses.append(SocketAddress($0.pointee, host: host)) }
                case AF_INET6:
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { addresses.append(SocketAddress($0.pointee, host: host)) }
                default:
                    break
                }
            }
            next = entry.pointee.ai_next
        }
        guard !addresses.isEmpty else { throw LookupFailed(host: host, reason: "no IPv4 or IPv6 address") }
        return addresses
    }
}
