@testable import MilesSync
import Testing

@Suite("Every CSV the adapter writes neutralises spreadsheet formulas (issue 11, CWE-1236)")
struct CSVTextTests {
    @Test("a value starting with = + - @ tab or CR is shown as text; plain numbers and other text are unchanged",
          arguments: [
              ("=HYPERLINK(\"http://x\",\"click\")", "'=HYPERLINK(\"http://x\",\"click\")"),
              ("=1+2", "'=1+2"), ("+44 20 7946 0000", "'+44 20 7946 0000"), ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
              ("@SUM(A1:A2)", "'@SUM(A1:A2)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
              ("-12.50", "-12.50"), ("+3", "+3"), ("C00000042", "C00000042"), ("", ""), ("-", "'-"), ("1-2", "1-2"),
          ])
    func neutralised(value: String, written: String) {
        #expect(CSVText.neutralised(value) == written)
    }

    @Test("the rendered file carries the neutralised value, quoted where CSV needs it")
    func rendered() {
        let text = CSVText.render(header: ["line", "value"], rows: [["2", "=1+2"], ["3", "=HYPERLINK(\"http://x\",\"click\")"]])
        #expect(text.contains("2,'=1+2\n"))
        #expect(text.contains("3,\"'=HYPERLINK(\"\"http://x\"\",\"\"click\"\")\"\n"))
        #expect(!text.contains("\n3,=HYPERLINK"))
    }
}
