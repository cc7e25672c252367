import Metrics
import Synchronization

/// Dead letters by stage and reason: `inlet_dead_letters_total{stage,reason}`, counted when a
/// dead letter is made (a batch rolled back and retried may count one twice;
/// `inlet_stream_records_total{topic="<prefix>dlq"}` counts those committed).
final class DeadLetterMetrics: Sendable {
    static let shared = DeadLetterMetrics()

    private let counters = Mutex<[String: Counter]>([:])

    func made(stage: DeadLetter.Stage, code: DeadLetter.Code) {
        let key = stage.rawValue + "\u{1F}" + code.rawValue
        let counter = counters.withLock { counters in
            if let found = counters[key] { return found }
            let made = Counter(label: "inlet_dead_letters_total", dimensions: [("stage", stage.rawValue), ("reason", code.rawValue)])
            counters[key] = made
            return made
        }
        counter.increment()
    }
}
