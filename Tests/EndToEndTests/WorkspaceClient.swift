import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A browser's view of the workspace over plain HTTP, for the tests: it keeps the session cookie,
/// never follows a redirect (so a test sees the 303 and where it goes), and posts forms.
final class WorkspaceClient: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    // @unchecked: `cookie` is only touched by the test that owns the client, one request at a time.
    struct Page {
        let status: Int
        let headers: [String: String]
        let body: String

        var location: String? { headers["Location"] }
        /// The CSRF token of the page's forms.
        var csrf: String? { body.firstMatch(of: /name="csrf" value="([0-9a-f]+)"/).map { String($0.1) } }
    }

    let base: String
    var cookie: String?
    private lazy var session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpShouldSetCookies = false
        configuration.httpCookieAcceptPolicy = .never
        return URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
    }()

    init(base: String) {
        self.base = base
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    func get(_ path: String) async throws -> Page {
        try await send(URLRequest(url: URL(string: base + path)!))
    }

    func post(_ path: String, _ fields: [String: String]) async throws -> Page {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(fields.map { "\($0.key)=\(Self.encode($0.value))" }.joined(separator: "&").utf8)
        return try await send(request)
    }

    /// Posts `fields` and a file, as a browser posts a form with a file input (`multipart/form-data`).
    func upload(_ path: String, _ fields: [String: String], file: (field: String, name: String, bytes: [UInt8])) async throws -> Page {
        let boundary = "workspace-client-\(UUID().uuidString)"
        var body: [UInt8] = []
        for (name, value) in fields {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        body += Array(("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.field)\"; filename=\"\(file.name)\"\r\n"
            + "Content-Type: text/csv\r\n\r\n").utf8)
        body += file.bytes + Array("\r\n--\(boundary)--\r\n".utf8)
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = "POST"
        request.setValue("multipart/form-data; boundary=\(boundary)", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body)
        return try await send(request)
    }

    /// Signs in through the form, keeping the session cookie; the answer to the post.
    @discardableResult
    func signIn(_ name: String, _ password: String) async throws -> Page {
        let form = try await get("/workspace/sign-in")
        return try await post("/workspace/sign-in", ["name": name, "password": password, "csrf": form.csrf ?? ""])
    }

    private static func encode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
    }

    private func send(_ request: URLRequest) async throws -> Page {
        var request = request
        if let cookie { request.setValue(cookie, forHTTPHeaderField: "Cookie") }
        let (data, response): (Data, URLResponse) = try await withCheckedThrowingContinuation { continuation in
            session.dataTask(with: request) { data, response, error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume(returning: (data ?? Data(), response!)) }
            }.resume()
        }
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields { headers["\(key)"] = "\(value)" }
        if let setCookie = headers["Set-Cookie"], let pair = setCookie.split(separator: ";").first {
            cookie = setCookie.contains("Max-Age=0") ? nil : String(pair)
        }
        return Page(status: http.statusCode, headers: headers, body: String(decoding: data, as: UTF8.self))
    }
}
