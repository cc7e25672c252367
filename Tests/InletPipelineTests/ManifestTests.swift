import Foundation
import InletPipeline
import Testing
import Yams

/// What can be checked of the deployment files without a cluster or a container engine: they
/// parse, every flag they pass exists in the binary, probes and scrape ports match the flags,
/// and KEDA scales on Inlet's own consumer groups and topics.
@Suite("Deployment manifests", .enabled(if: RoleProcess.binaryExists, "needs the inlet binary (swift build)"))
struct ManifestTests {
    static let root = RoleProcess.binary.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `inlet <command...> --help`.
    private func help(_ command: [String]) throws -> String {
        let process = Process()
        process.executableURL = RoleProcess.binary
        process.arguments = command + ["--help"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Checks that each `--flag` of `arguments` (after the command words) is one the command
    /// knows; returns the flags with their values.
    private func checkFlags(_ arguments: [String], commandWords: Int, in file: String) throws -> [String: String] {
        let text = try help(Array(arguments.prefix(commandWords)))
        var flags: [String: String] = [:]
        var index = commandWords
        while index < arguments.count {
            let flag = arguments[index]
            #expect(flag.hasPrefix("--"), "\(file): \(arguments): '\(flag)' is not a flag")
            #expect(text.contains(flag + " ") || text.contains(flag + "\n"), "\(file): `inlet \(arguments.prefix(commandWords).joined(separator: " "))` has no \(flag)")
            if index + 1 < arguments.count, !arguments[index + 1].hasPrefix("--") {
                flags[flag] = arguments[index + 1]
                index += 2
            } else {
                flags[flag] = ""
                index += 1
            }
        }
        return flags
    }

    @Test("Kubernetes: every flag exists; readiness on /health/ready and liveness on /health at declared ports; metrics ports and scrape annotations match --metrics-port; KEDA's groups and topics are Inlet's")
    func kubernetes() throws {
        let file = "deploy/kubernetes/inlet.yaml"
        let text = try String(contentsOf: Self.root.appendingPathComponent(file), encoding: .utf8)
        let documents = try Yams.load_all(yaml: text).compactMap { $0 as? [String: Any] }
        #expect(documents.count >= 8)
        let configMap = try #require(documents.first { $0["kind"] as? String == "ConfigMap" })
        let prefix = (configMap["data"] as? [String: String])?["INLET_TOPIC_PREFIX"] ?? "inlet."
        let topics = InletTopics(prefix: prefix, partitions: Int((configMap["data"] as? [String: String])?["INLET_TOPIC_PARTITIONS"] ?? "8") ?? 8)
        var roles: [String: String] = [:]  // workload name → role
        for workload in documents where ["Deployment", "StatefulSet"].contains(workload["kind"] as? String) {
            let name = try #require((workload["metadata"] as? [String: Any])?["name"] as? String)
            let template = try #require((workload["spec"] as? [String: Any])?["template"] as? [String: Any])
            let pod = try #require(template["spec"] as? [String: Any])
            let container = try #require((pod["containers"] as? [[String: Any]])?.first)
            let arguments = try #require(container["args"] as? [String])
            let role = try #require(arguments.first)
            #expect(["ingress", "handler", "dispatcher"].contains(role), "\(name): \(role)")
            roles[name] = role
            let flags = try checkFlags(arguments, commandWords: 1, in: file)
            let ports = Dictionary(uniqueKeysWithValues: ((container["ports"] as? [[String: Any]]) ?? []).compactMap { port in
                (port["name"] as? String).flatMap { name in (port["containerPort"] as? Int).map { (name, $0) } }
            })
            let metricsPort = try #require(flags["--metrics-port"].flatMap { Int($0) }, "\(name) serves no health and metrics port")
            #expect(ports["metrics"] == metricsPort, "\(name): the `metrics` port is --metrics-port")
            if role == "ingress" { #expect(ports["http"] == flags["--port"].flatMap { Int($0) }, "\(name): the `http` port is --port") }
            let readiness = try #require((container["readinessProbe"] as? [String: Any])?["httpGet"] as? [String: Any], "\(name) has no readiness probe")
            let liveness = try #require((container["livenessProbe"] as? [String: Any])?["httpGet"] as? [String: Any], "\(name) has no liveness probe")
            #expect(readiness["path"] as? String == "/health/ready")
            #expect(liveness["path"] as? String == "/health")
            for probe in [readiness, liveness] {
                let port = try #require(probe["port"] as? String)
                #expect(ports[port] != nil, "\(name): probe port \(port) is not declared")
            }
            let annotations = (template["metadata"] as? [String: Any])?["annotations"] as? [String: String] ?? [:]
            #expect(annotations["prometheus.io/port"] == String(metricsPort), "\(name): scraped where the metrics are")
            #expect(annotations["prometheus.io/path"] == "/metrics")
        }
        #expect(Set(roles.values) == ["ingress", "handler", "dispatcher"])
        let scaled = documents.filter { $0["kind"] as? String == "ScaledObject" }
        #expect(scaled.count == 2)
        for object in scaled {
            let spec = try #require(object["spec"] as? [String: Any])
            let target = try #require((spec["scaleTargetRef"] as? [String: Any])?["name"] as? String)
            let role = try #require(roles[target], "KEDA scales \(target), which is not in the file")
            let trigger = try #require((spec["triggers"] as? [[String: Any]])?.first?["metadata"] as? [String: String])
            #expect(trigger["consumerGroup"] == prefix + role)
            #expect(trigger["topic"] == (role == "handler" ? topics.ingress : topics.records))
            #expect((spec["maxReplicaCount"] as? Int ?? 0) <= topics.partitions, "more replicas than partitions stay idle")
        }
    }

    @Test("compose: Kafka in KRaft mode, one service per role; every flag exists; health checks ask /health/ready on --metrics-port")
    func compose() throws {
        let file = "deploy/compose.yml"
        let text = try String(contentsOf: Self.root.appendingPathComponent(file), encoding: .utf8)
        let compose = try #require(try Yams.load(yaml: text) as? [String: Any])
        let services = try #require(compose["services"] as? [String: [String: Any]])
        let kafka = try #require(services["kafka"]?["environment"] as? [String: Any])
        #expect((kafka["KAFKA_PROCESS_ROLES"] as? String)?.contains("controller") == true, "KRaft: the broker is its own controller")
        let topicsCommand = try #require(services["topics"]?["command"] as? [String])
        _ = try checkFlags(topicsCommand, commandWords: 2, in: file)
        for role in ["ingress", "handler", "dispatcher"] {
            let service = try #require(services[role], "no \(role) service")
            let command = try #require(service["command"] as? [String])
            #expect(command.first == role)
            let flags = try checkFlags(command, commandWords: 1, in: file)
            let port = try #require(flags["--metrics-port"])
            let check = try #require((service["healthcheck"] as? [String: Any])?["test"] as? [String])
            #expect(check.last == "http://localhost:\(port)/health/ready", "\(role): \(check)")
            let environment = try #require(service["environment"] as? [String: Any], "\(role): the shared environment is merged in")
            #expect(environment["INLET_KAFKA_BOOTSTRAP_SERVERS"] as? String == "kafka:9092")
        }
    }
}
