import ArgumentParser
import InletHTTP
import InletPipeline

/// Options of the HTTP ingress.
struct IngressOptions: ParsableArguments {
    @Option(help: "Interface the HTTP ingress listens on (env: INLET_INGRESS_HOST).")
    var host: String?

    @Option(help: "Port of the HTTP ingress (env: INLET_INGRESS_PORT).")
    var port: Int?

    @Option(help: "Largest accepted request body in bytes; larger gets 413 (env: INLET_INGRESS_MAX_BODY_BYTES).")
    var maxBodyBytes: Int?

    @Option(help: "How long a webhook whose handle may answer it waits for that answer, in ms (env: INLET_INGRESS_REPLY_TIMEOUT_MS).")
    var replyTimeoutMs: Int?

    @Option(help: "How long creating or deleting a subscription waits for the handler before 202, in ms (env: INLET_ADMIN_WAIT_MS).")
    var adminWaitMs: Int?

    @Option(help: "How requests are stored on the ingress topics: raw (the body as the value, metadata in a header; faster) or json (the whole request as JSON, the body in base64; what handlers before raw records read). Default: json for `inlet ingress` (set raw once every handler runs this version), raw for `inlet dev` (env: INLET_INGRESS_RECORD_FORMAT).")
    var recordFormat: String?

    /// The format when none is given: set by the command (`inlet dev` runs every role itself,
    /// so it never meets an older handler).
    var defaultRecordFormat: RawRequestRecordFormat = .json

    enum CodingKeys: CodingKey {
        case host, port, maxBodyBytes, replyTimeoutMs, adminWaitMs, recordFormat
    }

    var configuration: IngressConfiguration {
        var configuration = IngressConfiguration(
            host: host ?? Environment.string("INLET_INGRESS_HOST") ?? "127.0.0.1",
            port: port ?? Environment.int("INLET_INGRESS_PORT") ?? 8080,
            maxBodyBytes: maxBodyBytes ?? Environment.int("INLET_INGRESS_MAX_BODY_BYTES") ?? largestBody,
            replyTimeout: .milliseconds(replyTimeoutMs ?? Environment.int("INLET_INGRESS_REPLY_TIMEOUT_MS") ?? 5000),
            recordFormat: resolvedRecordFormat ?? defaultRecordFormat,
            appKey: Environment.string("INLET_APP_KEY")
        )
        if let batch = Environment.int("INLET_APP_EVENT_MAX_BATCH"), batch > 0 { configuration.maxAppEventBatch = batch }
        if let connections = Environment.int("INLET_INGRESS_MAX_CONNECTIONS"), connections > 0 { configuration.maxConnections = connections }
        if let seconds = Environment.int("INLET_INGRESS_HEADER_TIMEOUT_SECONDS"), seconds > 0 { configuration.headerTimeout = .seconds(seconds) }
        if let seconds = Environment.int("INLET_INGRESS_IDLE_TIMEOUT_SECONDS"), seconds > 0 { configuration.idleTimeout = .seconds(seconds) }
        return configuration
    }

    /// The largest body that fits in one Kafka message (`INLET_KAFKA_MESSAGE_MAX_BYTES`,
    /// librdkafka's default 1,000,000) once stored as a raw request.
    var largestBody: Int {
        IngressConfiguration.maxBodyBytes(messageMaxBytes: Environment.int("INLET_KAFKA_MESSAGE_MAX_BYTES") ?? 1_000_000)
    }

    private var resolvedRecordFormat: RawRequestRecordFormat? {
        (recordFormat ?? Environment.string("INLET_INGRESS_RECORD_FORMAT")).flatMap(RawRequestRecordFormat.init(rawValue:))
    }

    func validate() throws {
        if let format = recordFormat ?? Environment.string("INLET_INGRESS_RECORD_FORMAT"), RawRequestRecordFormat(rawValue: format) == nil {
            throw ValidationError("--record-format / INLET_INGRESS_RECORD_FORMAT is '\(format)'; use raw (the default) or json")
        }
        if let limit = maxBodyBytes ?? Environment.int("INLET_INGRESS_MAX_BODY_BYTES"), limit > largestBody {
            throw ValidationError(
                "--max-body-bytes / INLET_INGRESS_MAX_BODY_BYTES is \(limit), but a body over \(largestBody) bytes cannot be stored in one Kafka message (message.max.bytes, INLET_KAFKA_MESSAGE_MAX_BYTES, default 1000000); lower it or raise message.max.bytes on the brokers and in INLET_KAFKA_MESSAGE_MAX_BYTES"
            )
        }
    }

    var adminWait: Duration { .milliseconds(adminWaitMs ?? Environment.int("INLET_ADMIN_WAIT_MS") ?? 10_000) }
}
