/// Settings shared by every Kafka client Inlet creates (producers, consumers, table readers,
/// admin). Turned into librdkafka properties in one place: `librdkafkaProperties`.
public struct KafkaClientConfiguration: Sendable, Hashable {
    /// `host:port` of one or more brokers (librdkafka `bootstrap.servers`).
    public var bootstrapServers: [String]
    /// Identifies this process in broker logs and quotas (librdkafka `client.id`).
    public var clientId: String
    /// How to reach the brokers: plaintext, TLS, SASL.
    public var security: KafkaSecurity
    /// Any other librdkafka property, applied last, so it can override anything above
    /// (e.g. `["socket.keepalive.enable": "true"]`). Names as in librdkafka's CONFIGURATION.md.
    public var additionalProperties: [String: String]
    /// Consumers only: how long a fetch may wait on the broker for data
    /// (`fetch.wait.max.ms`; `nil`: librdkafka's 500 ms). A real broker answers as soon as
    /// data arrives; the embedded broker waits the whole time, so `inlet dev` uses 5 ms —
    /// at 500 ms each of the three consumer hops of a webhook adds up to half a second.
    public var consumerFetchWaitMilliseconds: Int?
    /// The same for the consumers that follow tables (`KafkaTable`: subscriptions,
    /// connections, customers...), which change seldom and are read again on demand (`sync`)
    /// where it matters; `nil`: `consumerFetchWaitMilliseconds`. On the embedded broker every
    /// idle fetch costs CPU, so `inlet dev` lets the tables wait 50 ms
    /// (`INLET_KAFKA_TABLE_FETCH_WAIT_MAX_MS`).
    public var tableFetchWaitMilliseconds: Int?

    public init(
        bootstrapServers: [String],
        clientId: String = "inlet",
        security: KafkaSecurity = .plaintext,
        additionalProperties: [String: String] = [:]
    ) {
        self.bootstrapServers = bootstrapServers
        self.clientId = clientId
        self.security = security
        self.additionalProperties = additionalProperties
    }

    /// The librdkafka properties for these settings (without `additionalProperties`, which
    /// each client applies last).
    var baseProperties: [(String, String)] {
        var properties: [(String, String)] = [
            ("bootstrap.servers", bootstrapServers.joined(separator: ",")),
            ("client.id", clientId),
        ]
        properties += security.librdkafkaProperties
        return properties
    }

    /// Reads `INLET_KAFKA_<PROPERTY>` variables as librdkafka properties: the suffix is
    /// lower-cased and `_` becomes `.`, so `INLET_KAFKA_SECURITY_PROTOCOL=ssl` sets
    /// `security.protocol=ssl`. `INLET_KAFKA_BOOTSTRAP_SERVERS` sets `bootstrapServers`,
    /// `INLET_KAFKA_FETCH_WAIT_MAX_MS` `consumerFetchWaitMilliseconds` and
    /// `INLET_KAFKA_TABLE_FETCH_WAIT_MAX_MS` `tableFetchWaitMilliseconds`.
    public mutating func apply(environment: [String: String]) {
        let prefix = "INLET_KAFKA_"
        for (name, value) in environment where name.hasPrefix(prefix) {
            let property = name.dropFirst(prefix.count).lowercased().replacingOccurrences(of: "_", with: ".")
            if property == "bootstrap.servers" {
                bootstrapServers = value.split(separator: ",").map { String($0) }
            } else if property == "fetch.wait.max.ms", let milliseconds = Int(value) {
                consumerFetchWaitMilliseconds = milliseconds
            } else if property == "table.fetch.wait.max.ms", let milliseconds = Int(value) {
                tableFetchWaitMilliseconds = milliseconds
            } else if !property.isEmpty {
                additionalProperties[property] = value
            }
        }
    }
}
