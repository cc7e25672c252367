import Foundation
import InletJSON
import InletObservability
import Logging
import Synchronization
import Testing

@Suite("JSON logs")
struct JSONLogHandlerTests {
    final class LineBox: Sendable {
        let lines = Mutex<[Data]>([])
    }

    @Test("each message is one line holding one JSON object: time, level, logger and message first, then the metadata by key; quotes, newlines and non-ASCII are escaped or kept intact")
    func oneObjectPerLine() throws {
        let box = LineBox()
        var logger = Logger(label: "inlet.handler") { label in
            var handler = JSONLogHandler(label: label) { line in box.lines.withLock { $0.append(line) } }
            handler.logLevel = .debug
            return handler
        }
        logger[metadataKey: "connector"] = "github"
        logger.info("handled \"issue\"\nnext line – ok", metadata: ["request.id": "req-1", "kafka.partition": "3", "message": "shadowed", "tags": ["a", "b"]])
        logger.debug("second")
        logger.trace("not logged at debug")
        let lines = box.lines.withLock { $0 }
        #expect(lines.count == 2)
        for line in lines {
            #expect(line.last == 0x0A)
            #expect(line.dropLast().contains(0x0A) == false, "one line each")
        }
        let text = String(decoding: lines[0], as: UTF8.self)
        #expect(text.hasPrefix(#"{"time":""#))
        let object = try JSONValue(parsing: lines[0])
        #expect(object["level"] == "info")
        #expect(object["logger"] == "inlet.handler")
        #expect(object["message"] == "handled \"issue\"\nnext line – ok")
        #expect(object["meta.message"] == "shadowed", "metadata never overwrites the fixed members")
        #expect(object["request.id"] == "req-1")
        #expect(object["connector"] == "github")
        #expect(object["kafka.partition"] == "3")
        #expect(object["tags"] == ["a", "b"])
        let time = try #require(object["time"]?.stringValue)
        #expect(time.hasSuffix("Z") && time.contains("."), "RFC 3339 in UTC with milliseconds: \(time)")
        #expect(try JSONValue(parsing: lines[1])["message"] == "second")
    }

    @Test("lines from many tasks at once never interleave")
    func concurrentLines() async throws {
        let box = LineBox()
        let logger = Logger(label: "inlet.test") { label in JSONLogHandler(label: label) { line in box.lines.withLock { $0.append(line) } } }
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for index in 0..<200 { logger.info("task \(task) line \(index)", metadata: ["payload": .string(String(repeating: "x", count: 300))]) }
                }
            }
        }
        let lines = box.lines.withLock { $0 }
        #expect(lines.count == 1600)
        #expect(lines.allSatisfy { (try? JSONValue(parsing: $0)) != nil })
    }
}
