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

    @Test("on the embedded broker the two tables get four times the partitions, everything else the same")
    func embedded() {
        let topics = InletTopics(partitions: 8)
        let tables = Set([topics.subscriptions, topics.connections])
        for spec in topics.allForEmbeddedBroker {
            #expect(spec.partitions == (tables.contains(spec.name) ? 32 : 8), "\(spec.name)")
        }
    }
}
