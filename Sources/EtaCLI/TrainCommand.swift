import ArgumentParser
import Eta
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model on a dataset: the main job.",
        discussion: """
        With no arguments: an MLP (one hidden layer of 128, relu) on the built-in digits with Adam (lr 2e-3), 30 epochs
        of batches of 64, 20% held out for validation.

        --dataset: \(Dataset.builtIn.map(\.name).joined(separator: ", ")), csv:PATH (header detected, --label-column \
        NAME|INDEX, default the last column; features standardised with training-split statistics) or idx:DIR \
        (MNIST / Fashion-MNIST IDX files, gzipped or raw).
        --model: mlp:hidden=128/64,act=relu|tanh|sigmoid|gelu|identity,init=kaiming|xavier | softmax | linear

        Logs: --log FILE.jsonl (run_start, step every --log-every steps, epoch, run_end; non-finite numbers as \
        "NaN"/"Infinity"), --csv FILE.csv, --plot FILE.svg. Checkpoints: safetensors files in --checkpoint DIR \
        (checkpoint-latest.safetensors, replaced atomically) at the end and every --checkpoint-every epochs; \
        --resume FILE continues bit-identically on the same backend. Ctrl-C stops cleanly with a final checkpoint \
        (exit 130).

        Divergence guard: every --log-every steps the loss is checked before the update is applied; a non-finite         loss (or, with --spike-factor K, one above K times its running average) is an anomaly: --on-nonfinite         abort ends the run (exit 75), skip drops that update, rollback restores the last good in-memory snapshot         and multiplies the lr by --backoff (at most --max-rollbacks times, then abort). Each action is an         "anomaly" JSONL record and a line on stderr. Use --log-every 1 to check every step.

        \(Dataset.attribution)
        """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

    @OptionGroup var data: ModelDataOptions
    @Option(name: .long, help: "Learning-rate schedule SPEC (see eta schedule --help; default none).") var schedule: String?
    @Option(name: .long, help: "Warmup SPEC run before --schedule (constant, linear or polynomial).") var warmup: String?
    @Option(name: .long, help: "Advance the schedule every step or every epoch.") var scheduleInterval: String?
    @Option(name: .long, parsing: .unconditional, help: "Epochs.") var epochs: Int?
    @Option(name: .long, parsing: .unconditional, help: "Read the loss and gradient norm every N steps.") var logEvery: Int = 10
    @Option(name: .long, help: "JSONL log file.") var log: String?
    @Option(name: .long, help: "CSV log file.") var csv: String?
    @Option(name: .long, help: "SVG plot of losses and learning rate.") var plot: String?
    @Option(name: .long, help: "Folder for checkpoints.") var checkpoint: String?
    @Option(name: .long, parsing: .unconditional, help: "Also checkpoint every N epochs.") var checkpointEvery: Int?
    @Option(name: .long, help: "Continue from a checkpoint file.") var resume: String?
    @Option(name: .long, parsing: .unconditional, help: "Accumulate the gradients of K mini-batches before each optimizer step.") var accumulate: Int?
    @Option(name: .long, help: "mean (the average of the K gradients, PyTorch's loss / K) | sum.") var accumulateMode: String?
    @Option(name: .long, parsing: .unconditional, help: "Clip the gradients' global L2 norm to this (clip_grad_norm_; the logged grad_norm is the pre-clip one).") var clipGradNorm: Double?
    @Option(name: .long, parsing: .unconditional, help: "Clamp each gradient element to plus or minus this (clip_grad_value_).") var clipGradValue: Double?
    @Option(name: .long, help: "On a non-finite (or spiking) loss: abort | skip | rollback.") var onNonfinite: String = "abort"
    @Option(name: .long, parsing: .unconditional, help: "Treat a loss above K times its running average as an anomaly too.") var spikeFactor: Double?
    @Option(name: .long, parsing: .unconditional, help: "rollback: lr multiplier per rollback.") var backoff: Double = 0.5
    @Option(name: .long, parsing: .unconditional, help: "rollback: rollbacks allowed before aborting.") var maxRollbacks: Int = 3
    @Option(name: .long, help: "On NaN or infinite gradients, checked every step on the device: off | skip | abort (names the tensor).") var onNonfiniteGrad: String = "off"
    @Option(name: .long, parsing: .unconditional, help: "skip (loss or gradients): skips allowed in a row before aborting.") var maxSkips: Int = 10
    @Option(name: .long, help: "Optimizer state storage: fp32 | bf16 | fp16 (float32 arithmetic; 16 bits halve state memory and traffic; prefer bf16: fp16's range underflows Adam's squared-gradient average).") var stateDtype: String?
    @Option(name: .long, help: ArgumentHelp("A parameter group PATTERN[:lr_scale=X,weight_decay=Y] over tensor names (layer0.weight, layer0.bias, ...; glob patterns); repeatable, the first match wins.", valueName: "spec")) var paramGroup: [String] = []
    @Option(name: .long, help: ArgumentHelp("Exclude tensors matching this glob from weight decay (e.g. '*.bias'); repeatable. Same as --param-group PATTERN:weight_decay=0.", valueName: "pattern")) var noDecay: [String] = []
    @Option(name: .long, help: "table | json") var format: Format = .table
    @Flag(name: .long, help: "No progress output on stderr.") var quiet = false
    @OptionGroup var deviceOptions: DeviceOptions

    /// Range checks of the options the library does not see (the rest are checked where they are used).
    func validateRanges() throws {
        if let epochs, epochs < 0 { throw EtaError(.usage, "--epochs must be >= 0 (got \(epochs))") }
        if let every = checkpointEvery, every < 1 { throw EtaError(.usage, "--checkpoint-every must be >= 1 epoch (got \(every))") }
        if checkpointEvery != nil && checkpoint == nil { throw EtaError(.usage, "--checkpoint-every needs --checkpoint DIR") }
        guard logEvery >= 1 else { throw EtaError(.usage, "--log-every must be >= 1 (got \(logEvery))") }
    }

    func run() throws {
        var exitCode: Int32 = 0
        try Console.reportingErrors {
            exitCode = try TrainingSession(command: self).run()
        }
        if exitCode != 0 { throw ExitCode(exitCode) }
    }
}

