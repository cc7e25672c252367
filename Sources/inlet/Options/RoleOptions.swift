import ArgumentParser
import Foundation
import InletConnectors
import InletHTTP
import InletKafka
import InletObservability
import InletPipeline
import Logging
import ServiceLifecycle

/// Options of the worker roles (ingress with its admin API, handler, dispatcher).
struct RoleOptions: ParsableArguments {
    @Option(help: "Folder holding connectors/ and app-events/ (env: INLET_WORKSPACE).")
    var workspace: String?

    @Option(help: "Processing guarantee: at-least-once or exactly-once (env: INLET_PROCESSING_GUARANTEE).")
    var processingGuarantee: ProcessingGuarantee?

    @Option(help: "Base URL external apps reach the ingress at, for webhook URLs (env: INLET_PUBLIC_URL).")
    var publicURL: String?

    @Option(help: "Route a connector's events to its own topic, connector=topic[,...] (env: INLET_ROUTES).")
    var route: String?

    @Option(help: "Send every connector API call to this base URL instead (a local stand-in; env: INLET_API_BASE_OVERRIDE).")
    var apiBaseOverride: String?

    @Option(help: ArgumentHelp(
        "A name of this handler or dispatcher that stays the same across its restarts, for stable transactional ids under exactly-once (env: INLET_INSTANCE_ID; on Kubernetes set it to the pod name of a StatefulSet).",
        discussion: "A restarted instance then fences its predecessor's open transaction instead of leaving it open until the transaction timeout. Two running instances must never share one: they would fence each other."
    ))
    var instanceId: String?

    @Flag(help: ArgumentHelp(
        "Let connector APIs reach loopback, private and link-local addresses (env: INLET_ALLOW_PRIVATE_NETWORKS=1).",
        discussion: "By default a connector's API client reaches only public addresses over https (plain http only to hosts in allowedHosts), checked after DNS resolution: connector code and customer parameters choose URLs, and must not reach the cloud's metadata service or internal services. For a local stand-in API in development, or connectors for self-hosted apps on your network."
    ))
    var allowPrivateNetworks = false

    @Option(help: ArgumentHelp(
        "Serve /health, /health/ready and /metrics on this port, without a token (env: INLET_METRICS_PORT).",
        discussion: "For probes and Prometheus inside the cluster; ingress also answers them on its own port (/metrics there needs the admin token)."))
    var metricsPort: Int?

    var resolvedMetricsPort: Int? { metricsPort ?? Environment.int("INLET_METRICS_PORT") }

    @Option(help: ArgumentHelp(
        "Days a deleted (archived) subscription stays on the subscriptions table before the handler removes it, 1–36500 (env: INLET_ARCHIVE_RETENTION_DAYS; default 30).",
        discussion: "Until then GET /api/v1/subscriptions/<id> shows it archived, with its state and secret parameters already dropped. Keep it longer than the retention of the commands topic: the archived record is what tells a handler that replays old commands (its group's offsets lost) that they were applied."))
    var archiveRetentionDays: Int?

    /// How long archived subscriptions are kept (`--archive-retention-days`).
    func archiveRetention() throws -> Duration {
        try RetentionDays.duration(
            archiveRetentionDays ?? Environment.int("INLET_ARCHIVE_RETENTION_DAYS") ?? 30, option: "--archive-retention-days / INLET_ARCHIVE_RETENTION_DAYS")
    }

    /// The operations listener of `--metrics-port`, when one is asked for.
    func operationsServer(readiness: Readiness, logger: Logger) -> [any Service] {
        guard let port = resolvedMetricsPort else { return [] }
        return [OperationsServer(port: port, readiness: readiness, logger: logger) { bound in
            FileHandle.standardOutput.write(Data("health and metrics on http://0.0.0.0:\(bound) (/health, /health/ready, /metrics)\n".utf8))
        }]
    }

    var resolvedAPIBaseOverride: String? { apiBaseOverride ?? Environment.string("INLET_API_BASE_OVERRIDE") }

    var networkAccess: NetworkAccess {
        let fromEnvironment = Environment.string("INLET_ALLOW_PRIVATE_NETWORKS").map { ["1", "true", "yes"].contains($0.lowercased()) } ?? false
        return allowPrivateNetworks || fromEnvironment ? .privateNetworksAllowed : .publicAddressesOnly
    }

    /// `--instance-id`, then `INLET_INSTANCE_ID`; `nil` when neither is set. Never taken from
    /// the host name: two instances on one machine would share it and fence each other.
    var resolvedInstanceId: String? {
        instanceId.flatMap { $0.isEmpty ? nil : $0 } ?? Environment.string("INLET_INSTANCE_ID")
    }

    /// Loads and validates the workspace; prints every problem and fails on errors.
    func loadWorkspace() throws -> Workspace {
        let path = workspace ?? Environment.string("INLET_WORKSPACE") ?? "."
        let url = URL(fileURLWithPath: path, isDirectory: true)
        let (loaded, problems) = WorkspaceLoader().load(from: url)
        for problem in problems { FileHandle.standardError.write(Data((problem.render() + "\n").utf8)) }
        guard let loaded else {
            throw ValidationError("the workspace at \(url.path) has errors (listed above); fix them or check with `inlet connector validate \(path)`")
        }
        return loaded
    }

    func guarantee(default defaultGuarantee: ProcessingGuarantee) -> ProcessingGuarantee {
        requestedGuarantee ?? defaultGuarantee
    }

