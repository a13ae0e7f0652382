/// The scripts the viewer and sender pages load, served at `/NAME` from the binary like the pages.
///
/// They are files of their own, not inline in the pages, so that each stays small enough to read: the
/// protocol code both pages share (`canvaswire.js`), and one file a job for each page.
enum PageScript: String, CaseIterable, Sendable {
    /// Frame parsing, deltas (reading, finding changed tiles, writing) and page helpers.
    case canvasWire = "canvaswire.js"
    /// The viewer page: connection, messages, status panel.
    case viewer = "viewer.js"
    /// The viewer page's canvas, which holds the frame deltas apply to.
    case frameCanvas = "frame-canvas.js"
    /// The viewer page's stream picker.
    case streamList = "stream-list.js"
    /// The sender page: connection, pacing, full frames or deltas.
    case sender = "send.js"
    /// The sender page's sources: the test patterns and a picture.
    case frameSource = "frame-source.js"

    var body: [UInt8] {
        switch self {
        case .canvasWire: PackageResources.canvaswire_js
        case .viewer: PackageResources.viewer_js
        case .frameCanvas: PackageResources.frame_canvas_js
        case .streamList: PackageResources.stream_list_js
        case .sender: PackageResources.send_js
        case .frameSource: PackageResources.frame_source_js
        }
    }
}
