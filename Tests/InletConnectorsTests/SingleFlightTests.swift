import Synchronization
import Testing

@testable import InletConnectors

@Suite("Single flight")
struct SingleFlightTests {
    @Test("callers that arrive while the operation runs share its one run and result; a later call runs it again")
    func sharesOneRun() async throws {
        let flight = SingleFlight<Int>()
        let runs = Atomic<Int>(0)
        let gate = AsyncStream<Void>.makeStream()
        let operation: @Sendable () async throws -> Int = {
            let run = runs.add(1, ordering: .relaxed).newValue
            if run == 1 { for await _ in gate.stream { break } }
            return run * 10
        }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 { group.addTask { try await flight.run(operation) } }
            // Every caller has joined before the first run may finish.
            try await eventuallyTrue { flight.calls == 8 }
            gate.continuation.yield()
            var results: [Int] = []
            for try await result in group { results.append(result) }
            #expect(results == Array(repeating: 10, count: 8))
        }
        #expect(runs.load(ordering: .relaxed) == 1, "one refresh for eight concurrent 401s")
        #expect(try await flight.run(operation) == 20, "a call after the first finished runs again")
    }

    private func eventuallyTrue(_ condition: () -> Bool) async throws {
        for _ in 0..<1000 where !condition() { try await Task.sleep(for: .milliseconds(5)) }
        #expect(condition())
    }
}
