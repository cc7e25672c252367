import CJavaScriptCore
import Foundation

/// An `apiClient` request in flight: the promise handed to JavaScript and the Swift task
/// that will settle it.
struct ScriptPendingRequest {
    let resolve: JSObjectRef
    let reject: JSObjectRef
    let task: Task<Void, Never>
    let returnFullResponse: Bool
}

/// `apiClient.get/post/put/patch/delete` in JavaScript: each call returns a promise made
/// with `JSObjectMakeDeferredPromise`; `host.apiClient.send` runs as a Swift task whose
/// result is posted back to the context's thread, which resolves or rejects the promise
/// there (rejections are `Error`s named `APIError` with `code`, `status`, `data`).
extension ScriptContext {
    /// Error code of the rejection when the call has no `apiClient` configured.
    static let apiClientUnavailable = "API_CLIENT_UNAVAILABLE"

    /// `native.request(method, path, data, options)`.
    func startRequest(_ ctx: JSContextRef, _ arguments: UnsafeBufferPointer<JSValueRef?>) throws(ScriptHostFunctionError) -> JSValueRef? {
        guard let call = current else {
            throw .error("apiClient can only be used while a method runs (a request was started after the method returned)")
        }
        var resolve: JSObjectRef?
        var reject: JSObjectRef?
        guard let promise = JSObjectMakeDeferredPromise(ctx, &resolve, &reject, nil), let resolve, let reject else {
            throw .error("could not create a promise")
        }

        let request: APIRequest
        do throws(ScriptHostFunctionError) {
            request = try makeRequest(ctx, arguments)
        } catch {
            var reason: JSValueRef? = error.makeValue(ctx)
            JSObjectCallAsFunction(ctx, reject, nil, 1, &reason, nil)
            return promise
        }

        guard let client = call.request.host.apiClient else {
            let error = APIError(
                code: Self.apiClientUnavailable,
                message: "apiClient is not available: no API client is configured for this method (does the connector have a connection with credentials?)")
            var reason: JSValueRef? = makeErrorObject(ctx, error)
            JSObjectCallAsFunction(ctx, reject, nil, 1, &reason, nil)
            return promise
        }

        JSValueProtect(ctx, resolve)
        JSValueProtect(ctx, reject)
        nextRequestID += 1
        let requestID = nextRequestID
        let inbox = self.inbox
        // On the global executor, never on a `ScriptExecutor` thread: the thread running this
        // call may be one, about to block until this very request is answered. (An unstructured
        // task does not inherit an executor preference today; this keeps it so.)
        let task = Task(executorPreference: globalConcurrentExecutor) {
            let result: Result<APIResponse, any Error>
            do {
                result = .success(try await client.send(request))
            } catch {
                result = .failure(error)
            }
            inbox.post(.apiResult(requestID: requestID, result: result))
        }
        call.pending[requestID] = ScriptPendingRequest(resolve: resolve, reject: reject, task: task, returnFullResponse: request.returnFullResponse)
        return promise
    }

    /// Settles the promise of request `requestID` if it belongs to the current call.
    func completeRequest(_ requestID: Int, result: Result<APIResponse, any Error>) {
        guard let call = current, let pending = call.pending.removeValue(forKey: requestID) else { return }
        defer {
            JSValueUnprotect(ctx, pending.resolve)
            JSValueUnprotect(ctx, pending.reject)
        }
        var exception: JSValueRef?
        switch result {
        case .success(let response):
            var value: JSValueRef? = ScriptValueBridge.makeValue(ctx, json: pending.returnFullResponse ? response.fullResponse : response.data)
            JSObjectCallAsFunction(ctx, pending.resolve, nil, 1, &value, &exception)
        case .failure(let error):
            let apiError = error as? APIError
                ?? APIError(code: APIError.connectionFailed, message: String(describing: error))
            var value: JSValueRef? = makeErrorObject(ctx, apiError)
            JSObjectCallAsFunction(ctx, pending.reject, nil, 1, &value, &exception)
        }
    }

