import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.0 server on 127.0.0.1, on a free port, for download tests that must not need the network:
/// `GET /NAME` answers the bytes given for NAME, anything else 404. One connection at a time, on its own thread.
final class LoopbackHTTPServer: @unchecked Sendable {
    /// The port it listens on.
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private let files: [String: Data]
    private var paths: [String] = []

    /// The base URL to give as a mirror: `http://127.0.0.1:PORT/`.
    var url: String { "http://127.0.0.1:\(port)/" }

    /// The paths requested so far, in order.
    var requested: [String] {
        lock.lock()
        defer { lock.unlock() }
        return paths
    }

    init(files: [String: Data]) throws {
        self.files = files
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard descriptor >= 0, bound == 0, listen(descriptor, 16) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        listener = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    /// Stops listening: later connections are refused.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            answer(client)
            close(client)
        }
    }

    private func answer(_ client: Int32) {
        var request = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while request.count < 65536 {
            let count = read(client, &buffer, buffer.count)
            guard count > 0 else { break }
            request += buffer[0..<count]
            if String(decoding: request, as: UTF8.self).contains("\r\n\r\n") { break }
        }
        let line = String(decoding: request, as: UTF8.self).split(separator: "\r\n").first ?? ""
        let parts = line.split(separator: " ")
        let path = parts.count >= 2 ? String(parts[1]) : ""
        lock.lock()
        paths.append(path)
        lock.unlock()
        let body = parts.first == "GET" ? files[String(path.dropFirst())] : nil
        let head =
            body.map { "HTTP/1.0 200 OK\r\nContent-Length: \($0.count)\r\nConnection: close\r\n\r\n" }
            ?? "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        for bytes in [Data(head.utf8), body ?? Data()] where !bytes.isEmpty {
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = write(client, raw.baseAddress! + offset, raw.count - offset)
                    guard written > 0 else { return }
                    offset += written
                }
            }
        }
    }
}
