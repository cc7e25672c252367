import Foundation
import Hummingbird
import InletConnectors
import InletKafka
import NIOCore

/// An HTTP error answered with an RFC 9457 problem body (`application/problem+json`):
/// the one error-to-HTTP mapping of Inlet's HTTP surface.
public struct ProblemDetails: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    /// A short, stable summary of the problem type.
    public var title: String
    /// What happened in this case and what to do next.
    public var detail: String
    /// Extra members (e.g. `errors` for schema validation failures).
    public var extensions: [String: JSONValue]
    /// Extra response headers (e.g. `Retry-After`).
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, title: String? = nil, detail: String, extensions: [String: JSONValue] = [:], headers: HTTPFields = [:]) {
        self.status = status
        self.title = title ?? status.reasonPhrase
        self.detail = detail
        self.extensions = extensions
        self.headers = headers
    }

    public var body: JSONValue {
        var members = extensions
        members["type"] = "about:blank"
        members["title"] = .string(title)
        members["status"] = .integer(Int64(status.code))
        members["detail"] = .string(detail)
        return .object(members)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: body.serialized())))
    }
}

/// Turns any error that is not already a `ProblemDetails` into one, so every failure has a
/// JSON problem body (Hummingbird's own `HTTPError`s keep their status).
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as ProblemDetails {
            throw problem
        } catch let error as HTTPError {
            throw ProblemDetails(error.status, detail: error.body ?? error.status.reasonPhrase)
        } catch {
            context.logger.error("unhandled error: \(error)")
            throw ProblemDetails(.internalServerError, detail: "an internal error occurred; see the server log")
        }
    }
}

extension Response {
    /// A JSON response.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        json(ByteBuffer(data: value.serialized()), status: status)
    }

    /// A JSON object response written member by member, without a tree (members in key order).
    static func jsonObject(status: HTTPResponse.Status = .ok, _ members: (inout JSONObjectMembers) -> Void) -> Response {
        var writer = JSONWriter()
        writer.writeObject(members)
        return json(ByteBuffer(bytes: writer.bytes), status: status)
    }

    private static func json(_ body: ByteBuffer, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }
}

extension ProblemDetails {
    /// 503 for tables this replica could not read up to their end (`what` names them), so it
    /// would answer from a stale copy; `then` says what the client should do.
    static func notCaughtUp(reading what: String, _ error: any Error, then: String = "retry") -> ProblemDetails {
        ProblemDetails(
            .serviceUnavailable, title: "Not caught up", detail: "could not read the latest \(what) from Kafka (\(error)); \(then)",
            headers: [.retryAfter: "5"])
    }
}

extension KafkaProducer {
    /// Appends `record` and waits for the broker's acknowledgement; when none comes, a 503
    /// with `Retry-After` saying nothing was stored. The one place HTTP turns a failed append
    /// into an answer.
    @discardableResult
    func appendOrUnavailable(_ record: KafkaRecord) async throws -> KafkaDeliveryReport {
        let started = ContinuousClock.now
        do {
            // A full local queue (the broker takes less than arrives) is answered at once.
            let report = try await send(record, whenQueueFull: .fail)
            AppendMetrics.shared.appended(to: record.topic, since: started)
            return report
        } catch {
            AppendMetrics.shared.failed(to: record.topic)
            throw ProblemDetails(
                .serviceUnavailable, title: "Broker unavailable",
                detail: "the request could not be stored (\(error)); nothing was accepted, retry later",
                headers: [.retryAfter: "5"]
            )
        }
    }
}

extension Request {
    /// The whole body, at most `maxBytes`; a larger one is a 413 problem saying `limit`
    /// (Hummingbird and NIO each have their own error for it, which would otherwise be a 500).
    mutating func collectBody(upTo maxBytes: Int, tooLarge limit: String) async throws -> ByteBuffer {
        do {
            return try await collectBody(upTo: maxBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw ProblemDetails(.contentTooLarge, title: "Body too large", detail: limit)
        } catch is NIOTooManyBytesError {
            throw ProblemDetails(.contentTooLarge, title: "Body too large", detail: limit)
        }
    }
}
