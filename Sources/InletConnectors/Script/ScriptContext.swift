import CJavaScriptCore
import Foundation
import Logging
import Synchronization

/// One JavaScript context: its VM (context group), globals, compiled method files and the
/// call it is running.
///
/// JavaScriptCore contexts are not thread-safe in the way Swift concurrency would need, so
/// each context is created, used and destroyed on one thread of its own
/// (``ScriptContextThread``) and never leaves it: `ScriptContext` is deliberately not
/// `Sendable`, and other threads talk to it only through its thread's job queue (new calls)
/// and `inbox` (API responses). JavaScript therefore never runs on, or blocks, the threads
/// Swift concurrency schedules tasks on.
///
/// A context runs one call at a time. While the call's promise is pending the thread waits on
/// its inbox, resolves `apiClient` promises as responses arrive (JavaScriptCore then runs
/// the method's continuation as a microtask), and gives up at the call's deadline.
final class ScriptContext {
    let configuration: ScriptEngineConfiguration
    let logger: Logger
    let inbox = ScriptInbox()
    private let watchdog: ScriptWatchdog
    /// Calls run since the heap was last checked after a call.
    private var callsSinceMemoryCheck = 0

    private(set) var group: JSContextGroupRef!
    private(set) var ctx: JSGlobalContextRef!
    private(set) var functionClass: JSClassRef!
    /// The prelude's `run(method, args, generation)`.
    private var runFunction: JSObjectRef!

    private struct CacheKey: Hashable {
        let fileName: String
        let source: String

        /// The name and the source's length: hashing the whole source on every call cost
        /// more than the call of a small method. Equality still compares the sources (at
        /// once when both are the workspace's same string).
        func hash(into hasher: inout Hasher) {
            hasher.combine(fileName)
            hasher.combine(source.utf8.count)
        }
    }

    private struct CacheEntry {
        let function: JSObjectRef
        var lastUse: UInt64
    }

    private var compiled: [CacheKey: CacheEntry] = [:]
    private var useCounter: UInt64 = 0

    /// The call being run, or `nil` between calls.
    private(set) var current: ScriptCall?
    /// The call's texts (`rawBody`) as the JavaScript strings it was given, protected from the
    /// collector until the call ends: a hash of one of them reads the Swift text's UTF-8
    /// instead of converting the string back (``text(equalTo:)``).
    private var givenTexts: [(value: JSValueRef, text: String)] = []
    /// Whether a call is running.
    var isRunning: Bool { current != nil }
    private var generation = 0
    var nextRequestID = 0

    /// Told when a call waits for its `apiClient` responses (the executor whose thread this
    /// context lives on); `nil` on a context thread of its own.
    let waitObserver: (any ScriptWaitObserver)?

    init(configuration: ScriptEngineConfiguration, logger: Logger, waitObserver: (any ScriptWaitObserver)? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.waitObserver = waitObserver
        watchdog = ScriptWatchdog(configuration: configuration)
        setUp()
    }

    // MARK: - Context life cycle

    private func setUp() {
        group = JSContextGroupCreate()
        ctx = JSGlobalContextCreateInGroup(group, nil)
        functionClass = ScriptHostFunction.makeClass()

        let native = JSObjectMake(ctx, nil, nil)!
        installNativeFunctions(on: native)
        var exception: JSValueRef?
        let script = ScriptValueBridge.makeString(ScriptHostFunctions.prelude)
        let url = ScriptValueBridge.makeString("inlet-runtime.js")
        defer {
            JSStringRelease(script)
            JSStringRelease(url)
        }
        let factory = JSEvaluateScript(ctx, script, nil, url, 1, &exception)
        var argument: JSValueRef? = native
        guard exception == nil, let factory, let factoryObject = JSValueToObject(ctx, factory, nil),
            let run = JSObjectCallAsFunction(ctx, factoryObject, nil, 1, &argument, &exception), exception == nil,
            let runObject = JSValueToObject(ctx, run, nil)
        else {
            fatalError("the JavaScript runtime prelude failed: \(ScriptValueBridge.toString(ctx, exception) ?? "?")")
        }
        JSValueProtect(ctx, runObject)
        runFunction = runObject
        // Armed only now: the prelude (Inlet's own code) is never stopped, also not right
        // after a stopped method replaced the context. From here the watchdog interrupts a
        // running script every tick; the callback stops it once the time limit is used up or
        // the heap is over the memory limit, and lets it go on otherwise.
        watchdog.reset()
        watchdog.arm(group)
    }