    /// `--processing-guarantee`, else `INLET_PROCESSING_GUARANTEE`; `nil` when neither is set.
    var requestedGuarantee: ProcessingGuarantee? {
        processingGuarantee ?? Environment.string("INLET_PROCESSING_GUARANTEE").flatMap(ProcessingGuarantee.init(rawValue:))
    }

    func publicURL(default defaultURL: String) -> String {
        publicURL ?? Environment.string("INLET_PUBLIC_URL") ?? defaultURL
    }

    func routing(topics: InletTopics) throws -> EventRouting {
        EventRouting(topics: topics, connectorTopics: try EventRouting.parse(route ?? Environment.string("INLET_ROUTES") ?? ""))
    }

    /// The credential vault from `INLET_SECRET_KEYS` (a ring: the first key seals, all open)
    /// or `INLET_SECRET_KEY`; `inlet dev` may fall back to a random key. `INLET_RECORD_SEALING`
    /// (`sealed`, the default, or `compatible` during a rolling upgrade from versions before
    /// sealed records) says how records are written.
    static func vault(allowEphemeral: Bool, logger: Logger) throws -> CredentialVault {
        var vault = try keyRing(allowEphemeral: allowEphemeral, logger: logger)
        switch Environment.string("INLET_RECORD_SEALING")?.lowercased() {
        case nil, "", "sealed":
            vault.sealsRecords = true
        case "compatible":
            vault.sealsRecords = false
            logger.warning("INLET_RECORD_SEALING=compatible: subscription state and connector parameters are written in clear text, as versions before sealed records read them; remove it once every replica runs this version")
        case let other?:
            throw ValidationError("INLET_RECORD_SEALING is '\(other)'; use sealed (the default) or compatible (only while replicas of a version before sealed records still run)")
        }
        return vault
    }

    private static func keyRing(allowEphemeral: Bool, logger: Logger) throws -> CredentialVault {
        if let ring = Environment.string("INLET_SECRET_KEYS") {
            if Environment.string("INLET_SECRET_KEY") != nil {
                throw ValidationError("both INLET_SECRET_KEYS and INLET_SECRET_KEY are set; set only INLET_SECRET_KEYS (the sealing key first, then the older keys)")
            }
            do {
                // A passphrase kept with INLET_SECRET_KEY_LEGACY_PASSPHRASE=1 may stay in the
                // ring after a real key, so a deployment can rotate away from it.
                let legacy = Environment.string("INLET_SECRET_KEY_LEGACY_PASSPHRASE") == "1"
                let entries = ring.split(separator: ",").map(String.init)
                if legacy, let first = entries.first, !allowEphemeral, !CredentialVault.isKey(first) {
                    throw ValidationError("the first entry of INLET_SECRET_KEYS seals new values and must be a real key (`openssl rand -base64 32`); a legacy passphrase may only follow it")
                }
                return try CredentialVault(ring: entries, strict: !allowEphemeral && !legacy)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        if let secret = Environment.string("INLET_SECRET_KEY") {
            if allowEphemeral {
                // `inlet dev`: any text will do, stretched, with a word about production.
                if CredentialVault.isKey(secret) == false {
                    logger.warning("INLET_SECRET_KEY is not 32 bytes as base64 or hex: it is stretched with SHA-256, which every other role refuses; make a key with `openssl rand -base64 32`")
                }
                return CredentialVault(secret: secret)
            }
            if !CredentialVault.isKey(secret) && Environment.string("INLET_SECRET_KEY_LEGACY_PASSPHRASE") == "1" {
                // A deployment that started with a passphrase: its sealed credentials open only
                // with that key, so it may keep it, warned at every start.
                logger.warning("INLET_SECRET_KEY is a passphrase, kept because INLET_SECRET_KEY_LEGACY_PASSPHRASE=1: it is stretched with SHA-256 and far weaker than 32 random bytes")
                return CredentialVault(secret: secret)
            }
            do {
                return try CredentialVault(strictSecret: secret)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        guard allowEphemeral else {
            throw ValidationError("set INLET_SECRET_KEY (32 random bytes, base64: `openssl rand -base64 32`) — every role must use the same key to read stored credentials")
        }
        logger.warning("INLET_SECRET_KEY is not set: credentials are sealed with a random key that lives as long as this process")
        return .ephemeral()
    }

    /// The admin API token from `INLET_ADMIN_TOKEN`; `inlet dev` generates one when it is not set.
    static func adminToken(allowGenerated: Bool) -> String? {
        if let token = Environment.string("INLET_ADMIN_TOKEN") { return token }
        return allowGenerated ? "dev-" + UUID().uuidString.lowercased().prefix(13) : nil
    }

    /// The admin tokens in force: `token` (INLET_ADMIN_TOKEN, named `admin`, admin scope) and the
    /// lines of `INLET_ADMIN_TOKENS_FILE` (`<name> <scope> <secret>`, read again when it changes).
    static func adminTokens(token: String?, logger: Logger) throws -> AdminTokens {
        let file = Environment.string("INLET_ADMIN_TOKENS_FILE").map { URL(fileURLWithPath: $0) }
        do {
            // Refuses neither being set, with what to set.
            return try AdminTokens(fixed: token.map { [.environment(secret: $0)] } ?? [], file: file, logger: logger)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

extension ProcessingGuarantee: ExpressibleByArgument {}
