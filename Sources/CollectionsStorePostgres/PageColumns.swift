import CollectionsDomain
import CollectionsStore
import PostgresNIO

/// A sync page's customers, contracts and invoices as one array per column, for an `INSERT … SELECT
/// FROM unnest(…)`: a statement per table binds a handful of arrays, where a row of parameters each
/// bound 20,000 values a page for the server to parse and plan. An array element cannot be NULL
/// here, so a missing text goes with a flag saying so, and a missing date as `noDate`.
struct PageColumns {
    /// A day no date of a contract can be (days since 1970 at Int32's lowest): a missing date.
    static let noDate = Int32.min

    struct Customers {
        var partnerIds: [String] = [], names: [String] = [], nameSearches: [String] = [], kinds: [String] = [], line1s: [String] = []
        var line2s: [String] = []
        var hasLine2: [Bool] = [], towns: [String] = [], postcodes: [String] = [], countries: [String] = [], phones: [String] = []
        var emails: [String] = [], hasEmail: [Bool] = [], vulnerable: [Bool] = [], versions: [Int64] = []

        init(_ customers: [Customer]) {
            for customer in customers {
                let address = customer.address
                partnerIds.append(customer.partnerId); names.append(customer.name); nameSearches.append(NameFolding.searchText(customer.name))
                kinds.append(customer.kind.rawValue)
                line1s.append(address.line1); line2s.append(address.line2 ?? ""); hasLine2.append(address.line2 != nil)
                towns.append(address.town); postcodes.append(address.postcode); countries.append(address.country)
                phones.append(StoredPhones.join(customer.phones)); emails.append(customer.email ?? ""); hasEmail.append(customer.email != nil)
                vulnerable.append(customer.vulnerable); versions.append(customer.version)
            }
        }
    }

    struct Contracts {
        var numbers: [String] = [], versions: [Int64] = [], statusCodes: [String] = [], agreementTypes: [String] = []
        var startDates: [Int32] = [], endDates: [Int32] = [], currencies: [String] = [], totalPrices: [Int64] = []
        var paidToDates: [Int64] = [], monthlyPayments: [Int64] = [], arrearsAmounts: [Int64] = [], arrearsOldestDue: [Int32] = []
        var missedPayments: [Int32] = [], partnerIds: [String] = [], registrations: [String] = [], vins: [String] = []
        var makes: [String] = [], models: [String] = [], lastModified: [Int64] = [], lastPaymentDates: [Int32] = []

        init(_ contracts: [Contract]) {
            for contract in contracts {
                numbers.append(contract.contractNumber); versions.append(contract.version); statusCodes.append(contract.statusCode)
                agreementTypes.append(contract.agreementType.rawValue); startDates.append(contract.startDate.daysSinceEpoch)
                endDates.append(contract.endDate?.daysSinceEpoch ?? noDate); currencies.append(contract.currency.code)
                totalPrices.append(contract.totalPrice.minorUnits); paidToDates.append(contract.paidToDate.minorUnits)
                monthlyPayments.append(contract.monthlyPayment.minorUnits); arrearsAmounts.append(contract.arrears.amount.minorUnits)
                arrearsOldestDue.append(contract.arrears.oldestUnpaidDueDate?.daysSinceEpoch ?? noDate)
                missedPayments.append(Int32(contract.arrears.missedPayments)); partnerIds.append(contract.customer.partnerId)
                registrations.append(contract.vehicle.registration); vins.append(contract.vehicle.vin); makes.append(contract.vehicle.make)
                models.append(contract.vehicle.model); lastModified.append(contract.lastModified.millisecondsSinceEpoch)
                lastPaymentDates.append(contract.lastPaymentDate?.daysSinceEpoch ?? noDate)
            }
        }
    }

    struct Invoices {
        var contractNumbers: [String] = [], positions: [Int32] = [], numbers: [String] = [], issueDates: [Int32] = []
        var dueDates: [Int32] = [], amounts: [Int64] = [], openAmounts: [Int64] = []

        init(_ contracts: [Contract]) {
            for contract in contracts {
                for (position, invoice) in contract.openInvoices.enumerated() {
                    contractNumbers.append(contract.contractNumber); positions.append(Int32(position)); numbers.append(invoice.number)
                    issueDates.append(invoice.issueDate.daysSinceEpoch); dueDates.append(invoice.dueDate.daysSinceEpoch)
                    amounts.append(invoice.amount.minorUnits); openAmounts.append(invoice.openAmount.minorUnits)
                }
            }
        }
    }
}
