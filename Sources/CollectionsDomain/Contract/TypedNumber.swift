/// A contract or invoice number as a person types it: the search takes "c00000042" for C00000042, so
/// every place that looks a number up takes it so too.
public enum TypedNumber {
    /// The numbers `typed` may mean, in the order to try them: as typed, then in capitals (MILES's own
    /// numbers are in capitals, unless a MILES numbers in small letters).
    public static func forms(of typed: String) -> [String] {
        let capitals = typed.uppercased()
        return capitals == typed ? [typed] : [typed, capitals]
    }

    /// The one of `numbers` that `typed` means, if any.
    public static func match(_ typed: String, in numbers: some Collection<String>) -> String? {
        forms(of: typed).first { numbers.contains($0) }
    }
}
