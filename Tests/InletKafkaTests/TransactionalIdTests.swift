@testable import InletKafka
import Testing

@Suite("Transactional ids of the consume-transform-produce loop")
struct TransactionalIdTests {
    @Test("with an instance id, the transactional id is the same on every start, so a restart fences its predecessor")
    func stableWithInstanceId() {
        let first = StreamProcessor.transactionalId(prefix: "inlet.handler", groupId: "inlet.handler", instanceId: "inlet-handler-0")
        let restarted = StreamProcessor.transactionalId(prefix: "inlet.handler", groupId: "inlet.handler", instanceId: "inlet-handler-0")
        #expect(first == "inlet.handler-inlet.handler-inlet-handler-0")
        #expect(restarted == first)
    }

    @Test("instances with different ids get different transactional ids")
    func distinctPerInstance() {
        let zero = StreamProcessor.transactionalId(prefix: "p", groupId: "g", instanceId: "pod-0")
        let one = StreamProcessor.transactionalId(prefix: "p", groupId: "g", instanceId: "pod-1")
        #expect(zero != one)
    }

    @Test("without an instance id (nil or empty), every start gets a random 8-character suffix")
    func randomWithoutInstanceId() {
        for instanceId in [nil, ""] as [String?] {
            let first = StreamProcessor.transactionalId(prefix: "p", groupId: "g", instanceId: instanceId)
            let second = StreamProcessor.transactionalId(prefix: "p", groupId: "g", instanceId: instanceId)
            #expect(first.hasPrefix("p-g-"))
            #expect(first.count == "p-g-".count + 8)
            #expect(first != second)
        }
    }
}
