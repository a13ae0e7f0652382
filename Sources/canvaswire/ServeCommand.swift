import ArgumentParser
import CanvasWireCore
import CanvasWireServer
import Dispatch
import Logging
import NIOSSL
import Synchronization

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

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "TCP port to listen on (0 picks a free one).")
    var port = 8080

    @Option(help: "Per-connection bufferedAmount (bytes) above which a live viewer gets no new frames and a lossless viewer pauses its publisher.")
    var highWaterMark = 2 << 20

    @Option(help: "bufferedAmount (bytes) a lossless viewer must drain to before its publisher is read again.")
    var lowWaterMark = 512 << 10

    @Option(help: "Seconds a lossless viewer may stay above its high-water mark before it is disconnected.")
    var stallTimeout = 30.0

    @Option(help: "Largest accepted frame width and height, in pixels.")
    var maxDimension = 16384

    @Option(help: "Largest accepted frame payload, in bytes.")
    var maxPayload = 256 << 20

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
    var maxConnections = 4096

    @Option(help: "Most streams that may exist at once (streams with no publisher and no viewers count until they expire).")
    var maxStreams = 256

    @Option(help: "Seconds a stream with no publisher and no viewers keeps its latest frame before it is forgotten; 0 forgets it at once.")
    var streamIdleTimeout = 300.0

    @Option(help: "Seconds a new connection has to send its request.")
    var handshakeTimeout = 10.0

    @Option(help: "Seconds between pings to a quiet WebSocket peer.")
    var pingInterval = 20.0

    @Option(help: "Seconds of silence after which a WebSocket peer is considered dead and closed.")
    var deadPeerTimeout = 60.0

    @Option(help: "Seconds to wait for a WebSocket peer's close frame (or, after a protocol error, for it to hang up) before closing the TCP connection.")
    var closeTimeout = 3.0

    @Flag(help: "Do not serve the WS /echo endpoint.")
    var noEcho = false

    @Flag(help: "Do not run the built-in animated 'demo' stream.")
    var noDemo = false

    @Option(help: "Size of the demo stream's frames, WxH.")
    var demoSize = "640x360"

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
        guard lowWaterMark < highWaterMark else {
            throw ValidationError("--low-water-mark (\(lowWaterMark)) must be below --high-water-mark (\(highWaterMark))")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "canvaswire.serve")
        let server = CanvasWireServer(configuration: try makeConfiguration(), logger: logger)
        do {
            try await server.start()
        } catch {
            throw CommandFailure(description: "cannot listen on \(host):\(port): \(error)")
        }
        // One plain line on stdout, so scripts and tests learn the address (and the port, with --port 0).
        print("canvaswire serving \(tlsCert == nil ? "http" : "https")://\(host):\(server.port ?? port)/")
        fflush(nil)
        let signals = ShutdownSignals { _ in await server.shutdown() }
        try await server.waitUntilStopped()
        signals.cancel()
    }

    private func makeConfiguration() throws -> ServerConfiguration {
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
            stallTimeout: .milliseconds(Int(stallTimeout * 1000)),
            token: token,
            tokenRequiredForViewers: tokenForViewers,
            allowedOrigins: allowedOrigins,
            tls: tls,
            maxConnections: maxConnections,
            maxStreams: maxStreams,
            streamIdleTimeout: .milliseconds(Int(streamIdleTimeout * 1000)),
            handshakeTimeout: .milliseconds(Int(handshakeTimeout * 1000)),
            pingInterval: .milliseconds(Int(pingInterval * 1000)),
            deadPeerTimeout: .milliseconds(Int(deadPeerTimeout * 1000)),
            closeTimeout: .milliseconds(Int(closeTimeout * 1000)),
            echoEnabled: !noEcho,
            demoStream: noDemo ? nil : DemoStreamConfiguration(size: FrameSize(parsing: demoSize)!)
        )
    }
}

/// Turns the first SIGINT or SIGTERM into a graceful shutdown.
final class ShutdownSignals {
    private final class FirstSignal: Sendable {
        let number = Atomic<Int32>(0)
    }

    private let sources: [any DispatchSourceSignal]
    private let first: FirstSignal

    /// - Parameter onSignal: Runs once, with the number of the first signal.
    init(onSignal: @escaping @Sendable (Int32) async -> Void) {
        let first = FirstSignal()
        self.first = first
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                guard first.number.compareExchange(expected: 0, desired: number, ordering: .relaxed).exchanged else { return }
                Task { await onSignal(number) }
            }
            source.resume()
            return source
        }
    }

    func cancel() {
        sources.forEach { $0.cancel() }
    }

    /// The signal that arrived first, if any.
    var received: Int32? {
        let number = first.number.load(ordering: .relaxed)
        return number == 0 ? nil : number
    }

    /// The name of ``received``, for messages and summaries.
    var receivedName: String? {
        received.map { $0 == SIGINT ? "SIGINT" : $0 == SIGTERM ? "SIGTERM" : "signal \($0)" }
    }
}
