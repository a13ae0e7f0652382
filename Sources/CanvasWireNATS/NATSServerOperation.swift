/// One operation the server sent, as ``NATSProtocolParser`` reads it.
enum NATSServerOperation: Equatable {
    /// `INFO {json}`: the JSON text, decoded by the connection into ``NATSServerInfo``.
    case info(String)
    /// `MSG` or `HMSG`.
    case message(NATSMessage)
    case ping
    case pong
    /// `+OK`, sent only in verbose mode, which this client does not ask for.
    case ok
    /// `-ERR 'text'`: the text without its quotes.
    case error(String)
}
