import Foundation
import Testing

/// A headless Chromium driven over the W3C WebDriver protocol by Debian's chromedriver, started as a
/// subprocess on a free port and stopped with the session.
final class WebDriver: @unchecked Sendable {
    // @unchecked: used by one test at a time; the process and session id are set once.
    private let process: Process
    private let exited: AsyncStream<Void>
    private let base: String
    private var sessionId = ""

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let chromium = "/usr/bin/chromium"
    static let chromedriver = "/usr/bin/chromedriver"

    private init(process: Process, exited: AsyncStream<Void>, base: String) {
        self.process = process
        self.exited = exited
        self.base = base
    }

    /// Starts chromedriver and a headless browser session.
    static func start() async throws -> WebDriver {
        guard FileManager.default.isExecutableFile(atPath: chromedriver), FileManager.default.isExecutableFile(atPath: chromium) else {
            throw Failure(description: "chromium and chromium-driver are not installed (the Makefile's deps target installs them)")
        }
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromedriver)
        process.arguments = ["--port=\(port)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        // Set before run(), so the exit is never missed; waited for without blocking a thread.
        let (exited, exitContinuation) = AsyncStream.makeStream(of: Void.self)
        process.terminationHandler = { _ in exitContinuation.finish() }
        let (lines, continuation) = AsyncStream.makeStream(of: String.self)
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { continuation.finish() } else { continuation.yield(String(decoding: data, as: UTF8.self)) }
        }
        try process.run()
        var announced = ""
        for await text in lines {
            announced += text
            if announced.contains("started successfully") { break }
        }
        pipe.fileHandleForReading.readabilityHandler = nil
        let driver = WebDriver(process: process, exited: exited, base: "http://127.0.0.1:\(port)")
        let created = try await driver.call("POST", "/session", [
            "capabilities": ["alwaysMatch": ["browserName": "chrome", "goog:chromeOptions": [
                "binary": chromium, "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"],
            ]]],
        ])
        guard let value = created["value"] as? [String: Any], let id = value["sessionId"] as? String else {
            await driver.quit()
            throw Failure(description: "chromedriver did not start a session: \(created)")
        }
        driver.sessionId = id
        return driver
    }

    /// Closes the browser and stops chromedriver.
    func quit() async {
        _ = try? await call("DELETE", "/session/\(sessionId)", nil)
        // chromedriver ignores SIGTERM; the browser is already closed by the DELETE.
        kill(process.processIdentifier, SIGKILL)
        for await _ in exited {}
    }

    func open(_ url: String) async throws {
        _ = try await command("POST", "/session/\(sessionId)/url", ["url": url])
    }

    /// The element a CSS selector finds, or a failure naming the selector.
    func element(_ selector: String) async throws -> String {
        let found = try await call("POST", "/session/\(sessionId)/element", ["using": "css selector", "value": selector])
        guard let value = found["value"] as? [String: Any], let id = value.values.first as? String, value.keys.contains(where: { $0.hasPrefix("element-") }) else {
            throw Failure(description: "no element \(selector) on the page: \(found)")
        }
        return id
    }

    func clear(_ selector: String) async throws {
        _ = try await command("POST", "/session/\(sessionId)/element/\(try await element(selector))/clear", [:])
    }

    func type(_ text: String, into selector: String) async throws {
        _ = try await command("POST", "/session/\(sessionId)/element/\(try await element(selector))/value", ["text": text])
    }

    /// Clicks the element and waits until the browser has left the page it was on. Every button in the
    /// workspace submits a form, and chromedriver can answer a click before the browser has begun the
    /// navigation it causes: a command sent right after then read the old page (a sign-out once still
    /// showed the write-offs page's address). The page is marked before the click; the new one has no mark.
    func click(_ selector: String) async throws {
        let target = try await element(selector)
        _ = try await command("POST", "/session/\(sessionId)/execute/sync", ["script": "window.webDriverClickedFrom = true", "args": [Any]()])
        _ = try await command("POST", "/session/\(sessionId)/element/\(target)/click", [:])
        // Each look is a WebDriver round trip, which chromedriver holds while a navigation is pending. A look
        // can also fail while the old page is torn down ("no such execution context"): it is looked at again.
        // Only an answer of false, from a page without the mark, ends the wait.
        let deadline = ContinuousClock.now + .seconds(30)
        var lastFailure: Failure?
        while ContinuousClock.now < deadline {
            do {
                let marked = try await command("POST", "/session/\(sessionId)/execute/sync",
                                               ["script": "return window.webDriverClickedFrom === true", "args": [Any]()])
                if marked as? Bool == false { return }
            } catch let failure as Failure {
                lastFailure = failure
            }
        }
        throw Failure(description: "clicking \(selector) led to no new page in 30 seconds" + (lastFailure.map { "; last answer: \($0)" } ?? ""))
    }

    /// Resizes the browser's window, as a phone's screen would be.
    func resize(width: Int, height: Int) async throws {
        _ = try await command("POST", "/session/\(sessionId)/window/rect", ["width": width, "height": height])
    }

    /// The value a script returns on the page.
    func evaluate(_ script: String) async throws -> Any? {
        try await command("POST", "/session/\(sessionId)/execute/sync", ["script": script, "args": [Any]()])
    }

    func source() async throws -> String {
        try await call("GET", "/session/\(sessionId)/source", nil)["value"] as? String ?? ""
    }

    func currentURL() async throws -> String {
        try await call("GET", "/session/\(sessionId)/url", nil)["value"] as? String ?? ""
    }

    /// Saves a PNG of the page for a person to look at.
    func screenshot(to path: String) async throws {
        let taken = try await call("GET", "/session/\(sessionId)/screenshot", nil)
        guard let text = taken["value"] as? String, let data = Data(base64Encoded: text) else { throw Failure(description: "no screenshot") }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// One WebDriver command, sent with curl: Foundation's URLSession on Linux fails on chromedriver's
    /// answers ("Failed writing header"). Files carry the body and the answer, and the exit comes
    /// through the termination handler, so no thread of the cooperative pool waits on curl (the
    /// in-process servers the browser loads pages from need them).
    private func call(_ method: String, _ path: String, _ body: [String: Any]?) async throws -> [String: Any] {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("webdriver-\(UUID().uuidString)").path
        defer { for suffix in [".in", ".out"] { try? FileManager.default.removeItem(atPath: scratch + suffix) } }
        var arguments = ["-s", "-X", method, base + path, "--max-time", "60", "-o", scratch + ".out"]
        if let body {
            try JSONSerialization.data(withJSONObject: body).write(to: URL(fileURLWithPath: scratch + ".in"))
            arguments += ["-H", "Content-Type: application/json", "--data-binary", "@" + scratch + ".in"]
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = arguments
        let (exited, continuation) = AsyncStream.makeStream(of: Void.self)
        process.terminationHandler = { _ in continuation.finish() }
        try process.run()
        for await _ in exited {}
        let data = FileManager.default.contents(atPath: scratch + ".out") ?? Data()
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// One WebDriver command whose failure matters: the answer's value, or a failure carrying the error
    /// chromedriver sent (or the empty answer of a call that got none).
    private func command(_ method: String, _ path: String, _ body: [String: Any]?) async throws -> Any? {
        let answer = try await call(method, path, body)
        if let value = answer["value"] as? [String: Any], let error = value["error"] as? String {
            throw Failure(description: "\(method) \(path): \(error): \(value["message"] as? String ?? "")")
        }
        guard answer.keys.contains("value") else { throw Failure(description: "\(method) \(path): no answer from chromedriver") }
        return answer["value"]
    }

    private static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw Failure(description: "no free port for chromedriver") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
