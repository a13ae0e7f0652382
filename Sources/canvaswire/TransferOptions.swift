import ArgumentParser

/// The options `send` and `receive` share: how to authenticate and how to report.
struct TransferOptions: ParsableArguments {
    @Option(help: "Token for a server started with --token (sent as Authorization: Bearer).")
    var token: String?

    @Flag(help: "No progress line.")
    var quiet = false

    @Flag(help: "Print the summary as JSON (receive -o - prints it on stderr).")
    var json = false
}
