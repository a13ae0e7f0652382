import ArgumentParser
import CanvasWireBench
import CanvasWireClient
import CanvasWireCore
import CanvasWirePNG
import CanvasWireServer
import CanvasWireTransfer
import Foundation
import Testing

@testable import canvaswire

/// Every command's options as a user types them: what they configure, and the one-line message a
/// mistake gets, exactly as `canvaswire` prints it.
@Suite struct CommandParsingTests {
    private func parse<Command: ParsableCommand>(_ arguments: [String], as _: Command.Type) throws -> Command {
        try #require(try CanvasWireCommand.parseAsRoot(arguments) as? Command)
    }

    /// The message for arguments that must be refused.
    private func refusal(_ arguments: [String]) -> String {
        do {
            let command = try CanvasWireCommand.parseAsRoot(arguments)
            Issue.record("\(arguments) parsed as \(command)")
            return ""
        } catch {
            return CanvasWireCommand.message(for: error)
        }
    }

    // MARK: serve

    @Test func serveDefaultsAreTheLibrarysOwn() throws {
        let configuration = try parse(["serve"], as: ServeCommand.self).makeConfiguration()
        let library = ServerConfiguration()
        #expect(configuration.host == library.host && configuration.port == library.port)
        #expect(configuration.highWaterMark == library.highWaterMark && configuration.lowWaterMark == library.lowWaterMark)
        #expect(configuration.stallTimeout == library.stallTimeout && configuration.limits == library.limits)
        #expect(configuration.maxConnections == library.maxConnections && configuration.maxStreams == library.maxStreams)
        #expect(configuration.handshakeTimeout == library.handshakeTimeout && configuration.pingInterval == library.pingInterval)
        #expect(configuration.deadPeerTimeout == library.deadPeerTimeout && configuration.echoEnabled == library.echoEnabled)
        #expect(configuration.demoStream?.size == library.demoStream?.size)
        #expect(configuration.cluster == nil, "without --nats nothing of the cluster exists")
    }

    @Test func serveNatsOptionsJoinACluster() throws {
        let configuration = try parse(
            ["serve", "--nats", "nats://10.0.0.1:4222, nats://10.0.0.2:4222", "--node-name", "edge-1"], as: ServeCommand.self
        ).makeConfiguration()
        let cluster = try #require(configuration.cluster)
        #expect(cluster.natsURLs == ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"])
        #expect(cluster.nodeName == "edge-1")
        let named = try #require(try parse(["serve", "--nats", "nats://n:4222", "--port", "9000"], as: ServeCommand.self).makeConfiguration().cluster)
        #expect(named.nodeName.hasSuffix("-9000") && ClusterConfiguration.isValidNodeName(named.nodeName))
    }

    @Test func serveOptionsReachTheConfiguration() throws {
        let configuration = try parse(
            ["serve", "--port", "0", "--stall-timeout", "1.5", "--max-dimension", "4096", "--no-echo", "--no-demo",
             "--token", "t", "--token-for-viewers", "--allow-origin", "http://a:1", "--allow-origin", "*"],
            as: ServeCommand.self
        ).makeConfiguration()
        #expect(configuration.port == 0 && configuration.stallTimeout == .milliseconds(1500))
        #expect(configuration.limits.maxWidth == 4096 && configuration.limits.maxHeight == 4096)
        #expect(!configuration.echoEnabled && configuration.demoStream == nil)
        #expect(configuration.token == "t" && configuration.tokenRequiredForViewers)
        #expect(configuration.allowedOrigins == ["http://a:1", "*"])
    }

