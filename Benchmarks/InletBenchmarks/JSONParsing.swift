import Foundation
import InletConnectors
import InletPipeline

/// InletJSON's parser on the documents of the webhook path, next to Foundation's
/// `JSONSerialization` reading the same bytes (what a hand-written relay in Swift would use):
/// a 0.4 KB GitHub delivery (what the handler reads from `ingress`), a record event (what the
/// dispatcher reads from `records`), and a page of 100 issues (what a pull reads).
func runJSONParsing(iterations: Int = 20_000) throws {
    let delivery = Data(issueDelivery(action: "opened", number: 7, title: "Found a bug").utf8)
    let record: JSONValue = [
        "id": "1347", "name": "Found a bug", "createdTime": "2026-11-25T10:00:00Z", "updatedTime": "2026-11-25T10:00:00Z",
        "fields": [
            "number": 1347, "title": "Found a bug", "body": "It crashes when the \"save\" button is pressed twice.", "state": "open",
            "url": "https://github.com/octo/hello/issues/1347", "author": "octocat", "labels": ["bug", "ui"], "assignees": ["hubot"],
            "action": "opened",
        ],
    ]
    let event = RecordEvent(
        subscriptionId: "sub_0123456789abcdef", customerId: "acme", connectorKey: "github", target: .event(eventKey: "issues"), type: .created,
        record: record, source: .init(topic: "inlet.ingress", partition: 3, offset: 1_234_567, index: 0), occurredAt: Date(timeIntervalSince1970: 1_764_063_331.125), requestId: "req-1"
    )
    let recordEvent = MessageCodec.encode(event)
    let page = Data(("[" + (1...100).map { issueDelivery(action: "edited", number: $0, title: "Issue number \($0)") }.joined(separator: ",") + "]").utf8)

    print("json: \(iterations) parses per row (the page: a tenth as many), after a tenth as many to warm up")
    print("| document | InletJSON µs | JSONSerialization µs | ratio |")
    print("| --- | --- | --- | --- |")
    for (name, bytes, count) in [
        ("GitHub delivery, \(delivery.count) B", delivery, iterations), ("record event, \(recordEvent.count) B", recordEvent, iterations),
        ("100 issues, \(page.count) B", page, max(1, iterations / 10)),
    ] {
        guard try JSONValue(parsing: bytes).objectValue != nil || JSONValue(parsing: bytes).arrayValue != nil else {
            throw BenchmarkFailure("\(name) did not parse")
        }
        for _ in 0..<max(1, count / 10) {
            _ = try JSONValue(parsing: bytes)
            _ = try JSONSerialization.jsonObject(with: bytes)
        }
        let inlet = try measureSecondsSync { for _ in 0..<count { _ = try JSONValue(parsing: bytes) } }
        let foundation = try measureSecondsSync { for _ in 0..<count { _ = try JSONSerialization.jsonObject(with: bytes) } }
        print(String(format: "| %@ | %.2f | %.2f | %.2f |", name as NSString, inlet / Double(count) * 1e6, foundation / Double(count) * 1e6, inlet / foundation))
    }
    // The whole read of a record event as the dispatcher does it, next to JSONDecoder's.
    guard try MessageCodec.decode(RecordEvent.self, from: recordEvent) == event else { throw BenchmarkFailure("the record event did not read back") }
    let decoder = MessageCodec.makeDecoder()
    for _ in 0..<max(1, iterations / 10) {
        _ = try MessageCodec.decode(RecordEvent.self, from: recordEvent)
        _ = try decoder.decode(RecordEvent.self, from: recordEvent)
    }
    let codec = try measureSecondsSync { for _ in 0..<iterations { _ = try MessageCodec.decode(RecordEvent.self, from: recordEvent) } }
    let codable = try measureSecondsSync { for _ in 0..<iterations { _ = try decoder.decode(RecordEvent.self, from: recordEvent) } }
    print(String(format: "| record event read as a RecordEvent (MessageCodec; baseline: JSONDecoder) | %.2f | %.2f | %.2f |",
                 codec / Double(iterations) * 1e6, codable / Double(iterations) * 1e6, codec / codable))
}

private func measureSecondsSync(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    return (ContinuousClock.now - start).seconds
}
