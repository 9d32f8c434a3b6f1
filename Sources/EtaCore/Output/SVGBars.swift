/// A horizontal bar chart panel: one labelled bar per item, its value and share written beside it (the kernels'
/// share of a training step's time in `eta bench --plot`).
///
/// ```swift
/// let bars = SVGBars(title: "Time per kernel", unit: "ms", items: [("gemm", 1.2), ("adam_update", 0.3)])
/// let svg = SVGChart.document(panels: [(bars, bars.height)])
/// ```
public struct SVGBars: SVGPanel {
    /// The panel's title.
    public var title: String
    /// The values' unit, written after each value.
    public var unit: String
    /// The bars, top to bottom.
    public var items: [(label: String, value: Double)]

    /// - Parameters:
    ///   - title: The panel's title.
    ///   - unit: The values' unit.
    ///   - items: The bars, top to bottom.
    public init(title: String, unit: String, items: [(label: String, value: Double)]) {
        (self.title, self.unit, self.items) = (title, unit, items)
    }

    /// The height that fits every bar: 22 pixels each, plus the title.
    public var height: Int { 44 + 22 * max(items.count, 1) }

    /// The panel's SVG group.
    ///
    /// - Parameters:
    ///   - originX: The panel's left edge.
    ///   - originY: The panel's top edge.
    ///   - width: The panel's width.
    ///   - height: The panel's height.
    /// - Returns: An SVG `<g>` element.
    public func render(x originX: Int, y originY: Int, width: Int, height: Int) -> String {
        let left = 230.0, right = 150.0, top = 32.0, barHeight = 16.0
        let total = items.reduce(0) { $0 + max($1.value, 0) }
        let largest = items.map(\.value).max() ?? 0
        let span = Double(width) - left - right
        var svg = "<g transform=\"translate(\(originX),\(originY))\">\n"
        svg +=
            "<text x=\"\(Int(left))\" y=\"18\" font-size=\"13\" font-weight=\"bold\">\(SVGText.escaped(title))</text>\n"
        for (index, item) in items.enumerated() {
            let y = top + Double(index) * 22
            let length = largest > 0 ? max(0, item.value) / largest * span : 0
            let share = total > 0 ? 100 * item.value / total : 0
            svg +=
                "<text x=\"\(SVGText.coordinate(left - 6))\" y=\"\(SVGText.coordinate(y + 12))\" text-anchor=\"end\">"
                + "\(SVGText.escaped(item.label))</text>\n"
            svg +=
                "<rect x=\"\(SVGText.coordinate(left))\" y=\"\(SVGText.coordinate(y))\" width=\"\(SVGText.coordinate(length))\" "
                + "height=\"\(SVGText.coordinate(barHeight))\" fill=\"\(SVGChart.palette[index % SVGChart.palette.count])\"/>\n"
            svg +=
                "<text x=\"\(SVGText.coordinate(left + length + 6))\" y=\"\(SVGText.coordinate(y + 12))\">"
                + "\(SVGText.tick(item.value)) \(SVGText.escaped(unit)) (\(SVGText.tick(share))%)</text>\n"
        }
        return svg + "</g>\n"
    }
}
