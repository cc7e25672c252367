import Foundation
import InletKafka
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Embedded broker sockets")
struct EmbeddedBrokerSocketTests {
    /// librdkafka's mock cluster leaves Nagle's algorithm on: the second of several pipelined
    /// responses then waits for the client's delayed acknowledgement (about 44 ms per
    /// multi-partition produce, measured). Real brokers set TCP_NODELAY on every connection.
    @Test("a connection the embedded broker accepts has TCP_NODELAY set, as on a real broker")
    func acceptedConnectionsHaveNoDelay() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 2, logger: Logger(label: "test"))
        defer { cluster.stop() }
        let ports = cluster.bootstrapServers.split(separator: ",").compactMap { $0.split(separator: ":").last.flatMap { UInt16($0) } }
        #expect(ports.count == 2)
        for port in ports {
            let client = try connect(to: port)
            defer { close(client) }
            // The broker's thread accepts the connection; wait for its socket to appear.
            var accepted: [Int32] = []
            for _ in 0..<100 where accepted.isEmpty {
                accepted = acceptedSockets(localPort: port)
                if accepted.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
            }
            try #require(!accepted.isEmpty, "no accepted connection on port \(port)")
            for socket in accepted {
                #expect(noDelay(socket) == true, "TCP_NODELAY on the broker's side of a connection to port \(port)")
            }
        }
    }

    private func connect(to port: UInt16) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
        return descriptor
    }

    /// This process's connected (not listening) TCP sockets whose local port is `port`: the
    /// broker's side of connections to it.
    private func acceptedSockets(localPort port: UInt16) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap { Int32($0) }.filter { descriptor in
            var accepting: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0, accepting == 0 else { return false }
            var address = sockaddr_in()
            var addressLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &addressLength) }
            }
            return named == 0 && address.sin_family == sa_family_t(AF_INET) && UInt16(bigEndian: address.sin_port) == port
        }
    }

    private func noDelay(_ descriptor: Int32) -> Bool {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &value, &length) == 0 && value != 0
    }
}
