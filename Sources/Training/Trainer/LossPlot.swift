import Foundation

/// An SVG chart of loss curves (training loss, its moving average, held-out loss) with axes, ticks and labels.
public enum LossPlot {
    /// One curve: (step, loss) points, a colour and a legend label.
    public struct Series: Sendable {
        public var label: String
        public var color: String
        public var points: [(Double, Double)]
        public init(label: String, color: String, points: [(Double, Double)]) {
            self.label = label
            self.color = color
            self.points = points
        }
    }

    /// The usual curves of a `LossLog`: raw training loss, an exponential moving average, and held-out loss.
    public static func series(for log: LossLog) -> [Series] {
        var smooth: [(Double, Double)] = []
        var average: Double?
        for r in log.rows {
            average = average.map { 0.95 * $0 + 0.05 * Double(r.loss) } ?? Double(r.loss)
            smooth.append((Double(r.step), average!))
        }
        let raw = log.rows.map { (Double($0.step), Double($0.loss)) }
        let eval = log.rows.compactMap { r in r.evalLoss.map { (Double(r.step), Double($0)) } }
        return [Series(label: "train loss", color: "#9ecae1", points: raw),
                Series(label: "train loss (moving average)", color: "#08519c", points: smooth),
                Series(label: "held-out loss", color: "#d94801", points: eval)].filter { !$0.points.isEmpty }
    }

    /// "Nice" tick values (1, 2 or 5 × 10^k apart) covering lo...hi.
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 6) -> [Double] {
        guard hi > lo else { return [lo] }
        let raw = (hi - lo) / Double(count)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var out: [Double] = []
        var v = ceil(lo / step) * step
        while v <= hi + step * 1e-9 {
            out.append(v)
            v += step
        }
        return out
    }

    private static func label(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e7 { return String(Int(v)) }
        return String(format: abs(v) < 0.1 ? "%.3f" : "%.2f", v)
    }

    /// The SVG document.
    public static func svg(_ series: [Series], title: String, width: Int = 800, height: Int = 480) -> String {
        let left = 70.0, right = 20.0, top = 40.0, bottom = 55.0
        let plotW = Double(width) - left - right, plotH = Double(height) - top - bottom
        let all = series.flatMap(\.points)
        let xs = all.map(\.0), ys = all.map(\.1).filter(\.isFinite)
        let x0 = xs.min() ?? 0, x1 = max(xs.max() ?? 1, x0 + 1)
        var y0 = ys.min() ?? 0, y1 = ys.max() ?? 1
        if y1 - y0 < 1e-6 { y0 -= 0.5; y1 += 0.5 }
        let pad = (y1 - y0) * 0.05
        y0 -= pad; y1 += pad
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(Double(width) / 2))" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>

        """
        for t in ticks(y0, y1) {
            s += "<line x1=\"\(f(left))\" y1=\"\(f(py(t)))\" x2=\"\(f(left + plotW))\" y2=\"\(f(py(t)))\" stroke=\"#eee\"/>\n"
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(label(t))</text>\n"
        }
        for t in ticks(x0, x1) {
            s += "<line x1=\"\(f(px(t)))\" y1=\"\(f(top + plotH))\" x2=\"\(f(px(t)))\" y2=\"\(f(top + plotH + 5))\" stroke=\"black\"/>\n"
            s += "<text x=\"\(f(px(t)))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(label(t))</text>\n"
        }
        s += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotH))\" stroke=\"black\"/>\n"
        s += "<line x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(left + plotW))\" y2=\"\(f(top + plotH))\" stroke=\"black\"/>\n"
        s += "<text x=\"\(f(left + plotW / 2))\" y=\"\(height - 12)\" text-anchor=\"middle\">step</text>\n"
        s += "<text transform=\"translate(18,\(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">loss (nats/token)</text>\n"
        for (i, series) in series.enumerated() {
            let points = series.points.filter { $0.1.isFinite }.map { "\(f(px($0.0))),\(f(py($0.1)))" }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"1.5\" points=\"\(points)\"/>\n"
            let ly = top + 8 + Double(i) * 16
            s += "<line x1=\"\(f(left + plotW - 200))\" y1=\"\(f(ly))\" x2=\"\(f(left + plotW - 180))\" y2=\"\(f(ly))\" stroke=\"\(series.color)\" stroke-width=\"3\"/>\n"
            s += "<text x=\"\(f(left + plotW - 175))\" y=\"\(f(ly + 4))\">\(escape(series.label))</text>\n"
        }
        return s + "</svg>\n"
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
