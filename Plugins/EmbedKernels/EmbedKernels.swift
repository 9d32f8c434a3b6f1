import Foundation
import PackagePlugin

/// Embeds every `.cl` and `.csv` file of the target it is applied to (subfolders included) as a Swift string literal,
/// keyed by its path relative to the target's folder (`optimizers.cl`, `updates/adam.cl`), and every `.gz` file as
/// base64 text, so the `eta` binary carries its kernels and datasets and runs from any directory. The literals go
/// into `extension <target name without "Eta">` (`KernelSources`, `Datasets`), which the target declares.
@main
struct EmbedKernels: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let sources = target as? SourceModuleTarget else { return [] }
        let kernels = sources.sourceFiles
            .filter { ["cl", "csv", "gz"].contains($0.url.pathExtension) }
            .map(\.url)
            .sorted { $0.path < $1.path }
        // Keys are relative to the files' common folder, the target's own (each target here has files at its top).
        var root = kernels.first?.deletingLastPathComponent().pathComponents ?? []
        for url in kernels {
            let folder = url.deletingLastPathComponent().pathComponents
            while !folder.starts(with: root) { root.removeLast() }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "Embedded\(target.name).swift")
        // The kernels' target also carries the commit `eta --version` names: git's HEAD and the branch file it points
        // to (inputs, so a new commit re-embeds them); nothing when the sources are not a git checkout.
        var revision: [URL] = []
        if target.name == "EtaKernelSources" {
            let git = context.package.directoryURL.appending(path: ".git")
            let head = git.appending(path: "HEAD")
            if let text = try? String(contentsOf: head, encoding: .utf8) {
                revision.append(head)
                let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if line.hasPrefix("ref: ") {
                    let ref = git.appending(path: String(line.dropFirst(5)))
                    if FileManager.default.fileExists(atPath: ref.path) { revision.append(ref) }
                }
            }
        }
        let typeName = target.name.hasPrefix("Eta") ? String(target.name.dropFirst(3)) : target.name
        return [
            .buildCommand(
                displayName: "Embedding \(kernels.count) files into \(typeName)",
                executable: try context.tool(named: "KernelEmbedder").url,
                arguments: [output.path, typeName, "/" + root.dropFirst().joined(separator: "/")]
                    + (kernels + revision).map(\.path),
                inputFiles: kernels + revision,
                outputFiles: [output]
            )
        ]
    }
}
