import ArgumentParser
import Eta
import Foundation

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on a dataset: the main job.",
        discussion: """
            With no arguments: an MLP (one hidden layer of 128, relu) on the built-in digits with Adam (lr 2e-3), \
            30 epochs of batches of 64, 20% held out for validation.

            --dataset: \(Dataset.builtIn.map(\.name).joined(separator: ", ")), csv:PATH (header detected, \
            --label-column \
            NAME|INDEX, default the last column; features standardised with training-split statistics), idx:DIR \
            (MNIST / Fashion-MNIST IDX files, gzipped or raw; eta data fetch mnist downloads them) or cifar:DIR (the \
            CIFAR-10 binary batches). idx: and cifar: keep the official split: training and validation rows come from \
            the training files, and the test files (t10k-*, test_batch.bin) are never trained on: a completed run \
            reports their loss and accuracy (test_loss, test_accuracy). --input-shape CxHxW reads each row as an \
            image (1x28x28 for CSV rows of 784 pixels); --normalize standard|pixels|none (pixels: divide by 255, the \
            default for images; standard: the default for CSV files).

            Text (with a gpt model): text:PATH reads a UTF-8 file at the character level (Unicode code points; CRLF \
            read as LF); shakespeare is a built-in 1 MB text of eight plays. The first 90% of the characters train \
            and their sorted set is the vocabulary (saved in checkpoints); the last 10% validate. Each epoch takes \
            floor(training characters / context) windows of context + 1 characters at seeded random starts (inputs: \
            the first context, targets: the next character at each position); validation is a fixed set of \
            --val-batches (default 50) batches of windows. Losses are reported in nats and in bits per character \
            (train_bpc, val_bpc = loss / ln 2). Example: --dataset shakespeare --model \
            gpt:layers=4,heads=4,embed=128,context=128 --steps 2000 --optimizer adamw:lr=3e-4.

            Length: --epochs N, --steps N (optimizer steps; with both, whichever comes first; --steps alone counts \
            steps only, the last epoch stopping part-way).

            --model SPEC, one of:
              mlp:hidden=128/64,act=relu|tanh|sigmoid|gelu|identity,init=kaiming|xavier
              softmax
              linear
              cnn:channels=32/64,kernel=3,hidden=128[,batchnorm=true][,dropout=P]   (image inputs CxHxW)
              resnet:blocks=2/2/2,width=16                                        (image inputs CxHxW)
              gpt:layers=4,heads=4,embed=128,context=128[,mlp=4][,dropout=0]      (text datasets)
            cnn: per entry of channels a same-padded Conv2d, ReLU (BatchNorm first with batchnorm=true, the conv then \
            without bias) and 2x2 max pooling; flatten, the hidden dense layers with ReLU (dropout after each), the \
            output layer. resnet: a 3x3 stem, stages of basic blocks (each stage after the first halves the size and \
            doubles the width), global average pooling, a linear classifier. gpt: token and position embeddings, \
            pre-LayerNorm blocks of causal self-attention and a GELU MLP, a final LayerNorm and a linear head. \
            Parameter names and layouts are PyTorch's (conv1.weight [out, in, kh, kw], blocks.0.attn.qkv.weight), \
            so checkpoints load into the equivalent nn.Module (tools/torch_models.py).

            Logs: --log FILE.jsonl (run_start, step every --log-every steps, epoch, run_end; non-finite numbers as \
            "NaN"/"Infinity"), --csv FILE.csv, --plot FILE.svg. Checkpoints: safetensors files in --checkpoint DIR \
            (checkpoint-latest.safetensors, replaced atomically) at the end and every --checkpoint-every epochs; \
            --resume FILE continues bit-identically on the same backend. Ctrl-C stops cleanly with a final checkpoint \
            (exit 130).

            Divergence guard: every --log-every steps the loss is checked before the update is applied; a non-finite \
            loss (or, with --spike-factor K, one above K times its running average) is an anomaly: --on-nonfinite \
            abort ends the run (exit 75), skip drops that update, rollback restores the last good in-memory snapshot \
            and multiplies the lr by --backoff (at most --max-rollbacks times, then abort). Each action is an \
            "anomaly" JSONL record and a line on stderr. Use --log-every 1 to check every step.

            \(Dataset.attribution)
            """)

    static let formats: [OutputFormat] = [.table, .json]

    @OptionGroup var data: ModelDataOptions
    @Option(
        name: .long,
        help: ArgumentHelp("Learning-rate schedule SPEC (see eta schedule --help; default: none).", valueName: "spec"),
        transform: ScheduleArgument.parser)
    var schedule: ScheduleArgument?
    @Option(
        name: .long,
        help: ArgumentHelp("Warmup SPEC run before --schedule (constant, linear or polynomial).", valueName: "spec"),
        transform: ScheduleArgument.parser)
    var warmup: ScheduleArgument?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "When the schedule advances: \(ScheduleInterval.choices) (default: step).", valueName: "interval"),
        transform: ScheduleInterval.parser)
    var scheduleInterval: ScheduleInterval?
    @Option(name: .long, parsing: .unconditional, help: "Epochs (default: 30; with --steps: no limit).")
    var epochs: Int?
    @Option(
        name: .long, parsing: .unconditional,
        help: "Stop after N optimizer steps (with --epochs, whichever comes first; default: epochs alone).")
    var steps: Int?
    @Option(name: .long, parsing: .unconditional, help: "Read the loss and gradient norm every N steps (default: 10).")
    var logEvery: Int?
    @Option(name: .long, help: "JSONL log file.") var log: String?
    @Option(name: .long, help: "CSV log file.") var csv: String?
    @Option(name: .long, help: "SVG plot of losses and learning rate.") var plot: String?
    @Option(name: .long, help: "Folder for checkpoints.") var checkpoint: String?
    @Option(name: .long, parsing: .unconditional, help: "Also checkpoint every N epochs.") var checkpointEvery: Int?
    @Option(name: .long, help: "Continue from a checkpoint file.") var resume: String?
    @OptionGroup var step: StepOptions
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Write TensorBoard event files to this folder: step and epoch scalars, parameter histograms.",
            valueName: "dir"))
    var tensorboard: String?
    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp(
            "With --tensorboard: parameter histograms every N steps too (always at each epoch's end).",
            valueName: "n"))
    var histogramEvery: Int?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Stop after PATIENCE epochs without improvement of the metric (default val_loss; val_accuracy, "
                + "train_loss, train_accuracy) by more than min_delta, as Keras' EarlyStopping.",
            valueName: "patience[,min_delta=D][,metric=M]"),
        transform: { try EarlyStoppingArgument.parse($0) })
    var earlyStop: EarlyStoppingArgument?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --checkpoint: the metric that decides checkpoint-best.safetensors (default: --early-stop's, else "
                + "val_loss).", valueName: "metric"), transform: { try BestMetricArgument.parse($0) })
    var bestMetric: BestMetricArgument?
    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp(
            "Keep an exponential moving average of the parameters (AveragedModel with get_ema_multi_avg_fn(DECAY)); "
                + "validation reports it too, checkpoints hold it.", valueName: "decay"))
    var ema: Double?
    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp(
            "Stochastic weight averaging after this many epochs: the weights at each later epoch's end are averaged "
                + "(AveragedModel), the lr anneals to --swa-lr (SWALR).", valueName: "epochs"))
    var swaStart: Int?
    @Option(name: .long, parsing: .unconditional, help: "SWA: the lr averaging runs at (SWALR's swa_lr).")
    var swaLr: Double?
    @Option(
        name: .long, parsing: .unconditional, help: "SWA: epochs over which the lr anneals to --swa-lr (default 10).")
    var swaAnnealEpochs: Int?
    @Option(
        name: .long, help: ArgumentHelp("SWA: cos | linear (default: cos).", valueName: "strategy"),
        transform: SWAAnneal.parser)
    var swaAnneal: SWAAnneal?

    /// The SWA settings given on the command line; nil without --swa-start.
    var swa: StochasticWeightAveraging? {
        guard let swaStart, let swaLr else { return nil }
        var swa = StochasticWeightAveraging(start: swaStart, learningRate: swaLr)
        if let swaAnnealEpochs { swa.annealEpochs = swaAnnealEpochs }
        if let swaAnneal { swa.anneal = swaAnneal == .linear ? .linear : .cos }
        return swa
    }
    @Option(
        name: .long,
        help: ArgumentHelp(
            "On a non-finite (or spiking) loss: \(DivergenceGuard.Policy.choices) (default: abort).",
            valueName: "policy"),
        transform: DivergenceGuard.Policy.parser)
    var onNonfinite: DivergenceGuard.Policy = .abort
    @Option(
        name: .long, parsing: .unconditional, help: "Treat a loss above K times its running average as an anomaly too.")
    var spikeFactor: Double?
    @Option(name: .long, parsing: .unconditional, help: "rollback: lr multiplier per rollback.") var backoff: Double =
        0.5
    @Option(name: .long, parsing: .unconditional, help: "rollback: rollbacks allowed before aborting.")
    var maxRollbacks: Int = 3
    @Option(
        name: .long,
        help: ArgumentHelp(
            "On NaN or infinite gradients, checked every step on the device: \(NonFiniteGradientPolicy.choices) "
                + "(abort names the tensor; default: off).", valueName: "policy"),
        transform: NonFiniteGradientPolicy.parser)
    var onNonfiniteGrad: NonFiniteGradientPolicy = .off
    @Option(
        name: .long, parsing: .unconditional, help: "skip (loss or gradients): skips allowed in a row before aborting.")
    var maxSkips: Int = 10
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Optimizer state storage: \(StorageType.choices) (float32 arithmetic; 16 bits halve state memory and "
                + "traffic; prefer bf16: fp16's range underflows Adam's squared-gradient average; default: fp32).",
            valueName: "type"),
        transform: StorageType.parser)
    var stateDtype: StorageType?
    @Option(
        name: .long, help: OutputFormat.help(TrainCommand.formats), transform: OutputFormat.parser(TrainCommand.formats)
    )
    var format: OutputFormat = .table
    @Flag(name: .long, help: "No progress output on stderr.") var quiet = false
    @Flag(
        name: .long,
        help: "Under mpirun: after every step, check that every rank holds the same parameters (exit 70 if not).")
    var checkRanks = false
    @Flag(
        name: .long,
        help: "Under mpirun: each rank keeps only its 1/N of the optimizer state (ZeRO stage 1; same trajectory).")
    var shardOptimizerState = false
    @OptionGroup var deviceOptions: DeviceOptions

    /// Range checks of the values given; a resumed run's own values were checked when its checkpoint was read.
    func validate() throws {
        try OptionCheck.atLeast("--epochs", epochs, 0)
        try OptionCheck.atLeast("--steps", steps, 1)
        try OptionCheck.atLeast("--log-every", logEvery, 1)
        try OptionCheck.atLeast("--histogram-every", histogramEvery, 1)
        try OptionCheck.require(
            histogramEvery == nil || tensorboard != nil, "--histogram-every needs --tensorboard DIR")
        try OptionCheck.atLeast("--checkpoint-every", checkpointEvery, 1)
        try OptionCheck.require(
            checkpointEvery == nil || checkpoint != nil, "--checkpoint-every needs --checkpoint DIR")
        try OptionCheck.finite("--spike-factor", spikeFactor, above: 1)
        try OptionCheck.require(
            ema.map { $0 >= 0 && $0 <= 1 } ?? true, "--ema must be a decay in [0, 1], e.g. 0.999 (got \(ema ?? 0))")
        try OptionCheck.require(
            (swaStart == nil) == (swaLr == nil), "--swa-start and --swa-lr go together (SWALR needs swa_lr)")
        try OptionCheck.require(
            swaStart != nil || (swaAnnealEpochs == nil && swaAnneal == nil),
            "--swa-anneal-epochs and --swa-anneal need --swa-start and --swa-lr")
        try OptionCheck.atLeast("--swa-start", swaStart, 0)
        try OptionCheck.finite("--swa-lr", swaLr, above: 0)
        try OptionCheck.atLeast("--swa-anneal-epochs", swaAnnealEpochs, 0)
        try OptionCheck.require(backoff > 0 && backoff < 1, "--backoff must be in (0, 1) (got \(backoff))")
        try OptionCheck.atLeast("--max-rollbacks", maxRollbacks, 0)
        try OptionCheck.atLeast("--max-skips", maxSkips, 0)
        try ScheduleArgument.checkWarmup(warmup)
    }

    func run() throws {
        var exitCode: Int32 = 0
        try Console.reportingErrors {
            exitCode = try TrainingSession(command: self).run()
        }
        if exitCode != 0 { throw ExitCode(exitCode) }
    }
}
