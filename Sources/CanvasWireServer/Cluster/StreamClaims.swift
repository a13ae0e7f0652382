import CanvasWireCore
import CanvasWireNATS
import Logging
import NIOCore

/// One publisher per stream, cluster-wide: this node's claims in the JetStream key-value bucket,
/// decided by compare-and-set so that of two nodes racing for a stream exactly one wins.
///
/// A publisher's node creates the stream's key (create-if-absent) or takes over a released one
/// (update at the revision it read); it renews the key every heartbeat, so the claim of a node that
/// died expires with the bucket's TTL; when its publisher leaves it marks the key released, and
/// deletes it once the stream is gone here. All of it runs in one task, one operation at a time, so
/// this node's own writes never race each other and every write knows the revision it expects.
final class StreamClaims: Sendable {
    /// A claim this node holds, as the task keeps it.
    private struct Owned {
        var revision: UInt64
        var holder: ClaimToken?
        var publisher: Bool { holder != nil }
    }

    private enum Job: Sendable {
        case claim(StreamName, ClaimToken, EventLoopPromise<Void>)
        case release(StreamName, ObjectIdentifier)
        case renew
        case releaseAll(CheckedContinuation<Void, Never>)
    }

    private let jobs: AsyncStream<Job>.Continuation
    private let stream: AsyncStream<Job>

    init() {
        (stream, jobs) = AsyncStream.makeStream(of: Job.self)
    }

    /// Asks for `name` on behalf of `token`. The promise succeeds once this node holds the claim
    /// (or already held it for a local publisher, which the stream itself then refuses as a second
    /// one) and fails with ``ClusterError`` when another node holds it or NATS could not decide.
    func claim(_ name: StreamName, for token: ClaimToken, promise: EventLoopPromise<Void>) {
        jobs.yield(.claim(name, token, promise))
    }

    /// The holder's publisher left: mark the claim released.
    func release(_ name: StreamName, holder: ObjectIdentifier) {
        jobs.yield(.release(name, holder))
    }

    /// Renews every claim; called every heartbeat.
    func renew() {
        jobs.yield(.renew)
    }

    /// Deletes every claim (shutting down), then ends the task.
    func releaseAll() async {
        await withCheckedContinuation { done in
            if case .terminated = jobs.yield(.releaseAll(done)) { done.resume() }
        }
    }

