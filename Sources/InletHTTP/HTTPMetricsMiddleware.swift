import Foundation
import Hummingbird
import Metrics
import Synchronization

/// Counts every HTTP request by route, method and status (`inlet_http_requests_total`) and
/// times it (`inlet_http_request_duration_seconds`, until the response is ready to be written; Inlet's answers are small and whole). The
/// route is the matched pattern (`/webhooks/{token}`), never the path itself, so a token does
/// not become a label; unmatched paths count as `unmatched`.
///
/// Placed outermost, so it sees the status the problem middleware made of an error.
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    private let cache = HTTPMetricsCache()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            let metrics = cache.metrics(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: response.status.code)
            metrics.requests.increment()
            metrics.duration.record(duration: ContinuousClock.now - started)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            let metrics = cache.metrics(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: status)
            metrics.requests.increment()
            metrics.duration.record(duration: ContinuousClock.now - started)
            throw error
        }
    }
}

/// The counters and timers of each route, method and status, made once.
private final class HTTPMetricsCache: Sendable {
    struct Key: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    struct Handles: Sendable {
        var requests: Counter
        var duration: Metrics.Timer
    }

    private let handles = Mutex<[Key: Handles]>([:])

    func metrics(route: String, method: String, status: Int) -> Handles {
        let key = Key(route: route, method: method, status: status)
        return handles.withLock { handles in
            if let found = handles[key] { return found }
            let dimensions = [("route", route), ("method", method), ("status", String(status))]
            let made = Handles(
                requests: Counter(label: "inlet_http_requests_total", dimensions: dimensions),
                duration: Metrics.Timer(label: "inlet_http_request_duration_seconds", dimensions: dimensions))
            handles[key] = made
            return made
        }
    }
}
