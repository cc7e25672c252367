import ArgumentParser
import Foundation
import InletConnectors
import InletKafka
import InletPipeline
import Logging

struct DeadLetterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Inspect and replay the dead-letter topic.",
        subcommands: [List.self, Replay.self]
    )

    /// Which dead letters a command applies to.
    struct Filter: ParsableArguments {
        @Option(help: "Only this dead letter id (repeatable).")
        var id: [String] = []

        @Option(help: "Only this reason code, e.g. handle-error, schema-invalid.")
        var reason: String?

        @Option(help: "Only this subscription.")
        var subscription: String?

        func matches(_ letter: DeadLetter) -> Bool {
            (id.isEmpty || id.contains(letter.id)) && reason.map { letter.reason.code.rawValue == $0 } ?? true
                && subscription.map { letter.subscriptionId == $0 } ?? true
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print dead letters as JSON lines (id, stage, reason, original position).")

        @OptionGroup var kafka: KafkaOptions
        @OptionGroup var filter: Filter

        func run() async throws {
            LoggingSetup.bootstrap(level: .warning)
            let store = DeadLetterStore(topics: kafka.topics(), client: try kafka.client(), logger: Logger(label: "inlet.dlq"))
            for letter in try await store.all() where filter.matches(letter) {
                let summary: JSONValue = [
                    "id": .string(letter.id), "stage": .string(letter.stage.rawValue), "code": .string(letter.reason.code.rawValue),
                    "message": .string(letter.reason.message), "subscriptionId": letter.subscriptionId.map(JSONValue.string) ?? .null,
                    "original": .string("\(letter.original.topic)[\(letter.original.partition)]@\(letter.original.offset)"),
                ]
                print(summary.jsonText)
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-produce dead letters to their original topic, byte for byte (after fixing the cause).",
            discussion: "Give --id, --reason or --subscription, or --all. The dead letters stay in the topic; replayed copies carry the header inlet-replayed-from."
        )

        @OptionGroup var kafka: KafkaOptions
        @OptionGroup var filter: Filter

        @Flag(help: "Replay every dead letter.")
        var all = false

        @Flag(help: "Only print what would be replayed.")
        var dryRun = false

        func validate() throws {
            if !all && filter.id.isEmpty && filter.reason == nil && filter.subscription == nil {
                throw ValidationError("say which dead letters to replay: --id, --reason, --subscription, or --all")
            }
        }

        func run() async throws {
            LoggingSetup.bootstrap(level: .warning)
            let logger = Logger(label: "inlet.dlq")
            let client = try kafka.client()
            let store = DeadLetterStore(topics: kafka.topics(), client: client, logger: logger)
            // A failure replayed before and dead-lettered again is replayed once, as its latest dead letter.
            let chosen = DeadLetterStore.latestFailures(try await store.all().filter(filter.matches))
            var replayable: [(letter: DeadLetter, record: KafkaRecord)] = []
            for letter in chosen {
                do {
                    replayable.append((letter, try await store.replayRecord(for: letter)))
                } catch {
                    FileHandle.standardError.write(Data("inlet dlq replay: \(error)\n".utf8))
                }
            }
            let records = replayable.map(\.record)
            if !dryRun && !records.isEmpty {
                let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client), logger: logger)
                do {
                    try await producer.sendAll(records)
                } catch {
                    await producer.shutdown()
                    throw error
                }
                await producer.shutdown()
            }
            for (letter, record) in replayable {
                print("\(dryRun ? "would replay" : "replayed") \(letter.id) to \(record.topic) (\(letter.reason.code))")
            }
            print("\(replayable.count) dead letter(s) \(dryRun ? "would be " : "")replayed" + (replayable.count < chosen.count ? ", \(chosen.count - replayable.count) could not be (see above)" : ""))
        }
    }
}
