// Inlet's benchmarks; each prints its figures next to a baseline measured in the same run.
//
//   swift run -c release InletBenchmarks [kafka|script|e2e|all] [numbers...]
//
//   kafka [messages] [value-bytes]  Kafka produce/consume vs raw librdkafka (KafkaThroughput.swift)
//   script [calls]                  JavaScript handle call vs declarative mapping (ScriptOverhead.swift)
//   e2e [webhooks] [per-second]     webhook → `events` latency vs ingress-only latency (WebhookLatency.swift)
//   all                             all three with their defaults (the default)
//   bare-http [port]                a bare Hummingbird server, the baseline of ingress (BareHTTP.swift)
//   stages [messages]               handler and dispatcher draining a backlog vs a pass-through loop (StageThroughput.swift)
//   fullscan [records...]           full-scan snapshot and diff vs reading the pages (FullScanDiff.swift)
//   json [parses]                   InletJSON's parser vs Foundation's JSONSerialization (JSONParsing.swift)
//
// Loopback only; every loop is bounded and every wait has a deadline.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let mode = arguments.first { Int($0) == nil } ?? "all"
let numbers = arguments.compactMap(Int.init)

do {
    switch mode {
    case "kafka":
        try await runKafkaThroughput(count: numbers.first ?? 50_000, valueBytes: numbers.dropFirst().first ?? 200)
    case "script":
        try await runScriptOverhead(calls: numbers.first ?? 20_000)
    case "e2e":
        try await runWebhookLatency(webhooks: numbers.first ?? 2_000, perSecond: numbers.dropFirst().first ?? 100)
    case "fullscan":
        try await runFullScanDiff(sizes: numbers.isEmpty ? [25_000, 100_000, 1_000_000] : numbers)
    case "stages":
        try await runStageThroughput(messages: numbers.first ?? 20_000)
    case "json":
        try runJSONParsing(iterations: numbers.first ?? 20_000)
    case "bare-http":
        try await runBareHTTP(port: numbers.first ?? 18081)
    case "all":
        try await runKafkaThroughput()
        try await runScriptOverhead()
        try await runWebhookLatency()
    default:
        FileHandle.standardError.write(Data("usage: InletBenchmarks [kafka|script|e2e|all] [numbers...]\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("benchmark failed: \(error)\n".utf8))
    exit(1)
}
