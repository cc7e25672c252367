import Foundation
import Logging
import Testing

@testable import InletConnectors

@Suite("Script host helpers")
struct ScriptHostFunctionsTests {
    private func run(_ body: String, arguments: JSONValue = [:], host: ScriptHost = .init(), engine: ScriptEngine) async throws -> JSONValue {
        try await engine.call(source: "export default async function (args) {\n\(body)\n}", fileName: "helpers.js", arguments: arguments, host: host)
    }

    @Test("randomBytes gives the requested number of bytes, different each call, and refuses bad sizes")
    func randomBytes() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let result = try await run("return [randomBytes(32).toString('hex'), randomBytes(32).toString('hex'), randomBytes(0).length]", engine: engine)
        let values = try #require(result.arrayValue)
        #expect(values[0].stringValue?.count == 64)
        #expect(values[0] != values[1])
        #expect(values[2] == 0)
        await #expect(throws: ScriptError.self) { try await run("return randomBytes(-1)", engine: engine) }
    }

    @Test("createHmac sha256 hex matches GitHub's X-Hub-Signature-256 example")
    func githubSignatureVector() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let result = try await run(
            "return 'sha256=' + createHmac('sha256', \"It's a Secret to Everybody\").update('Hello, World!').digest('hex')", engine: engine)
        #expect(result == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
    }

    @Test("HMAC and hash vectors (RFC 4231, FIPS 180) for sha1, sha256 and sha512, hex and base64")
    func digestVectors() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let result = try await run("""
            return [
              createHmac('sha256', 'Jefe').update('what do ya ').update('want for nothing?').digest('hex'),
              createHmac('sha512', 'Jefe').update('what do ya want for nothing?').digest('hex'),
              createHash('sha1').update('abc').digest('hex'),
              createHash('sha256').update('abc').digest('base64'),
              createHmac('sha1', Buffer.from('key')).update(Buffer.from('The quick brown fox jumps over the lazy dog')).digest('hex'),
              createHash('sha256').update('abc').digest().toString('hex') === createHash('sha256').update('abc').digest('hex'),
              Buffer.isBuffer(createHash('sha256').update('abc').digest()),
              createHash('sha1').update('abc').digest('base64url'),
            ]
            """, engine: engine)
        #expect(result == [
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
            "a9993e364706816aba3e25717850c26c9cd0d89d",
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
            "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9",
            true,
            true,
            "qZk-NkcGgWq6PiVxeFDCbJzQ2J0",
        ])
        // An encoding the buffer does not know is refused, as `buffer.toString` refuses it.
        let error = await scriptError(engine, "export default function () { return createHash('sha1').update('abc').digest('utf16') }")
        #expect(error?.message.contains("Unknown encoding: utf16") == true, "\(String(describing: error))")
    }

    @Test("an unknown digest algorithm throws a clear error")
    func unknownAlgorithm() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let error = await scriptError(engine, "export default function () { return createHash('whirlpool') }")
        #expect(error?.message.contains("whirlpool") == true)
    }

    @Test("the GitHub-style webhook fixture accepts a valid signature and rejects a bad one")
    func webhookFixture() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let source = try ScriptFixtures.source("github-webhook-handle.js")
        let rawBody = #"{"issue":{"id":1,"title":"Crash"}}"#
        var arguments: JSONValue = [
            "data": ["issue": ["id": 1, "title": "Crash"]], "rawBody": .string(rawBody),
            "parameters": ["webhookSecret": "s3cret"], "query": [:],
            "headers": ["x-hub-signature-256": "sha256=cb5f2b5dbd0d3b0bfee2c9e7bde0ed5d6dbbff6a09d86ac4c5fb5dbe4e4d1d1c"],
        ]
        // Compute the right signature with the engine itself, then check both outcomes.
        let good = try await run("return 'sha256=' + createHmac('sha256', 's3cret').update(args.rawBody).digest('hex')", arguments: arguments, engine: engine)
        let error = await scriptError(engine, source, fileName: "handle.js", arguments: arguments)
        #expect(error?.message == "Invalid webhook signature")
        if case .object(var members) = arguments {
            members["headers"] = ["x-hub-signature-256": good]
            arguments = .object(members)
        }
        let result = try await engine.call(source: source, fileName: "handle.js", arguments: arguments, host: .init())
        #expect(result["events"] == [["type": "created", "record": ["id": "1", "name": "Crash"]]])
    }

    @Test("timingSafeEqual compares strings and buffers")
    func timingSafeEqual() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let result = try await run("""
            return [timingSafeEqual('abc', 'abc'), timingSafeEqual('abc', 'abd'), timingSafeEqual('abc', 'abcd'),
                    timingSafeEqual(Buffer.from('00ff', 'hex'), Buffer.from([0, 255]))]
            """, engine: engine)
        #expect(result == [true, false, false, true])
    }

    @Test("Buffer converts between utf8, base64, base64url and hex; btoa and atob work")
    func bufferConversions() async throws {
        let engine = makeScriptEngine()
        defer { engine.shutdown() }
        let result = try await run("""
            const b = Buffer.from('héllo ✓', 'utf8')
            return {
              base64: b.toString('base64'), hex: Buffer.from('hi').toString('hex'),
              fromBase64: Buffer.from('aMOpbGxvIOKckw==', 'base64').toString('utf8'),
              fromHex: Buffer.from('6869', 'hex').toString(), length: b.length, isBuffer: Buffer.isBuffer(b),
              url: Buffer.from([251, 255]).toString('base64url'), concat: Buffer.concat([Buffer.from('a'), Buffer.from('b')]).toString(),
              btoa: btoa('user:pass'), atob: atob('dXNlcjpwYXNz'), sliced: b.subarray(0, 1).toString('hex'),
            }
            """, engine: engine)
        #expect(result == [
            "base64": "aMOpbGxvIOKckw==", "hex": "6869", "fromBase64": "héllo ✓", "fromHex": "hi", "length": 10, "isBuffer": true,
            "url": "-_8", "concat": "ab", "btoa": "dXNlcjpwYXNz", "atob": "user:pass", "sliced": "68",
        ])
    }

    @Test("console.log goes to the logger with the host's metadata and the file name")
    func consoleLogging() async throws {
        let recorder = LogRecorder()
        let engine = makeScriptEngine(logger: recorder.logger)
        defer { engine.shutdown() }
        let host = ScriptHost(logMetadata: ["connector": "github", "method": "handle", "subscription": "sub-1"])
        _ = try await run("console.log('hello', { a: 1 }, 2); console.warn('careful'); console.error(new Error('bad'))", host: host, engine: engine)
        let entries = recorder.all
        #expect(entries.count == 3)
        #expect(entries.first?.message == #"hello {"a":1} 2"#)
        #expect(entries.first?.level == .info)
        #expect(entries.first?.metadata == ["connector": "github", "method": "handle", "subscription": "sub-1", "script": "helpers.js"])
        #expect(entries.dropFirst().first?.level == .warning)
        #expect(entries.last?.level == .error)
        #expect(entries.last?.message.hasPrefix("Error: bad") == true)
    }
}
