import Foundation
import InletConnectors

/// Makes app event types' `subscriptionRequest` and `unsubscribeRequest` calls to your app's
/// API (`INLET_APP_API_URL`, the one place they may go).
///
/// The request is the type's mapping evaluated over `webhookUri` (the customer's webhook URI for
/// the type) and `customer` (`{id, name, fields}`), giving `{method, uri, headers, body}`; `uri`
/// is a path under the API URL. The outcome is returned as a `Call`, never thrown, so it is
/// recorded whatever happened.
public struct AppEventSubscriber: Sendable {
    /// Your app's API base, e.g. `https://api.example.com/v1`; `nil` when not configured.
    public let appAPIURL: String?
    private let client: HTTPAPIClient?

    public init(appAPIURL: String?) {
        let url = appAPIURL.flatMap { $0.isEmpty ? nil : $0 }
        self.appAPIURL = url
        client = url.map { HTTPAPIClient.confined(to: $0) }
    }

    /// Evaluates `request` and sends it; `defaultMethod` when the mapping gives no method.
    /// Throws only `CancellationError` (shutdown): the call's outcome is then unknown, and the
    /// input is read again by the next owner.
    func call(_ request: CompiledMapping, defaultMethod: String, webhookUri: String, customer: JSONValue) async throws -> AppEventSubscriptionRecord.Call {
        let variables: JSONValue = ["webhookUri": .string(webhookUri), "customer": customer]
        let evaluated: JSONValue
        do {
            evaluated = try request.evaluate(variables: variables)
        } catch {
            return .init(method: defaultMethod, uri: "", error: "the request mapping failed: \(error)", at: Date())
        }
        let method = evaluated["method"]?.stringValue?.uppercased() ?? defaultMethod
        guard let uri = evaluated["uri"]?.stringValue, !uri.isEmpty else {
            return .init(method: method, uri: "", error: "the request mapping gave no uri (a path under INLET_APP_API_URL)", at: Date())
        }
        guard let client else {
            return .init(method: method, uri: uri, error: "INLET_APP_API_URL is not set: Inlet does not know where your app's API is", at: Date())
        }
        var headers: [String: String] = [:]
        for (name, value) in evaluated["headers"]?.objectValue ?? [:] {
            if let text = value.stringValue { headers[name] = text } else if !value.isNull { headers[name] = String(decoding: value.serialized(), as: UTF8.self) }
        }
        let body = evaluated["body"].flatMap { $0.isNull ? nil : $0 }
        do {
            let response = try await client.send(APIRequest(method: method, path: uri, headers: headers, body: body, responseType: .text))
            try Task.checkCancellation()
            return .init(method: method, uri: uri, status: response.status, response: Self.excerpt(response.data), at: Date())
        } catch let error as CancellationError {
            throw error
        } catch let error as APIError {
            try Task.checkCancellation()
            return .init(method: method, uri: uri, status: error.status, response: error.data.flatMap(Self.excerpt), error: error.description, at: Date())
        } catch {
            try Task.checkCancellation()
            return .init(method: method, uri: uri, error: "\(error)", at: Date())
        }
    }

    private static func excerpt(_ data: JSONValue) -> String? {
        let text = data.stringValue ?? (data.isNull ? "" : String(decoding: data.serialized(), as: UTF8.self))
        return text.isEmpty ? nil : String(text.prefix(2000))
    }
}