    /// Releases the context; it must not be used afterwards.
    func tearDown() {
        for entry in compiled.values { JSValueUnprotect(ctx, entry.function) }
        compiled = [:]
        JSValueUnprotect(ctx, runFunction)
        JSGlobalContextRelease(ctx)
        JSContextGroupRelease(group)
        JSClassRelease(functionClass)
        ctx = nil
        group = nil
        functionClass = nil
        runFunction = nil
    }

    /// After the watchdog terminated a script the VM can report the termination again on
    /// the next entry, so the context is replaced rather than reused (compiled files are
    /// dropped).
    private func replace() {
        tearDown()
        setUp()
    }

    // MARK: - Calls

    /// Runs one call to its end on this context's thread: the method's result, its error, or
    /// a time-out.
    func run(_ request: ScriptCallRequest) -> Result<JSONValue, ScriptError> {
        generation += 1
        let call = ScriptCall(generation: generation, request: request, deadline: .now + configuration.totalTimeLimit)
        current = call
        watchdog.reset()
        defer {
            finish(call)
            if watchdog.stopped != nil {
                replace()
            } else {
                checkMemoryAfterCall(request.fileName)
            }
        }

        let method: JSObjectRef
        switch compiledFunction(for: request) {
        case .success(let function): method = function
        case .failure(let error): return .failure(error)
        }

        let given = request.arguments
        let arguments = given.parsedTexts.isEmpty
            ? ScriptValueBridge.makeValue(ctx, json: given.values)
            : ScriptValueBridge.makeValue(ctx, json: given.values, omitting: given.parsedTexts.mapValues { _ in .whole })
        if !given.texts.isEmpty || !given.aliases.isEmpty, let object = JSValueToObject(ctx, arguments, nil) {
            for (name, text) in given.texts.sorted(by: { $0.key < $1.key }) {
                // One JavaScript string per text, also what its parsed members are parsed from.
                let jsText = ScriptValueBridge.makeString(text)
                defer { JSStringRelease(jsText) }
                let value = JSValueMakeString(ctx, jsText)!
                JSValueProtect(ctx, value)
                givenTexts.append((value, text))
                ScriptValueBridge.setProperty(ctx, object, name, value)
                for (member, source) in given.parsedTexts where source == name {
                    let parsed = JSValueMakeFromJSONString(ctx, jsText) ?? ScriptValueBridge.makeValue(ctx, json: given.values.objectValue?[member] ?? .null)
                    ScriptValueBridge.setProperty(ctx, object, member, parsed)
                }
            }
            for (alias, name) in given.aliases.sorted(by: { $0.key < $1.key }) {
                guard let value = ScriptValueBridge.property(ctx, object, name), !JSValueIsUndefined(ctx, value) else { continue }
                ScriptValueBridge.setProperty(ctx, object, alias, value)
            }
        }
        var exception: JSValueRef?
        let argv: [JSValueRef?] = [method, arguments, JSValueMakeNumber(ctx, Double(call.generation))]
        watchdog.enter()
        _ = JSObjectCallAsFunction(ctx, runFunction, nil, argv.count, argv, &exception)

        while true {
            if let reason = watchdog.stopped { return .failure(stoppedError(reason, request.fileName)) }
            if let exception { return .failure(scriptError(from: exception, fileName: request.fileName)) }
            if let outcome = call.outcome { return outcome }
            if ContinuousClock.now >= call.deadline {
                return .failure(ScriptError(
                    kind: .timeout,
                    message: "the method's promise did not settle within \(configuration.totalTimeLimit) (awaiting apiClient?)",
                    fileName: request.fileName))
            }
            // The thread only waits here (for `apiClient` responses): its executor may run
            // another job meanwhile (``ScriptWaitObserver``).
            waitObserver?.willWait()
            let messages = inbox.take(until: call.deadline)
            waitObserver?.didWait()
            for message in messages {
                watchdog.enter()
                handle(message)
            }
        }
    }

    private func finish(_ call: ScriptCall) {
        cancelPendingRequests(of: call)
        for given in givenTexts { JSValueUnprotect(ctx, given.value) }
        givenTexts = []
        current = nil
    }

