import CJavaScriptCore

/// A Swift closure callable from JavaScript.
///
/// JavaScriptCore's `JSObjectMakeFunctionWithCallback` takes a bare C function, so host
/// functions are instead objects of one JSClass with a `callAsFunction` callback whose
/// private data is the retained `ScriptHostFunction` (released by the class's finalizer).
final class ScriptHostFunction {
    typealias Body = (_ ctx: JSContextRef, _ arguments: UnsafeBufferPointer<JSValueRef?>) throws(ScriptHostFunctionError) -> JSValueRef?

    let body: Body

    init(body: @escaping Body) {
        self.body = body
    }

    /// The JSClass for host function objects; create one per context, release it with the context.
    static func makeClass() -> JSClassRef {
        var definition = kJSClassDefinitionEmpty
        definition.callAsFunction = { ctx, function, _, argumentCount, arguments, exception in
            guard let ctx, let function, let pointer = JSObjectGetPrivate(function) else { return nil }
            let host = Unmanaged<ScriptHostFunction>.fromOpaque(pointer).takeUnretainedValue()
            let buffer = UnsafeBufferPointer(start: arguments, count: argumentCount)
            do throws(ScriptHostFunctionError) {
                return try host.body(ctx, buffer) ?? JSValueMakeUndefined(ctx)
            } catch {
                exception?.pointee = error.makeValue(ctx)
                return nil
            }
        }
        definition.finalize = { object in
            if let pointer = JSObjectGetPrivate(object) {
                Unmanaged<ScriptHostFunction>.fromOpaque(pointer).release()
            }
        }
        return JSClassCreate(&definition)
    }

    /// A new function object in `ctx` that runs `body`.
    static func make(_ ctx: JSContextRef, class functionClass: JSClassRef, body: @escaping Body) -> JSObjectRef {
        let box = Unmanaged.passRetained(ScriptHostFunction(body: body))
        return JSObjectMake(ctx, functionClass, box.toOpaque())
    }
}

/// What a host function throws into JavaScript.
enum ScriptHostFunctionError: Error {
    /// Becomes `new TypeError(message)`.
    case typeError(String)
    /// Becomes `new Error(message)`.
    case error(String)

    func makeValue(_ ctx: JSContextRef) -> JSValueRef? {
        switch self {
        case .error(let message):
            var argument: JSValueRef? = ScriptValueBridge.makeValue(ctx, message)
            return JSObjectMakeError(ctx, 1, &argument, nil)
        case .typeError(let message):
            let global = JSContextGetGlobalObject(ctx)!
            guard let constructor = ScriptValueBridge.property(ctx, global, "TypeError"), let constructorObject = JSValueToObject(ctx, constructor, nil) else {
                return ScriptValueBridge.makeValue(ctx, message)
            }
            var argument: JSValueRef? = ScriptValueBridge.makeValue(ctx, message)
            return JSObjectCallAsConstructor(ctx, constructorObject, 1, &argument, nil)
        }
    }
}

extension UnsafeBufferPointer where Element == JSValueRef? {
    /// The argument at `index`, or `nil` (JavaScript's `undefined`) when not passed.
    subscript(argument index: Int) -> JSValueRef? {
        index < count ? self[index] : nil
    }
}
