import CollectionsDomain
import Foundation
import Hummingbird
import NIOCore

/// The admin API: reset, advance a day, inject faults, read the journal and the payment allocations. Loopback callers only.
enum MockAdminRoutes {
    struct AdvanceDay: Codable { var changes: Int }
    struct AdvanceDayResult: Codable { var businessClock: String; var changedContracts: [String] }
    struct State: Codable { var contracts: Int; var businessClock: String }
    struct Touch: Codable { var customerVulnerable: Bool? }
    struct AllocationLine: Codable { var invoiceNumber: String; var amount: String }
    struct Allocation: Codable {
        var allocationId: String
        var clientReference: String
        var contractNumber: String
        var amount: String
        var currency: String
        var valueDate: String
        var lines: [AllocationLine]
        var reversalReference: String?
    }
    struct Allocations: Codable { var allocations: [Allocation]; var countsByReference: [String: Int] }

    static func add(to router: Router<MockRequestContext>, miles: MockMiles) {
        let admin = router.group("admin").add(middleware: LoopbackOnlyMiddleware())
        admin.post("reset") { _, _ -> Response in
            await miles.reset()
            return try json(["reset": true])
        }
        admin.post("advance-day") { request, context -> Response in
            let body = try await request.decode(as: AdvanceDay.self, context: context)
            guard body.changes >= 0 else { throw HTTPError(.badRequest, message: "changes must be 0 or more") }
            let changed = await miles.advanceDay(changes: body.changes)
            return try json(AdvanceDayResult(businessClock: await miles.businessClock.description, changedContracts: changed))
        }
        admin.post("faults") { request, context -> Response in
            let rule = try await request.decode(as: FaultRule.self, context: context)
            await miles.injectFault(rule)
            return try json(rule)
        }
        admin.delete("faults") { _, _ -> Response in
            await miles.clearFaults()
            return try json(["cleared": true])
        }
        admin.post("contracts/:number/touch") { request, context -> Response in
            // Another MILES user changes the contract: a new version, optionally with the customer now vulnerable.
            let number = try context.parameters.require("number")
            let body = try? await request.decode(as: Touch.self, context: context)
            guard let version = await miles.changeBehindTheAdaptersBack(contractNumber: number, customerVulnerable: body?.customerVulnerable) else {
                throw HTTPError(.notFound, message: "no contract \(number)")
            }
            return try json(["version": version])
        }
        admin.get("journal") { _, _ -> Response in try json(await miles.journalEntries()) }
        admin.delete("journal") { _, _ -> Response in
            await miles.clearJournal()
            return try json(["cleared": true])
        }
        admin.get("allocations") { _, _ -> Response in
            let allocations = await miles.allocationLedger().map { allocation in
                Allocation(allocationId: allocation.allocationId, clientReference: allocation.clientReference,
                           contractNumber: allocation.contractNumber, amount: allocation.amount.decimalString,
                           currency: allocation.amount.currency.code, valueDate: allocation.valueDate.description,
                           lines: allocation.lines.map { AllocationLine(invoiceNumber: $0.invoice.number, amount: $0.amount.decimalString) },
                           reversalReference: allocation.reversalReference)
            }
            return try json(Allocations(allocations: allocations, countsByReference: await miles.allocationCounts()))
        }
        admin.get("state") { _, _ -> Response in
            try json(State(contracts: await miles.contractCount, businessClock: await miles.businessClock.description))
        }
    }

    private static func json<T: Encodable>(_ value: T) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}

/// Refuses admin calls that do not come from this machine.
struct LoopbackOnlyMiddleware: RouterMiddleware {
    typealias Context = MockRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let address = context.remoteAddress?.ipAddress ?? ""
        guard address == "127.0.0.1" || address == "::1" || address.hasPrefix("127.") else {
            throw HTTPError(.forbidden, message: "the admin API answers only on loopback")
        }
        return try await next(request, context)
    }
}