    /// The Swift text of the call's given string `value` is (the same string, or one with the
    /// same characters), if any. Its UTF-8 is what converting `value` would give: the
    /// JavaScript string was made from it, and a Swift string holds no lone surrogates.
    func text(equalTo value: JSValueRef?) -> String? {
        guard let value, !givenTexts.isEmpty, JSValueIsString(ctx, value) else { return nil }
        return givenTexts.first { JSValueIsStrictEqual(ctx, value, $0.value) }?.text
    }

    /// Called by the prelude's `run` (through `native.settle`) when the method returned or
    /// its promise settled.
    func settle(generation: Int, fulfilled: Bool, value: JSValueRef?) {
        guard let call = current, call.generation == generation, call.outcome == nil else { return }
        if fulfilled {
            do throws(ThrownValue) {
                call.outcome = .success(try ScriptValueBridge.json(ctx, value))
            } catch {
                let reason = ScriptValueBridge.toString(ctx, error.value) ?? "not JSON"
                call.outcome = .failure(ScriptError(kind: .thrown, message: "the method's result cannot be converted to JSON: \(reason)", fileName: call.request.fileName))
            }
        } else {
            call.outcome = .failure(scriptError(from: value, fileName: call.request.fileName))
        }
    }

    // MARK: - Compiling

