import Foundation
import InletObservability
import Logging

/// Logs to standard error at `INLET_LOG_LEVEL` (default info), as text or, with
/// `INLET_LOG_FORMAT=json`, one JSON object per line (``JSONLogHandler``).
enum LoggingSetup {
    enum Format: String, CaseIterable {
        case text
        case json
    }

    static func bootstrap(level: Logger.Level? = nil) {
        let level = level ?? Environment.string("INLET_LOG_LEVEL").flatMap(Logger.Level.init(rawValue:)) ?? .info
        let format = Environment.string("INLET_LOG_FORMAT").map { Format(rawValue: $0.lowercased()) } ?? .text
        guard let format else {
            FileHandle.standardError.write(Data("INLET_LOG_FORMAT must be text or json (it is '\(Environment.string("INLET_LOG_FORMAT") ?? "")'); logging as text\n".utf8))
            return bootstrap(level: level, format: .text)
        }
        bootstrap(level: level, format: format)
    }

    private static func bootstrap(level: Logger.Level, format: Format) {
        // Every role records metrics; /metrics renders them.
        InletMetrics.bootstrap()
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = TextLogHandler(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
