import ArgumentParser
import Eta

/// What one optimizer step is made of, shared by `train` and `lr-find` (so the LR range test steps as the run will):
/// gradient accumulation, clipping and parameter groups.
struct StepOptions: ParsableArguments {
    @Option(
        name: .long, parsing: .unconditional,
        help: "Accumulate the gradients of K mini-batches before each optimizer step.") var accumulate: Int?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "mean (the average of the K gradients, PyTorch's loss / K) | sum (default: mean).", valueName: "mode"),
        transform: AccumulationMode.parser)
    var accumulateMode: AccumulationMode?
    @Option(
        name: .long, parsing: .unconditional,
        help: "Clip the gradients' global L2 norm to this (clip_grad_norm_; the logged grad_norm is the pre-clip one).")
    var clipGradNorm: Double?
    @Option(
        name: .long, parsing: .unconditional,
        help: "Clamp each gradient element to plus or minus this (clip_grad_value_).") var clipGradValue: Double?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "A parameter group PATTERN[:lr_scale=X,weight_decay=Y] over tensor names (layer0.weight, layer0.bias, "
                + "...; glob patterns); repeatable, the first match wins.", valueName: "spec"),
        transform: ParameterGroup.parser)
    var paramGroup: [ParameterGroup] = []
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Exclude tensors matching this glob from weight decay (e.g. '*.bias'); repeatable. "
                + "Same as --param-group PATTERN:weight_decay=0.", valueName: "pattern"))
    var noDecay: [String] = []

    func validate() throws {
        try OptionCheck.atLeast("--accumulate", accumulate, 1)
        try OptionCheck.finite("--clip-grad-norm", clipGradNorm, above: 0)
        try OptionCheck.finite("--clip-grad-value", clipGradValue, above: 0)
    }

    /// The groups given: `--param-group`s, then `--no-decay` patterns as groups without weight decay.
    var parameterGroups: [ParameterGroup] {
        paramGroup + noDecay.map { ParameterGroup(pattern: $0, weightDecay: 0) }
    }

    /// Sets what was given on `configuration` (a resumed `train` run fills the rest from its checkpoint).
    func apply(to configuration: inout TrainingConfiguration) {
        if !parameterGroups.isEmpty { configuration.parameterGroups = parameterGroups }
        if let accumulate { configuration.accumulationSteps = accumulate }
        if let accumulateMode { configuration.accumulationMean = accumulateMode == .mean }
        configuration.clipGradNorm = clipGradNorm
        configuration.clipGradValue = clipGradValue
    }
}
