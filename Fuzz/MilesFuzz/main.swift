import Foundation
import MilesMapping
import MilesSOAP

// miles-fuzz: the hardened streaming reader, the SOAP envelope and fault handling, and the compiled
// contract decoder, fed arbitrary bytes; and the readers of agents' deliveries, with each shipped
// agent's mapping. Every input must end in a decoded page, updates and rejected rows, or a typed
// error; a crash, a hang or runaway memory is a finding.
//
// An input's first byte picks its reader: 0x01 acme-dca's CSV, 0x02 tracewise's windows-1252 CSV,
// 0x03 northern-recoveries' XML, 0x04 a posted JSON updates document; anything else (a MILES answer
// starts with '<') is a MILES answer, whole. `make fuzz` seeds the agents' readers with the golden
// files behind their byte.
//
// Built with libFuzzer (`make fuzz SECONDS=N`: `swift build -c release -Xswiftc -sanitize=fuzzer`),
// it fuzzes from the seed corpus in Fuzz/corpus. Built without it (as `swift build` does), it replays
// the files or folders it is given once each, so a finding can be kept as a regression input.

let mappingsDirectory = ProcessInfo.processInfo.environment["MILES_ADAPTER_MAPPINGS"] ?? FileManager.default.currentDirectoryPath + "/mappings"
let mappings: MappingSet
do {
    mappings = try MappingSet.load(directory: mappingsDirectory)
} catch {
    FileHandle.standardError.write(Data("miles-fuzz: cannot load the mappings in \(mappingsDirectory): \(error)\n".utf8))
    exit(2)
}
/// Tighter than production so the fuzzer spends its time on structure, not on size.
let limits = XMLLimits(maxDepth: 64, maxTextBytes: 64 * 1024, maxDocumentBytes: 1 << 20)

/// The agents' readers, by the first byte of an input.
let agentParsers: [UInt8: (parser: AgentFileParser, json: Bool)] = {
    func parser(_ agent: String) -> AgentFileParser {
        guard let mapping = mappings.agents[agent], let parser = try? AgentFileParser(agent: mapping) else {
            FileHandle.standardError.write(Data("miles-fuzz: the mappings have no agent \(agent) that sends updates\n".utf8))
            exit(2)
        }
        return parser
    }
    return [0x01: (parser("acme-dca"), false), 0x02: (parser("tracewise"), false), 0x03: (parser("northern-recoveries"), false),
            0x04: (parser("acme-dca"), true)]
}()

/// One input: an agent's delivery after its selecting byte, or a MILES answer decoded as a
/// FindContracts answer, then as a GetContract answer.
func decodeOnce(_ bytes: UnsafeRawBufferPointer) {
    if let first = bytes.first, let (parser, json) = agentParsers[first] {
        let delivery = [UInt8](bytes.dropFirst())
        if json {
            try? parser.forEachJSONRecord(delivery, sourceName: "fuzz.json") { _ in }
        } else {
            _ = try? parser.parse(delivery, sourceName: "fuzz")
        }
        return
    }
    _ = try? SOAPResponseDecoding.decode(bytes, limits: limits, faultNames: mappings.contract.faultNames) {
        mappings.contractDecoder.findContractsDecoder(reader: $0)
    }
    _ = try? SOAPResponseDecoding.decode(bytes, limits: limits, faultNames: mappings.contract.faultNames) {
        mappings.contractDecoder.getContractDecoder(reader: $0)
    }
}

typealias FuzzerDriver = @convention(c) (
    UnsafeMutablePointer<Int32>, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

// libFuzzer is linked only in a -sanitize=fuzzer build; look it up rather than link against it.
if let symbol = dlsym(dlopen(nil, RTLD_NOW), "LLVMFuzzerRunDriver") {
    let driver = unsafeBitCast(symbol, to: FuzzerDriver.self)
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(driver(&argc, &argv) { data, size in
        decodeOnce(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    })
}

var replayed = 0
for path in CommandLine.arguments.dropFirst() {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        FileHandle.standardError.write(Data("miles-fuzz: no such file or folder \(path)\n".utf8))
        exit(2)
    }
    let files = isDirectory.boolValue
        ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 } : [path]
    for file in files {
        guard let data = FileManager.default.contents(atPath: file) else { continue }
        data.withUnsafeBytes(decodeOnce)
        replayed += 1
    }
}
print("miles-fuzz: replayed \(replayed) inputs without a crash (not a libFuzzer build: no fuzzing)")