    @Test func serveRefusesInconsistentOptions() {
        #expect(refusal(["serve", "--tls-cert", "c.pem"]) == "--tls-cert and --tls-key go together")
        #expect(refusal(["serve", "--low-water-mark", "10", "--high-water-mark", "5"])
            == "--low-water-mark (10) must be below --high-water-mark (5)")
        #expect(refusal(["serve", "--demo-size", "big"]) == "--demo-size must look like 640x360, not \"big\"")
        #expect(refusal(["serve", "--log-level", "loud"]).hasPrefix("--log-level must be one of trace, debug"))
        #expect(refusal(["serve", "--node-name", "a"]) == "--node-name goes with --nats")
        #expect(refusal(["serve", "--nats", "nats://n", "--node-name", "a.b"]) == "--node-name must be 1 to 64 letters, digits, _ or -, not \"a.b\"")
        #expect(refusal(["serve", "--nats", ","]) == "--nats needs at least one nats://HOST:PORT")
    }

    // MARK: send

    @Test func sendOptionsReachTheConfiguration() throws {
        let command = try parse(
            ["send", "ws://127.0.0.1:9/streams/cam", "a.png", "--fps", "12.5", "--format", "png", "--threshold", "1024",
             "--on-error", "skip", "--no-reconnect", "--retry-for", "2.5", "--token", "secret"],
            as: SendCommand.self
        )
        let configuration = try command.makeConfiguration()
        #expect(configuration.url.description == "ws://127.0.0.1:9/streams/cam/publish", "a viewer URL means its publish endpoint")
        #expect(configuration.wireFormat == .png && configuration.framesPerSecond == 12.5 && configuration.threshold == 1024)
        #expect(configuration.invalidInput == .skip && !configuration.reconnects && configuration.client.token == "secret")
        #expect(configuration.retryFor == .milliseconds(2500))
        let defaults = try parse(["send", "ws://h/streams/x/publish", "-"], as: SendCommand.self).makeConfiguration()
        #expect(defaults.wireFormat == .rgba8 && defaults.invalidInput == .stop && defaults.reconnects)
        #expect(defaults.threshold == SenderConfiguration(url: defaults.url).threshold)
        #expect(defaults.retryFor == .seconds(60) && defaults.retryFor == SenderConfiguration(url: defaults.url).retryFor)
        #expect(defaults.client.compression == .receive, "a sender offers deflate but compresses nothing unless asked")
        let compressing = try parse(["send", "ws://h/streams/x", "-", "--deflate"], as: SendCommand.self).makeConfiguration()
        #expect(compressing.client.compression == .sendAndReceive)
    }

    @Test func sendRefusesInputsThatDoNotGoTogether() {
        let url = "ws://127.0.0.1:9/streams/cam/publish"
        #expect(refusal(["send", url]) == "give PNG files, a folder, -, --watch DIR or --raw")
        #expect(refusal(["send", url, "--raw"]) == "--raw needs --size WxH, for example --size 1920x1080")
        #expect(refusal(["send", url, "--raw", "--size", "2x2", "a.png"]) == "--raw reads stdin only; drop the other inputs")
        #expect(refusal(["send", url, "a.png", "--watch", "/tmp"]) == "--watch cannot be combined with other inputs")
        #expect(refusal(["send", url, "-", "a.png"]) == "- (stdin) cannot be combined with files")
        #expect(refusal(["send", url, "-", "--loop"]) == "--loop repeats files only, not stdin or a watched folder")
        #expect(refusal(["send", url, "a.png", "--fps", "0"]) == "--fps must be positive")
        #expect(refusal(["send", url, "a.png", "--retry-for=-1"]) == "--retry-for must be 0 or more seconds")
    }

    @Test func sendNamesAnInvalidSizeAsInvalid() {
        let url = "ws://127.0.0.1:9/streams/cam/publish"
        #expect(refusal(["send", url, "--raw", "--size", "0x0"])
            == "--size 0x0 is not a valid size: give WIDTHxHEIGHT, both at least 1, like 1920x1080")
        #expect(refusal(["send", url, "--raw", "--size", "big"]).hasPrefix("--size big is not a valid size"))
        #expect(refusal(["send", url, "a.png", "--size", "2x2"]) == "--size goes with --raw; PNGs carry their own size")
    }

    /// A URL or stream name that cannot work is a failure that cannot heal: one line, exit status 1,
    /// not a usage error.
    @Test(arguments: [
        ("nonsense", "invalid URL nonsense: it must start with ws:// or wss://"),
        ("ws://h/streams/a b", "invalid URL ws://h/streams/a b: it contains a space; a URL holds printable ASCII only (percent-encode the rest)"),
        ("ws://h/streams/..", "invalid URL ws://h/streams/..: \"..\" is not a stream name: use 1 to 64 characters from A-Z a-z 0-9 . _ - (not . or ..)"),
    ])
    func anInvalidURLOrStreamNameIsOneLineAndExitStatus1(url: String, message: String) throws {
        for command in [["send", url, "a.png"], ["receive", url]] {
            #expect(refusal(command) == message)
            do {
                _ = try CanvasWireCommand.parseAsRoot(command)
            } catch {
                #expect(CanvasWireCommand.exitCode(for: error) == .failure)
                #expect(!CanvasWireCommand.fullMessage(for: error).contains("Usage"))
            }
        }
    }

    // MARK: receive

    @Test func receiveOptionsReachTheConfiguration() throws {
        let folder = FileManager.default.temporaryDirectory.path
        let configuration = try parse(
            ["receive", "ws://127.0.0.1:9/streams/cam", "--out", folder, "--live", "--format", "rgba", "--resume",
             "--count", "3", "--duration", "2.5", "--sync", "--level", "1", "--filter", "up", "--pattern", "x%d.raw"],
            as: ReceiveCommand.self
        ).makeConfiguration()
        #expect(configuration.policy == .latest && configuration.format == .rgba && configuration.existingFiles == .keep)
        #expect(configuration.destination == .folder(folder) && configuration.durable)
        #expect(configuration.count == 3 && configuration.duration == .milliseconds(2500))
        #expect(configuration.encoder.level == 1 && configuration.encoder.filter.name == "up")
        #expect(configuration.pattern?.name(for: 7) == "x7.raw")
        let stdout = try parse(["receive", "ws://h/streams/x", "-o", "-", "--overwrite"], as: ReceiveCommand.self)
            .makeConfiguration()
        #expect(stdout.destination == .standardOutput && stdout.existingFiles == .replace && stdout.policy == .all)
        #expect(!stdout.allowsSizeChange)
        #expect(try parse(["receive", "ws://h/streams/x", "-o", "-", "--format", "rgba", "--allow-size-change"], as: ReceiveCommand.self)
            .makeConfiguration().allowsSizeChange)
        #expect(stdout.client.compression == .receive, "receive offers deflate by default")
        #expect(stdout.encoding == .delta, "receive takes deltas by default")
        #expect(try parse(["receive", "ws://h/streams/x", "--encoding", "raw"], as: ReceiveCommand.self).makeConfiguration().encoding == .raw)
        #expect(try parse(["receive", "ws://h/streams/x", "-o", "-", "--no-deflate"], as: ReceiveCommand.self)
            .makeConfiguration().client.compression == .off)
    }

    @Test func receiveRefusesOptionsThatCannotWork() {
        let url = "ws://127.0.0.1:9/streams/cam"
        #expect(refusal(["receive", url, "-o", "file.png"]) == "-o takes - (stdout) only; use --out DIR for files")
        #expect(ReceiveCommand.helpMessage(columns: 1000).contains("-o - (stdout only; for files use --out DIR)"))
        #expect(refusal(["receive", url, "--pattern", "frame.png"])
            == "--pattern needs exactly one %d or %0Nd and no /, like frame-%06d.png")
        #expect(refusal(["receive", url, "--resume", "--overwrite"])
            == "--resume keeps existing files and --overwrite replaces them: pick one")
        #expect(refusal(["receive", url, "--count", "0"]) == "--count must be at least 1")
        #expect(refusal(["receive", url, "--level", "10"]) == "--level must be 0 to 9")
        #expect(refusal(["receive", url, "--out", "/nonexistent-cw"]) == "--out /nonexistent-cw: no such folder")
    }

    // MARK: convert

    @Test func convertOptionsReachTheConverter() throws {
        let converter = try parse(
            ["convert", "in.rgba", "out.png", "--size", "3x2", "--level", "9", "--filter", "paeth", "--keep-alpha", "--to", "png"],
            as: ConvertCommand.self
        ).makeConverter()
        #expect(converter.size == FrameSize(width: 3, height: 2) && converter.outputFormat == .png && converter.inputFormat == nil)
        #expect(converter.encoder.level == 9 && converter.encoder.filter.name == "paeth" && !converter.encoder.writesOpaqueImagesAsRGB)
    }

    @Test func convertRefusesBadValues() {
        #expect(refusal(["convert", "a", "b", "--level", "11"]) == "--level must be 0 to 9; got 11")
        #expect(refusal(["convert", "a", "b", "--filter", "blur"]).hasPrefix("unknown --filter 'blur'; use one of none"))
        #expect(refusal(["convert", "a", "b", "--size", "0x1"]).contains("--size must be WIDTHxHEIGHT"))
    }

    // MARK: bench

    @Test func benchOptionsReachTheConfiguration() throws {
        let configuration = try parse(
            ["bench", "ws://127.0.0.1:9/streams/b/publish", "--size", "640x360,1920x1080", "--viewers", "10",
             "--policy", "latest", "--duration", "3", "--slow-viewers", "2", "--slow-rate", "5", "--server-pid", "42"],
            as: BenchCommand.self
        ).makeConfiguration()
        #expect(configuration.url?.description == "ws://127.0.0.1:9/streams/b", "a publish URL means its stream")
        #expect(configuration.sizes == [FrameSize(width: 640, height: 360), FrameSize(width: 1920, height: 1080)])
        #expect(configuration.viewers == 10 && configuration.policy == .latest && configuration.duration == .seconds(3))
        #expect(configuration.slowViewers == 2 && configuration.slowRate == 5e6 && configuration.serverPID == 42)
        #expect(configuration.content == .generated && configuration.encoding == .raw, "generated payloads, whole frames")
        guard case .stream = configuration.mode else { Issue.record("not a stream bench"); return }
        let delta = try parse(["bench", "--content", "screen", "--encoding", "delta"], as: BenchCommand.self).makeConfiguration()
        #expect(delta.content == .screen && delta.encoding == .delta)
        let local = try parse(["bench", "--echo"], as: BenchCommand.self).makeConfiguration()
        guard case .echo = local.mode, case .childProcess(let executable) = local.localServer else {
            Issue.record("not an echo bench against a child server")
            return
        }
        #expect(executable == "/proc/self/exe" && local.url == nil)
    }

    @Test func benchSpreadsViewersOverTheGivenURLs() throws {
        let configuration = try parse(
            ["bench", "ws://a:1/streams/s", "--publish-url", "ws://a:1/streams/s/publish",
             "--viewer-url", "ws://b:2/streams/s", "--viewer-url", "ws://c:3/streams/s/publish"],
            as: BenchCommand.self
        ).makeConfiguration()
        #expect(configuration.publishURL?.description == "ws://a:1/streams/s/publish")
        #expect(configuration.viewerURLs.map(\.description) == ["ws://b:2/streams/s", "ws://c:3/streams/s"])
        #expect(refusal(["bench", "--viewer-url", "ws://b:2/streams/s"]).hasPrefix("--publish-url and --viewer-url go with a stream URL"))
    }

    @Test func benchRefusesBadValues() {
        #expect(refusal(["bench", "--size", "1x"]) == "--size must look like 1920x1080 or 640x360,1920x1080")
        #expect(refusal(["bench", "--server-pid", "1"]) == "--server-pid goes with a URL")
        #expect(refusal(["bench", "--viewers=-1"]) == "--viewers and --slow-viewers cannot be negative")
        #expect(refusal(["bench", "--policy", "some"]).contains("--policy"))
        #expect(refusal(["bench", "--content", "desktop"]).contains("'desktop'"))
        #expect(refusal(["bench", "--encoding", "png"]).contains("--encoding"))
    }
}
