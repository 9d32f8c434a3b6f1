import Foundation

/// A line chart written as a standalone SVG file (opens in any browser): axes with ticks, optional log
/// scales, several series, vertical markers, and a legend. Non-finite points are left out of lines.
///
/// ```swift
/// var chart = SVGChart(title: "loss", xLabel: "step", yLabel: "loss")
/// chart.series.append(.init(name: "train", color: "#1f77b4", points: [(1, 2.3), (10, 1.1)]))
/// let svg = SVGChart.document([chart])
/// ```
public struct SVGChart: SVGPanel {
    /// One line of a chart.
    public struct Series {
        /// The legend's text.
        public var name: String
        /// The line's colour, any SVG colour (e.g. from ``SVGChart/palette``).
        public var color: String
        /// The points in data coordinates; non-finite points (and non-positive ones on a log axis) are left out.
        public var points: [(x: Double, y: Double)]
        /// Draw dots at the points as well as the line.
        public var dots = false

        /// - Parameters:
        ///   - name: The legend's text.
        ///   - color: The line's colour.
        ///   - points: The points in data coordinates.
        ///   - dots: Whether to draw dots at the points too.
        public init(name: String, color: String, points: [(x: Double, y: Double)], dots: Bool = false) {
            self.name = name
            self.color = color
            self.points = points
            self.dots = dots
        }
    }

    /// A labelled vertical line (an lr suggestion, a divergence).
    public struct Marker {
        /// Where the line stands, in data coordinates.
        public var x: Double
        /// The text beside it.
        public var label: String
        /// Its colour.
        public var color: String
        /// - Parameters:
        ///   - x: Where the line stands, in data coordinates.
        ///   - label: The text beside it.
        ///   - color: Its colour.
        public init(x: Double, label: String, color: String) { self.x = x; self.label = label; self.color = color }
    }

    /// The title above the chart.
    public var title: String
    /// The x axis's label.
    public var xLabel: String
    /// The y axis's label.
    public var yLabel: String
    /// Whether the x axis is logarithmic.
    public var logX = false
    /// Whether the y axis is logarithmic.
    public var logY = false
    /// The lines, drawn in order.
    public var series: [Series] = []
    /// The vertical markers.
    public var markers: [Marker] = []
    /// A fixed y range; points outside it are drawn on its edge (an LR test's divergence tail would flatten the rest).
    public var yRange: ClosedRange<Double>?