    private func compiledFunction(for request: ScriptCallRequest) -> Result<JSObjectRef, ScriptError> {
        let key = CacheKey(fileName: request.fileName, source: request.source)
        useCounter += 1
        if let index = compiled.index(forKey: key) {
            compiled.values[index].lastUse = useCounter
            return .success(compiled.values[index].function)
        }
        let module: ScriptModule
        do {
            module = try ScriptModuleLoader.load(source: request.source, fileName: request.fileName)
        } catch {
            return .failure(error)
        }

        let script = ScriptValueBridge.makeString(module.wrappedSource)
        let url = ScriptValueBridge.makeString(request.fileName)
        defer {
            JSStringRelease(script)
            JSStringRelease(url)
        }
        var exception: JSValueRef?
        watchdog.enter()
        let wrapper = JSEvaluateScript(ctx, script, nil, url, 1, &exception)
        if let exception {
            var error = scriptError(from: exception, fileName: request.fileName)
            if error.kind == .thrown, errorName(exception) == "SyntaxError" { error.kind = .syntax }
            return .failure(error)
        }
        guard let wrapper, let wrapperObject = JSValueToObject(ctx, wrapper, nil) else {
            return .failure(ScriptError(kind: .syntax, message: "the file did not evaluate to a module", fileName: request.fileName))
        }
        // Runs the file's top-level code once for this context and yields the default export.
        watchdog.enter()
        let exported = JSObjectCallAsFunction(ctx, wrapperObject, nil, 0, nil, &exception)
        if let reason = watchdog.stopped { return .failure(stoppedError(reason, request.fileName)) }
        if let exception { return .failure(scriptError(from: exception, fileName: request.fileName)) }
        guard let exported, JSValueIsObject(ctx, exported), let function = JSValueToObject(ctx, exported, nil), JSObjectIsFunction(ctx, function) else {
            return .failure(ScriptError(kind: .unsupported, message: "the default export is not a function", fileName: request.fileName))
        }
        JSValueProtect(ctx, function)
        if compiled.count >= configuration.compiledFunctionsPerContext, let oldest = compiled.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            JSValueUnprotect(ctx, oldest.value.function)
            compiled.removeValue(forKey: oldest.key)
        }
        compiled[key] = CacheEntry(function: function, lastUse: useCounter)
        return .success(function)
    }

    // MARK: - Errors

    private func stoppedError(_ reason: ScriptWatchdog.Reason, _ fileName: String) -> ScriptError {
        switch reason {
        case .time:
            ScriptError(kind: .timeout, message: "the method ran longer than \(configuration.timeLimit) without yielding and was stopped", fileName: fileName)
        case .memory:
            ScriptError(
                kind: .memoryLimit,
                message: "the method's JavaScript held more than \(configuration.memoryLimit >> 20) MiB and was stopped (the connector's module-level state is reset)",
                fileName: fileName)
        }
    }

    // MARK: - Memory

    /// Replaces the context when its heap stayed over the memory limit after a call (state a
    /// connector keeps between calls grew too large): checked every `memoryCheckInterval`
    /// calls, and after every call the watchdog interrupted at least once.
    private func checkMemoryAfterCall(_ fileName: String) {
        callsSinceMemoryCheck += 1
        guard callsSinceMemoryCheck >= configuration.memoryCheckInterval || watchdog.interruptedThisCall else { return }
        callsSinceMemoryCheck = 0
        guard ScriptWatchdog.heapBytes(ctx) > configuration.memoryLimit else { return }
        JSSynchronousGarbageCollectForDebugging(ctx)
        let held = ScriptWatchdog.heapBytes(ctx)
        guard held > configuration.memoryLimit else { return }
        logger.warning(
            "a JavaScript context of this connector holds \(held >> 20) MiB after a call of \(fileName), more than the limit of \(configuration.memoryLimit >> 20) MiB: it is replaced, and the connector's module-level state starts over",
            metadata: current.map { call in call.request.host.logMetadata.mapValues { .string($0) } } ?? [:])
        replace()
    }

    private func errorName(_ value: JSValueRef) -> String? {
        guard JSValueIsObject(ctx, value), let object = JSValueToObject(ctx, value, nil) else { return nil }
        return ScriptValueBridge.toString(ctx, ScriptValueBridge.property(ctx, object, "name"))
    }

    /// A thrown JavaScript value as a `ScriptError`: an `Error`'s message, line, stack and
    /// own fields (`code`, `status`, `data`); an `apiClient` error becomes `.apiError`.
    func scriptError(from value: JSValueRef?, fileName: String) -> ScriptError {
        guard let value else { return ScriptError(kind: .thrown, message: "the method threw undefined", fileName: fileName) }
        guard JSValueIsObject(ctx, value), let object = JSValueToObject(ctx, value, nil) else {
            return ScriptError(kind: .thrown, message: ScriptValueBridge.toString(ctx, value) ?? "the method threw a value", fileName: fileName)
        }
        let name = ScriptValueBridge.toString(ctx, ScriptValueBridge.property(ctx, object, "name")) ?? "Error"
        let messageValue = ScriptValueBridge.property(ctx, object, "message")
        var message: String
        if ScriptValueBridge.isUndefinedOrNull(ctx, messageValue) {
            message = (try? ScriptValueBridge.json(ctx, value).jsonText) ?? ScriptValueBridge.toString(ctx, value) ?? "an object"
        } else {
            message = ScriptValueBridge.toString(ctx, messageValue) ?? ""
            if name != "Error" && name != "APIError" { message = "\(name): \(message)" }
        }
        let lineValue = ScriptValueBridge.property(ctx, object, "line")
        let line: Int? = lineValue.flatMap { value in
            guard JSValueIsNumber(ctx, value) else { return nil }
            let number = JSValueToNumber(ctx, value, nil)
            return number.isFinite && abs(number) < 1e15 ? Int(number) : nil
        }
        let stackValue = ScriptValueBridge.property(ctx, object, "stack")
        let stack = ScriptValueBridge.isUndefinedOrNull(ctx, stackValue) ? nil : ScriptValueBridge.toString(ctx, stackValue)
        var data: JSONValue?
        if case .object(var members)? = try? ScriptValueBridge.json(ctx, value) {
            for key in ["line", "column", "sourceURL", "stack", "name", "message"] { members.removeValue(forKey: key) }
            if !members.isEmpty { data = .object(members) }
        }
        return ScriptError(kind: name == "APIError" ? .apiError : .thrown, message: message, fileName: fileName, line: line, stack: stack, data: data)
    }

    // MARK: - Inbox

    private func handle(_ message: ScriptInboxMessage) {
        switch message {
        case .apiResult(let requestID, let result):
            completeRequest(requestID, result: result)
        }
    }

}

// MARK: - Supporting types

/// The state of the call a context is running.
final class ScriptCall {
    let generation: Int
    let request: ScriptCallRequest
    let deadline: ContinuousClock.Instant
    var outcome: Result<JSONValue, ScriptError>?
    var pending: [Int: ScriptPendingRequest] = [:]

    init(generation: Int, request: ScriptCallRequest, deadline: ContinuousClock.Instant) {
        self.generation = generation
        self.request = request
        self.deadline = deadline
    }
}

/// What other threads send to a context's thread.
enum ScriptInboxMessage: Sendable {
    case apiResult(requestID: Int, result: Result<APIResponse, any Error>)
}

/// A context thread's mailbox.
///
/// `@unchecked Sendable`: `messages` is only touched while holding `condition`'s lock.
final class ScriptInbox: @unchecked Sendable {
    private let condition = NSCondition()
    private var messages: [ScriptInboxMessage] = []

    func post(_ message: ScriptInboxMessage) {
        condition.lock()
        messages.append(message)
        condition.signal()
        condition.unlock()
    }

