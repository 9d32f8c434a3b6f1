import PackagePlugin

/// Embeds every `.cl` and `.csv` file of the target it is applied to as a Swift string literal, so the `eta`
/// binary carries its kernels and datasets and runs from any directory. The literals go into
/// `extension <target name without "Eta">` (`KernelSources`, `Datasets`), which the target declares.
@main
struct EmbedKernels: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let sources = target as? SourceModuleTarget else { return [] }
        let kernels = sources.sourceFiles
            .filter { ["cl", "csv"].contains($0.url.pathExtension) }
            .map(\.url)
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "Embedded\(target.name).swift")
        let typeName = target.name.hasPrefix("Eta") ? String(target.name.dropFirst(3)) : target.name
        return [
            .buildCommand(
                displayName: "Embedding \(kernels.count) files into \(typeName)",
                executable: try context.tool(named: "KernelEmbedder").url,
                arguments: [output.path, typeName] + kernels.map(\.path),
                inputFiles: kernels,
                outputFiles: [output]
            )
        ]
    }
}
