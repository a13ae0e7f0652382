// A conformance of a public library type must be public too, which takes a public import.
public import ArgumentParser
public import CanvasWireBench
public import CanvasWireCore
public import CanvasWireServer
public import CanvasWireTransfer

extension DeliveryPolicy: ExpressibleByArgument {}
extension ViewerEncoding: ExpressibleByArgument {}
extension BenchContent: ExpressibleByArgument {}
extension FrameWriter.Format: ExpressibleByArgument {}
extension FrameConverter.Format: ExpressibleByArgument {}
extension DeflateMode: ExpressibleByArgument {}
