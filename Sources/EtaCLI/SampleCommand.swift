import ArgumentParser
import Eta
import Foundation

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate text from a trained GPT checkpoint.",
        discussion: """
            Reads a checkpoint written by eta train on a text dataset (its model SPEC and vocabulary are in it), \
            then continues --prompt one character at a time: each drawn from softmax(logits / --temperature) at the \
            last position of the window of the last context characters (--temperature 0 takes the most likely one), \
            seeded by --seed, as nanoGPT's generate does. Writes the prompt and the generated text to stdout as they \
            come. A checkpoint of another model kind or without a vocabulary exits 65; a prompt character outside \
            the vocabulary exits 64.
            """)

    @Option(name: .long, help: "The checkpoint (checkpoint-latest.safetensors of a text run).")
    var checkpoint: String
    @Option(name: .long, help: "Text to continue (default: a newline).") var prompt = ""
    @Option(name: .long, help: "Characters to generate (default: 500).") var tokens = 500
    @Option(name: .long, help: "Divides the logits; 0 is greedy (default: 1).") var temperature = 1.0
    @Option(name: .long, help: "Seed of the draws (default: 0).") var seed: UInt64 = 0
    @OptionGroup var weights: WeightsOption
    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        try OptionCheck.within("--tokens", tokens, 0...RunLimits.steps)
        try OptionCheck.finite("--temperature", temperature, atLeast: 0)
    }

    func run() throws {
        try Distributed.requireSingleProcess("sample")
        try Console.reportingErrors {
            let file = try Checkpoint.read(from: URL(fileURLWithPath: checkpoint))
            let spec = try file.modelSpec()
            guard spec.readsTokens else {
                throw EtaError(
                    .dataError, "\(checkpoint) holds a \(spec.kind) model (\(spec.spec)); eta sample needs a gpt model")
            }
            guard let vocabulary = file.vocabulary else {
                throw EtaError(.dataError, "\(checkpoint) holds no vocabulary: it was not trained on a text dataset")
            }
            let backend = try deviceOptions.makeBackend()
            let model = try spec.architecture(inputShape: [spec.context], outputs: vocabulary.count)
            let network = try Network(
                architecture: model, loss: .crossEntropy, optimizer: try OptimizerConfiguration(spec: "sgd"),
                maxBatch: 1, backend: backend)
            try file.loadModel(into: network, weights: weights.choice)
            let sampler = try TextSampler(network: network, vocabulary: vocabulary)
            _ = try vocabulary.encode(prompt)  // an unknown character fails before anything is written
            try OutputFile.standardOutput.write(prompt)
            var failure: Error?
            try sampler.generate(prompt: prompt, tokens: tokens, temperature: temperature, seed: seed) { text in
                guard failure == nil else { return }
                do { try OutputFile.standardOutput.write(text) } catch { failure = error }
            }
            if let failure { throw failure }
            try OutputFile.standardOutput.write("\n")
        }
    }
}
