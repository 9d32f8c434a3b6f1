import ArgumentParser
import Eta
import Foundation

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint on a dataset's validation and test rows, without training.",
        discussion: """
            The model, its parametrization, the data split (seed, --val-fraction), the normalisation and the \
            vocabulary come from the checkpoint; --dataset evaluates another dataset of the same shape (its \
            validation rows are split off as training would). Reports the mean loss and accuracy (bits per character \
            for text) on the validation rows and, for datasets with an official test split, the test rows. A model \
            whose shapes or vocabulary do not fit the data exits 65 naming both.
            """)

    static let formats: [OutputFormat] = [.table, .json]

    @Option(name: .long, help: "The checkpoint (checkpoint-latest.safetensors or checkpoint-best.safetensors).")
    var checkpoint: String
    @OptionGroup var data: ModelDataOptions
    @OptionGroup var weights: WeightsOption
    @Option(
        name: .long, help: OutputFormat.help(EvalCommand.formats), transform: OutputFormat.parser(EvalCommand.formats))
    var format: OutputFormat = .table
    @OptionGroup var deviceOptions: DeviceOptions

    func run() throws {
        try Distributed.requireSingleProcess("eval")
        try Console.reportingErrors {
            let file = try Checkpoint.read(from: URL(fileURLWithPath: checkpoint))
            let configuration = try data.configuration(metadata: file.metadata)
            let trainer = try Trainer(configuration: configuration, backend: try deviceOptions.makeBackend())
            try file.checkVocabulary(against: trainer)
            try file.loadModel(into: trainer.network, weights: weights.choice)
            let (validation, test) = try trainer.evaluate()
            let text = trainer.split.dataset.text != nil
            func bits(_ loss: Float?) -> Float? { text ? loss.map { $0 / Float(M_LN2) } : nil }
            if format == .json {
                func number(_ value: Float?) -> JSON { value.map(JSON.float) ?? .null }
                try Console.out(
                    JSON.object([
                        ("checkpoint", .string(checkpoint)), ("weights", .string(weights.weights.rawValue)),
                        ("dataset", .string(configuration.dataset)), ("model", .string(configuration.model.spec)),
                        ("val_rows", .int(trainer.split.validationRows.count)),
                        ("val_loss", number(validation?.loss)), ("val_accuracy", number(validation?.accuracy)),
                        ("val_bpc", number(bits(validation?.loss))),
                        ("test_rows", .int(trainer.split.testRows.count)),
                        ("test_loss", number(test?.loss)), ("test_accuracy", number(test?.accuracy)),
                        ("version", .string(EtaVersion.current)),
                    ]).pretty())
                return
            }
            func line(_ name: String, _ rows: Int, _ result: (loss: Float, accuracy: Float?)?) -> String {
                guard let result else { return "\(name) -" }
                return "\(name) \(rows) rows   loss \(String(format: "%.4f", result.loss))"
                    + (result.accuracy.map { String(format: "   accuracy %.2f%%", 100 * $0) } ?? "")
                    + (bits(result.loss).map { String(format: "   bpc %.4f", $0) } ?? "")
            }
            try Console.out("checkpoint   \(checkpoint) (\(weights.weights.rawValue) weights)")
            try Console.out("data         \(configuration.dataset), model \(configuration.model.spec)")
            try Console.out(line("validation  ", trainer.split.validationRows.count, validation))
            if test != nil { try Console.out(line("test        ", trainer.split.testRows.count, test)) }
        }
    }
}