    /// - Parameters:
    ///   - title: The title above the chart.
    ///   - xLabel: The x axis's label.
    ///   - yLabel: The y axis's label.
    ///   - logX: Whether the x axis is logarithmic.
    ///   - logY: Whether the y axis is logarithmic.
    public init(title: String, xLabel: String, yLabel: String, logX: Bool = false, logY: Bool = false) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logX = logX
        self.logY = logY
    }

    /// Colours for successive series (matplotlib's tab10 colours).
    public static let palette = [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22",
    ]

    /// One SVG document stacking `charts` vertically.
    ///
    /// - Parameters:
    ///   - charts: The charts, top to bottom.
    ///   - width: The document's width in pixels.
    ///   - chartHeight: Each chart's height in pixels.
    /// - Returns: The SVG document.
    public static func document(_ charts: [SVGChart], width: Int = 760, chartHeight: Int = 300) -> String {
        document(panels: charts.map { ($0, chartHeight) }, width: width)
    }

    /// One SVG document stacking panels of their own heights vertically (a contour panel above a chart, say).
    ///
    /// - Parameters:
    ///   - panels: The panels, top to bottom, with their heights in pixels.
    ///   - width: The document's width in pixels.
    /// - Returns: The SVG document.
    public static func document(panels: [(panel: any SVGPanel, height: Int)], width: Int = 760) -> String {
        let height = panels.map(\.height).reduce(0, +)
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) "
            + "\(height)\" font-family=\"sans-serif\" font-size=\"11\">\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        var y = 0
        for (panel, panelHeight) in panels {
            svg += panel.render(x: 0, y: y, width: width, height: panelHeight)
            y += panelHeight
        }
        return svg + "</svg>\n"
    }

    /// The chart's SVG group at (`originX`, `originY`).
    ///
    /// - Parameters:
    ///   - originX: The panel's left edge in the document.
    ///   - originY: The panel's top edge in the document.
    ///   - width: The panel's width in pixels.
    ///   - height: The panel's height in pixels.
    /// - Returns: An SVG `<g>` element.
    public func render(x originX: Int, y originY: Int, width: Int, height: Int) -> String {
        let left = 70.0, right = 150.0, top = 28.0, bottom = 42.0
        let plotWidth = Double(width) - left - right, plotHeight = Double(height) - top - bottom
        func usable(_ value: Double, log: Bool) -> Bool { value.isFinite && (!log || value > 0) }
        let xs =
            series.flatMap { $0.points.map(\.x) }.filter { usable($0, log: logX) }
            + markers.map(\.x).filter { usable($0, log: logX) }
        let ys =
            yRange.map { [$0.lowerBound, $0.upperBound] }
            ?? series.flatMap { $0.points.map(\.y) }.filter { usable($0, log: logY) }
        var svg = "<g transform=\"translate(\(originX),\(originY))\">\n"
        svg += "<text x=\"\(Int(left))\" y=\"18\" font-size=\"13\" font-weight=\"bold\">\(escape(title))</text>\n"
        guard let xMin = xs.min(), let xMax = xs.max(), let yMin = ys.min(), let yMax = ys.max() else {
            return svg + "<text x=\"\(Int(left + 10))\" y=\"\(Int(top + 20))\">no finite data to plot</text>\n</g>\n"
        }
        let xScale = Axis(minimum: xMin, maximum: xMax, log: logX),
            yScale = Axis(minimum: yMin, maximum: yMax, log: logY)
        func px(_ v: Double) -> Double { left + xScale.fraction(v) * plotWidth }
        func py(_ v: Double) -> Double { top + (1 - min(1, max(0, yScale.fraction(v)))) * plotHeight }
        svg +=
            "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotWidth)\" height=\"\(plotHeight)\" fill=\"none\" "
            + "stroke=\"#444\"/>\n"
        for tick in xScale.ticks() {
            let x = px(tick)
            svg +=
                "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + plotHeight))\" stroke=\"#ddd\"/>"
            svg +=
                "<text x=\"\(f(x))\" y=\"\(f(top + plotHeight + 14))\" text-anchor=\"middle\">\(label(tick))</text>\n"
        }
        for tick in yScale.ticks() {
            let y = py(tick)
            svg +=
                "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y))\" stroke=\"#ddd\"/>"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(label(tick))</text>\n"
        }
        svg +=
            "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(Double(height) - 8))\" "
            + "text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        svg +=
            "<text transform=\"translate(14,\(f(top + plotHeight / 2))) rotate(-90)\" "
            + "text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        for (index, marker) in markers.enumerated() where usable(marker.x, log: logX) {
            let x = px(marker.x)
            svg +=
                "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + plotHeight))\" "
                + "stroke=\"\(marker.color)\" stroke-dasharray=\"5,3\"/>"
            // Staggered, so markers close together keep readable labels.
            svg +=
                "<text x=\"\(f(x + 3))\" y=\"\(f(top + 12 + 13 * Double(index)))\" "
                + "fill=\"\(marker.color)\">\(escape(marker.label))</text>\n"
        }
        for (index, line) in series.enumerated() {
            // Break the line at non-finite points.
            var segments: [[(Double, Double)]] = [[]]
            for point in line.points {
                if usable(point.x, log: logX) && usable(point.y, log: logY) {
                    segments[segments.count - 1].append((px(point.x), py(point.y)))
                } else if !segments[segments.count - 1].isEmpty {
                    segments.append([])
                }
            }
            for segment in segments where !segment.isEmpty {
                let path = segment.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ")
                svg += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"1.5\" points=\"\(path)\"/>\n"
                if line.dots || segment.count == 1 {
                    for point in segment {
                        svg += "<circle cx=\"\(f(point.0))\" cy=\"\(f(point.1))\" r=\"2.5\" fill=\"\(line.color)\"/>"
                    }
                    svg += "\n"
                }
            }
            let legendY = top + 14 + Double(index) * 16
            svg +=
                "<line x1=\"\(f(left + plotWidth + 10))\" y1=\"\(f(legendY - 4))\" x2=\"\(f(left + plotWidth + 28))\" "
                + "y2=\"\(f(legendY - 4))\" stroke=\"\(line.color)\" stroke-width=\"2\"/>"
            svg += "<text x=\"\(f(left + plotWidth + 32))\" y=\"\(f(legendY))\">\(escape(line.name))</text>\n"
        }
        return svg + "</g>\n"
    }

    private func f(_ value: Double) -> String { SVGText.coordinate(value) }
    private func label(_ value: Double) -> String { SVGText.tick(value) }
    private func escape(_ text: String) -> String { SVGText.escaped(text) }

    /// A linear or logarithmic axis over [minimum, maximum] with round ticks.
    struct Axis {
        var low: Double
        var high: Double
        let log: Bool

        init(minimum: Double, maximum: Double, log: Bool) {
            self.log = log
            var (a, b) = log ? (Foundation.log10(minimum), Foundation.log10(maximum)) : (minimum, maximum)
            if a == b {
                // A flat series: a band around it, relative to its size (a constant lr of 2e-3 must not show as 0).
                let half = log ? 0.5 : (a == 0 ? 1 : abs(a) * 0.5)
                (a, b) = (a - half, b + half)
            }
            let pad = (b - a) * 0.03
            (low, high) = (a - pad, b + pad)
        }

        func fraction(_ value: Double) -> Double { ((log ? Foundation.log10(value) : value) - low) / (high - low) }

        func ticks() -> [Double] {
            if log {
                return (Int(low.rounded(.up))...max(Int(low.rounded(.up)), Int(high.rounded(.down)))).map {
                    pow(10, Double($0))
                }
            }
            let rough = (high - low) / 5
            let power = pow(10, (Foundation.log10(rough)).rounded(.down))
            let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? power * 10
            var ticks: [Double] = []
            var value = (low / step).rounded(.up) * step
            while value <= high && ticks.count < 20 {
                ticks.append(abs(value) < step * 1e-9 ? 0 : value); value += step
            }
            return ticks
        }
    }
}

/// A panel of an SVG document: a chart, or a contour plot.
public protocol SVGPanel {
    /// The panel's SVG group at (`originX`, `originY`), `width` by `height` pixels.
    ///
    /// - Parameters:
    ///   - originX: The panel's left edge in the document.
    ///   - originY: The panel's top edge in the document.
    ///   - width: The panel's width in pixels.
    ///   - height: The panel's height in pixels.
    /// - Returns: An SVG `<g>` element.
    func render(x originX: Int, y originY: Int, width: Int, height: Int) -> String
}

/// Text in the SVG panels: coordinates with one decimal, tick labels with three significant digits, escaped labels.
enum SVGText {
    static func coordinate(_ value: Double) -> String { String(format: "%.1f", value) }
    static func tick(_ value: Double) -> String { value == 0 ? "0" : String(format: "%.3g", value) }
    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
