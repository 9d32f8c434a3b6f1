import ArgumentParser
import Eta
import Foundation

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a checkpoint's model for deployment (ONNX, opset 17).",
        discussion: """
            Every model kind (mlp, softmax, linear, cnn, resnet, gpt), in evaluation mode. The graph takes raw inputs \
            (`input`: [batch, features] or [batch, C, H, W]; a GPT's `tokens`: int64 [batch, context]) and applies \
            the checkpoint's normalisation itself; its output `logits` is what Eta's forward pass gives (μP's \
            multipliers included). --weights picks an average the checkpoint holds.
            """)

    @Argument(help: "The checkpoint.") var checkpoint: String
    @Option(name: .long, help: "onnx (the only format yet).") var format = "onnx"
    @Option(name: [.short, .customLong("output")], help: "The file to write, e.g. model.onnx.") var output: String
    @OptionGroup var weights: WeightsOption

    func validate() throws {
        try OptionCheck.require(format == "onnx", "--format: eta export writes onnx (got '\(format)')")
    }

    func run() throws {
        try Distributed.requireSingleProcess("export")
        try Console.reportingErrors {
            try OutputFile.checkWritable(output, what: "model")
            let file = try Checkpoint.read(from: URL(fileURLWithPath: checkpoint))
            let bytes = try ONNXExport.model(file, weights: weights.choice)
            try OutputFile.replace(output, with: bytes, what: "model")
            Console.note("eta: wrote \(output) (ONNX opset \(ONNXExport.opset), \(bytes.count) bytes)")
        }
    }
}
