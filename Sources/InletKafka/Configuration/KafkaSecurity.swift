/// How a client authenticates to and encrypts traffic with the brokers.
public struct KafkaSecurity: Sendable, Hashable {
    /// librdkafka `security.protocol`.
    public enum SecurityProtocol: String, Sendable, Hashable {
        case plaintext, ssl
        case saslPlaintext = "sasl_plaintext"
        case saslSSL = "sasl_ssl"
    }

    /// SASL mechanism and credentials.
    public struct SASL: Sendable, Hashable {
        public enum Mechanism: String, Sendable, Hashable {
            case plain = "PLAIN"
            case scramSHA256 = "SCRAM-SHA-256"
            case scramSHA512 = "SCRAM-SHA-512"
        }
        public var mechanism: Mechanism
        public var username: String
        public var password: String

        public init(mechanism: Mechanism, username: String, password: String) {
            self.mechanism = mechanism
            self.username = username
            self.password = password
        }
    }

    public var `protocol`: SecurityProtocol
    public var sasl: SASL?
    /// Path of a PEM file with the CA certificates that sign the brokers' certificates.
    public var caLocation: String?

    public init(protocol: SecurityProtocol, sasl: SASL? = nil, caLocation: String? = nil) {
        self.protocol = `protocol`
        self.sasl = sasl
        self.caLocation = caLocation
    }

    /// No TLS, no authentication: loopback and the embedded broker.
    public static let plaintext = KafkaSecurity(protocol: .plaintext)

    var librdkafkaProperties: [(String, String)] {
        var properties = [("security.protocol", `protocol`.rawValue)]
        if let sasl {
            properties += [
                ("sasl.mechanisms", sasl.mechanism.rawValue),
                ("sasl.username", sasl.username),
                ("sasl.password", sasl.password),
            ]
        }
        if let caLocation { properties.append(("ssl.ca.location", caLocation)) }
        return properties
    }
}
