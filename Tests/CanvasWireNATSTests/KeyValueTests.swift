import CanvasWireNATS
import NIOCore
import Testing

/// The key-value subset the cluster relay relies on, against JetStream in a real nats-server 2.9.
@Suite(.serialized) struct KeyValueTests {
    func withBucket(
        ttl: Duration? = nil, storage: KeyValueBucketConfiguration.Storage = .file,
        _ body: (NATSKeyValue, NATSConnection, NATSServerProcess) async throws -> Void
    ) async throws {
        try await NATSServerProcess.with { server in
            let connection = try await connect([server.url])
            let kv = try await NATSKeyValue.createBucket(.init(name: "streams", ttl: ttl, storage: storage), on: connection)
            do {
                try await body(kv, connection, server)
            } catch {
                await connection.close()
                throw error
            }
            await connection.close()
        }
    }

    func outcome(_ body: @Sendable () async throws(NATSError) -> UInt64) async -> Result<UInt64, NATSError> {
        do throws(NATSError) {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }

    @Test func ofTwoConcurrentCreatesOfOneKeyExactlyOneWins() async throws {
        try await withBucket { kv, _, server in
            let other = try await connect([server.url])
            let rival = try NATSKeyValue(bucket: "streams", connection: other)
            async let first = outcome { () async throws(NATSError) in try await kv.create("cam", value: ByteBuffer(string: "node-a")) }
            async let second = outcome { () async throws(NATSError) in try await rival.create("cam", value: ByteBuffer(string: "node-b")) }
            let results = await [first, second]
            let winners = results.compactMap { try? $0.get() }
            let losers = results.compactMap { result -> NATSError? in
                if case .failure(let error) = result { return error } else { return nil }
            }
            #expect(winners.count == 1 && losers.count == 1)
            #expect(losers.first?.isWrongLastSequence == true, "the loser learns someone else holds the key: \(losers)")
            let entry = try #require(try await kv.get("cam"))
            #expect(entry.revision == winners.first)
            #expect(["node-a", "node-b"].contains(String(buffer: entry.value)))
            await other.close()
        }
    }

    @Test func anUpdateWithAStaleRevisionFailsDistinguishably() async throws {
        try await withBucket { kv, _, _ in
            let first = try await kv.create("cam", value: ByteBuffer(string: "v1"))
            let second = try await kv.update("cam", value: ByteBuffer(string: "v2"), expectedRevision: first)
            #expect(second > first)
            let stale = await #expect(throws: NATSError.self) {
                _ = try await kv.update("cam", value: ByteBuffer(string: "v3"), expectedRevision: first)
            }
            #expect(stale?.isWrongLastSequence == true)
            #expect(stale?.jetStreamError?.errorCode == 10071)
            let exists = await #expect(throws: NATSError.self) {
                _ = try await kv.create("cam", value: ByteBuffer(string: "again"))
            }
            #expect(exists?.isWrongLastSequence == true)
            #expect(try await kv.get("cam") == KeyValueEntry(key: "cam", value: ByteBuffer(string: "v2"), revision: second))
        }
    }

    @Test func aDeletedKeyIsAbsentAndCanBeCreatedAgain() async throws {
        try await withBucket { kv, _, _ in
            #expect(try await kv.get("cam") == nil)
            let created = try await kv.create("cam", value: ByteBuffer(string: "node-a"))
            let stale = await #expect(throws: NATSError.self) { try await kv.delete("cam", expectedRevision: created + 100) }
            #expect(stale?.isWrongLastSequence == true)
            let marker = try await kv.delete("cam", expectedRevision: created)
            #expect(try await kv.get("cam") == nil)
            let again = try await kv.create("cam", value: ByteBuffer(string: "node-b"))
            #expect(again > marker)
            #expect(try await kv.get("cam")?.value == ByteBuffer(string: "node-b"))
        }
    }

    @Test func aKeyExpiresAfterTheBucketTTL() async throws {
        try await withBucket(ttl: .seconds(1), storage: .memory) { kv, _, _ in
            _ = try await kv.create("cam", value: ByteBuffer(string: "node-a"))
            #expect(try await kv.get("cam") != nil)
            try await eventually("the key to expire", within: 30) { try await kv.get("cam") == nil }
            #expect(try await kv.keys().isEmpty)
            _ = try await kv.create("cam", value: ByteBuffer(string: "node-b"))
        }
    }

    @Test func listingGivesTheKeysThatHaveAValue() async throws {
        try await withBucket { kv, _, _ in
            #expect(try await kv.keys().isEmpty)
            for key in ["cam", "desk/left", "desk/right", "gone"] {
                _ = try await kv.create(key, value: ByteBuffer(string: "node"))
            }
            try await kv.delete("gone")
            _ = try await kv.update("cam", value: ByteBuffer(string: "node-2"), expectedRevision: try #require(try await kv.get("cam")).revision)
            #expect(try await kv.keys().sorted() == ["cam", "desk/left", "desk/right"])
        }
    }

    @Test func creatingABucketAgainBindsToItAndADifferentConfigurationIsRefused() async throws {
        try await withBucket(ttl: .seconds(60)) { kv, connection, _ in
            _ = try await kv.create("cam", value: ByteBuffer(string: "kept"))
            let again = try await NATSKeyValue.createBucket(.init(name: "streams", ttl: .seconds(60)), on: connection)
            #expect(try await again.get("cam")?.value == ByteBuffer(string: "kept"))
            let different = await #expect(throws: NATSError.self) {
                _ = try await NATSKeyValue.createBucket(.init(name: "streams", ttl: .seconds(5)), on: connection)
            }
            #expect(different?.jetStreamError != nil, "\(String(describing: different))")
            #expect(throws: NATSError.self) { _ = try NATSKeyValue(bucket: "no.dots", connection: connection) }
            await #expect(throws: NATSError.self) { _ = try await kv.get("bad key") }
        }
    }
}
