import CJavaScriptCore
import Crypto
import Foundation
import Logging

/// The helpers a method finds in global scope: `console`, `Buffer`, `btoa`/`atob`,
/// `createHash`, `createHmac`, `timingSafeEqual`, `randomBytes` and `apiClient`.
///
/// The public surface is written in JavaScript (`prelude`), over a handful of native
/// functions that only the prelude can reach (they are passed to it as an argument, never
/// stored in a global).
enum ScriptHostFunctions {
    /// Encodings accepted by `Buffer.from(string, encoding)` and `buffer.toString(encoding)`.
    enum Encoding: String {
        case utf8, base64, base64url, hex, latin1

        init?(_ name: String) {
            switch name.lowercased() {
            case "utf8", "utf-8": self = .utf8
            case "base64": self = .base64
            case "base64url": self = .base64url
            case "hex": self = .hex
            case "latin1", "binary", "ascii": self = .latin1
            default: return nil
            }
        }
    }

    // MARK: - Bytes and text

    static func decode(_ text: String, _ encoding: Encoding) -> [UInt8] {
        switch encoding {
        case .utf8:
            return Array(text.utf8)
        case .latin1:
            return text.utf16.map { UInt8(truncatingIfNeeded: $0) }
        case .hex:
            var bytes: [UInt8] = []
            bytes.reserveCapacity(text.utf8.count / 2)
            var high: UInt8?
            for unit in text.utf8 {
                guard let nibble = hexNibble(unit) else { break }
                if let h = high {
                    bytes.append(h << 4 | nibble)
                    high = nil
                } else {
                    high = nibble
                }
            }
            return bytes
        case .base64, .base64url:
            // Lenient like Node: URL-safe alphabet, missing padding and whitespace are accepted.
            var normalized = String(text.unicodeScalars.filter { !CharacterSet.whitespacesAndNewlines.contains($0) })
            normalized = normalized.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while normalized.hasSuffix("=") { normalized.removeLast() }
            let remainder = normalized.utf8.count % 4
            if remainder == 1 { normalized.removeLast() } else if remainder > 0 { normalized += String(repeating: "=", count: 4 - remainder) }
            return Data(base64Encoded: normalized).map(Array.init) ?? []
        }
    }

