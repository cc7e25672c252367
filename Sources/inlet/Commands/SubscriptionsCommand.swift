import ArgumentParser
import AsyncHTTPClient
import Foundation
import InletJSON
import NIOCore

/// `inlet subscriptions list|show`: the subscriptions as the admin API shows them (secrets
/// and connector state left out), from a running ingress.
struct SubscriptionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscriptions",
        abstract: "List subscriptions, or show one, through a running ingress's admin API.",
        discussion: "Needs the admin token (INLET_ADMIN_TOKEN, or --admin-token) and ingress's URL (--url; env INLET_ADMIN_URL; default http://127.0.0.1:8080).",
        subcommands: [List.self, Show.self]
    )

    struct Connection: ParsableArguments {
        @Option(help: "Base URL of ingress (env: INLET_ADMIN_URL).")
        var url: String?

        @Option(help: "The admin token (env: INLET_ADMIN_TOKEN).")
        var adminToken: String?

        /// `GET path?query` of the admin API, parsed; a problem answer becomes an error saying it.
        func get(_ path: [String], query: [(String, String)] = []) async throws -> JSONValue {
            guard let token = adminToken ?? Environment.string("INLET_ADMIN_TOKEN") else {
                throw ValidationError("give the admin token: --admin-token or INLET_ADMIN_TOKEN (inlet dev prints it)")
            }
            let base = (url ?? Environment.string("INLET_ADMIN_URL") ?? "http://127.0.0.1:8080").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            // Each path segment and query value encoded on its own: an id or a filter cannot
            // leave its place in the URL.
            var segment = CharacterSet.urlPathAllowed
            segment.remove("/")
            var components = URLComponents()
            components.percentEncodedPath = "/" + path.map { $0.addingPercentEncoding(withAllowedCharacters: segment) ?? $0 }.joined(separator: "/")
            if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
            let target = base + (components.string ?? "")
            var request = HTTPClientRequest(url: target)
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            let response: HTTPClientResponse
            do {
                response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            } catch {
                throw AdminAPIError(message: "could not reach ingress at \(base) (\(error)); is it running? give its address with --url")
            }
            let body = try await response.body.collect(upTo: 64 << 20)
            let value = (try? JSONValue(parsing: Data(buffer: body))) ?? .null
            guard response.status.code == 200 else {
                throw AdminAPIError(message: "\(target): \(response.status.code) \(value["detail"]?.stringValue ?? String(buffer: body))")
            }
            return value
        }
    }

    /// What the admin API answered instead (printed without the usage text).
    struct AdminAPIError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per subscription: id, status, connector, what it subscribes to, customer, last error or pull.")

        @OptionGroup var connection: Connection

        @Option(help: "Only this status (pending, active, degraded, error, archived).")
        var status: String?

        @Option(help: "Only this customer.")
        var customer: String?

        @Option(help: "Only this connector.")
        var connector: String?

        @Flag(help: "Print each subscription as a JSON line instead.")
        var json = false

        func run() async throws {
            var query: [(String, String)] = []
            if let status { query.append(("status", status)) }
            if let customer { query.append(("customerId", customer)) }
            if let connector { query.append(("connectorKey", connector)) }
            let answer = try await connection.get(["api", "v1", "subscriptions"], query: query)
            let subscriptions = answer["subscriptions"]?.arrayValue ?? []
            if json {
                subscriptions.forEach { print($0.jsonText) }
                return
            }
            let rows = [["ID", "STATUS", "CONNECTOR", "TARGET", "CUSTOMER", "LAST"]] + subscriptions.map(SubscriptionsCommand.row)
            print(SubscriptionsCommand.table(rows))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One subscription as indented JSON: status, configuration, last error, last pull, webhook URL.")

        @OptionGroup var connection: Connection

        @Argument(help: "The subscription id.")
        var id: String

        func run() async throws {
            let record = try await connection.get(["api", "v1", "subscriptions", id])
            print(String(decoding: record.serialized(pretty: true), as: UTF8.self))
        }
    }

    static func row(_ subscription: JSONValue) -> [String] {
        let target = subscription["target"]
        let what = [target?["eventKey"], target?["collectionKey"], target?["collectionEvent"], target?["appEventKey"]].compactMap { $0?.stringValue }.joined(separator: " ")
        let last: String
        if let error = subscription["error"]?["message"]?.stringValue {
            last = "error: " + error
        } else if let pull = subscription["pullState"]?["lastPull"], let finished = pull["finishedAt"]?.stringValue {
            last = "pulled \(finished): \(pull["events"]?.integerValue ?? 0) events" + (pull["scannedBy"]?.stringValue.map { " (scanned by \($0))" } ?? "")
        } else {
            last = ""
        }
        return [subscription["id"]?.stringValue ?? "", subscription["status"]?.stringValue ?? "", subscription["connectorKey"]?.stringValue ?? "", what,
                subscription["customerId"]?.stringValue ?? "", String(last.prefix(100))]
    }

    /// Columns padded to their widest cell.
    static func table(_ rows: [[String]]) -> String {
        let widths = (0..<(rows.first?.count ?? 0)).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            zip(row, widths).enumerated().map { index, cell in
                index == row.count - 1 ? cell.0 : cell.0.padding(toLength: cell.1, withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
