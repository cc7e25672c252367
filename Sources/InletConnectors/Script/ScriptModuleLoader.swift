/// A method file turned into a script JavaScriptCore's C API can evaluate.
///
/// JavaScriptCore's C API evaluates scripts, not modules, so `ScriptModuleLoader` rewrites
/// the module text: the file body goes inside a strict function (a module's own scope, so
/// helpers and constants stay private to the file), `export default` becomes a declaration
/// the function returns, and other `export` keywords are dropped. Every line keeps its
/// number, so errors point to the line the author wrote.
struct ScriptModule: Sendable {
    let fileName: String
    /// Evaluates to a function that, called with no arguments, runs the file body and
    /// returns its default export.
    let wrappedSource: String
}

enum ScriptModuleLoader {
    /// The name the default export is bound to when the file does not name it.
    static let hiddenDefaultName = "__inletDefaultExport"

    /// Rewrites `source` (an ES module with `export default`) into a `ScriptModule`.
    ///
    /// - Throws: `ScriptError` `.unsupported` for `import`, `export { ... }` / `export * from`
    ///   and a missing default export; `.syntax` for a second default export.
    static func load(source: String, fileName: String) throws(ScriptError) -> ScriptModule {
        var scanner = Scanner(bytes: Array(source.utf8), fileName: fileName)
        let defaultName = try scanner.rewrite()
        guard let defaultName else {
            throw ScriptError(kind: .unsupported, message: "the file has no `export default` function", fileName: fileName)
        }
        let body = String(decoding: scanner.output, as: UTF8.self)
        let wrapped = "(function () { \"use strict\"; " + body + "\n;return \(defaultName);\n})"
        return ScriptModule(fileName: fileName, wrappedSource: wrapped)
    }

    // MARK: - Scanner

    /// A lexer just precise enough to find `import` / `export` at the start of a top-level
    /// statement: it skips comments, strings and template literals (with `${}` nesting).
    /// Regular expression literals are not recognised; a quote inside one only confuses the
    /// scanner until the end of that line.
    private struct Scanner {
        enum Frame { case template, templateExpression(braces: Int) }

        let bytes: [UInt8]
        let fileName: String
        var output: [UInt8] = []
        var index = 0
        var line = 1
        var depth = 0
        var frames: [Frame] = []
        /// True at the start of a statement: start of file, after `;`, `{`, `}` or a newline.
        var atStatementStart = true
        var defaultName: String?

        init(bytes: [UInt8], fileName: String) {
            self.bytes = bytes
            self.fileName = fileName
            output.reserveCapacity(bytes.count + 64)
        }

