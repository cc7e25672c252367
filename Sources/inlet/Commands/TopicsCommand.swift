import ArgumentParser
import InletKafka
import Logging

struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Manage Inlet's topics.",
        subcommands: [Create.self, List.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create every topic Inlet uses (existing topics are left as they are: change their configs with your cluster's tools).",
            discussion: "The embedded broker of `inlet dev` creates its topics itself; this is for real clusters."
        )

        @OptionGroup var kafka: KafkaOptions

        @Option(help: "Partitions per topic (env: INLET_TOPIC_PARTITIONS). ingress, commands and records must share one count.")
        var partitions: Int?

        @Option(help: "Replicas per topic (env: INLET_TOPIC_REPLICATION_FACTOR; default 3). Above 1, topics get min.insync.replicas = replication factor - 1.")
        var replicationFactor: Int?

        @Option(help: "Days the dead-letter topic keeps a dead letter (its retention.ms; default 30).")
        var dlqRetentionDays: Int = 30

        @Option(help: "Days the audit topic keeps the admin API's audit trail (its retention.ms; default 365).")
        var auditRetentionDays: Int = 365

        func run() async throws {
            LoggingSetup.bootstrap(level: .warning)
            var topics = kafka.topics(partitions: partitions, replicationFactor: replicationFactor, defaultReplicationFactor: 3)
            guard topics.replicationFactor >= 1 else {
                throw ValidationError("the replication factor must be at least 1 (got \(topics.replicationFactor))")
            }
            let forEver = "to keep a topic for ever, set its retention.ms to -1 with your cluster's tools"
            topics.deadLetterRetention = try RetentionDays.duration(dlqRetentionDays, option: "--dlq-retention-days", hint: forEver)
            topics.auditRetention = try RetentionDays.duration(auditRetentionDays, option: "--audit-retention-days", hint: forEver)
            let admin = KafkaAdmin(configuration: try kafka.client(), logger: Logger(label: "inlet.topics"))
            let outcomes = try await admin.createTopics(topics.all)
            for spec in topics.all {
                let outcome = outcomes[spec.name].map { $0 == .created ? "created" : "exists" } ?? "?"
                print("\(outcome.padding(toLength: 8, withPad: " ", startingAt: 0)) \(spec.name) (\(spec.partitions) partitions)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the names of Inlet's topics and what they carry.")

        @OptionGroup var kafka: KafkaOptions

        func run() {
            let topics = kafka.topics()
            for spec in topics.all {
                let compacted = spec.configs["cleanup.policy"] == "compact" ? " (compacted)" : ""
                print("\(spec.name)\(compacted)")
            }
        }
    }
}
