#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CollectionsDomain

/// Hands a statement to a reader in 64 KiB pieces through one reused buffer, from a file or from
/// memory alike, so that reading a file of any size holds 64 KiB of it at a time.
enum StatementFileChunks {
    static let chunkSize = 64 << 10

    static func forEach(fileAt path: String, format: BankStatementFormat, limits: BankStatementLimits,
                        _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw BankStatementError(.unreadable, format: format, location: path, "cannot open the file: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var status = stat()
        if fstat(descriptor, &status) == 0, Int(status.st_size) > limits.maxFileBytes {
            throw tooLarge(path: path, format: format, limits: limits)
        }
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: chunkSize)
        defer { buffer.deallocate() }
        var total = 0
        while true {
            let count = read(descriptor, buffer.baseAddress, chunkSize)
            if count < 0 {
                if errno == EINTR { continue }
                throw BankStatementError(.unreadable, format: format, location: path, "cannot read the file: \(String(cString: strerror(errno)))")
            }
            if count == 0 { return }
            total += count
            // Checked while reading too: a file may still be growing as it is read.
            guard total <= limits.maxFileBytes else { throw tooLarge(path: path, format: format, limits: limits) }
            try body(UnsafeBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    static func forEach(_ bytes: [UInt8], format: BankStatementFormat, limits: BankStatementLimits,
                        _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        guard bytes.count <= limits.maxFileBytes else { throw tooLarge(path: "the statement", format: format, limits: limits) }
        try bytes.withUnsafeBufferPointer { whole in
            var offset = 0
            while offset < whole.count {
                let end = min(offset + chunkSize, whole.count)
                try body(UnsafeBufferPointer(rebasing: whole[offset..<end]))
                offset = end
            }
        }
    }

    private static func tooLarge(path: String, format: BankStatementFormat, limits: BankStatementLimits) -> BankStatementError {
        BankStatementError(.overLimit, format: format, location: path,
                           "the file is larger than \(limits.maxFileBytes) bytes (BankStatementLimits.maxFileBytes)")
    }
}
