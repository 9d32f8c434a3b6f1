import Foundation

/// A 2-D function's contour lines with optimizer paths drawn over them, as one panel of an SVG document: what a
/// learning rate did on a test function, seen from above (`eta explore --plot`).
///
/// Contours are traced by marching squares on a grid of f values, at levels spaced evenly in log(f − min f) so both
/// the valley floor and the walls show; each path is a polyline from its start (a ring) to its end (a dot), and the
/// function's global minima are crosses.
public struct SVGContour: SVGPanel {
    /// One optimizer's path.
    public struct Path {
        /// The legend's text, e.g. `sgd lr 1e-3`.
        public var name: String
        /// The line's colour.
        public var color: String
        /// The start, then the point after each step.
        public var points: [[Float]]

        /// - Parameters:
        ///   - name: The legend's text.
        ///   - color: The line's colour.
        ///   - points: The start, then the point after each step (two coordinates each).
        public init(name: String, color: String, points: [[Float]]) {
            (self.name, self.color, self.points) = (name, color, points)
        }
    }

    /// The title above the panel.
    public var title: String
    /// The function, in double.
    public var function: ([Double]) -> Double
    /// The global minima, marked with crosses.
    public var minima: [[Float]]
    /// The paths, drawn in order.
    public var paths: [Path]
    /// Contour levels drawn.
    public var levels = 14
    /// Grid cells across the plot (the function is evaluated at (cells + 1)² points).
    public var cells = 120

    /// - Parameters:
    ///   - title: The title above the panel.
    ///   - function: f of a 2-D point.
    ///   - minima: The global minima.
    ///   - paths: The optimizer paths.
    public init(title: String, function: @escaping ([Double]) -> Double, minima: [[Float]], paths: [Path]) {
        (self.title, self.function, self.minima, self.paths) = (title, function, minima, paths)
    }

    /// The region shown: the starts, the minima and every path point whose f stays below 10× the highest start's (a
    /// diverging path leaves through the edge instead of shrinking the rest to a dot), padded by a tenth.
    func region() -> (x: ClosedRange<Double>, y: ClosedRange<Double>) {
        let starts = paths.compactMap(\.points.first)
        let ceiling = 10 * (starts.map { function($0.map(Double.init)) }.max() ?? 1)
        let shown =
            starts + minima
            + paths.flatMap(\.points).filter { point in
                point.allSatisfy(\.isFinite) && function(point.map(Double.init)) <= ceiling
            }
        let xs = shown.map { Double($0[0]) }, ys = shown.map { Double($0[1]) }
        func padded(_ values: [Double]) -> ClosedRange<Double> {
            let low = values.min() ?? -1, high = values.max() ?? 1
            let pad = max((high - low) * 0.1, 0.5)
            return (low - pad)...(high + pad)
        }
        return (padded(xs), padded(ys))
    }

