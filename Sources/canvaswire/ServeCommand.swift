import ArgumentParser
import CanvasWireCore
import CanvasWireServer
import Logging
import NIOSSL

#if canImport(Glibc)
import Glibc
#endif

/// `canvaswire serve`: runs the relay until SIGINT or SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Relay named streams of frames from publishers to viewers, with the browser pages.",
        discussion: """
            Open http://HOST:PORT/ for the viewer (the built-in demo stream plays at once) and /send for \
            the browser sender. Publishers connect to ws://HOST:PORT/streams/NAME/publish, viewers to \
            ws://HOST:PORT/streams/NAME?policy=latest|all. See docs/PROTOCOL.md.
            """
    )

    /// Every option's default, so the numbers live in one place: the library's configuration.
    private static let defaults = ServerConfiguration()

    @Option(help: "Address to listen on.")
    var host = Self.defaults.host

    @Option(help: "TCP port to listen on (0 picks a free one).")
    var port = Self.defaults.port

    @Option(help: "Per-connection bufferedAmount (bytes) above which a live viewer gets no new frames and a lossless viewer pauses its publisher.")
    var highWaterMark = Self.defaults.highWaterMark

    @Option(help: "bufferedAmount (bytes) a lossless viewer must drain to before its publisher is read again.")
    var lowWaterMark = Self.defaults.lowWaterMark

    @Option(help: "Seconds a lossless viewer may hold its publisher back (above its high-water mark, or not acknowledging frames) before it is disconnected.")
    var stallTimeout = Self.defaults.stallTimeout / .seconds(1)

    @Option(help: "TCP_NOTSENT_LOWAT of viewer sockets, in bytes: the most the kernel holds unsent per viewer, so that the rest counts in bufferedAmount (0 keeps the kernel's default).")
    var viewerNotsentLowat = Self.defaults.viewerSocket.notSentLowWaterMark ?? 0

    @Option(help: "SO_SNDBUF of viewer sockets, in bytes (0 keeps the kernel's autotuning).")
    var viewerSendBuffer = Self.defaults.viewerSocket.sendBufferSize ?? 0

    /// One event loop by default. Measured with tools/bench/loadgen.js on 2 cores (release build,
    /// one loop and two interleaved, 2 runs each, tools/bench/serve-ab, issue 17):
    /// 10 viewers of 640x360 frames 5,826-6,322 MB/s, p99 26-31 ms, 0.15-0.17 CPU s/GB, 38-39 MB
    /// peak RSS, 99.8-100% of frames delivered, against 4,124-4,246 MB/s, 86-92 ms, 0.29 s/GB,
    /// 68-69 MB and 49-53%; one 1080p viewer 2,311-2,327 against 2,009-2,314 MB/s at 0.31 against
    /// 0.41-0.48 s/GB. A second loop hands frames from the publisher's loop to its viewers' through
    /// a task and a cold cache, and reads frames faster than the viewers take them only to drop them.
    /// More loops pay where many streams' viewers can spread over otherwise idle cores.
    @Option(help: "Event loop threads: one serves a stream's publisher and viewers without handing frames between threads; more spread many streams over cores.")
    var threads = 1

    @Option(help: "Largest accepted frame width and height, in pixels.")
    var maxDimension = Self.defaults.limits.maxWidth

    @Option(help: "Largest accepted frame payload, in bytes.")
    var maxPayload = Self.defaults.limits.maxPayloadBytes

    @Option(help: "Token required to publish (as 'Authorization: Bearer TOKEN' or '?token=TOKEN').")
    var token: String?

    @Flag(help: "Require the token from viewers too.")
    var tokenForViewers = false

    @Option(name: .customLong("allow-origin"), help: "A browser origin (scheme://host:port) allowed besides the server's own; repeatable, '*' allows any.")
    var allowedOrigins: [String] = []

    @Option(help: "PEM certificate chain; with --tls-key serves https and wss.")
    var tlsCert: String?

    @Option(help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(help: "Most connections served at once.")
    var maxConnections = Self.defaults.maxConnections

    @Option(help: "Most streams that may exist at once (streams with no publisher and no viewers count until they expire).")
    var maxStreams = Self.defaults.maxStreams

    @Option(help: "Seconds a stream with no publisher and no viewers keeps its latest frame before it is forgotten; 0 forgets it at once.")
    var streamIdleTimeout = Self.defaults.streamIdleTimeout / .seconds(1)

    @Option(help: "Seconds a new connection has to send its request.")
    var handshakeTimeout = Self.defaults.handshakeTimeout / .seconds(1)

    @Option(help: "Seconds between pings to a quiet WebSocket peer.")
    var pingInterval = Self.defaults.pingInterval / .seconds(1)

    @Option(help: "Seconds of silence after which a WebSocket peer is considered dead and closed.")
    var deadPeerTimeout = Self.defaults.deadPeerTimeout / .seconds(1)

    @Option(help: "Seconds to wait for a WebSocket peer's close frame (or, after a protocol error, for it to hang up) before closing the TCP connection.")
    var closeTimeout = Self.defaults.closeTimeout / .seconds(1)

    @Option(help: "When to compress messages to viewers that offer permessage-deflate: auto (deltas and small frames that shrink), on (every frame), off (never agree to it).")
    var deflate = Self.defaults.deflate

    @Flag(help: "Do not serve the WS /echo endpoint.")
    var noEcho = false

    @Flag(help: "Do not run the built-in animated 'demo' stream.")
    var noDemo = false

    @Option(help: "Size of the demo stream's frames, WxH.")
    var demoSize = DemoStreamConfiguration().size.description

    @Option(help: "Join a cluster of relay nodes through these NATS servers (nats://HOST:PORT, comma-separated; nats-server needs -js).")
    var nats: String?

    @Option(help: "This node's name in the cluster: letters, digits, _ and -. Default: the host name and the port.")
    var nodeName: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        guard FrameSize(parsing: demoSize) != nil else {
            throw ValidationError("--demo-size must look like 640x360, not \"\(demoSize)\"")
        }
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard streamIdleTimeout >= 0 else {
            throw ValidationError("--stream-idle-timeout must be 0 or more seconds, not \(streamIdleTimeout)")
        }
        guard viewerNotsentLowat >= 0, viewerSendBuffer >= 0 else {
            throw ValidationError("--viewer-notsent-lowat and --viewer-send-buffer take 0 (the kernel's default) or a number of bytes")
        }
        guard threads >= 1 else {
            throw ValidationError("--threads must be at least 1")
        }
        guard lowWaterMark < highWaterMark else {
            throw ValidationError("--low-water-mark (\(lowWaterMark)) must be below --high-water-mark (\(highWaterMark))")
        }
        if let nodeName, !ClusterConfiguration.isValidNodeName(nodeName) {
            throw ValidationError("--node-name must be 1 to 64 letters, digits, _ or -, not \"\(nodeName)\"")
        }
        if nodeName != nil, nats == nil {
            throw ValidationError("--node-name goes with --nats")
        }
        if let nats, natsURLs(nats).isEmpty {
            throw ValidationError("--nats needs at least one nats://HOST:PORT")
        }
    }

    private func natsURLs(_ list: String) -> [String] {
        list.split(separator: ",").map { String($0.filter { $0 != " " }) }.filter { !$0.isEmpty }
    }

    /// The host name and the port, so that nodes on one machine differ; a random suffix with --port 0.
    private var defaultNodeName: String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let named = buffer.withUnsafeMutableBytes { gethostname($0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) } == 0
        let host = named ? String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self) : "node"
        let safe = String(host.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "-" }.prefix(48))
        let suffix = port == 0 ? String(UInt32.random(in: .min ... .max), radix: 36) : "\(port)"
        return "\(safe.isEmpty ? "node" : safe)-\(suffix)"
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "canvaswire.serve")
        let server = CanvasWireServer(configuration: try makeConfiguration(), logger: logger, threads: threads)
        do {
            try await server.start()
        } catch let error as ClusterError {
            writeStderr("Error: \(error)\n")
            throw ExitCode.failure
        } catch {
            // Not a usage error: the message alone, as ArgumentParser prints any other failure.
            writeStderr("Error: cannot listen on \(host):\(port): \(error)\n")
            throw ExitCode.failure
        }
        // One plain line on stdout, so scripts and tests learn the address (and the port, with --port 0).
        print("canvaswire serving \(tlsCert == nil ? "http" : "https")://\(host):\(server.port ?? port)/")
        fflush(nil)
        let signals = ShutdownSignals { _ in await server.shutdown() }
        try await server.waitUntilStopped()
        signals.cancel()
    }

    func makeConfiguration() throws -> ServerConfiguration {
        var tls: TLSConfiguration?
        if let tlsCert, let tlsKey {
            do {
                tls = TLSConfiguration.makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMFile(tlsCert).map { .certificate($0) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(file: tlsKey, format: .pem))
                )
            } catch {
                throw ValidationError("cannot load TLS certificate \(tlsCert) or key \(tlsKey): \(error)")
            }
        }
        return ServerConfiguration(
            host: host,
            port: port,
            limits: FrameLimits(maxWidth: maxDimension, maxHeight: maxDimension, maxPayloadBytes: maxPayload),
            highWaterMark: highWaterMark,
            lowWaterMark: lowWaterMark,
            stallTimeout: .seconds(stallTimeout),
            viewerSocket: ViewerSocketOptions(
                notSentLowWaterMark: viewerNotsentLowat == 0 ? nil : viewerNotsentLowat,
                sendBufferSize: viewerSendBuffer == 0 ? nil : viewerSendBuffer
            ),
            token: token,
            tokenRequiredForViewers: tokenForViewers,
            allowedOrigins: allowedOrigins,
            tls: tls,
            maxConnections: maxConnections,
            maxStreams: maxStreams,
            streamIdleTimeout: .seconds(streamIdleTimeout),
            handshakeTimeout: .seconds(handshakeTimeout),
            pingInterval: .seconds(pingInterval),
            deadPeerTimeout: .seconds(deadPeerTimeout),
            closeTimeout: .seconds(closeTimeout),
            deflate: deflate,
            echoEnabled: !noEcho,
            demoStream: noDemo ? nil : DemoStreamConfiguration(size: FrameSize(parsing: demoSize)!),
            cluster: nats.map { ClusterConfiguration(natsURLs: natsURLs($0), nodeName: nodeName ?? defaultNodeName) }
        )
    }
}