    /// Blocks until at least one message arrived or `deadline` passed; returns all messages.
    func take(until deadline: ContinuousClock.Instant) -> [ScriptInboxMessage] {
        let wallDeadline = Date() + Self.seconds(deadline - .now)
        condition.lock()
        defer { condition.unlock() }
        while messages.isEmpty {
            if !condition.wait(until: wallDeadline) { break }
        }
        let taken = messages
        messages.removeAll(keepingCapacity: true)
        return taken
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Decides, each time JavaScriptCore's watchdog interrupts a running script (every tick),
/// whether to stop it: once the script's stretch of JavaScript has used up the time limit,
/// or when the context's heap is over the memory limit.
///
/// Used only on its context's thread (JavaScriptCore calls back on the thread running the
/// script); the atomics just make that safe to state.
final class ScriptWatchdog: Sendable {
    enum Reason: UInt8 {
        case time = 1
        case memory = 2
    }

    /// Seconds between two interruptions of a running script.
    let tickSeconds: Double
    /// Interruptions allowed in one stretch of JavaScript (the time limit in ticks).
    private let ticksAllowed: Int
    private let memoryLimit: Int
    private let reason = Atomic<UInt8>(0)
    private let ticks = Atomic<Int>(0)
    private let interrupted = Atomic<Bool>(false)

    init(configuration: ScriptEngineConfiguration) {
        let limit = Self.seconds(configuration.timeLimit)
        let tick = max(0.001, min(Self.seconds(configuration.watchdogTick), limit))
        tickSeconds = tick
        ticksAllowed = max(1, Int((limit / tick).rounded(.up)))
        memoryLimit = configuration.memoryLimit
    }

    /// Why the last script was stopped, if it was.
    var stopped: Reason? { Reason(rawValue: reason.load(ordering: .relaxed)) }
    /// Whether a script of the current call ran longer than a tick.
    var interruptedThisCall: Bool { interrupted.load(ordering: .relaxed) }

    /// A new call begins.
    func reset() {
        reason.store(0, ordering: .relaxed)
        ticks.store(0, ordering: .relaxed)
        interrupted.store(false, ordering: .relaxed)
    }

    /// A new stretch of JavaScript begins (a call, or a continuation after an API response):
    /// the time limit counts from here.
    func enter() { ticks.store(0, ordering: .relaxed) }

    /// Starts interrupting the scripts of `group` every tick. Also called from the callback
    /// when it lets a script go on: JavaScriptCore restarts its timer after the callback only
    /// if the callback set a new limit (otherwise the rest of that script would run unwatched).
    func arm(_ group: JSContextGroupRef) {
        JSContextGroupSetExecutionTimeLimit(group, tickSeconds, { ctx, pointer in
            guard let ctx, let pointer else { return true }
            let watchdog = Unmanaged<ScriptWatchdog>.fromOpaque(pointer).takeUnretainedValue()
            if watchdog.shouldTerminate(ctx) { return true }
            watchdog.arm(JSContextGetGroup(ctx))
            return false
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Whether to stop the running script, at one of the watchdog's interruptions.
    private func shouldTerminate(_ ctx: JSContextRef) -> Bool {
        interrupted.store(true, ordering: .relaxed)
        if ticks.add(1, ordering: .relaxed).newValue >= ticksAllowed {
            reason.store(Reason.time.rawValue, ordering: .relaxed)
            return true
        }
        // Garbage counts until collected: collect before deciding.
        if Self.heapBytes(ctx) > memoryLimit, { JSSynchronousGarbageCollectForDebugging(ctx); return true }(), Self.heapBytes(ctx) > memoryLimit {
            reason.store(Reason.memory.rawValue, ordering: .relaxed)
            return true
        }
        return false
    }

    /// The bytes the context's heap holds: its objects plus the memory behind them
    /// (typed arrays' buffers, large strings: `heapSize` includes `extraMemorySize`).
    static func heapBytes(_ ctx: JSContextRef) -> Int {
        guard let statistics = JSGetMemoryUsageStatistics(ctx) else { return 0 }
        func number(_ name: String) -> Double {
            guard let property = ScriptValueBridge.property(ctx, statistics, name) else { return 0 }
            let value = JSValueToNumber(ctx, property, nil)
            return value.isFinite && value > 0 ? value : 0
        }
        return Int(min(number("heapSize"), Double(Int.max / 2)))
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
