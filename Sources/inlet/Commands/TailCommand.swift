import ArgumentParser
import Foundation
import InletConnectors
import InletKafka
import Logging

struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print the messages of a topic as JSON, with key, partition and offset.",
        discussion: "Example: inlet tail inlet.events --from-beginning --bootstrap-servers 127.0.0.1:9092"
    )

    @Argument(help: "The topic to read, e.g. inlet.events.")
    var topic: String

    @OptionGroup var kafka: KafkaOptions

    @Flag(help: "Start at the oldest message instead of only new ones.")
    var fromBeginning = false

    @Option(help: "Stop after this many messages.")
    var limit: Int?

    @Option(help: "Stop when no message arrived for this many seconds.")
    var idleTimeout: Double?

    @Flag(help: "One compact JSON line per message.")
    var compact = false

    @Option(help: "Only messages of this type: a CloudEvent's `type` (inlet.github.issues.created), its last part, or the change (created, updated, deleted).")
    var type: String?

    @Option(help: "Only messages of this subscription (the value's `subscriptionId` or `data.subscriptionId`, or the key).")
    var subscription: String?

    func run() async throws {
        LoggingSetup.bootstrap(level: .warning)
        let configuration = KafkaConsumerConfiguration(
            client: try kafka.client(), groupId: "inlet-tail-\(UUID().uuidString.prefix(8))",
            offsetReset: fromBeginning ? .earliest : .latest
        )
        let consumer = try KafkaConsumer(configuration: configuration, topics: [topic], logger: Logger(label: "inlet.tail"))
        var printed = 0
        var lastMessage = ContinuousClock.now
        while limit.map({ printed < $0 }) ?? true {
            if let idleTimeout, ContinuousClock.now - lastMessage > .milliseconds(Int(idleTimeout * 1000)) { break }
            for case .message(let message) in try await consumer.poll(maxMessages: 100, timeout: .milliseconds(200)) {
                lastMessage = .now
                let rendered = Self.render(message)
                guard Self.matches(rendered, type: type, subscription: subscription) else { continue }
                print(rendered.jsonText(pretty: !compact))
                printed += 1
                if let limit, printed >= limit { break }
            }
            // Piped into another program, each batch should reach it now, not when a buffer
            // fills (`fflush(nil)` flushes every output stream).
            fflush(nil)
        }
        await consumer.close()
    }

    /// Whether a rendered message passes `--type` and `--subscription` (unset: everything).
    static func matches(_ rendered: JSONValue, type: String?, subscription: String?) -> Bool {
        let value = rendered["value"]
        if let subscription {
            let ids = [value?["subscriptionId"], value?["data"]?["subscriptionId"], rendered["key"]].compactMap { $0?.stringValue }
            guard ids.contains(subscription) else { return false }
        }
        if let type {
            let eventType = value?["type"]?.stringValue
            let change = value?["data"]?["type"]?.stringValue
            guard eventType == type || eventType?.hasSuffix("." + type) == true || change == type else { return false }
        }
        return true
    }

    static func render(_ message: KafkaMessage) -> JSONValue {
        let value: JSONValue
        if let data = message.value {
            value = (try? JSONValue(parsing: data)) ?? .string(String(decoding: data, as: UTF8.self))
        } else {
            value = .null
        }
        var headers: [String: JSONValue] = [:]
        for header in message.headers { headers[header.name] = header.stringValue.map(JSONValue.string) ?? .null }
        return [
            "topic": .string(message.topic),
            "partition": .integer(Int64(message.partition)),
            "offset": .integer(message.offset),
            "key": message.keyString.map(JSONValue.string) ?? .null,
            "headers": .object(headers),
            "value": value,
        ]
    }
}

extension JSONValue {
    func jsonText(pretty: Bool) -> String {
        String(decoding: serialized(pretty: pretty), as: UTF8.self)
    }
}
