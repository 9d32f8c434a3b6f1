import Foundation

/// Generates text from a trained character-level GPT: the prompt's characters as token ids, then one token at a time,
/// each drawn from softmax(logits / temperature) at the last position of the window (the last `context` tokens,
/// at positions 0 ..< n; later positions are padding the causal mask keeps from the answer), as nanoGPT's `generate`
/// does.
///
/// ```swift
/// let sampler = try TextSampler(network: network, vocabulary: checkpoint.vocabulary!)
/// let text = try sampler.generate(prompt: "ROMEO:", tokens: 200, temperature: 0.8, seed: 1)
/// ```
public struct TextSampler {
    /// The GPT, batch 1.
    public let network: Network
    /// The characters (Unicode scalars), by token id.
    public let vocabulary: TextVocabulary
    private let input: DeviceBuffer

    /// - Parameters:
    ///   - network: A GPT network whose outputs are `vocabulary.count` logits per position.
    ///   - vocabulary: The characters by token id (`Checkpoint.vocabulary`).
    /// - Throws: `EtaError` `.usage` when the network is not a GPT, `.dataError` when the vocabulary does not match
    ///   its outputs.
    public init(network: Network, vocabulary: TextVocabulary) throws {
        guard network.architecture.readsTokens else {
            throw EtaError(.usage, "eta sample needs a gpt model; this checkpoint holds a model of another kind")
        }
        guard vocabulary.count == network.architecture.outputShape.channels else {
            throw EtaError(
                .dataError,
                "the vocabulary has \(vocabulary.count) characters; the model predicts "
                    + "\(network.architecture.outputShape.channels) tokens")
        }
        self.network = network
        self.vocabulary = vocabulary
        input = try network.backend.makeBuffer(count: network.architecture.inputShape.count)
    }

    /// `tokens` new characters after `prompt` (an empty prompt starts from a newline when the vocabulary has one,
    /// else from token 0).
    ///
    /// - Parameters:
    ///   - prompt: The text to continue.
    ///   - tokens: Characters to generate, at least 0.
    ///   - temperature: Divides the logits; 0 takes the most likely token every time.
    ///   - seed: The seed of the draws.
    ///   - emit: Called with each new character as it is drawn.
    /// - Returns: The generated characters (without the prompt).
    /// - Throws: `EtaError` `.usage` for a character outside the vocabulary or a negative count or temperature; the
    ///   backend's error.
    @discardableResult
    public func generate(
        prompt: String, tokens: Int, temperature: Double, seed: UInt64, emit: (String) -> Void = { _ in }
    ) throws -> String {
        guard tokens >= 0 else { throw EtaError(.usage, "the token count must be >= 0 (got \(tokens))") }
        guard temperature >= 0, temperature.isFinite else {
            throw EtaError(.usage, "the temperature must be finite and >= 0 (got \(temperature))")
        }
        var context = try vocabulary.encode(prompt)
        if context.isEmpty { context = [vocabulary.id(of: "\n") ?? 0] }
        var random = SplitMix64(seed: seed)
        var generated = ""
        for _ in 0..<tokens {
            let next = Self.draw(try nextLogits(context).map(Double.init), temperature: temperature, random: &random)
            context.append(next)
            let character = vocabulary.characters[next]
            generated += character
            emit(character)
        }
        return generated
    }

    /// The logits of the character after `context` (its last `context` tokens; a shorter one padded after its end,
    /// which causal attention never reads).
    func nextLogits(_ context: [Int]) throws -> [Float] {
        let length = network.architecture.inputShape.count, classes = vocabulary.count
        let window = Array(context.suffix(length))
        try network.backend.write(
            (window + [Int](repeating: 0, count: length - window.count)).map(Float.init), to: input)
        try network.forward(input: input, inputOffset: 0, rows: 1)
        let logits = try network.readOutputs(rows: 1)
        return Array(logits[((window.count - 1) * classes)..<(window.count * classes)])
    }

    /// The probability of every character of the vocabulary to come after `prompt` (softmax of the model's logits at
    /// the prompt's last position).
    ///
    /// - Parameter prompt: Text of the vocabulary's characters (empty: after a newline, as ``generate``).
    /// - Returns: One probability per token id.
    /// - Throws: `EtaError` `.dataError` naming a character outside the vocabulary; the backend's error.
    public func nextProbabilities(after prompt: String) throws -> [Float] {
        var context: [Int]
        do { context = try vocabulary.encode(prompt) } catch let error as EtaError {
            throw EtaError(.dataError, error.message)
        }
        if context.isEmpty { context = [vocabulary.id(of: "\n") ?? 0] }
        return Predictor.link(try nextLogits(context), .crossEntropy)
    }

    /// A token drawn from softmax(logits / temperature), or the argmax at temperature 0 (the first on a tie).
    static func draw(_ logits: [Double], temperature: Double, random: inout SplitMix64) -> Int {
        let best = logits.indices.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) }!
        guard temperature > 0 else { return best }
        let weights = logits.map { Foundation.exp(($0 - logits[best]) / temperature) }
        var target = Double(random.next() >> 11) * 0x1p-53 * weights.reduce(0, +)
        for (index, weight) in weights.enumerated() {
            target -= weight
            if target < 0 { return index }
        }
        return best
    }
}
