import Foundation

/// One Kafka record header. Header names may repeat; order is preserved.
public struct KafkaHeader: Sendable, Hashable {
    public var name: String
    /// The header's bytes, or `nil` for a header with a null value.
    public var value: Data?

    public init(name: String, value: Data?) {
        self.name = name
        self.value = value
    }

    public init(name: String, string: String) {
        self.init(name: name, value: Data(string.utf8))
    }

    /// The value decoded as UTF-8.
    public var stringValue: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}

extension Array where Element == KafkaHeader {
    /// The value of the first header called `name`, decoded as UTF-8.
    public func first(named name: String) -> String? {
        first { $0.name == name }?.stringValue
    }
}
