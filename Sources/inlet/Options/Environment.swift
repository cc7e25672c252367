import Foundation

/// `INLET_*` environment variables, read once.
enum Environment {
    static let values = ProcessInfo.processInfo.environment

    static func string(_ name: String) -> String? {
        values[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    static func int(_ name: String) -> Int? {
        string(name).flatMap(Int.init)
    }
}