/// The dataset, model and optimizer options that `train`, `lr-find` and `sweep` share.
struct ModelDataOptions: ParsableArguments {
    @Option(name: .long, help: "digits | iris | breast_cancer | wine | diabetes | csv:PATH | idx:DIR") var dataset: String?
    @Option(name: .long, help: "CSV label column: a header name or a 1-based index (default: the last column).") var labelColumn: String?
    @Option(name: .long, help: "CSV task: auto | classification | regression.") var task: String = "auto"
    @Option(name: .long, help: "Model SPEC (default mlp:hidden=128,act=relu).") var model: String?
    @Option(name: .long, help: "Optimizer SPEC (default adam:lr=2e-3).") var optimizer: String?
    @Option(name: .long, help: "Loss: cross_entropy | bce | mse (default: cross_entropy for classes, mse for regression).") var loss: String?
    @Option(name: .long, parsing: .unconditional, help: "Mini-batch size (the last partial batch is kept).") var batchSize: Int?
    @Option(name: .long, parsing: .unconditional, help: "Seed for initialisation, split and shuffling.") var seed: UInt64?
    @Option(name: .long, parsing: .unconditional, help: "Fraction of rows held out for validation.") var valFraction: Double?

    /// The configuration these options describe; `metadata` (a checkpoint's) fills what they leave out.
    func configuration(metadata: [String: String] = [:]) throws -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.dataset = dataset ?? metadata["dataset"] ?? c.dataset
        c.labelColumn = labelColumn ?? metadata["label_column"]
        c.task = metadata["task"].flatMap { task == "auto" ? $0 : nil } ?? task
        if let model = model ?? metadata["model"] { c.model = try ModelSpec(parsing: model) }
        if let optimizer = optimizer ?? metadata["optimizer"] { c.optimizer = try OptimizerConfiguration(spec: optimizer) }
        if let loss = loss ?? metadata["loss"] {
            guard let kind = LossKind(rawValue: loss) else {
                throw EtaError(.usage, "unknown loss '\(loss)'; valid: \(LossKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.loss = kind
        }
        c.batchSize = batchSize ?? metadata["batch_size"].flatMap(Int.init) ?? c.batchSize
        c.seed = seed ?? metadata["seed"].flatMap { UInt64($0) } ?? c.seed
        // Logs and checkpoints carry the seed as a JSON integer: 0...2^63-1.
        guard c.seed <= UInt64(Int.max) else { throw EtaError(.usage, "--seed must be in 0...\(Int.max) (got \(c.seed))") }
        c.validationFraction = valFraction ?? metadata["val_fraction"].flatMap(Double.init) ?? c.validationFraction
        return c
    }
}
