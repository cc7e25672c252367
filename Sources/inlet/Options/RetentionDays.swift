import ArgumentParser

/// A retention given in days (`--dlq-retention-days`, `--archive-retention-days`...): from 1 to
/// 36500 (a hundred years), else a validation error naming the option.
enum RetentionDays {
    static let allowed = 1...36_500

    /// `days` as a duration; `hint` follows the error (what to do instead).
    static func duration(_ days: Int, option: String, hint: String? = nil) throws -> Duration {
        guard allowed.contains(days) else {
            throw ValidationError("\(option) must be from 1 to 36500 days (got \(days))" + (hint.map { "; \($0)" } ?? ""))
        }
        return .seconds(days * 24 * 3600)
    }
}
