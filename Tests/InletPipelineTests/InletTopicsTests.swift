import InletKafka
import InletPipeline
import Testing

@Suite("Topic layout")
struct InletTopicsTests {
    @Test("at replication 3 every topic requires 2 in-sync replicas; at 1 none is asked; the tables are compacted")
    func durability() {
        let replicated = InletTopics(partitions: 8, replicationFactor: 3)
        #expect(replicated.all.allSatisfy { $0.configs["min.insync.replicas"] == "2" && $0.replicationFactor == 3 })
        #expect(replicated.all.filter { $0.configs["cleanup.policy"] == "compact" }.map(\.name) == [replicated.subscriptions, replicated.connections, replicated.globalWebhooks, replicated.connectorParameters, replicated.customers, replicated.scanSnapshots, replicated.appEventSubscriptions])
        #expect(InletTopics(partitions: 8, replicationFactor: 1).all.allSatisfy { $0.configs["min.insync.replicas"] == nil })
    }

    @Test("the dead-letter topic keeps 30 days and the audit trail 365 by default, as configured otherwise; other topics keep the cluster's default")
    func retention() {
        var topics = InletTopics(partitions: 8)
        let retention = { (all: [KafkaTopicSpec]) in Dictionary(uniqueKeysWithValues: all.compactMap { spec in spec.configs["retention.ms"].map { (spec.name, $0) } }) }
        #expect(retention(topics.all) == [topics.dlq: "2592000000", topics.audit: "31536000000"])
        topics.deadLetterRetention = .seconds(7 * 24 * 3600)
        topics.auditRetention = .seconds(2 * 365 * 24 * 3600)
        #expect(retention(topics.all) == [topics.dlq: "604800000", topics.audit: "63072000000"])
    }

    @Test("on the embedded broker the two tables get four times the partitions, everything else the same")
    func embedded() {
        let topics = InletTopics(partitions: 8)
        let tables = Set([topics.subscriptions, topics.connections])
        for spec in topics.allForEmbeddedBroker {
            #expect(spec.partitions == (tables.contains(spec.name) ? 32 : 8), "\(spec.name)")
        }
    }
}
