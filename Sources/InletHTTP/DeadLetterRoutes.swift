import Foundation
import Hummingbird
import InletConnectors
import InletKafka
import InletPipeline

/// `/api/v1/dead-letters`: what failed and why, and replaying it once the cause is fixed —
/// what `inlet dlq list|replay` does, over HTTP (for the console and for automation).
///
/// - `GET /api/v1/dead-letters?reason=&subscriptionId=&stage=&connectorKey=&limit=`: newest
///   first (at most `limit`, default 100, at most 1000), each with its reason and where its
///   original is, never the original's body (it may hold personal data; replay reads it).
/// - `POST /api/v1/dead-letters/{id}/replay`: re-produces that dead letter's original to its
///   topic, byte for byte, with `inlet-replayed-from: <id>`.
/// - `POST /api/v1/dead-letters/replay` with `{"ids": [...]}`, `{"reason": ...}`,
///   `{"subscriptionId": ...}` or `{"all": true}`: the same for each matching dead letter, once
///   per failure (a failure replayed and dead-lettered again is replayed as its latest letter).
struct DeadLetterRoutes {
    let admin: AdminRoutes
    let store: DeadLetterStore
    let producer: KafkaProducer

    func register(on api: RouterGroup<BasicRequestContext>) {
        api.get("dead-letters") { request, _ in try await list(request) }
        api.post("dead-letters/replay") { request, context in try await replay(request, context: context) }
        api.post("dead-letters/:id/replay") { _, context in try await replayOne(context) }
    }

    private func list(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let limitText = query["limit"].map(String.init)
        let limit = try limitText.map { text -> Int in
            guard let value = Int(text), (1...1000).contains(value) else { throw admin.unprocessable("limit must be a whole number from 1 to 1000") }
            return value
        } ?? 100
        if let stage = query["stage"].map(String.init), DeadLetter.Stage(rawValue: stage) == nil {
            throw admin.unprocessable("stage must be one of \(DeadLetter.Stage.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let letters = try await all().filter { letter in
            query["reason"].map { letter.reason.code.rawValue == String($0) } ?? true
                && query["subscriptionId"].map { letter.subscriptionId == String($0) } ?? true
                && query["stage"].map { letter.stage.rawValue == String($0) } ?? true
                && query["connectorKey"].map { letter.connectorKey == String($0) } ?? true
        }
        let newest = letters.sorted { $0.failedAt > $1.failedAt }
        return .json([
            "deadLetters": .array(newest.prefix(limit).map(Self.summary)), "total": .integer(Int64(newest.count)),
        ])
    }

    private func replayOne(_ context: BasicRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        guard let letter = try await all().first(where: { $0.id == id }) else {
            throw ProblemDetails(.notFound, detail: "no dead letter '\(id)' on the dead-letter topic (it may have been trimmed by retention)")
        }
        return try await replay([letter])
    }

    private func replay(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await admin.jsonBody(request, context: context)
        let ids = body["ids"]?.arrayValue?.compactMap(\.stringValue)
        let reason = body["reason"]?.stringValue
        let subscriptionId = body["subscriptionId"]?.stringValue
        let all = body["all"]?.boolValue == true
        if let ids, ids.isEmpty { throw admin.unprocessable("ids is empty: name the dead letters to replay, or leave ids out") }
        guard all || ids != nil || reason != nil || subscriptionId != nil else {
            throw admin.unprocessable("say which dead letters to replay: ids, reason, subscriptionId, or all: true")
        }
        // Superseded letters (replayed and failed again) are left out before filtering, so a
        // failure whose latest letter has another reason is not sent again by the old one's.
        let chosen = DeadLetterStore.latestFailures(try await self.all()).filter { letter in
            (ids.map { $0.contains(letter.id) } ?? true) && (reason.map { letter.reason.code.rawValue == $0 } ?? true)
                && (subscriptionId.map { letter.subscriptionId == $0 } ?? true)
        }
        return try await replay(chosen)
    }

    /// Re-produces `letters`, each on its own: answers which were replayed and which could
    /// not be (original gone, not a stage's input, or the broker did not take it), so a retry
    /// can name exactly the failed ones.
    private func replay(_ letters: [DeadLetter]) async throws -> Response {
        var replayed: [JSONValue] = []
        var failed: [JSONValue] = []
        for letter in letters {
            do {
                let record = try await store.replayRecord(for: letter)
                _ = try await producer.appendOrUnavailable(record)
                replayed.append(["id": .string(letter.id), "topic": .string(record.topic)])
            } catch let problem as ProblemDetails {
                failed.append(["id": .string(letter.id), "error": .string(problem.detail)])
            } catch {
                failed.append(["id": .string(letter.id), "error": .string("\(error)")])
            }
        }
        return .json(["replayed": .array(replayed), "failed": .array(failed)])
    }

    private func all() async throws -> [DeadLetter] {
        do {
            return try await store.all()
        } catch {
            throw ProblemDetails(.serviceUnavailable, title: "Broker unavailable", detail: "the dead-letter topic could not be read (\(error)); retry later", headers: [.retryAfter: "5"])
        }
    }

    static func summary(_ letter: DeadLetter) -> JSONValue {
        var reason: [String: JSONValue] = ["code": .string(letter.reason.code.rawValue), "message": .string(letter.reason.message)]
        if let details = letter.reason.details { reason["details"] = details }
        var original: [String: JSONValue] = [
            "topic": .string(letter.original.topic), "partition": .integer(Int64(letter.original.partition)), "offset": .integer(letter.original.offset),
            "valueBytes": .integer(Int64(letter.original.valueBytes ?? letter.original.value.count)),
        ]
        if let key = letter.original.key { original["key"] = .string(key) }
        var summary: [String: JSONValue] = [
            "id": .string(letter.id), "failedAt": .string(MessageCodec.timestamp(letter.failedAt)), "stage": .string(letter.stage.rawValue),
            "reason": .object(reason), "original": .object(original),
            "replayOf": letter.original.headers.first { $0.key == DeadLetterStore.replayHeader }?.text.map(JSONValue.string) ?? .null,
        ]
        if let subscriptionId = letter.subscriptionId { summary["subscriptionId"] = .string(subscriptionId) }
        if let connectorKey = letter.connectorKey { summary["connectorKey"] = .string(connectorKey) }
        return .object(summary)
    }
}
