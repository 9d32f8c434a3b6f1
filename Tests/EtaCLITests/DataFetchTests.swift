import EtaSupport
import Foundation
import Testing

@testable import EtaCore

/// `eta data fetch` against a server on the loopback interface: no test needs the network. The library's fetch is
/// given a table of test digests (an internal initialiser); the command itself always checks MNIST's real ones.
@Suite("eta data fetch", .enabled(if: (try? DatasetFetch.curlPath()) != nil, "needs curl (tools/setup.sh installs it)"))
struct DataFetchTests {
    static func sha256(_ data: Data) -> String { SHA256.hex(of: [UInt8](data)) }

    static let payloads: [String: Data] = [
        "a.gz": Data("first file".utf8), "b.gz": Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7) }),
    ]

    static func table(_ payloads: [String: Data]) -> [DatasetFetch.File] {
        payloads.keys.sorted().map { DatasetFetch.File(name: $0, sha256: sha256(payloads[$0]!)) }
    }

    func contents(_ folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
    }

    @Test("downloads each file, checked; keeps files already there with the right digest; replaces a wrong one")
    func downloadsAndSkips() throws {
        let server = try LoopbackHTTPServer(files: Self.payloads)
        defer { server.stop() }
        let fetch = DatasetFetch(name: "test", files: Self.table(Self.payloads), mirrors: [server.url])
        let target = folder().appendingPathComponent("cache/test")
        let first = try fetch.fetch(into: target.path)
        #expect(
            first.map(\.outcome) == [
                .downloaded(url: server.url + "a.gz", bytes: 10), .downloaded(url: server.url + "b.gz", bytes: 5000),
            ])
        #expect(contents(target) == ["a.gz", "b.gz"])
        #expect(try Data(contentsOf: target.appendingPathComponent("b.gz")) == Self.payloads["b.gz"])
        #expect(try fetch.fetch(into: target.path).map(\.outcome) == [.present, .present])
        #expect(server.requested == ["/a.gz", "/b.gz"], "present files are not downloaded again")
        try Data("damaged".utf8).write(to: target.appendingPathComponent("a.gz"))
        var lines: [String] = []
        _ = try fetch.fetch(into: target.path) { lines.append($0) }
        #expect(server.requested == ["/a.gz", "/b.gz", "/a.gz"])
        #expect(try Data(contentsOf: target.appendingPathComponent("a.gz")) == Self.payloads["a.gz"])
        #expect(lines.first?.contains("present but its SHA-256 is") == true, "\(lines)")
    }

    @Test("a mirror that fails or serves other bytes is followed by the next")
    func fallback() throws {
        let empty = try LoopbackHTTPServer(files: [:])
        let wrong = try LoopbackHTTPServer(files: ["a.gz": Data("other".utf8), "b.gz": Data()])
        let good = try LoopbackHTTPServer(files: Self.payloads)
        defer { [empty, wrong, good].forEach { $0.stop() } }
        let fetch = DatasetFetch(
            name: "test", files: Self.table(Self.payloads), mirrors: [empty.url, wrong.url, good.url])
        let target = folder()
        let outcomes = try fetch.fetch(into: target.path)
        #expect(
            outcomes.map(\.outcome) == [
                .downloaded(url: good.url + "a.gz", bytes: 10), .downloaded(url: good.url + "b.gz", bytes: 5000),
            ])
        #expect(contents(target) == ["a.gz", "b.gz"], "no temporary is left behind")
    }

    @Test("wrong bytes everywhere: exit 65 naming the file and both digests, and no file kept; no mirror: exit 69")
    func failures() throws {
        let served = Data("not the real file".utf8)
        let server = try LoopbackHTTPServer(files: ["a.gz": served])
        defer { server.stop() }
        let expected = Self.sha256(Self.payloads["a.gz"]!)
        let fetch = DatasetFetch(name: "test", files: [.init(name: "a.gz", sha256: expected)], mirrors: [server.url])
        let target = folder()
        expectFailure(65, ["a.gz", "SHA-256 mismatch", "expected \(expected)", "got \(Self.sha256(served))"]) {
            try fetch.fetch(into: target.path)
        }
        #expect(contents(target).isEmpty)
        let closed = try LoopbackHTTPServer(files: [:])
        closed.stop()
        expectFailure(69, ["could not download a.gz", "127.0.0.1:\(closed.port)/a.gz", "curl exit"]) {
            try fetch.fetch(into: target.path, mirrors: [closed.url])
        }
        #expect(contents(target).isEmpty)
        let fetchedFolder = folder().appendingPathComponent("f")
        try Data("x".utf8).write(to: fetchedFolder.deletingLastPathComponent().appendingPathComponent("f"))
        expectFailure(74, ["cannot create"]) { try fetch.fetch(into: fetchedFolder.path) }
    }

    @Test("fetched gzipped IDX files load as idx:DIR")
    func fetchedFilesLoad() throws {
        let source = try tinyIDX()
        var payloads: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            let gzip = Process()
            gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
            gzip.arguments = ["-f", source.appendingPathComponent(name).path]
            try gzip.run()
            gzip.waitUntilExit()
            payloads[name + ".gz"] = try Data(contentsOf: source.appendingPathComponent(name + ".gz"))
        }
        let server = try LoopbackHTTPServer(files: payloads)
        defer { server.stop() }
        let target = folder()
        try DatasetFetch(name: "tiny", files: Self.table(payloads), mirrors: [server.url]).fetch(into: target.path)
        let dataset = try Dataset.load("idx:" + target.path)
        #expect(dataset.rows == 50 && dataset.testRowCount == 10 && dataset.sampleShape == [1, 2, 2])
    }

    @Test("the command checks MNIST's well-known digests: other bytes exit 65 and leave nothing")
    func command() throws {
        let fake = Data("a fake MNIST file".utf8)
        let server = try LoopbackHTTPServer(files: ["train-images-idx3-ubyte.gz": fake])
        defer { server.stop() }
        let target = folder().appendingPathComponent("mnist")
        let result = try CLI.run(["data", "fetch", "mnist", "--to", target.path, "--mirror", server.url])
        #expect(result.status == 65, "\(result.stderr)")
        for fragment in [
            "train-images-idx3-ubyte.gz", "expected 440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "got \(Self.sha256(fake))",
        ] {
            #expect(result.stderr.contains(fragment), "\(fragment) not in \(result.stderr)")
        }
        #expect(contents(target).isEmpty && result.stdout.isEmpty)
        #expect(
            DatasetFetch.mnist.files.map(\.sha256) == [
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            ])
        #expect(DatasetFetch.mnist.mirrors.first == "https://ossci-datasets.s3.amazonaws.com/mnist/")
        let closed = try LoopbackHTTPServer(files: [:])
        closed.stop()
        let offline = try CLI.run(["data", "fetch", "mnist", "--to", target.path, "--mirror", closed.url])
        #expect(offline.status == 69, "\(offline.stderr)")
        for (arguments, message) in [
            (["data", "fetch", "cifar"], "unknown dataset 'cifar' to fetch; valid: mnist"),
            (["data", "fetch", "mnist", "--mirror", "ftp://example.org/"], "expected an http:// or https:// URL"),
        ] {
            let bad = try CLI.run(arguments)
            #expect(bad.status == 64 && bad.stderr.contains(message), "\(arguments): \(bad.stderr)")
        }
    }

    @Test("the cache folder: $XDG_CACHE_HOME/eta/NAME, else ~/.cache/eta/NAME (a relative XDG_CACHE_HOME is ignored)")
    func cacheFolder() throws {
        #expect(
            DatasetFetch.defaultFolder(for: "mnist", environment: ["XDG_CACHE_HOME": "/c", "HOME": "/h"])
                == "/c/eta/mnist")
        #expect(
            DatasetFetch.defaultFolder(for: "mnist", environment: ["XDG_CACHE_HOME": "rel", "HOME": "/h"])
                == "/h/.cache/eta/mnist")
        #expect(DatasetFetch.defaultFolder(for: "mnist", environment: ["HOME": "/h"]) == "/h/.cache/eta/mnist")
        let target = folder().appendingPathComponent("xdg")
        let closed = try LoopbackHTTPServer(files: [:])
        closed.stop()
        let result = try CLI.run(
            ["data", "fetch", "mnist", "--mirror", closed.url], environment: ["XDG_CACHE_HOME": target.path])
        #expect(result.status == 69)
        #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("eta/mnist").path))
    }
}

/// Expects `body` to throw an `EtaError` with `code` whose message contains every fragment.
func expectFailure(_ code: Int32, _ fragments: [String], _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected exit \(code) mentioning \(fragments)")
    } catch let error as EtaError {
        #expect(error.exitCode == code, "\(error.message)")
        for fragment in fragments {
            #expect(error.message.contains(fragment), "'\(fragment)' not in: \(error.message)")
        }
    } catch {
        Issue.record("unexpected \(error)")
    }
}
