import CRdKafka

/// Builds an `rd_kafka_conf_t` from properties, reporting the first rejected property by
/// name with librdkafka's own explanation.
enum RDKafkaConfig {
    /// Creates a configuration object. The caller owns it until `rd_kafka_new` takes it.
    static func make(_ properties: [(String, String)]) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(kind: .configuration, message: "librdkafka could not allocate a configuration")
        }
        for (name, value) in properties {
            var errorText = [CChar](repeating: 0, count: 512)
            let result = rd_kafka_conf_set(conf, name, value, &errorText, errorText.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let reason = String(errorBuffer: errorText)
                throw KafkaError(
                    kind: .configuration,
                    message: "property '\(name)' = '\(Self.redacted(name, value))' was rejected: \(reason). "
                        + "See librdkafka's CONFIGURATION.md for valid names and values."
                )
            }
        }
        return conf
    }

    private static func redacted(_ name: String, _ value: String) -> String {
        name.contains("password") || name.contains("secret") ? "***" : value
    }
}

extension String {
    /// Decodes a NUL-terminated C error buffer filled by librdkafka.
    init(errorBuffer: [CChar]) {
        let bytes = errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self.init(decoding: bytes, as: UTF8.self)
    }
}
