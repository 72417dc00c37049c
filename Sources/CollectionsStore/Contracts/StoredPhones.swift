/// How every store keeps a customer's phone numbers: in one column, separated by a character no
/// phone number holds (an empty column is no numbers).
public enum StoredPhones {
    static let separator: Character = "\u{1F}"

    public static func join(_ phones: [String]) -> String { phones.joined(separator: String(separator)) }

    public static func split(_ column: String) -> [String] {
        column.isEmpty ? [] : column.split(separator: separator, omittingEmptySubsequences: false).map(String.init)
    }
}
