import Logging

/// Logs to standard error at `INLET_LOG_LEVEL` (default info).
enum LoggingSetup {
    static func bootstrap(level: Logger.Level? = nil) {
        let level = level ?? Environment.string("INLET_LOG_LEVEL").flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
