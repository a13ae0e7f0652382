/// A failure a subcommand reports in one line (what, where, why) before exiting non-zero.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
}
