import CanvasWireClient
import CanvasWireCore
import CanvasWireServer
import CanvasWirePNG
import CanvasWireTransfer
import Foundation
import Testing

/// The receiver against an in-process relay, writing real files.
@Suite(.serialized) struct ReceiverTests {
    let size = FrameSize(width: 4, height: 3)

    @Test func resumeKeepsFilesAlreadyThereAndWritesTheRest() async throws {
        let (server, port) = try await startServer()
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let precious = Data("written by an earlier run".utf8)
        _ = FileManager.default.createFile(atPath: "\(folder)/frame-000002.png", contents: precious)
        let base = "ws://127.0.0.1:\(port)/streams/resume"
        var publisher = ReconnectingPublisher(url: try WebSocketURL(base + "/publish"))
        func publish(_ sequence: Int) async throws {
            let header = FrameHeader(
                pixelFormat: .rgba8, width: size.width, height: size.height, sequence: UInt64(sequence), captureTimeMicros: 1
            )
            try await publisher.publish(header, payload: pixels(sequence, size: size))
        }
        // A viewer that joins gets the stream's latest frame at once: frame 0's file shows it joined.
        try await publish(0)
        let receiver = Receiver(configuration: ReceiverConfiguration(
            url: try WebSocketURL(base), destination: .folder(folder), existingFiles: .keep
        ))
        async let received = receiver.run()
        try await waitUntil("the receiver to write frame 0") {
            FileManager.default.fileExists(atPath: "\(folder)/frame-000000.png")
        }
        for sequence in 1..<5 { try await publish(sequence) }
        #expect(try await publisher.finish(lastSequence: 4).code == 1000)
        let summary = try await received
        await server.shutdown()

        #expect(summary.ended && summary.frames == 4 && summary.skippedExisting == 1 && summary.failure == nil)
        #expect(FileManager.default.contents(atPath: "\(folder)/frame-000002.png") == precious)
        for sequence in [0, 1, 3, 4] {
            let png = try #require(FileManager.default.contents(atPath: "\(folder)/frame-\(String(format: "%06d", sequence)).png"))
            #expect(try PNGDecoder().decode(Array(png)).pixels == pixels(sequence, size: size))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).count == 5)
    }

    @Test func deltasByDefaultAndEveryFileIsTheFramePublishedByteForByte() async throws {
        let (server, port) = try await startServer()
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let base = "ws://127.0.0.1:\(port)/streams/deltas"
        // 64x48 is 4x3 tiles of 16; each frame repaints a 5x5 block that moves, so a delta is smaller.
        let size = FrameSize(width: 64, height: 48)
        var frames = [pixels(0, size: size)]
        for sequence in 1..<6 {
            var frame = frames[sequence - 1]
            let (left, top) = (sequence * 11 % 59, sequence * 7 % 43)
            for y in top..<top + 5 {
                for x in left..<left + 5 { frame[(y * size.width + x) * 4] = UInt8(sequence) }
            }
            frames.append(frame)
        }
        var publisher = ReconnectingPublisher(url: try WebSocketURL(base + "/publish"))
        func publish(_ sequence: Int) async throws {
            let header = FrameHeader(
                pixelFormat: .rgba8, width: size.width, height: size.height, sequence: UInt64(sequence), captureTimeMicros: 1
            )
            try await publisher.publish(header, payload: frames[sequence])
        }
        try await publish(0)
        let receiver = Receiver(configuration: ReceiverConfiguration(url: try WebSocketURL(base), destination: .folder(folder), format: .rgba))
        #expect(receiver.configuration.encoding == .delta)
        async let received = receiver.run()
        try await waitUntil("the receiver to write frame 0") {
            FileManager.default.fileExists(atPath: "\(folder)/frame-000000.rgba")
        }
        for sequence in 1..<6 { try await publish(sequence) }
        #expect(try await publisher.finish(lastSequence: 5).code == 1000)
        let summary = try await received
        await server.shutdown()

        #expect(summary.ended && summary.frames == 6 && summary.failure == nil)
        for (sequence, frame) in frames.enumerated() {
            let file = FileManager.default.contents(atPath: "\(folder)/frame-\(String(format: "%06d", sequence)).rgba")
            #expect(file.map(Array.init) == frame, "frame \(sequence)")
        }
        #expect(summary.deltaFrames == 5, "a whole frame first, then deltas")
        #expect(summary.wireBytes < 6 * (32 + size.rgbaByteCount) / 2, "\(summary.wireBytes) bytes on the wire")
        #expect(summary.description.contains("5 as deltas"))
    }

    @Test func aCountWritesExactlyThatManyFilesWhileFramesKeepComing() async throws {
        let (server, port) = try await startServer()
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let base = "ws://127.0.0.1:\(port)/streams/count"
        // Frames keep coming while the receiver works, and more are encoded at once than it may write.
        let publishing = Task {
            var publisher = ReconnectingPublisher(url: try WebSocketURL(base + "/publish"))
            var sequence = 0
            while !Task.isCancelled {
                let header = FrameHeader(
                    pixelFormat: .rgba8, width: size.width, height: size.height, sequence: UInt64(sequence), captureTimeMicros: 1
                )
                try await publisher.publish(header, payload: pixels(sequence, size: size))
                sequence += 1
            }
            await publisher.close(code: 1000, reason: "done")
        }
        let receiver = Receiver(configuration: ReceiverConfiguration(
            url: try WebSocketURL(base), destination: .folder(folder), count: 3, writeWidth: 8
        ))
        let summary = try await receiver.run()
        // Anything still being encoded when the count was reached has been discarded by now.
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        publishing.cancel()
        _ = await publishing.result
        await server.shutdown()

        #expect(summary.frames == 3 && summary.failure == nil && !summary.ended)
        #expect(names.count == 3, "\(names)")
        let sequences = names.compactMap { Int($0.dropFirst("frame-".count).prefix(6)) }
        #expect(sequences.count == 3 && sequences == Array(sequences[0]..<sequences[0] + 3), "consecutive frames: \(names)")
    }

    @Test func stopClosesWith1001AndReportsWhatWasWritten() async throws {
        let (server, port) = try await startServer()
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let base = "ws://127.0.0.1:\(port)/streams/halt"
        var publisher = ReconnectingPublisher(url: try WebSocketURL(base + "/publish"))
        try await publisher.publish(
            FrameHeader(pixelFormat: .rgba8, width: size.width, height: size.height, sequence: 0, captureTimeMicros: 1),
            payload: pixels(0, size: size)
        )
        let receiver = Receiver(configuration: ReceiverConfiguration(
            url: try WebSocketURL(base), destination: .folder(folder), format: .rgba
        ))
        async let received = receiver.run()
        try await waitUntil("the receiver to write frame 0") {
            FileManager.default.fileExists(atPath: "\(folder)/frame-000000.rgba")
        }
        await receiver.stop(reason: "test")
        let summary = try await received
        await publisher.close(code: 1000, reason: "done")
        await server.shutdown()
        #expect(summary.stoppedBy == "test" && summary.closed.code == 1001 && !summary.ended && summary.failure == nil)
        #expect(summary.frames == 1)
        #expect(FileManager.default.contents(atPath: "\(folder)/frame-000000.rgba").map(Array.init) == pixels(0, size: size))
    }
}
