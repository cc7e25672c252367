import Foundation
import Hummingbird
import InletObservability
import Logging
import ServiceLifecycle

/// `/health` (liveness: the process answers), `/health/ready` (every ``ReadinessCheck`` of the
/// process holds; else 503 saying what is missing, with `Retry-After`) and `/metrics`
/// (Prometheus text format).
struct OperationsRoutes: Sendable {
    let readiness: Readiness

    func registerHealth<Context: RequestContext>(on router: Router<Context>) {
        router.get("/health") { _, _ in Response.json(["status": "ok"]) }
        router.get("/health/ready") { _, _ in
            let problems = readiness.problems()
            if problems.isEmpty { return Response.json(["status": "ready"]) }
            var problem = ProblemDetails(
                .serviceUnavailable, title: "Not ready", detail: problems.joined(separator: "; ") + "; retry after 1 s", headers: [.retryAfter: "1"])
            problem.extensions["waitingFor"] = .array(problems.map { .string($0) })
            throw problem
        }
    }

    /// The metrics of ``InletMetrics/registry`` (empty until the process bootstrapped it: the
    /// `inlet` command does, an application embedding Inlet's modules may use its own backend).
    static func metricsResponse() -> Response {
        Response(
            status: .ok, headers: [.contentType: InletMetrics.contentType],
            body: .init(byteBuffer: ByteBuffer(bytes: InletMetrics.exposition())))
    }
}

/// The small HTTP listener of roles without ingress (`--metrics-port`, env
/// `INLET_METRICS_PORT`): `/health`, `/health/ready` and `/metrics`, without a token — bind it
/// where only the cluster reaches it (the pod's own port, not a public load balancer).
public struct OperationsServer: Service {
    let host: String
    let port: Int
    let readiness: Readiness
    let logger: Logger
    let onRunning: @Sendable (Int) async -> Void

    public init(host: String = "0.0.0.0", port: Int, readiness: Readiness, logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) {
        self.host = host
        self.port = port
        self.readiness = readiness
        self.logger = logger
        self.onRunning = onRunning
    }

    public func run() async throws {
        let router = Router()
        router.add(middleware: HTTPMetricsMiddleware())
        router.add(middleware: ProblemMiddleware())
        let routes = OperationsRoutes(readiness: readiness)
        routes.registerHealth(on: router)
        router.get("/metrics") { _, _ in OperationsRoutes.metricsResponse() }
        let onRunning = self.onRunning
        let application = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "inlet"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) }, logger: logger)
        try await application.run()
    }
}
