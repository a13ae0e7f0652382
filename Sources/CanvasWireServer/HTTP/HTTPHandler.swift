import CanvasWireCore
import CanvasWirePNG
import FoundationEssentials
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves the plain HTTP endpoints, and explains to a client why its WebSocket upgrade was refused.
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: ServerContext
    private let handshake: HandshakeDeadline
    private var head: HTTPRequestHead?

    init(server: ServerContext, handshake: HandshakeDeadline) {
        self.server = server
        self.handshake = handshake
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break  // no endpoint takes a body
        case .end:
            // The deadline runs until the whole request is in: a head that promises a body and never
            // sends it would otherwise hold the connection for ever.
            handshake.cancel()
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let route = Route(RequestTarget(head.uri))
        if route.isWebSocket || route.isInvalidStreamName {
            return refuseUpgrade(head, route: route, context: context)
        }
        guard head.method == .GET || head.method == .HEAD else {
            return send(.methodNotAllowed, text: "\(head.method) is not supported; use GET\n", head: head, context: context)
        }
        switch route {
        case .viewerPage:
            send(.ok, body: PackageResources.index_html, contentType: "text/html; charset=utf-8", head: head, context: context)
        case .senderPage:
            send(.ok, body: PackageResources.send_html, contentType: "text/html; charset=utf-8", head: head, context: context)
        case .script(let script):
            send(.ok, body: script.body, contentType: "text/javascript; charset=utf-8", head: head, context: context)
        case .health:
            send(.ok, text: "ok\n", head: head, context: context)
        case .streamList:
            streamList(head: head, context: context)
        case .metrics:
            server.cluster?.recordMetrics()
            let exposition = server.metrics.exposition(streams: server.registry.all)
            send(.ok, body: exposition, contentType: "text/plain; version=0.0.4", head: head, context: context)
        case .latestPNG(let name):
            latestPNG(name, head: head, context: context)
        default:
            send(.notFound, text: "nothing at \(head.uri)\n", head: head, context: context)
        }
    }

    private func refuseUpgrade(_ head: HTTPRequestHead, route: Route, context: ChannelHandlerContext) {
        switch UpgradeDecision(server: server).evaluate(head) {
        case .failure(let refusal):
            server.logger.notice("refused WebSocket request", metadata: ["uri": "\(head.uri)", "reason": "\(refusal.reason)"])
            send(refusal.status, text: refusal.reason + "\n", head: head, context: context)
        case .success:
            send(.upgradeRequired, text: "\(head.uri) is a WebSocket endpoint; connect with a WebSocket client\n", head: head, context: context)
        }
    }

    /// In a cluster the list also names this node and every stream of the cluster with the node that
    /// holds it, read from the claims bucket (a few milliseconds, off the event loop's critical path).
    private func streamList(head: HTTPRequestHead, context: ChannelHandlerContext) {
        let local = server.registry.all.map { $0.snapshot() }
        guard let cluster = server.cluster else {
            return send(StreamList(streams: local), head: head, context: context)
        }
        let promise = context.eventLoop.makePromise(of: [ClusterStreamEntry].self)
        promise.completeWithTask {
            try await cluster.clusterStreams().map { ClusterStreamEntry(name: $0.name.rawValue, claim: $0.claim) }
        }
        promise.futureResult.assumeIsolated().whenComplete { result in
            var list = StreamList(streams: local, node: cluster.nodeName)
            switch result {
            case .success(let streams): list.cluster = streams
            case .failure(let error): list.clusterError = "\(error)"
            }
            self.send(list, head: head, context: context)
        }
    }

    private func send(_ list: StreamList, head: HTTPRequestHead, context: ChannelHandlerContext) {
        let json = (try? JSONEncoder().encode(list)).map(Array.init) ?? Array("{}".utf8)
        send(.ok, body: json, contentType: "application/json", head: head, context: context)
    }

    /// In a cluster the frame may come from the node that holds the stream (``ClusterNode/latestFrame(_:)``).
    private func latestPNG(_ name: StreamName, head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard let cluster = server.cluster else {
            return latestPNG(server.registry.existingStream(named: name)?.latestFrame, name, head: head, context: context)
        }
        let promise = context.eventLoop.makePromise(of: Frame?.self)
        promise.completeWithTask { await cluster.latestFrame(name) }
        promise.futureResult.assumeIsolated().whenSuccess { frame in
            self.latestPNG(frame, name, head: head, context: context)
        }
    }

    /// PNG encoding of a large frame takes milliseconds, so it runs on the thread pool, not the event loop.
    private func latestPNG(_ frame: Frame?, _ name: StreamName, head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard let frame else {
            return send(.notFound, text: "stream \"\(name)\" has no frame yet\n", head: head, context: context)
        }
        let encoded = NIOThreadPool.singleton.runIfActive(eventLoop: context.eventLoop) { () throws -> [UInt8] in
            let payload = frame.payload
            if frame.header.pixelFormat == .png { return Array(payload.readableBytesView) }
            return try payload.withUnsafeReadableBytes { pixels in
                try PNGEncoder().encode(pixels, size: frame.header.size)
            }
        }
        encoded.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let png):
                self.send(.ok, body: png, contentType: "image/png", head: head, context: context)
            case .failure(let error):
                self.send(.internalServerError, text: "could not encode the latest frame: \(error)\n", head: head, context: context)
            }
        }
    }

    private func send(_ status: HTTPResponseStatus, text: String, head: HTTPRequestHead, context: ChannelHandlerContext) {
        send(status, body: Array(text.utf8), contentType: "text/plain; charset=utf-8", head: head, context: context)
    }

    private func send(
        _ status: HTTPResponseStatus, body: [UInt8], contentType: String, head: HTTPRequestHead,
        context: ChannelHandlerContext
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "content-length", value: "\(body.count)")
        headers.add(name: "cache-control", value: "no-store")
        if status == .upgradeRequired { headers.add(name: "upgrade", value: "websocket") }
        let keepAlive = head.isKeepAlive && status.code < 400
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let response = HTTPResponseHead(version: head.version, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if keepAlive {
            // An idle keep-alive connection gets the same time for its next request as a new one.
            handshake.restart(channel: context.channel)
        } else {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}

/// The `GET /streams` document.
struct StreamList: Encodable {
    /// This server's streams, with their connections.
    var streams: [StreamSnapshot]
    /// In a cluster: this node's name.
    var node: String?
    /// In a cluster: every stream the cluster knows, and the node that holds each.
    var cluster: [ClusterStreamEntry]?
    /// In a cluster: why ``cluster`` could not be read (NATS unreachable).
    var clusterError: String?
}

/// One stream of the cluster as `GET /streams` lists it.
struct ClusterStreamEntry: Encodable {
    var name: String
    /// The node that holds the stream: its publisher's, or the last one's while none is connected.
    var node: String
    /// Whether a publisher is connected there.
    var publisher: Bool
    var run: String?

    init(name: String, claim: StreamClaim) {
        self.name = name
        self.node = claim.node
        self.publisher = claim.publisher
        self.run = claim.run
    }
}
