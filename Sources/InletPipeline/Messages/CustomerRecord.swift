import Foundation
import InletConnectors

/// A customer of your product (seed 002's "customer"; the original's user or tenant): whom app
/// events and subscriptions belong to (compacted topic `customers`, key: customer id; a
/// tombstone when deleted). Written by `/api/v1/customers`.
public struct CustomerRecord: TopicMessage {
    /// Your id of the customer, e.g. `acme` or `cus_42`.
    public var id: String
    /// A name for people.
    public var name: String?
    /// Anything else you want requests and formulas to see (`customer.fields`): plan, region…
    public var fields: JSONValue
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, name: String? = nil, fields: JSONValue = [:], createdAt: Date, updatedAt: Date) {
        self.id = id
        self.name = name
        self.fields = fields
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public static let topics = ["customers"]
    public static let schemaFile = "customer-record.schema.json"
    public var kafkaKey: String? { id }

    /// `{id, name, fields}`: the customer as requests and formulas see it.
    public var json: JSONValue {
        var members: [String: JSONValue] = ["id": .string(id), "fields": fields]
        members["name"] = name.map(JSONValue.string) ?? .null
        return .object(members)
    }
}
