/// `value` with `decimals` digits after the point, for progress lines, summaries and reports (send,
/// receive and bench print figures the same way).
package func rounded(_ value: Double, decimals: Int = 1) -> String {
    let scale = Double((0..<decimals).reduce(1) { value, _ in value * 10 })
    let rounded = (value * scale).rounded() / scale
    return decimals == 0 ? String(Int(rounded)) : String(rounded)
}
