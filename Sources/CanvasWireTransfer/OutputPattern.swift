/// An ffmpeg-style file name pattern such as `frame-%06d.png`: one `%d` or `%0Nd` for the frame's
/// sequence number, `%%` for a percent sign.
public struct OutputPattern: Sendable {
    private enum Part: Sendable {
        case text(String)
        case number(width: Int)
    }

    private let parts: [Part]

    /// `nil` unless `pattern` has exactly one `%d` or `%0Nd` and no `/` (names stay inside the folder).
    public init?(_ pattern: String) {
        var parts: [Part] = []
        var text = ""
        var numbers = 0
        var characters = pattern[...]
        while let character = characters.popFirst() {
            guard character == "%" else {
                text.append(character)
                continue
            }
            if characters.first == "%" {
                characters.removeFirst()
                text.append("%")
                continue
            }
            let digits = characters.prefix { $0.isASCII && $0.isNumber }
            characters = characters.dropFirst(digits.count)
            guard characters.popFirst() == "d" else { return nil }
            parts.append(.text(text))
            text = ""
            parts.append(.number(width: Int(digits) ?? 0))
            numbers += 1
        }
        parts.append(.text(text))
        guard numbers == 1, !pattern.contains("/") else { return nil }
        self.parts = parts
    }

    /// The file name of frame `sequence`: `frame-%06d.png` names frame 42 `frame-000042.png`.
    public func name(for sequence: UInt64) -> String {
        parts.map { part in
            switch part {
            case .text(let text):
                return text
            case .number(let width):
                let digits = String(sequence)
                return String(repeating: "0", count: max(0, width - digits.count)) + digits
            }
        }.joined()
    }
}
