/// How a viewer wants frames delivered when it cannot keep up.
public enum DeliveryPolicy: String, Sendable, CaseIterable {
    /// Live viewing: skip to the newest frame, never queue old ones.
    case latest
    /// Lossless: every frame in order; the publisher is slowed down instead.
    case all
}
