/// The statutory notices recorded on a contract.
public struct ContractNotices: Sendable, Equatable {
    /// A default notice (CCA s.87/88): the customer has until the remedy date to put things right.
    public struct DefaultNotice: Sendable, Equatable {
        public var served: LocalDate
        public var remedyDate: LocalDate

        public init(served: LocalDate, remedyDate: LocalDate) {
            self.served = served
            self.remedyDate = remedyDate
        }
    }

    /// Dates notices of sums in arrears (CCA s.86B) were sent, in any order.
    public var arrearsNoticesSent: [LocalDate]
    public var defaultNotice: DefaultNotice?

    public init(arrearsNoticesSent: [LocalDate] = [], defaultNotice: DefaultNotice? = nil) {
        self.arrearsNoticesSent = arrearsNoticesSent
        self.defaultNotice = defaultNotice
    }
}
