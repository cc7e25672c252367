import ArgumentParser
import Foundation
import InletConnectors
import InletKafka
import InletPipeline
import Logging

/// `inlet customers`: the customers table from the command line.
struct CustomersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "customers",
        abstract: "Customers of your product (the customers topic), and their tokens for app events.",
        subcommands: [Token.self]
    )

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a customer token (a JWT) your front end can send app events with.",
            discussion: "Signed with a key derived from INLET_SECRET_KEY, which must be the one ingress runs with. The customer must exist (POST /api/v1/customers)."
        )

        @OptionGroup var kafka: KafkaOptions

        @Argument(help: "The customer id.")
        var id: String

        @Option(help: "How long the token is valid, in seconds (60 to 86400).")
        var expiresInSeconds: Int = 86_400

        func validate() throws {
            guard (60...86_400).contains(expiresInSeconds) else {
                throw ValidationError("--expires-in-seconds must be from 60 to 86400")
            }
        }

        func run() async throws {
            LoggingSetup.bootstrap(level: .warning)
            let logger = Logger(label: "inlet.customers")
            let vault = try RoleOptions.vault(allowEphemeral: false, logger: logger)
            let customers = CustomerDirectory(topics: kafka.topics(), client: try kafka.client(), logger: logger)
            let found = try await withThrowingTaskGroup(of: CustomerRecord?.self) { group in
                group.addTask {
                    try await customers.run()
                    return nil
                }
                try await customers.sync(timeout: .seconds(30))
                group.cancelAll()
                return customers[id]
            }
            guard let customer = found else {
                throw ValidationError("no customer '\(id)' in \(kafka.topics().customers); create it with POST /api/v1/customers")
            }
            let issued = try await CustomerTokens(vault: vault).issue(for: customer, lifetime: .seconds(expiresInSeconds))
            print(issued.token)
        }
    }
}