        mutating func rewrite() throws(ScriptError) -> String? {
            while index < bytes.count {
                if case .template = frames.last {
                    scanTemplateCharacter()
                    continue
                }
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "/"):
                    copy(while: { $0 != UInt8(ascii: "\n") })
                case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "*"):
                    copyBlockComment()
                case UInt8(ascii: "'"), UInt8(ascii: "\""):
                    copyString(quote: byte)
                    atStatementStart = false
                case UInt8(ascii: "`"):
                    frames.append(.template)
                    emit()
                    atStatementStart = false
                case UInt8(ascii: "{"):
                    if case .templateExpression(let braces) = frames.last { frames[frames.count - 1] = .templateExpression(braces: braces + 1) }
                    depth += 1
                    emit()
                    atStatementStart = true
                case UInt8(ascii: "}"):
                    if case .templateExpression(let braces) = frames.last {
                        if braces == 0 {
                            frames.removeLast()
                            emit()
                            continue
                        }
                        frames[frames.count - 1] = .templateExpression(braces: braces - 1)
                    }
                    depth -= 1
                    emit()
                    atStatementStart = true
                case UInt8(ascii: ";"):
                    emit()
                    atStatementStart = true
                case UInt8(ascii: "\n"):
                    emit()
                    atStatementStart = true
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                    emit()
                default:
                    if Self.isIdentifierByte(byte) {
                        let word = identifier(at: index)
                        if atStatementStart && depth == 0 && frames.isEmpty {
                            if word == "export" {
                                try rewriteExport()
                                atStatementStart = false
                                continue
                            }
                            if word == "import" {
                                let next = nextSignificantByte(after: index + word.utf8.count)
                                if next != UInt8(ascii: ".") {
                                    throw ScriptError(
                                        kind: .unsupported,
                                        message: "`import` is not supported: a method file must be self-contained (host helpers such as apiClient, createHmac and Buffer are globals)",
                                        fileName: fileName, line: line)
                                }
                            }
                        }
                        output.append(contentsOf: word.utf8)
                        index += word.utf8.count
                    } else {
                        emit()
                    }
                    atStatementStart = false
                }
            }
            return defaultName
        }

        // MARK: export

        private mutating func rewriteExport() throws(ScriptError) {
            let exportLine = line
            var cursor = skipWhitespace(from: index + 6)
            let next = identifier(at: cursor)
            guard next == "default" else {
                if cursor < bytes.count, bytes[cursor] == UInt8(ascii: "{") || bytes[cursor] == UInt8(ascii: "*") {
                    throw ScriptError(
                        kind: .unsupported,
                        message: "`export { ... }` and `export * from` are not supported: use `export default function`",
                        fileName: fileName, line: exportLine)
                }
                // `export function helper` / `export const x`: keep the declaration, file-private.
                output.append(contentsOf: Array(repeating: UInt8(ascii: " "), count: 6))
                index += 6
                return
            }
            guard defaultName == nil else {
                throw ScriptError(kind: .syntax, message: "more than one `export default`", fileName: fileName, line: exportLine)
            }
            // Blank out `export default` (whitespace and newlines in between are kept).
            output.append(contentsOf: Array(repeating: UInt8(ascii: " "), count: 6))
            copyWhitespace(from: index + 6, to: cursor)
            output.append(contentsOf: Array(repeating: UInt8(ascii: " "), count: 7))
            cursor += 7
            index = cursor

            // What follows: [async] function [*] [name] ( ... | class [name] | expression.
            var probe = skipWhitespace(from: cursor)
            var word = identifier(at: probe)
            if word == "async" {
                let afterAsync = skipWhitespace(from: probe + 5)
                if identifier(at: afterAsync) == "function" {
                    probe = afterAsync
                    word = "function"
                }
            }
            if word == "function" || word == "class" {
                var afterKeyword = skipWhitespace(from: probe + word.utf8.count)
                if word == "function", afterKeyword < bytes.count, bytes[afterKeyword] == UInt8(ascii: "*") {
                    afterKeyword = skipWhitespace(from: afterKeyword + 1)
                }
                let name = identifier(at: afterKeyword)
                if !name.isEmpty && name != "extends" {
                    defaultName = name
                } else {
                    // Anonymous: name it so it is a declaration the wrapper can return.
                    let keywordEnd = probe + word.utf8.count
                    copyVerbatim(to: keywordEnd)
                    output.append(contentsOf: " \(ScriptModuleLoader.hiddenDefaultName)".utf8)
                    defaultName = ScriptModuleLoader.hiddenDefaultName
                }
            } else {
                output.append(contentsOf: "const \(ScriptModuleLoader.hiddenDefaultName) =".utf8)
                defaultName = ScriptModuleLoader.hiddenDefaultName
            }
        }

        // MARK: helpers

        private func peek(_ offset: Int) -> UInt8? {
            index + offset < bytes.count ? bytes[index + offset] : nil
        }

        private mutating func emit() {
            if bytes[index] == UInt8(ascii: "\n") { line += 1 }
            output.append(bytes[index])
            index += 1
        }

        private mutating func copy(while predicate: (UInt8) -> Bool) {
            while index < bytes.count, predicate(bytes[index]) { emit() }
        }

        private mutating func copyVerbatim(to end: Int) {
            while index < end { emit() }
        }

        private mutating func copyWhitespace(from start: Int, to end: Int) {
            for position in start..<end {
                if bytes[position] == UInt8(ascii: "\n") { line += 1 }
                output.append(bytes[position])
            }
        }

        private mutating func copyBlockComment() {
            emit()
            emit()
            while index < bytes.count {
                if bytes[index] == UInt8(ascii: "*"), peek(1) == UInt8(ascii: "/") {
                    emit()
                    emit()
                    return
                }
                emit()
            }
        }

        private mutating func copyString(quote: UInt8) {
            emit()
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\\") {
                    emit()
                    if index < bytes.count { emit() }
                    continue
                }
                // An unterminated string ends at the line's end; the parser reports it.
                if byte == UInt8(ascii: "\n") { return }
                emit()
                if byte == quote { return }
            }
        }

        private mutating func scanTemplateCharacter() {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") {
                emit()
                if index < bytes.count { emit() }
            } else if byte == UInt8(ascii: "`") {
                frames.removeLast()
                emit()
            } else if byte == UInt8(ascii: "$"), peek(1) == UInt8(ascii: "{") {
                emit()
                emit()
                frames.append(.templateExpression(braces: 0))
            } else {
                emit()
            }
        }

        private func skipWhitespace(from start: Int) -> Int {
            var position = start
            while position < bytes.count, [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n")].contains(bytes[position]) {
                position += 1
            }
            return position
        }

        private func nextSignificantByte(after position: Int) -> UInt8? {
            let next = skipWhitespace(from: position)
            return next < bytes.count ? bytes[next] : nil
        }

        private func identifier(at start: Int) -> String {
            var end = start
            while end < bytes.count, Self.isIdentifierByte(bytes[end]) { end += 1 }
            return String(decoding: bytes[start..<end], as: UTF8.self)
        }

        static func isIdentifierByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "$"), 0x80...:
                return true
            default:
                return false
            }
        }
    }
}
