import ArgumentParser
import Eta
import Foundation

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Class probabilities or regression outputs of a checkpoint for raw input rows.",
        discussion: """
            --input csv:PATH (rows of the model's features, with or without the label column: it is dropped), \
            idx:PATH (an IDX images file such as t10k-images-idx3-ubyte.gz), a PATH ending in .csv, or for a GPT \
            text:PATH (one prompt a line: the probability of each character of the vocabulary to come next, ids in \
            the vocabulary's order; JSONL names the predicted character). The rows go in \
            as the data files hold them: the checkpoint carries its training split's standardisation (or scales \
            pixels by 1/255), as training applied it. Writes one line per row: the probability of each class and the \
            predicted class (cross-entropy), the probability of class 1 (BCE), or the outputs (regression), as CSV or \
            JSONL, to stdout or --output. A row count or shape that does not fit the model exits 65 naming both.
            """)

    static let formats: [OutputFormat] = [.csv, .jsonl]

    @Option(name: .long, help: "The checkpoint.") var checkpoint: String
    @Option(name: .long, help: ArgumentHelp("csv:PATH, idx:PATH or PATH.csv.", valueName: "source")) var input: String
    @Option(name: .long, help: "Write the predictions to this file instead of stdout.") var output: String?
    @OptionGroup var weights: WeightsOption
    @Option(
        name: .long, help: OutputFormat.help(PredictCommand.formats),
        transform: OutputFormat.parser(PredictCommand.formats))
    var format: OutputFormat = .csv
    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        try OptionCheck.require(
            input.hasPrefix("csv:") || input.hasPrefix("idx:") || input.hasPrefix("text:")
                || input.lowercased().hasSuffix(".csv"),
            "--input takes csv:PATH, idx:PATH, text:PATH or a PATH ending in .csv (got '\(input)')")
    }

    func run() throws {
        try Distributed.requireSingleProcess("predict")
        try Console.reportingErrors {
            if let output { try OutputFile.checkWritable(output, what: "predictions") }
            let file = try Checkpoint.read(from: URL(fileURLWithPath: checkpoint))
            if try file.modelSpec().readsTokens { return try predictText(file) }
            guard !input.hasPrefix("text:") else {
                throw EtaError(
                    .dataError,
                    "\(checkpoint) holds a \(try file.modelSpec().kind) model, which reads feature rows; text:PATH is "
                        + "for gpt checkpoints")
            }
            let predictor = try Predictor(
                checkpoint: file, weights: weights.choice, backend: try deviceOptions.makeBackend())
            let raw =
                input.hasPrefix("idx:")
                ? try predictor.rows(idx: String(input.dropFirst(4)))
                : try predictor.rows(csv: input.hasPrefix("csv:") ? String(input.dropFirst(4)) : input)
            let predictions = try predictor.predict(raw)
            let text = Self.render(predictions, loss: predictor.loss, format: format)
            if let output {
                try OutputFile.replace(output, with: Data(text.utf8), what: "predictions")
                Console.note("eta: \(predictions.count) predictions written to \(output)")
            } else {
                try OutputFile.standardOutput.write(text)
            }
        }
    }

    /// A GPT: for each line of a text:PATH file, the probability of every character to come next.
    private func predictText(_ file: Checkpoint) throws {
        guard input.hasPrefix("text:") else {
            throw EtaError(
                .dataError,
                "\(checkpoint) holds a gpt model, which reads text: give --input text:PATH (one prompt a line)")
        }
        let path = String(input.dropFirst(5))
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EtaError(.missingInput, "\(path): no such file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw EtaError(.dataError, "\(path) is not UTF-8 text")
        }
        guard let vocabulary = file.vocabulary else {
            throw EtaError(.dataError, "\(checkpoint) holds no vocabulary: it was not trained on a text dataset")
        }
        let architecture = try file.inferenceArchitecture()
        let network = try Network(
            architecture: architecture, loss: .crossEntropy, optimizer: try OptimizerConfiguration(spec: "sgd"),
            maxBatch: 1, backend: try deviceOptions.makeBackend())
        try file.loadModel(into: network, weights: weights.choice)
        let sampler = try TextSampler(network: network, vocabulary: vocabulary)
        let prompts = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(
            text.hasSuffix("\n") ? 1 : 0)
        var lines: [String] = []
        if format == .csv {
            lines.append((0..<vocabulary.count).map { "p_\($0)" }.joined(separator: ",") + ",predicted")
        }
        for (row, prompt) in prompts.enumerated() {
            let probabilities = try sampler.nextProbabilities(after: String(prompt))
            let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
            if format == .jsonl {
                lines.append(
                    JSON.object([
                        ("row", .int(row)), ("prompt", .string(String(prompt))),
                        ("probabilities", .array(probabilities.map(JSON.float))),
                        ("predicted", .string(vocabulary.characters[best])),
                    ]).rendered)
            } else {
                lines.append(probabilities.map { "\($0)" }.joined(separator: ",") + ",\(best)")
            }
        }
        let output = lines.joined(separator: "\n") + "\n"
        if let path = self.output {
            try OutputFile.replace(path, with: Data(output.utf8), what: "predictions")
        } else {
            try OutputFile.standardOutput.write(output)
        }
    }

    /// CSV with a header (`p_0,…,p_k,predicted`; `p_1,predicted`; `y_0,…`) or one JSON object per row.
    static func render(_ predictions: [[Float]], loss: LossKind, format: OutputFormat) -> String {
        let width = predictions.first?.count ?? 0
        func predicted(_ row: [Float]) -> Int? {
            switch loss {
            case .crossEntropy: row.indices.max { row[$0] < row[$1] }
            case .bce: row.first.map { $0 >= 0.5 ? 1 : 0 }
            case .mse: nil
            }
        }
        if format == .jsonl {
            return predictions.enumerated().map { index, row in
                var fields: [(String, JSON)] = [("row", .int(index))]
                fields.append((loss == .mse ? "outputs" : "probabilities", .array(row.map(JSON.float))))
                if let label = predicted(row) { fields.append(("predicted", .int(label))) }
                return JSON.object(fields).rendered + "\n"
            }.joined()
        }
        let names =
            loss == .mse
            ? (0..<width).map { "y_\($0)" }
            : loss == .bce ? ["p_1", "predicted"] : (0..<width).map { "p_\($0)" } + ["predicted"]
        var lines = [names.joined(separator: ",")]
        for row in predictions {
            lines.append(
                (row.map { "\($0)" } + (predicted(row).map { ["\($0)"] } ?? [])).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
