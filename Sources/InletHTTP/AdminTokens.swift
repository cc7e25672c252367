import Foundation
import InletConnectors
import Logging
import Synchronization

/// What an admin token may do.
public enum AdminScope: String, Sendable, Hashable, CaseIterable {
    /// `GET` and `HEAD` only: reading subscriptions, connections, dead letters, metrics.
    case read
    /// Everything.
    case admin

    /// Whether a request with `method` is allowed.
    func allows(method: String) -> Bool {
        self == .admin || Self.reads(method)
    }

    /// Whether `method` only reads (`GET`, `HEAD`): what a `read` token may do, and what the
    /// audit trail leaves out.
    static func reads(_ method: String) -> Bool {
        method == "GET" || method == "HEAD"
    }
}

/// One admin token: a name (for the audit trail), its scope and the secret sent as
/// `Authorization: Bearer <secret>`.
public struct AdminToken: Sendable, Hashable {
    public var name: String
    public var scope: AdminScope
    public var secret: String

    public init(name: String, scope: AdminScope, secret: String) {
        self.name = name
        self.scope = scope
        self.secret = secret
    }

    /// `INLET_ADMIN_TOKEN`'s token: named `admin`, with the admin scope.
    public static func environment(secret: String) -> AdminToken {
        AdminToken(name: "admin", scope: .admin, secret: secret)
    }
}

/// The admin tokens in force: fixed ones (`INLET_ADMIN_TOKEN`, named `admin`) and those of a
/// tokens file (`INLET_ADMIN_TOKENS_FILE`), which is read again when it changes, so tokens are
/// added, rotated and revoked without a restart (e.g. a Kubernetes Secret mounted as a file).
///
/// The file holds one token per line, `<name> <scope> <secret>`, scope `read` or `admin`;
/// blank lines and lines starting with `#` are skipped. When a changed file has a mistake, the
/// problem is logged (file and line) and only the tokens read before whose lines are still in
/// it, unchanged, stay in force: a line removed to revoke a token revokes it even in the same
/// edit as a typo, and new lines wait for the fix. A file that can no longer be read revokes
/// its tokens. The name `admin` is `INLET_ADMIN_TOKEN`'s.
public final class AdminTokens: Sendable {
    private struct State {
        var fromFile: [AdminToken] = []
        /// The file's text when read last (compared, not its modification time: a Kubernetes
        /// Secret volume swaps a symbolic link and leaves the file's own link unchanged).
        var text: String?
        var checkedAt: ContinuousClock.Instant?
    }

    private let fixed: [AdminToken]
    private let file: URL?
    private let recheck: Duration
    private let logger: Logger
    private let state = Mutex(State())

    /// `file` is checked for changes at most once per `recheck`.
    public init(fixed: [AdminToken], file: URL? = nil, recheck: Duration = .seconds(2), logger: Logger = Logger(label: "inlet.admin-tokens")) throws {
        self.fixed = fixed
        self.file = file
        self.recheck = recheck
        self.logger = logger
        if let file {
            // The first read must succeed: a wrong path or a bad line stops the start.
            let text: String
            do {
                text = try String(contentsOf: file, encoding: .utf8)
            } catch {
                throw AdminTokensError(message: "\(file.path): the admin tokens file cannot be read (\(error.localizedDescription))")
            }
            let tokens = try Self.parse(text, file: file.path)
            state.withLock {
                $0.fromFile = tokens
                $0.text = text
                $0.checkedAt = .now
            }
        }
        let all = fixed + state.withLock { $0.fromFile }
        guard !all.isEmpty else {
            throw AdminTokensError(message: "no admin token: set INLET_ADMIN_TOKEN, or INLET_ADMIN_TOKENS_FILE with at least one `<name> <read|admin> <secret>` line: the admin API (/api/v1) requires `Authorization: Bearer <token>`")
        }
        try Self.checkUnique(all, file: file?.path)
    }

    /// One fixed token named `admin` with the `admin` scope (`INLET_ADMIN_TOKEN`).
    public convenience init(single secret: String) {
        // Cannot fail: one token, no file.
        try! self.init(fixed: [.environment(secret: secret)])
    }

