import Foundation

/// A one-line progress bar on standard error with rate and ETA (of the current phase), redrawn at most
/// ten times a second.
struct ProgressBar {
    private var lastDraw = Date.distantPast
    private var phase = ""
    private var phaseStarted = Date()
    private var drawn = false

    /// 1234567 → "1.2M": rates of bytes and of positions fit the same column.
    static func compact(_ value: Double) -> String {
        if value >= 1e6 { return String(format: "%.1fM", value / 1e6) }
        if value >= 1e3 { return String(format: "%.1fk", value / 1e3) }
        return String(format: "%.1f", value)
    }

    mutating func update(label: String, done: Int, total: Int) {
        let now = Date()
        if label != phase { (phase, phaseStarted) = (label, now) }
        guard done == total || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let fraction = total == 0 ? 1 : Double(done) / Double(total)
        let width = 30
        let filled = Int(fraction * Double(width))
        let elapsed = now.timeIntervalSince(phaseStarted)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let text = String(format: "\r%@ [%@] %3.0f%% %d/%d %@/s %.0fs ETA %.0fs ", label.padding(toLength: 5, withPad: " ", startingAt: 0),
                          bar, fraction * 100, done, total, Self.compact(rate), elapsed, eta)
        FileHandle.standardError.write(Data(text.utf8))
        drawn = true
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
