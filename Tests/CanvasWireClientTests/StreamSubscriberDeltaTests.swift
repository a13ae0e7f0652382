import CanvasWireClient
import CanvasWireCore
import NIOCore
import Testing

/// A delta viewer's events against a scripted server: the query it sends, whole frames from deltas,
/// and the close a bad delta gets.
@Suite(.serialized) struct StreamSubscriberDeltaTests {
    typealias Rect = DeltaMessages.Rect

    static func hello(encoding: ViewerEncoding) -> ScriptedServer.Message {
        .text(ControlMessage.hello(.init(
            role: "viewer", stream: "cam", size: nil, policy: .all, encoding: encoding, limits: .default,
            highWaterMark: 1 << 20, server: "scripted"
        )).json())
    }

    @Test func aDeltaViewerGetsWholeFramesAndClosesWith1008OnADeltaItCannotApply() async throws {
        let (width, height) = (40, 20)
        let first = DeltaMessages.frame(width: width, height: height, seed: 1)
        let second = DeltaMessages.frame(width: width, height: height, seed: 2)
        let rects = [Rect(x: 16, y: 0, w: 16, h: 16), Rect(x: 32, y: 16, w: 8, h: 4)]
        let server = try await ScriptedServer.start(sending: [
            Self.hello(encoding: .delta),
            .binary(DeltaMessages.message(format: 1, width: width, height: height, sequence: 0, payload: first)),
            .binary(DeltaMessages.delta(rects, of: second, width: width, height: height, sequence: 1)),
            .text(#"{"type":"dropped","count":2,"total":2}"#),
            // For a size the viewer holds no frame of.
            .binary(DeltaMessages.delta([], of: [], width: 8, height: 8, sequence: 4)),
            .binary(DeltaMessages.message(format: 1, width: width, height: height, sequence: 5, payload: first)),
        ])
        let url = try WebSocketURL("ws://127.0.0.1:\(server.port)/streams/cam?token=t")
        let subscriber = try await StreamSubscriber.connect(to: url, policy: .all, encoding: .delta)
        #expect(server.requests == ["/streams/cam?token=t&policy=all&encoding=delta"])
        #expect(subscriber.hello.encoding == "delta")

        var frames: [ReceivedFrame] = []
        var dropped: [UInt64] = []
        let error = await #expect(throws: FrameError.self) {
            for try await event in subscriber.events {
                switch event {
                case .frame(let frame): frames.append(frame)
                case .dropped(let report): dropped.append(report.count)
                default: break
                }
            }
        }
        #expect(frames.map(\.header.sequence) == [0, 1], "nothing after the bad delta is handed on")
        #expect(frames.map(\.wireFormat) == [.rgba8, .rgba8Delta])
        #expect(frames.allSatisfy { $0.header.pixelFormat == .rgba8 })
        #expect(Array(frames[0].payload.readableBytesView) == first)
        #expect(Array(frames[1].payload.readableBytesView) == DeltaMessages.paste(rects, from: second, into: first, width: width))
        #expect(frames[1].wireBytes == 32 + 4 + 2 * 8 + (16 * 16 + 8 * 4) * 4)
        #expect(dropped == [2])
        #expect(error?.closeCode == 1008)
        #expect(server.closeCodes == [1008], "the viewer told the server why it stopped")
        #expect(subscriber.connection.closeInfo?.code == 1008)
        try await server.stop()
    }

    @Test func aRawViewerAsksForNoEncoding() async throws {
        let server = try await ScriptedServer.start(sending: [Self.hello(encoding: .raw)])
        let subscriber = try await StreamSubscriber.connect(to: try WebSocketURL("ws://127.0.0.1:\(server.port)/streams/cam"), policy: .latest)
        #expect(server.requests == ["/streams/cam?policy=latest"])
        await subscriber.connection.close()
        try await server.stop()
    }
}
