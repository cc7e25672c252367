import Foundation
import InletKafka
import Testing

@Suite("Interoperability")
struct ForeignClientTests {
    @Test(
        "kcat, a client we did not write, reads what Inlet produced",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/kcat"), "needs Debian's kcat (installed by .ci/run)")
    )
    func kcatReads() async throws {
        let test = try TestCluster()
        defer { test.cluster.stop() }
        let topic = try test.topic("interop", partitions: 1)
        let producer = try KafkaProducer(configuration: test.producerConfiguration, logger: test.logger)
        try await producer.sendAll((0..<3).map {
            KafkaRecord(topic: topic, key: "sub-\($0)", value: Data("{\"n\":\($0)}".utf8), headers: [KafkaHeader(name: "ce_id", string: "id-\($0)")])
        })
        await producer.shutdown()

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/kcat")
        process.arguments = ["-C", "-b", test.cluster.bootstrapServers, "-t", topic, "-o", "beginning", "-c", "3", "-e", "-q", "-f", "%k|%s|%h|%o\\n"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { process.terminate() }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0)
        #expect(output.split(separator: "\n").map(String.init) == [
            "sub-0|{\"n\":0}|ce_id=id-0|0",
            "sub-1|{\"n\":1}|ce_id=id-1|1",
            "sub-2|{\"n\":2}|ce_id=id-2|2",
        ])
    }
}