    static func encode(_ bytes: [UInt8], _ encoding: Encoding) -> String {
        switch encoding {
        case .utf8:
            return String(decoding: bytes, as: UTF8.self)
        case .latin1:
            return String(decoding: bytes.map { UInt16($0) }, as: UTF16.self)
        case .hex:
            let digits = Array("0123456789abcdef".utf8)
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count * 2)
            for byte in bytes {
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0F)])
            }
            return String(decoding: out, as: UTF8.self)
        case .base64:
            return Data(bytes).base64EncodedString()
        case .base64url:
            var text = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            while text.hasSuffix("=") { text.removeLast() }
            return text
        }
    }

    private static func hexNibble(_ unit: UInt8) -> UInt8? {
        switch unit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return unit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return unit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return unit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    // MARK: - Hashes

    /// Algorithms `createHash` / `createHmac` accept.
    static let digestAlgorithms: Set<String> = ["md5", "sha1", "sha256", "sha384", "sha512"]

    /// The hash of `chunks`, or their HMAC under `key` when a key is given.
    static func digest(algorithm: String, key: [UInt8]?, chunks: [[UInt8]]) -> [UInt8]? {
        switch algorithm {
        case "md5": return digest(Insecure.MD5.self, key: key, chunks: chunks)
        case "sha1": return digest(Insecure.SHA1.self, key: key, chunks: chunks)
        case "sha256": return digest(SHA256.self, key: key, chunks: chunks)
        case "sha384": return digest(SHA384.self, key: key, chunks: chunks)
        case "sha512": return digest(SHA512.self, key: key, chunks: chunks)
        default: return nil
        }
    }

    private static func digest<H: HashFunction>(_: H.Type, key: [UInt8]?, chunks: [[UInt8]]) -> [UInt8] {
        if let key {
            var hmac = HMAC<H>(key: SymmetricKey(data: key))
            for chunk in chunks { hmac.update(data: chunk) }
            return Array(hmac.finalize())
        }
        var hash = H()
        for chunk in chunks { hash.update(data: chunk) }
        return Array(hash.finalize())
    }

    /// Compares in time that depends only on the length, not on where the bytes differ.
    static func timingSafeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        ConstantTime.equal(a, b)
    }

    // MARK: - Prelude

    /// Evaluated once per context with the native functions as its argument; returns the
    /// `run` function the engine calls for every method invocation.
    static let prelude = #"""
    (function (native) {
      'use strict';
      const define = (name, value) => Object.defineProperty(globalThis, name, { value, writable: false, configurable: false, enumerable: false });

      // console → the structured log
      const show = (value) => {
        if (typeof value === 'string') return value;
        if (value instanceof Error) return value.stack ? `${value.name}: ${value.message}\n${value.stack}` : String(value);
        if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') return String(value);
        try { const text = JSON.stringify(value); return text === undefined ? String(value) : text; } catch (e) { return String(value); }
      };
      const logger = (level) => (...values) => native.log(level, values.map(show).join(' '));
      define('console', Object.freeze({
        log: logger('info'), info: logger('info'), debug: logger('debug'), trace: logger('trace'),
        warn: logger('warning'), error: logger('error'),
      }));

      // Buffer: a Uint8Array with Node's string conversions
      class Buffer extends Uint8Array {
        static from(value, encoding) {
          if (typeof value === 'string') return Buffer.wrap(native.bytes(value, encoding === undefined ? 'utf8' : String(encoding)));
          if (value instanceof ArrayBuffer) return Buffer.wrap(new Uint8Array(value.slice(0)));
          if (ArrayBuffer.isView(value)) return Buffer.wrap(new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength)));
          if (Array.isArray(value)) return Buffer.wrap(Uint8Array.from(value));
          if (value && value.type === 'Buffer' && Array.isArray(value.data)) return Buffer.wrap(Uint8Array.from(value.data));
          throw new TypeError('Buffer.from expects a string, an ArrayBuffer, a typed array or an array of bytes');
        }
        static wrap(bytes) { return new Buffer(bytes.buffer, bytes.byteOffset, bytes.byteLength); }
        static alloc(size) { return new Buffer(size); }
        static isBuffer(value) { return value instanceof Buffer; }
        static byteLength(value, encoding) { return typeof value === 'string' ? native.bytes(value, encoding === undefined ? 'utf8' : String(encoding)).length : value.byteLength; }
        static concat(list) {
          const total = list.reduce((sum, item) => sum + item.length, 0);
          const out = new Buffer(total);
          let offset = 0;
          for (const item of list) { out.set(item, offset); offset += item.length; }
          return out;
        }
        toString(encoding) { return native.string(this, encoding === undefined ? 'utf8' : String(encoding)); }
        equals(other) { return this.length === other.length && native.timingSafeEqual(this, other); }
        toJSON() { return { type: 'Buffer', data: Array.from(this) }; }
      }
      define('Buffer', Buffer);
      define('btoa', (text) => {
        text = String(text);
        if (/[^\u0000-\u00ff]/.test(text)) throw new Error('btoa: the string contains characters outside of Latin-1');
        return native.string(native.bytes(text, 'latin1'), 'base64');
      });
      define('atob', (text) => native.string(native.bytes(String(text), 'base64'), 'latin1'));

      // createHash / createHmac / timingSafeEqual
      const algorithms = ['md5', 'sha1', 'sha256', 'sha384', 'sha512'];
      class Hash {
        constructor(algorithm, key) {
          this.algorithm = String(algorithm).toLowerCase().replace('-', '');
          if (!algorithms.includes(this.algorithm)) throw new Error(`Digest method not supported: ${algorithm} (use one of ${algorithms.join(', ')})`);
          this.key = key;
          this.chunks = [];
        }
        update(data, encoding) {
          this.chunks.push(typeof data === 'string' && encoding !== undefined ? native.bytes(data, String(encoding)) : data);
          return this;
        }
        digest(encoding) {
          // With an encoding the text comes back at once (one call into Swift, no buffer).
          if (encoding !== undefined) return native.digest(this.algorithm, this.key, this.chunks, String(encoding));
          return Buffer.wrap(native.digest(this.algorithm, this.key, this.chunks));
        }
      }
      define('createHash', (algorithm) => new Hash(algorithm, undefined));
      define('createHmac', (algorithm, key) => {
        if (key === undefined || key === null) throw new TypeError('createHmac: a key is required');
        return new Hash(algorithm, key);
      });
      define('timingSafeEqual', (a, b) => native.timingSafeEqual(a, b));
      // Cryptographically secure random bytes (the system's generator), e.g. webhook secrets.
      define('randomBytes', (size) => Buffer.wrap(native.randomBytes(size)));

      // apiClient → the connection's API, resolved from Swift
      const withQuery = (query, options) => query === undefined || query === null
        ? options
        : Object.assign({}, options, { query: Object.assign({}, options && options.query, query) });
      const apiClient = Object.freeze({
        get: (path, query, options) => native.request('GET', path, undefined, withQuery(query, options)),
        post: (path, data, options) => native.request('POST', path, data, options),
        put: (path, data, options) => native.request('PUT', path, data, options),
        patch: (path, data, options) => native.request('PATCH', path, data, options),
        delete: (path, data, options) => native.request('DELETE', path, data, options),
      });
      define('apiClient', apiClient);

      // Hardening: the helpers above and every built-in (globals, prototypes, the hidden
      // intrinsics such as iterator and generator prototypes) are frozen, so no code — not a
      // dependency of the connector, not a previous call with hostile input — can replace
      // `createHmac`, `timingSafeEqual`, `JSON.parse` or `Array.prototype.map` for later
      // calls. Names that code often assigns on its own objects (`this.name = 'MyError'`,
      // `o.toString = ...`) become accessors whose setter defines the property on the object
      // itself: a frozen prototype would otherwise make such assignments throw. (Not on
      // Array.prototype or Promise.prototype: JavaScriptCore's fast paths for `map`, `slice`
      // and `await` watch their `constructor` and `then`.)
      const overridable = (prototype, names) => {
        for (const name of names) {
          const descriptor = Object.getOwnPropertyDescriptor(prototype, name);
          if (descriptor === undefined || !('value' in descriptor)) continue;
          const value = descriptor.value;
          Object.defineProperty(prototype, name, {
            get() { return value; },
            set(replacement) {
              if (this === prototype) throw new TypeError(`Cannot assign to read only property '${String(name)}' of a built-in prototype`);
              Object.defineProperty(this, name, { value: replacement, writable: true, enumerable: true, configurable: true });
            },
            enumerable: descriptor.enumerable, configurable: false,
          });
        }
      };
      overridable(Object.prototype, ['constructor', 'toString', 'toLocaleString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable']);
      overridable(Function.prototype, ['constructor', 'toString']);
      for (const type of [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError, globalThis.AggregateError]) {
        if (typeof type === 'function') overridable(type.prototype, ['constructor', 'name', 'message', 'toString']);
      }
      const hardened = new Set();
      const harden = (roots) => {
        const stack = roots.slice();
        while (stack.length > 0) {
          const value = stack.pop();
          if (value === null || (typeof value !== 'object' && typeof value !== 'function') || hardened.has(value)) continue;
          hardened.add(value);
          Object.freeze(value);
          stack.push(Object.getPrototypeOf(value));
          for (const key of Reflect.ownKeys(value)) {
            const descriptor = Object.getOwnPropertyDescriptor(value, key);
            if (descriptor === undefined) continue;
            if ('value' in descriptor) stack.push(descriptor.value);
            else stack.push(descriptor.get, descriptor.set);
          }
        }
      };
      harden([
        globalThis, native, Hash, apiClient,
        Object.getPrototypeOf(function* () {}), Object.getPrototypeOf(async function () {}), Object.getPrototypeOf(async function* () {}),
        Object.getPrototypeOf([][Symbol.iterator]()), Object.getPrototypeOf(new Map()[Symbol.iterator]()),
        Object.getPrototypeOf(new Set()[Symbol.iterator]()), Object.getPrototypeOf(''[Symbol.iterator]()),
        Object.getPrototypeOf(/a/[Symbol.matchAll]('')),
        ...(typeof Intl === 'object' && typeof Intl.Segmenter === 'function'
          ? (() => { const segments = new Intl.Segmenter().segment('a'); return [Object.getPrototypeOf(segments), Object.getPrototypeOf(segments[Symbol.iterator]())]; })()
          : []),
        ...(typeof Iterator === 'function' && typeof Iterator.from === 'function'
          ? [Object.getPrototypeOf(Iterator.from({ next() { return { done: true }; } }))]
          : []),
        ...(typeof [].values().map === 'function' ? [Object.getPrototypeOf([].values().map((x) => x))] : []),
      ]);

      // The engine's entry point: call the method, report its (awaited) result.
      return function run(method, args, generation) {
        if (args !== null && typeof args === 'object' && !Array.isArray(args)) args.apiClient = apiClient;
        let result;
        try {
          result = method(args);
        } catch (error) {
          native.settle(generation, false, error);
          return;
        }
        if (result !== null && (typeof result === 'object' || typeof result === 'function') && typeof result.then === 'function') {
          result.then((value) => native.settle(generation, true, value), (error) => native.settle(generation, false, error));
        } else {
          native.settle(generation, true, result);
        }
      };
    })
    """#
}

// MARK: - Native functions

extension ScriptContext {
    /// Puts the native functions the prelude builds on onto `native`.
    func installNativeFunctions(on native: JSObjectRef) {
        func define(_ name: String, _ body: @escaping ScriptHostFunction.Body) {
            ScriptValueBridge.setProperty(ctx, native, name, ScriptHostFunction.make(ctx, class: functionClass, body: body))
        }

        define("log") { [unowned self] ctx, arguments throws(ScriptHostFunctionError) in
            let level = ScriptValueBridge.toString(ctx, arguments[argument: 0]).flatMap(Logger.Level.init(rawValue:)) ?? .info
            let message = ScriptValueBridge.toString(ctx, arguments[argument: 1]) ?? ""
            var metadata: Logger.Metadata = [:]
            if let call = self.current {
                for (key, value) in call.request.host.logMetadata { metadata[key] = .string(value) }
                metadata["script"] = .string(call.request.fileName)
            }
            self.logger.log(level: level, "\(message)", metadata: metadata)
            return nil
        }

        define("bytes") { ctx, arguments throws(ScriptHostFunctionError) in
            let text = ScriptValueBridge.toString(ctx, arguments[argument: 0]) ?? ""
            let encoding = try Self.encoding(ctx, arguments[argument: 1])
            return ScriptValueBridge.makeUint8Array(ctx, ScriptHostFunctions.decode(text, encoding))
        }

        define("string") { ctx, arguments throws(ScriptHostFunctionError) in
            let bytes = ScriptValueBridge.bytes(ctx, arguments[argument: 0])
            let encoding = try Self.encoding(ctx, arguments[argument: 1])
            return ScriptValueBridge.makeValue(ctx, ScriptHostFunctions.encode(bytes, encoding))
        }

        define("digest") { [unowned self] ctx, arguments throws(ScriptHostFunctionError) in
            let algorithm = ScriptValueBridge.toString(ctx, arguments[argument: 0]) ?? ""
            let keyValue = arguments[argument: 1]
            let key = ScriptValueBridge.isUndefinedOrNull(ctx, keyValue) ? nil : ScriptValueBridge.bytes(ctx, keyValue)
            var chunks: [[UInt8]] = []
            if let list = arguments[argument: 2], let array = JSValueToObject(ctx, list, nil) {
                let length = JSValueToNumber(ctx, ScriptValueBridge.property(ctx, array, "length"), nil)
                guard length.isFinite, length >= 0, length <= 1_000_000 else { throw .error("digest: the list of chunks has no sensible length") }
                for index in 0..<Int(length) {
                    let chunk = JSObjectGetPropertyAtIndex(ctx, array, UInt32(index), nil)
                    // `update(rawBody)`: the body's UTF-8 as Swift has it, not converted back
                    // from JavaScript's UTF-16 (5–10 µs for a 13 KB body).
                    if let text = self.text(equalTo: chunk) {
                        chunks.append(Array(text.utf8))
                    } else {
                        chunks.append(ScriptValueBridge.bytes(ctx, chunk))
                    }
                }
            }
            guard let digest = ScriptHostFunctions.digest(algorithm: algorithm, key: key, chunks: chunks) else {
                throw .error("Digest method not supported: \(algorithm)")
            }
            // `digest(encoding)`: the text, as `buffer.toString(encoding)` would make it.
            if let encoding = arguments[argument: 3] {
                return ScriptValueBridge.makeValue(ctx, ScriptHostFunctions.encode(digest, try Self.encoding(ctx, encoding)))
            }
            return ScriptValueBridge.makeUint8Array(ctx, digest)
        }

        define("timingSafeEqual") { ctx, arguments throws(ScriptHostFunctionError) in
            let equal = ScriptHostFunctions.timingSafeEqual(
                ScriptValueBridge.bytes(ctx, arguments[argument: 0]), ScriptValueBridge.bytes(ctx, arguments[argument: 1]))
            return JSValueMakeBoolean(ctx, equal)
        }

        define("randomBytes") { ctx, arguments throws(ScriptHostFunctionError) in
            let size = JSValueToNumber(ctx, arguments[argument: 0], nil)
            guard size.isFinite, size >= 0, size <= 65_536, size.rounded() == size else {
                throw .error("randomBytes: size must be a whole number from 0 to 65536")
            }
            var generator = SystemRandomNumberGenerator()
            return ScriptValueBridge.makeUint8Array(ctx, (0..<Int(size)).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        }

        define("settle") { [unowned self] ctx, arguments throws(ScriptHostFunctionError) in
            let number = JSValueToNumber(ctx, arguments[argument: 0], nil)
            guard number.isFinite, abs(number) < 1e15 else { throw .error("settle: not a call's generation") }
            let generation = Int(number)
            let fulfilled = JSValueToBoolean(ctx, arguments[argument: 1])
            self.settle(generation: generation, fulfilled: fulfilled, value: arguments[argument: 2])
            return nil
        }

        define("request") { [unowned self] ctx, arguments throws(ScriptHostFunctionError) in
            try self.startRequest(ctx, arguments)
        }
    }

    private static func encoding(_ ctx: JSContextRef, _ value: JSValueRef?) throws(ScriptHostFunctionError) -> ScriptHostFunctions.Encoding {
        let name = ScriptValueBridge.toString(ctx, value) ?? "utf8"
        guard let encoding = ScriptHostFunctions.Encoding(name) else {
            throw .typeError("Unknown encoding: \(name) (use utf8, base64, base64url, hex or latin1)")
        }
        return encoding
    }
}
