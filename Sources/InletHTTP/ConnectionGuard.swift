import HTTPTypes
import HummingbirdCore
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Keeps hostile clients from holding ingress's connections:
/// - at most `maxConnections` open at once; one more is closed when accepted;
/// - once a request's first bytes arrive, its head (method, path, headers) must be complete
///   within `headerTimeout`, so a client trickling its headers (slowloris) is closed;
/// - a connection silent for the server's idle timeout (mid-request, or kept alive between
///   requests) is closed by the server itself.
final class ConnectionGuard: Sendable {
    let maxConnections: Int
    let headerTimeout: TimeAmount
    private let open = Atomic<Int>(0)

    init(maxConnections: Int, headerTimeout: Duration) {
        self.maxConnections = maxConnections
        self.headerTimeout = Self.timeAmount(headerTimeout)
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let parts = duration.components
        return .nanoseconds(parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000)
    }

    /// Connections open now.
    var openConnections: Int { open.load(ordering: .relaxed) }

    /// The handler for one connection's pipeline (after HTTP decoding; it puts a byte watcher
    /// in front of the decoder itself).
    func handler() -> Handler { Handler(guard: self) }

    /// One connection's state, touched on its event loop only.
    final class Handler: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        typealias InboundOut = HTTPRequestPart
        typealias OutboundIn = HTTPResponsePart
        typealias OutboundOut = HTTPResponsePart

        private let connectionGuard: ConnectionGuard
        private var counted = false
        /// Between requests: the next bytes start the clock for the next head.
        private var betweenRequests = true
        private var headDeadline: Scheduled<Void>?

        init(guard connectionGuard: ConnectionGuard) {
            self.connectionGuard = connectionGuard
        }

        func handlerAdded(context: ChannelHandlerContext) {
            let count = connectionGuard.open.wrappingAdd(1, ordering: .relaxed).newValue
            counted = true
            if count > connectionGuard.maxConnections {
                context.close(promise: nil)
                return
            }
            try? context.pipeline.syncOperations.addHandler(ByteWatcher(handler: self, context: context), position: .first)
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            headDeadline?.cancel()
            headDeadline = nil
            if counted {
                connectionGuard.open.wrappingSubtract(1, ordering: .relaxed)
                counted = false
            }
        }

        /// Raw bytes came in (seen by the watcher in front of the decoder).
        fileprivate func bytesArrived(context: ChannelHandlerContext) {
            guard betweenRequests, headDeadline == nil else { return }
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            headDeadline = context.eventLoop.scheduleTask(in: connectionGuard.headerTimeout) {
                loopBound.value.close(promise: nil)
            }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head = unwrapInboundIn(data) {
                betweenRequests = false
                headDeadline?.cancel()
                headDeadline = nil
            }
            context.fireChannelRead(data)
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if case .end = unwrapOutboundIn(data) { betweenRequests = true }
            context.write(data, promise: promise)
        }
    }

    /// In front of the HTTP decoder: tells the connection's handler when bytes arrive.
    private final class ByteWatcher: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer

        private let handler: Handler
        private let handlerContext: ChannelHandlerContext

        init(handler: Handler, context: ChannelHandlerContext) {
            self.handler = handler
            self.handlerContext = context
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            handler.bytesArrived(context: handlerContext)
            context.fireChannelRead(data)
        }
    }
}
