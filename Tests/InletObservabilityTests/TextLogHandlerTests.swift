import Logging
import Synchronization
import Testing

@testable import InletObservability

@Suite("Text logs")
struct TextLogHandlerTests {
    /// Collects what a handler writes.
    final class Lines: TextOutputStream, Sendable {
        private let text = Mutex("")
        func write(_ string: String) { text.withLock { $0 += string } }
        var value: String { text.withLock { $0 } }
    }

    @Test("lines are StreamLogHandler's: metadata set one key at a time, the provider's and the message's, sorted by key; nothing is written below the level")
    func sameAsStreamLogHandler() {
        let provider = Logger.MetadataProvider { ["provided": "p"] }
        let ours = Lines()
        let theirs = Lines()
        var text = Logger(label: "inlet.test") { TextLogHandler(label: $0, stream: ours, metadataProvider: provider) }
        var stream = Logger(label: "inlet.test") { StreamLogHandler(label: $0, stream: theirs, metadataProvider: provider) }
        text.logLevel = .info
        stream.logLevel = .info
        text[metadataKey: "request.id"] = "r-1"
        stream[metadataKey: "request.id"] = "r-1"
        text[metadataKey: "a"] = ["x": "1"]
        stream[metadataKey: "a"] = ["x": "1"]
        text.debug("not written")
        stream.debug("not written")
        text.warning("line \"one\"", metadata: ["b": "2"])
        stream.warning("line \"one\"", metadata: ["b": "2"])
        text[metadataKey: "a"] = nil
        stream[metadataKey: "a"] = nil
        text.error("line two")
        stream.error("line two")
        // Each line starts with the time (seconds): compare what follows it.
        let strip = { (all: String) in all.split(separator: "\n").map { $0.drop { $0 != " " } } }
        #expect(strip(ours.value).count == 2)
        #expect(strip(ours.value) == strip(theirs.value))
        #expect(ours.value.contains(" b=2 provided=p request.id=r-1 "))
    }
}
