import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

#if canImport(Glibc)
import Glibc
#endif

/// What an error from NIO's connect, TLS or HTTP layers means, in words a user reads (NIO's own
/// descriptions are dumps of its types, such as `SingleConnectionFailure(target: [IPv4]...)`), and
/// whether it may heal by itself.
struct ConnectionFailure {
    let reason: String
    let isTransient: Bool

    private init(_ reason: String, transient: Bool) {
        self.reason = reason
        self.isTransient = transient
    }

    init(_ error: any Error) {
        switch error {
        case let error as NIOConnectionError:
            // Every address was tried; the first one's failure speaks for all (localhost: ::1 and 127.0.0.1).
            if let first = error.connectionErrors.first {
                self.init(first.error, port: error.port)
            } else if let lookup = error.dnsAError ?? error.dnsAAAAError {
                self.init(lookup, port: error.port)
            } else {
                self.init("\(error.host) has no address to connect to", transient: false)
            }
        default:
            self.init(error, port: nil)
        }
    }

    private init(_ error: any Error, port: Int?) {
        switch error {
        case let error as IOError:
            self.init(errno: error.errnoCode, port: port)
        case let error as SocketAddressError.UnknownHost:
            // EAI_AGAIN is a resolver that cannot answer right now; any other answer is final.
            self.init(
                error.errorCode == Int(EAI_AGAIN)
                    ? "the host name \(error.host) cannot be resolved right now" : "there is no host called \(error.host)",
                transient: error.errorCode == Int(EAI_AGAIN)
            )
        case ChannelError.connectTimeout(let timeout):
            self.init("no answer within \(timeout.nanoseconds / 1_000_000_000) s", transient: true)
        case ChannelError.eof, ChannelError.ioOnClosedChannel, ChannelError.alreadyClosed, ChannelError.outputClosed:
            self.init("the connection was closed before the WebSocket handshake finished", transient: true)
        case NIOSSLError.uncleanShutdown:
            self.init("the connection was cut during the TLS handshake", transient: true)
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError:
            self.init(Self.tlsReason(error), transient: false)
        case is HTTPParserError:
            self.init("the server's answer is not HTTP (a TLS server needs wss://)", transient: false)
        case is NIOHTTPClientUpgradeError:
            self.init("the server answered the WebSocket handshake wrongly", transient: false)
        default:
            // Not one NIO documents for connecting; most likely the network again, so worth another try.
            self.init("\(error)", transient: true)
        }
    }

    private init(errno code: Int32, port: Int?) {
        switch code {
        case ECONNREFUSED:
            self.init("nothing is listening on \(port.map { "port \($0)" } ?? "that port")", transient: true)
        case ECONNRESET, EPIPE:
            self.init("the connection was reset", transient: true)
        case ETIMEDOUT:
            self.init("the host did not answer", transient: true)
        default:
            self.init(String(cString: strerror(code)).lowercased(), transient: true)
        }
    }

    private static func tlsReason(_ error: any Error) -> String {
        let details = "\(error)"
        if details.contains("CERTIFICATE_VERIFY_FAILED") { return "the TLS handshake failed: this machine does not trust the server's certificate" }
        if details.contains("WRONG_VERSION_NUMBER") { return "the TLS handshake failed: the server does not speak TLS (use ws://)" }
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return "the TLS handshake failed: the server's certificate is for another host name"
        }
        return "the TLS handshake failed"
    }
}