    /// The token whose secret is `presented` (compared in constant time with every token).
    public func token(presented: Substring) -> AdminToken? {
        var found: AdminToken?
        for token in fixed + fileTokens() where ConstantTime.equal(presented.utf8, token.secret.utf8) {
            found = found ?? token
        }
        return found
    }

    /// The tokens of the file, read again when it changed since the last check.
    private func fileTokens() -> [AdminToken] {
        guard let file else { return [] }
        let due = state.withLock { state -> Bool in
            if let checked = state.checkedAt, ContinuousClock.now - checked < recheck { return false }
            state.checkedAt = .now
            return true
        }
        if due { reload(file) }
        return state.withLock { $0.fromFile }
    }

    private func reload(_ file: URL) {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            let had = state.withLock { state in
                defer {
                    state.fromFile = []
                    state.text = nil
                }
                return !state.fromFile.isEmpty
            }
            if had { logger.error("\(file.path): the admin tokens file cannot be read; its tokens are revoked until it can") }
            return
        }
        guard state.withLock({ $0.text != text }) else { return }
        do {
            let tokens = try Self.parse(text, file: file.path)
            try Self.checkUnique(fixed + tokens, file: file.path)
            state.withLock {
                $0.fromFile = tokens
                $0.text = text
            }
            logger.info("\(file.path): \(tokens.count) admin tokens in force (\(tokens.map(\.name).joined(separator: ", ")))")
        } catch {
            // Only what is still written as before stays: never a token whose line is gone.
            let kept = Set(Self.validLines(text))
            let remaining = state.withLock { state in
                state.fromFile = state.fromFile.filter { kept.contains($0) }
                state.text = text
                return state.fromFile.map(\.name)
            }
            logger.error("\(error); until the file is fixed only these tokens read before stay in force: \(remaining.isEmpty ? "none" : remaining.joined(separator: ", "))")
        }
    }

    /// Tokens from the text of a tokens file; an error names the file and line (never a
    /// field's text, which may be a secret in the wrong place).
    static func parse(_ text: String, file: String) throws -> [AdminToken] {
        try lines(text).compactMap { index, line in
            try token(line, place: "\(file):\(index + 1)")
        }
    }

    /// The tokens of the lines without mistakes.
    static func validLines(_ text: String) -> [AdminToken] {
        lines(text).compactMap { _, line in try? token(line, place: "") }
    }

    private static func lines(_ text: String) -> [(Int, Substring)] {
        Array(text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated())
    }

    /// The token of one line; `nil` for a blank line or a comment.
    private static func token(_ line: Substring, place: String) throws -> AdminToken? {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let first = fields.first, !first.hasPrefix("#") else { return nil }
        guard fields.count == 3 else {
            throw AdminTokensError(message: "\(place): expected `<name> <scope> <secret>` (3 fields), found \(fields.count)")
        }
        guard let scope = AdminScope(rawValue: String(fields[1])) else {
            throw AdminTokensError(message: "\(place): the second field (the scope) is not one of \(AdminScope.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard fields[2].utf8.count >= 16 else {
            throw AdminTokensError(message: "\(place): the secret of '\(fields[0])' is shorter than 16 characters; use e.g. `openssl rand -hex 24`")
        }
        return AdminToken(name: String(fields[0]), scope: scope, secret: String(fields[2]))
    }

    /// Names identify a token in the audit trail, and a secret must name one token.
    private static func checkUnique(_ tokens: [AdminToken], file: String?) throws {
        let place = file.map { "\($0): " } ?? ""
        var names = Set<String>()
        var secrets = Set<String>()
        for token in tokens {
            guard names.insert(token.name).inserted else { throw AdminTokensError(message: "\(place)the admin token name '\(token.name)' is used twice") }
            guard secrets.insert(token.secret).inserted else { throw AdminTokensError(message: "\(place)admin tokens '\(token.name)' and another have the same secret") }
        }
    }
}

/// A tokens file or setting that cannot be used; the message names the file and line.
public struct AdminTokensError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
