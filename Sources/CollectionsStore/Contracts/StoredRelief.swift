/// How both stores keep what a credit note or write-off names.
package enum StoredRelief {
    /// The invoice numbers a credit note or write-off request names, kept comma-separated; none is every open one.
    package static func invoiceNumbers(_ column: String) -> [String] {
        column.isEmpty ? [] : column.split(separator: ",").map(String.init)
    }
}