    /// The panel's SVG group at (`originX`, `originY`).
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
        let (xRange, yRange) = region()
        func px(_ x: Double) -> Double {
            left + (x - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * plotWidth
        }
        func py(_ y: Double) -> Double {
            top + (1 - (y - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound)) * plotHeight
        }
        var svg = "<g transform=\"translate(\(originX),\(originY))\">\n"
        svg += "<text x=\"\(Int(left))\" y=\"18\" font-size=\"13\" font-weight=\"bold\">\(escape(title))</text>\n"
        svg += "<defs><clipPath id=\"contour-area\"><rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotWidth)\" "
        svg += "height=\"\(plotHeight)\"/></clipPath></defs>\n"
        svg += contours(xRange: xRange, yRange: yRange, px: px, py: py)
        svg += "<g clip-path=\"url(#contour-area)\">\n"
        for minimum in minima {
            let (x, y) = (px(Double(minimum[0])), py(Double(minimum[1])))
            svg += "<path d=\"M\(f(x - 5)),\(f(y - 5))L\(f(x + 5)),\(f(y + 5))M\(f(x - 5)),\(f(y + 5))L\(f(x + 5)),"
            svg += "\(f(y - 5))\" stroke=\"black\" stroke-width=\"2\"/>\n"
        }
        for path in paths {
            let points = path.points.prefix { $0.allSatisfy(\.isFinite) }
            let line = points.map { "\(f(px(Double($0[0])))),\(f(py(Double($0[1]))))" }.joined(separator: " ")
            svg += "<polyline class=\"path\" fill=\"none\" stroke=\"\(path.color)\" stroke-width=\"1.5\" "
            svg += "points=\"\(line)\"/>\n"
            if let start = points.first {
                svg += "<circle cx=\"\(f(px(Double(start[0]))))\" cy=\"\(f(py(Double(start[1]))))\" r=\"4\" "
                svg += "fill=\"white\" stroke=\"\(path.color)\" stroke-width=\"2\"/>\n"
            }
            if let end = points.last {
                svg += "<circle cx=\"\(f(px(Double(end[0]))))\" cy=\"\(f(py(Double(end[1]))))\" r=\"3.5\" "
                svg += "fill=\"\(path.color)\"/>\n"
            }
        }
        svg += "</g>\n"
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotWidth)\" height=\"\(plotHeight)\" fill=\"none\" "
        svg += "stroke=\"#444\"/>\n"
        func ticks(_ range: ClosedRange<Double>) -> [Double] {
            SVGChart.Axis(minimum: range.lowerBound, maximum: range.upperBound, log: false).ticks().filter(
                range.contains)
        }
        for tick in ticks(xRange) {
            svg += "<text x=\"\(f(px(tick)))\" y=\"\(f(top + plotHeight + 14))\" text-anchor=\"middle\">"
            svg += "\(label(tick))</text>\n"
        }
        for tick in ticks(yRange) {
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(py(tick) + 4))\" text-anchor=\"end\">\(label(tick))</text>\n"
        }
        for (index, path) in paths.enumerated() {
            let legendY = top + 14 + Double(index) * 16
            svg += "<line x1=\"\(f(left + plotWidth + 10))\" y1=\"\(f(legendY - 4))\" "
            svg += "x2=\"\(f(left + plotWidth + 28))\" y2=\"\(f(legendY - 4))\" stroke=\"\(path.color)\" "
            svg += "stroke-width=\"2\"/><text x=\"\(f(left + plotWidth + 32))\" y=\"\(f(legendY))\">"
            svg += "\(escape(path.name))</text>\n"
        }
        return svg + "</g>\n"
    }

    /// Marching squares over the grid: one `<path>` per level, in shades of grey from the floor up.
    private func contours(
        xRange: ClosedRange<Double>, yRange: ClosedRange<Double>, px: (Double) -> Double, py: (Double) -> Double
    ) -> String {
        let n = cells
        func steps(_ range: ClosedRange<Double>) -> [Double] {
            let width = range.upperBound - range.lowerBound
            return (0...n).map { (i: Int) -> Double in range.lowerBound + Double(i) / Double(n) * width }
        }
        let xs = steps(xRange), ys = steps(yRange)
        let grid: [[Double]] = ys.map { y in xs.map { x in function([x, y]) } }
        let finite = grid.flatMap { $0 }.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max(), high > low else { return "" }
        // Levels evenly spaced in log(f − low): dense near the minimum, sparse up the walls.
        let span = high - low, floor = span * 1e-4, count = self.levels
        let values: [Double] = (1...count).map { (k: Int) -> Double in
            low + floor * pow(span / floor, Double(k) / Double(count + 1))
        }
        var svg = ""
        for (index, level) in values.enumerated() {
            var d = ""
            for j in 0..<n {
                for i in 0..<n {
                    let corners = [
                        (xs[i], ys[j], grid[j][i]), (xs[i + 1], ys[j], grid[j][i + 1]),
                        (xs[i + 1], ys[j + 1], grid[j + 1][i + 1]), (xs[i], ys[j + 1], grid[j + 1][i]),
                    ]
                    var crossings: [(Double, Double)] = []
                    for edge in 0..<4 {
                        let a = corners[edge], b = corners[(edge + 1) % 4]
                        guard (a.2 < level) != (b.2 < level), a.2.isFinite, b.2.isFinite else { continue }
                        let t = (level - a.2) / (b.2 - a.2)
                        crossings.append((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)))
                    }
                    // Two crossings: one segment; four (a saddle cell): two, pairing neighbouring edges.
                    for pair in stride(from: 0, to: crossings.count - 1, by: 2) {
                        let (p, q) = (crossings[pair], crossings[pair + 1])
                        d += "M\(f(px(p.0))),\(f(py(p.1)))L\(f(px(q.0))),\(f(py(q.1)))"
                    }
                }
            }
            let shade = 120 + 100 * index / max(1, count - 1)
            svg += "<path class=\"contour\" d=\"\(d)\" fill=\"none\" stroke=\"rgb(\(shade),\(shade),\(shade))\" "
            svg += "stroke-width=\"0.8\"/>\n"
        }
        return svg
    }

    private func f(_ value: Double) -> String { SVGText.coordinate(value) }
    private func label(_ value: Double) -> String { SVGText.tick(value) }
    private func escape(_ text: String) -> String { SVGText.escaped(text) }
}