    /// Runs the claims until ``releaseAll()``.
    ///
    /// - Parameters:
    ///   - census: Who watches a stream this node is about to publish (``WatcherCensus``).
    ///   - ownershipChanged: Called when this node starts or stops holding a stream, with the
    ///     watchers it found when it starts; the promise, when there is one, must be completed once
    ///     the node has acted on it.
    func run(
        kv: NATSKeyValue, subjects: ClusterSubjects, nodeName: String, registry: StreamRegistry, logger: Logger,
        census: @escaping @Sendable (StreamName) async -> [MirrorReport],
        ownershipChanged: @escaping @Sendable (StreamName, Bool, [MirrorReport], EventLoopPromise<Void>?) -> Void
    ) async {
        var owned: [StreamName: Owned] = [:]

        func value(_ name: StreamName, publisher: Bool) -> ByteBuffer {
            ClusterJSON.encode(StreamClaim(node: nodeName, publisher: publisher, run: registry.existingStream(named: name)?.currentRun))
        }

        /// Creates the key, or takes it over from a node that released it (or from this node's own
        /// earlier life); returns the revision.
        func take(_ name: StreamName) async throws(ClusterError) -> UInt64 {
            let key = subjects.key(name)
            do {
                if let revision = try await createIfAbsent(key, value(name, publisher: true)) { return revision }
                guard let entry = try await kv.get(key) else {
                    // It expired between the two requests.
                    return try await kv.create(key, value: value(name, publisher: true))
                }
                let claim = try? ClusterJSON.decode(StreamClaim.self, from: entry.value)
                if let claim, claim.publisher, claim.node != nodeName {
                    throw ClusterError.heldElsewhere(stream: name.rawValue, node: claim.node)
                }
                return try await kv.update(key, value: value(name, publisher: true), expectedRevision: entry.revision)
            } catch let error as ClusterError {
                throw error
            } catch let error as NATSError where error.isWrongLastSequence {
                throw .heldElsewhere(stream: name.rawValue, node: "another node")
            } catch {
                throw .unreachable(stream: name.rawValue, reason: "\(error)")
            }
        }

        /// The new revision, or `nil` when the key has a value already.
        func createIfAbsent(_ key: String, _ value: ByteBuffer) async throws(NATSError) -> UInt64? {
            do {
                return try await kv.create(key, value: value)
            } catch where error.isWrongLastSequence {
                return nil
            }
        }

        for await job in stream {
            switch job {
            case .claim(let name, let token, let promise):
                if var mine = owned[name] {
                    if mine.publisher { promise.succeed(); continue }
                    do {
                        mine.revision = try await kv.update(subjects.key(name), value: value(name, publisher: true), expectedRevision: mine.revision)
                        mine.holder = token
                        owned[name] = mine
                        ownershipChanged(name, true, await census(name), promise)
                        continue
                    } catch where error.isWrongLastSequence {
                        owned[name] = nil
                        ownershipChanged(name, false, [], nil)
                    } catch {
                        promise.fail(ClusterError.unreachable(stream: name.rawValue, reason: "\(error)"))
                        continue
                    }
                }
                do {
                    let revision = try await take(name)
                    owned[name] = Owned(revision: revision, holder: token)
                    logger.info("claimed stream", metadata: ["stream": "\(name)", "revision": "\(revision)"])
                    ownershipChanged(name, true, await census(name), promise)
                } catch {
                    promise.fail(error)
                }

            case .release(let name, let holder):
                guard var mine = owned[name], mine.holder?.id == holder else { continue }
                mine.holder = nil
                owned[name] = mine
                do {
                    owned[name]?.revision = try await kv.update(subjects.key(name), value: value(name, publisher: false), expectedRevision: mine.revision)
                } catch where error.isWrongLastSequence {
                    owned[name] = nil
                    ownershipChanged(name, false, [], nil)
                } catch {
                    logger.notice("could not mark stream released; the next renewal will", metadata: ["stream": "\(name)", "error": "\(error)"])
                }

            case .renew:
                for (name, mine) in owned {
                    let key = subjects.key(name)
                    if !mine.publisher, registry.existingStream(named: name) == nil {
                        // Nothing left here for another node to fetch: let the stream go.
                        _ = try? await kv.delete(key, expectedRevision: mine.revision)
                        owned[name] = nil
                        ownershipChanged(name, false, [], nil)
                        continue
                    }
                    do {
                        owned[name]?.revision = try await kv.update(key, value: value(name, publisher: mine.publisher), expectedRevision: mine.revision)
                    } catch where error.isWrongLastSequence {
                        // The claim expired while this node was cut off. Free since: claim it again;
                        // taken by another node: give the stream up.
                        if (try? await kv.get(key)) == nil, let revision = try? await kv.create(key, value: value(name, publisher: mine.publisher)) {
                            owned[name]?.revision = revision
                            continue
                        }
                        owned[name] = nil
                        logger.warning("another node took the stream over while this node was cut off", metadata: ["stream": "\(name)"])
                        mine.holder?.revoke("stream \"\(name)\" was taken over by another node while this one was cut off from NATS")
                        ownershipChanged(name, false, [], nil)
                    } catch {
                        logger.debug("could not renew a claim", metadata: ["stream": "\(name)", "error": "\(error)"])
                    }
                }

            case .releaseAll(let done):
                for (name, mine) in owned {
                    _ = try? await kv.delete(subjects.key(name), expectedRevision: mine.revision)
                }
                owned = [:]
                jobs.finish()
                done.resume()
            }
        }
    }
}
