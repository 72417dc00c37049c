import CollectionsDomain

/// The aged debt of one currency as a bar chart, drawn on the server as SVG: one bar per bucket,
/// its amount above it. Only numbers and fixed labels go into it.
enum AgedDebtChart {
    static func svg(labels: [String], minorUnits: [Int64], currency: CurrencyCode) -> String {
        let width = 640, height = 220, top = 24, bottom = 28
        let slot = width / max(1, labels.count)
        let largest = max(1, minorUnits.max() ?? 1)
        var bars = ""
        for (index, amount) in minorUnits.enumerated() {
            let barHeight = Int(Double(height - top - bottom) * Double(amount) / Double(largest))
            let x = index * slot + slot / 6
            let y = height - bottom - barHeight
            let text = Money(minorUnits: amount, currency: currency).decimalString
            bars += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(slot * 2 / 3)\" height=\"\(barHeight)\" fill=\"#3a6ea5\"/>"
            bars += "<text x=\"\(x + slot / 3)\" y=\"\(y - 6)\" text-anchor=\"middle\" font-size=\"11\">\(text)</text>"
            bars += "<text x=\"\(x + slot / 3)\" y=\"\(height - 10)\" text-anchor=\"middle\" font-size=\"12\">\(labels[index])</text>"
        }
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" role=\"img\" "
            + "aria-label=\"aged debt in \(currency.code) by days past due\">\(bars)</svg>"
    }
}
