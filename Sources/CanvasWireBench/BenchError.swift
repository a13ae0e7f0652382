/// Why a bench failed, as the one line a user sees: what went wrong and what to do about it.
///
/// A struct around a private enum, like the other CanvasWire errors, so new cases never break callers.
public struct BenchError: Error, Sendable, CustomStringConvertible {
    private enum Kind: Sendable {
        case serverNotStarted(String)
        case echoClosed(roundTrips: UInt64)
        case idleNeedsLocalServer
        case verificationFailed([String])
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    static func serverNotStarted(_ reason: String) -> Self { .init(.serverNotStarted(reason)) }
    static func echoClosed(roundTrips: UInt64) -> Self { .init(.echoClosed(roundTrips: roundTrips)) }
    static let idleNeedsLocalServer = Self(.idleNeedsLocalServer)
    static func verificationFailed(_ problems: [String]) -> Self { .init(.verificationFailed(problems)) }

    /// What went wrong, in one line starting `bench:`.
    public var description: String {
        switch kind {
        case .serverNotStarted(let reason):
            "bench: \(reason)"
        case .echoClosed(let roundTrips):
            "bench: the echo connection closed after \(roundTrips) round trips"
        case .idleNeedsLocalServer:
            "bench: --idle-viewers needs a local server (no URL, or --server-pid)"
        case .verificationFailed(let problems):
            "bench: \(problems.joined(separator: "; "))"
        }
    }
}
