#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Sets `TCP_NODELAY` on the embedded brokers' listening sockets, so the connections they
/// accept answer without Nagle's delay.
///
/// librdkafka's mock cluster never sets it. A producer writing to several partitions sends
/// one request per partition; the broker's second small response then waits for the
/// client's delayed acknowledgement (40 ms on Linux), so every multi-partition produce,
/// fetch and commit took about 44 ms instead of 2–3 ms (measured with a C program against
/// librdkafka 2.0.2: 500 messages to 16 partitions, 44.0 ms → 2.7 ms). Real Kafka brokers
/// set `TCP_NODELAY` on every connection; with this the embedded one behaves alike. On
/// Linux an accepted socket inherits `TCP_NODELAY` from its listener.
///
/// The mock cluster offers no hook for its sockets, so its listeners are found among this
/// process's descriptors: listening IPv4 TCP sockets on one of the brokers' ports (the mock
/// brokers listen on loopback).
enum ListenerNoDelay {
    /// The ports of a `host:port[,host:port]` list.
    static func ports(of bootstrapServers: String) -> Set<UInt16> {
        Set(bootstrapServers.split(separator: ",").compactMap { server in
            server.split(separator: ":").last.flatMap { UInt16($0) }
        })
    }

    /// Sets `TCP_NODELAY` on every listening socket of this process bound to one of `ports`;
    /// returns how many it set.
    @discardableResult
    static func apply(toListenersOn ports: Set<UInt16>) -> Int {
        guard !ports.isEmpty else { return 0 }
        var applied = 0
        for descriptor in openDescriptors() where isListener(descriptor) {
            guard let port = localPort(of: descriptor), ports.contains(port) else { continue }
            var on: Int32 = 1
            if setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 {
                applied += 1
            }
        }
        return applied
    }

    /// This process's open file descriptors (from /proc/self/fd, else the first 4,096).
    private static func openDescriptors() -> [Int32] {
        if let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            return names.compactMap { Int32($0) }.sorted()
        }
        return Array(0..<4096)
    }

    private static func isListener(_ descriptor: Int32) -> Bool {
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0 && accepting != 0
    }

    private static func localPort(of descriptor: Int32) -> UInt16? {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard result == 0, address.sin_family == sa_family_t(AF_INET) else { return nil }
        return UInt16(bigEndian: address.sin_port)
    }
}
