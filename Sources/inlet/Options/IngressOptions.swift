import ArgumentParser
import InletHTTP

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

    var configuration: IngressConfiguration {
        IngressConfiguration(
            host: host ?? Environment.string("INLET_INGRESS_HOST") ?? "127.0.0.1",
            port: port ?? Environment.int("INLET_INGRESS_PORT") ?? 8080,
            maxBodyBytes: maxBodyBytes ?? Environment.int("INLET_INGRESS_MAX_BODY_BYTES") ?? 1 << 20,
            replyTimeout: .milliseconds(replyTimeoutMs ?? Environment.int("INLET_INGRESS_REPLY_TIMEOUT_MS") ?? 5000)
        )
    }

    var adminWait: Duration { .milliseconds(adminWaitMs ?? Environment.int("INLET_ADMIN_WAIT_MS") ?? 10_000) }
}
