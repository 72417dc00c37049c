import CollectionsDomain
import Foundation
@testable import MilesMock
import Testing

@Suite("The mock MILES keeps the FindContracts pages it rendered, until a contract changes", .timeLimit(.minutes(2)))
struct MockPageCacheTests {
    let miles = MockMiles(configuration: MockMilesConfiguration(contractCount: 300, seed: 7, contractDirectory: wsdlDirectory))

    func findContracts(cursor: String? = nil) async throws -> String {
        let cursorElement = cursor.map { "<m:Cursor>\($0)</m:Cursor>" } ?? ""
        let answer = await miles.handle(service: "ContractService",
                                        body: try request("<m:FindContracts>\(cursorElement)<m:PageSize>100</m:PageSize></m:FindContracts>"))
        #expect(answer.status == 200)
        return String(decoding: answer.body, as: UTF8.self)
    }

    func nextCursor(_ page: String) throws -> String {
        try #require(page.range(of: "<m:NextCursor>").flatMap { start in
            page.range(of: "</m:NextCursor>").map { String(page[start.upperBound..<$0.lowerBound]) }
        })
    }

    @Test("a page asked again is the page kept; a contract changed mid-query empties them, and the page then leaves it out")
    func keptUntilAContractChanges() async throws {
        let first = try await findContracts()
        let second = try await findContracts(cursor: try nextCursor(first))
        let holdsTheContract = second.contains("<m:ContractNumber>C00000151</m:ContractNumber>")
        #expect(holdsTheContract)
        let kept = await miles.portfolio.renderedPages.bytes
        #expect(kept == first.utf8.count + second.utf8.count)
        let askedAgain = try await findContracts(cursor: try nextCursor(first))
        #expect(askedAgain.utf8.elementsEqual(second.utf8))
        #expect(await miles.portfolio.renderedPages.bytes == kept)

        // Changed after the query began, contract 151 belongs to the next incremental query, not to this one's pages.
        #expect(await miles.modifyContract(number: "C00000151") { $0.statusCode = "LEG" })
        #expect(await miles.portfolio.renderedPages.bytes == 0)
        let again = try await findContracts(cursor: try nextCursor(first))
        let changedStillThere = again.contains("<m:ContractNumber>C00000151</m:ContractNumber>")
        let nextOneMovedUp = again.contains("<m:ContractNumber>C00000201</m:ContractNumber>")
        #expect(!changedStillThere)
        #expect(nextOneMovedUp)
    }

    @Test("pages are kept up to the cache's bound in bytes; past it they are answered but not kept")
    func bounded() {
        var pages = RenderedPages(capacityBytes: 1_000)
        func key(_ after: Int) -> RenderedPages.Key {
            RenderedPages.Key(asOf: Timestamp(millisecondsSinceEpoch: 0), since: nil, afterIndex: after, total: 300, pageSize: 100,
                              skipsAPage: false)
        }
        pages.keep(Array(repeating: 1, count: 400), for: key(-1))
        pages.keep(Array(repeating: 2, count: 400), for: key(99))
        pages.keep(Array(repeating: 3, count: 400), for: key(199))
        #expect(pages[key(-1)] == Array(repeating: 1, count: 400))
        #expect(pages[key(99)] != nil)
        #expect(pages[key(199)] == nil)
        #expect(pages.bytes == 800)
    }
}
