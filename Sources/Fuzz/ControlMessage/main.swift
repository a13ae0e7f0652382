// libFuzzer entry for JSON control messages: any UTF-8 text parses or throws FrameError (never traps),
// and a parsed known message survives a round trip through json().
import CanvasWireCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzControlMessage(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    guard let text = String(validating: bytes, as: UTF8.self) else { return 0 }
    do throws(FrameError) {
        let message = try ControlMessage(parsing: text)
        let json = message.json()
        let again = try ControlMessage(parsing: json)
        precondition(again == message, "round trip changed \(message) into \(again)")
    } catch {
        precondition(error.closeCode == 1007, "control message errors close with 1007")
    }
    return 0
}