    /// Cancels the requests a finished call left behind; their results are then ignored.
    func cancelPendingRequests(of call: ScriptCall) {
        for pending in call.pending.values {
            pending.task.cancel()
            JSValueUnprotect(ctx, pending.resolve)
            JSValueUnprotect(ctx, pending.reject)
        }
        call.pending = [:]
    }

    /// `new Error(message)` named `APIError` with `code`, `status` and `data`.
    func makeErrorObject(_ ctx: JSContextRef, _ error: APIError) -> JSValueRef? {
        var message: JSValueRef? = ScriptValueBridge.makeValue(ctx, error.message)
        guard let object = JSObjectMakeError(ctx, 1, &message, nil) else { return message }
        ScriptValueBridge.setProperty(ctx, object, "name", ScriptValueBridge.makeValue(ctx, "APIError"), attributes: JSPropertyAttributes(kJSPropertyAttributeDontEnum))
        ScriptValueBridge.setProperty(ctx, object, "code", ScriptValueBridge.makeValue(ctx, error.code))
        if let status = error.status {
            ScriptValueBridge.setProperty(ctx, object, "status", JSValueMakeNumber(ctx, Double(status)))
        }
        if let data = error.data {
            ScriptValueBridge.setProperty(ctx, object, "data", ScriptValueBridge.makeValue(ctx, json: data))
        }
        return object
    }

    // MARK: - Request from JavaScript arguments

    private func makeRequest(_ ctx: JSContextRef, _ arguments: UnsafeBufferPointer<JSValueRef?>) throws(ScriptHostFunctionError) -> APIRequest {
        let method = ScriptValueBridge.toString(ctx, arguments[argument: 0]) ?? "GET"
        guard let pathValue = arguments[argument: 1], JSValueIsString(ctx, pathValue), let path = ScriptValueBridge.toString(ctx, pathValue) else {
            throw .typeError("apiClient.\(method.lowercased())(path, ...): path must be a string")
        }
        var request = APIRequest(method: method, path: path)
        let dataValue = arguments[argument: 2]
        if !ScriptValueBridge.isUndefinedOrNull(ctx, dataValue) {
            request.body = try json(ctx, dataValue, what: "data")
        }
        let optionsValue = arguments[argument: 3]
        guard !ScriptValueBridge.isUndefinedOrNull(ctx, optionsValue) else { return request }
        guard case .object(let options) = try json(ctx, optionsValue, what: "options") else {
            throw .typeError("apiClient options must be an object")
        }
        if let baseURI = options["baseUri"]?.stringValue ?? options["baseURI"]?.stringValue { request.baseURI = baseURI }
        if case .object(let headers)? = options["headers"] {
            for (name, value) in headers where !value.isNull {
                request.headers[name] = value.stringValue ?? value.jsonText
            }
        }
        if case .object(let query)? = options["query"] {
            request.query = query.filter { !$0.value.isNull }
        }
        if case .object(let auth)? = options["auth"] {
            request.auth = APIBasicAuth(username: auth["username"]?.stringValue ?? "", password: auth["password"]?.stringValue ?? "")
        }
        if let full = options["returnFullResponse"]?.boolValue { request.returnFullResponse = full }
        if let type = options["responseType"]?.stringValue {
            switch type.lowercased() {
            case "json": request.responseType = .json
            case "text": request.responseType = .text
            case "binary", "arraybuffer", "buffer": request.responseType = .binary
            default: throw .typeError("apiClient responseType must be json, text or binary, not \(type)")
            }
        }
        return request
    }

    private func json(_ ctx: JSContextRef, _ value: JSValueRef?, what: String) throws(ScriptHostFunctionError) -> JSONValue {
        do throws(ThrownValue) {
            return try ScriptValueBridge.json(ctx, value)
        } catch {
            throw .typeError("apiClient \(what) cannot be converted to JSON: \(ScriptValueBridge.toString(ctx, error.value) ?? "?")")
        }
    }
}
