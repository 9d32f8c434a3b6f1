import ArgumentParser
import Eta

/// `--weights model|ema|swa`, shared by the commands that read a checkpoint's model (sample, eval, predict, export).
struct WeightsOption: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "model | ema | swa: the trained weights or an average the checkpoint holds (default: model).",
            valueName: "weights"),
        transform: CheckpointWeights.parser)
    var weights: CheckpointWeights = .model

    /// The library's choice.
    var choice: Checkpoint.Weights { weights.choice }
}
