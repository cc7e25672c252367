import Foundation
import InletConnectors
import InletPipeline
import Testing

/// The package root: the nearest folder above this file that holds Package.swift.
private let packageRoot: URL = {
    var folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while folder.path != "/" {
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path) { return folder }
        folder.deleteLastPathComponent()
    }
    return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
}()

private func schemaDocument(_ file: String) throws -> JSONValue {
    try JSONValue(parsing: Data(contentsOf: packageRoot.appendingPathComponent("schemas").appendingPathComponent(file)))
}

/// The compiled schema of `messageType`, with `format` asserted (so timestamps are checked too).
private func compiledSchema(of messageType: any TopicMessage.Type) throws -> JSONSchema {
    let file = messageType.schemaFile
    return try JSONSchema(
        schemaDocument(file),
        baseURI: packageRoot.appendingPathComponent("schemas").appendingPathComponent(file),
        options: .init(assertFormats: true))
}

private func json(_ message: any TopicMessage) throws -> JSONValue {
    try JSONValue(parsing: message.encoded())
}

@Suite("Message JSON Schemas")
struct MessageSchemaTests {
    @Test("every schema file is draft 2020-12 with the documented $id and title, closed at the top")
    func schemaFilesAreWellFormed() throws {
        for messageType in TopicMessages.all {
            let document = try schemaDocument(messageType.schemaFile)
            #expect(document["$schema"] == "https://json-schema.org/draft/2020-12/schema")
            #expect(document["$id"] == .string(messageType.schemaID))
            #expect(document["title"] == .string(String(describing: messageType)))
            #expect(document["description"]?.stringValue?.isEmpty == false)
            #expect(document["additionalProperties"] == .bool(false), "\(messageType) schema is not closed")
            _ = try compiledSchema(of: messageType)
        }
    }

    @Test("every message sample conforms to its schema")
    func samplesConform() throws {
        for sample in MessageSamples.all {
            let schema = try compiledSchema(of: type(of: sample))
            let errors = schema.validate(try json(sample))
            #expect(errors.isEmpty, "\(type(of: sample)): \(errors)")
        }
    }

    @Test("a sample missing any required field is rejected by its schema")
    func missingRequiredFieldsAreRejected() throws {
        for sample in MessageSamples.all {
            let messageType = type(of: sample)
            let schema = try compiledSchema(of: messageType)
            let required = try #require(try schemaDocument(messageType.schemaFile)["required"]?.arrayValue)
            #expect(!required.isEmpty)
            var object = try #require(try json(sample).objectValue)
            for field in required.compactMap(\.stringValue) {
                let value = object.removeValue(forKey: field)
                #expect(!schema.validate(.object(object)).isEmpty, "\(messageType) without \(field) was accepted")
                object[field] = value
            }
        }
    }

    @Test("the schemas' required lists match what the Swift types refuse to decode without")
    func requiredMatchesSwift() throws {
        for sample in MessageSamples.all {
            let messageType = type(of: sample)
            let document = try schemaDocument(messageType.schemaFile)
            let object = try #require(try json(sample).objectValue)
            var required = Set(try #require(document["required"]?.arrayValue).compactMap(\.stringValue))
            // A field required one way or the other (if/then/else, e.g. a command's subscription
            // or connection) is required for this sample as the branch it takes says. A one-way
            // if/then (a subscribe command carries its subscription) is the handler's check.
            for conditional in document["allOf"]?.arrayValue ?? [] {
                guard let condition = conditional["if"], let otherwise = conditional["else"] else { continue }
                let taken = try JSONSchema(condition).validate(.object(object)).isEmpty ? conditional["then"] : otherwise
                required.formUnion(taken?["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            }
            for field in object.keys {
                var without = object
                without[field] = nil
                let decodes = (try? messageType.decoded(from: JSONValue.object(without).serialized())) != nil
                if field == "appliedOffsets" {
                    // Required on the wire (always written), tolerated when absent for older records.
                    #expect(decodes)
                } else {
                    #expect(decodes == !required.contains(field), "\(messageType).\(field): schema and decoder disagree")
                }
            }
        }
    }

    @Test("an unknown top-level field, a bad enum value or a bad timestamp is rejected")
    func closedSchemas() throws {
        var subscription = try #require(try json(MessageSamples.subscription).objectValue)
        let schema = try compiledSchema(of: SubscriptionRecord.self)
        subscription["surprise"] = true
        #expect(!schema.validate(.object(subscription)).isEmpty)
        subscription["surprise"] = nil
        subscription["target"] = ["kind": "collection", "collectionKey": "issues", "collectionEvent": "moved"]
        #expect(!schema.validate(.object(subscription)).isEmpty)
        subscription["target"] = ["kind": "event", "eventKey": "issue-created"]
        subscription["createdAt"] = "25/11/2026"
        #expect(!schema.validate(.object(subscription)).isEmpty)
    }

    @Test("a subscribe command must carry its subscription; other commands need not")
    func subscribeNeedsSubscription() throws {
        let schema = try compiledSchema(of: Command.self)
        var command = try #require(try json(MessageSamples.command).objectValue)
        command["subscription"] = nil
        #expect(!schema.validate(.object(command)).isEmpty)
        command["type"] = "refresh"
        #expect(schema.validate(.object(command)).isEmpty)
    }

    @Test("a refresh-credentials command names a connection and a digest instead of a subscription; every other command still needs its subscription")
    func refreshCredentialsNamesConnection() throws {
        let schema = try compiledSchema(of: Command.self)
        var command = try #require(try json(MessageSamples.refreshCredentialsCommand).objectValue)
        #expect(command["subscriptionId"] == nil)
        #expect(MessageSamples.refreshCredentialsCommand.kafkaKey == "con_github_acme")
        #expect(try Command.decoded(from: MessageSamples.refreshCredentialsCommand.encoded()) == MessageSamples.refreshCredentialsCommand)
        command["credentialsDigest"] = "not hex"
        #expect(!schema.validate(.object(command)).isEmpty)
        command["credentialsDigest"] = nil
        #expect(!schema.validate(.object(command)).isEmpty)
        #expect(throws: MessageCodecError.self) { try Command.decoded(from: JSONValue.object(command).serialized()) }

        var refresh = try #require(try json(MessageSamples.command).objectValue)
        refresh["type"] = "refresh"
        refresh["subscription"] = nil
        refresh["subscriptionId"] = nil
        #expect(!schema.validate(.object(refresh)).isEmpty)
        #expect(throws: MessageCodecError.self) { try Command.decoded(from: JSONValue.object(refresh).serialized()) }
    }

    @Test("a record event whose record has no id is rejected")
    func recordNeedsId() throws {
        let schema = try compiledSchema(of: RecordEvent.self)
        var event = try #require(try json(MessageSamples.recordEvent).objectValue)
        event["record"] = ["name": "no id"]
        #expect(!schema.validate(.object(event)).isEmpty)
    }
}
