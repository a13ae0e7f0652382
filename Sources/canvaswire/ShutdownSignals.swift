import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

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
    var receivedName: String? { received.map(Self.name) }

    /// `SIGINT`, `SIGTERM` or `signal N`.
    static func name(of number: Int32) -> String {
        number == SIGINT ? "SIGINT" : number == SIGTERM ? "SIGTERM" : "signal \(number)"
    }
}
