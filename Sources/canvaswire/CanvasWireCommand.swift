import ArgumentParser

/// The `canvaswire` command: parses options and hands them to the library modules.
@main
struct CanvasWireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canvaswire",
        abstract: "Move images and canvas frames over WebSocket, fast, with real backpressure.",
        version: "0.1.0",
        subcommands: [ServeCommand.self, SendCommand.self, ReceiveCommand.self, ConvertCommand.self, BenchCommand.self]
    )
}
