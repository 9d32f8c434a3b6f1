import ArgumentParser
import Eta

/// The dataset, model and optimizer options that `train`, `lr-find` and `sweep` share.
struct ModelDataOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "\(Dataset.builtIn.map(\.name).joined(separator: " | ")) | csv:PATH | idx:DIR | cifar:DIR | text:PATH "
                + "(default: digits; text needs a gpt model).",
            valueName: "dataset"),
        completion: .list(Dataset.builtIn.map(\.name) + ["csv:", "idx:", "cifar:", "text:"]),
        transform: DatasetSource.parser)
    var dataset: DatasetSource?
    @Option(name: .long, help: "CSV label column: a header name or a 1-based index (default: the last column).")
    var labelColumn: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Read each row as a CxHxW image, e.g. 1x28x28 for CSV rows of 784 pixels (C*H*W must equal the feature "
                + "count; default: the dataset's shape).", valueName: "shape"),
        transform: InputShape.parser)
    var inputShape: InputShape?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Feature scaling: \(Normalization.choices): standard uses the training rows' mean and deviation, pixels "
                + "divides by 255 (default: pixels for idx: and cifar:, standard for csv:).", valueName: "mode"),
        transform: Normalization.parser)
    var normalize: Normalization?
    @Option(
        name: .long, help: ArgumentHelp("CSV task: \(TaskChoice.choices) (default: auto).", valueName: "task"),
        transform: TaskChoice.parser)
    var task: TaskChoice?
    @Option(
        name: .long, help: ArgumentHelp("Model SPEC (default: mlp:hidden=128,act=relu).", valueName: "spec"),
        completion: .list(ModelSpec.kinds.map { $0 + ":" }), transform: ModelSpec.parser)
    var model: ModelSpec?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "standard, or mup:base_width=W: μP against the same model at width W (the MLP's first hidden width, the "
                + "CNN's first channels, the GPT's embedding), so a learning rate tuned at W transfers.",
            valueName: "spec"), completion: .list(["standard", "mup:base_width="]), transform: Parametrization.parser)
    var parametrization: Parametrization?
    @Option(
        name: .long, help: ArgumentHelp("Optimizer SPEC (default: adam:lr=2e-3).", valueName: "spec"),
        completion: .list(OptimizerConfiguration.names.map { $0 + ":" }), transform: OptimizerConfiguration.parser)
    var optimizer: OptimizerConfiguration?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Muon: the optimizer of the tensors with fewer than two dimensions (default: adamw:lr=3e-4,beta2=0.95).",
            valueName: "spec"), transform: OptimizerConfiguration.parser)
    var auxOptimizer: OptimizerConfiguration?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Loss: \(LossKind.choices) (default: cross_entropy for classes, mse for regression).",
            valueName: "loss"), transform: LossKind.parser)
    var loss: LossKind?
    @Option(
        name: .long, parsing: .unconditional, help: "Mini-batch size (the last partial batch is kept; default: 64).")
    var batchSize: Int?
    @Option(name: .long, parsing: .unconditional, help: "Seed for initialisation, split and shuffling (default: 0).")
    var seed: UInt64?
    @Option(
        name: .long, parsing: .unconditional,
        help: "Fraction of rows held out for validation (default: 0.2; text datasets validate on their last 10%).")
    var valFraction: Double?
    @Option(
        name: .long, parsing: .unconditional,
        help: "Text datasets: validation batches of --batch-size windows, drawn once from the last 10% (default: 50).")
    var valBatches: Int?

    func validate() throws {
        try OptionCheck.atLeast("--batch-size", batchSize, 1)
        // Logs and checkpoints carry the seed as a JSON integer: 0...2^63-1.
        if let seed {
            try OptionCheck.require(seed <= UInt64(Int.max), "--seed must be in 0...\(Int.max) (got \(seed))")
        }
        try OptionCheck.fraction("--val-fraction", valFraction)
        try OptionCheck.atLeast("--val-batches", valBatches, 0)
        if let dataset {
            try OptionCheck.require(
                labelColumn == nil || dataset.isCSV,
                "--label-column applies to csv: datasets only (got --dataset \(dataset.text))")
            try OptionCheck.require(
                valFraction == nil || !dataset.isText,
                "--val-fraction does not apply to text datasets (got --dataset \(dataset.text)): the last 10% of the "
                    + "characters validate; --val-batches sets how many windows")
            try OptionCheck.require(
                valBatches == nil || dataset.isText,
                "--val-batches applies to text datasets (text:PATH, shakespeare) only (got --dataset "
                    + "\(dataset.text)); other datasets hold out --val-fraction of their rows")
        }
    }

    /// The configuration these options describe; `metadata` (a checkpoint's, checked when it was read) fills what
    /// they leave out.
    func configuration(metadata: [String: String] = [:]) throws -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.dataset = dataset?.text ?? metadata["dataset"] ?? c.dataset
        c.labelColumn = labelColumn ?? metadata["label_column"]
        c.inputShape = try inputShape?.shape ?? metadata["input_shape"].map(Dataset.parseShape)
        c.normalization = try normalize ?? metadata["normalize"].map { try savedChoice($0, key: "normalize") }
        c.task = task?.rawValue ?? metadata["task"] ?? c.task
        if let model {
            c.model = model
        } else if let saved = metadata["model"] {
            c.model = try ModelSpec(parsing: saved)
        }
        if let text = metadata["parametrization"] { c.model.parametrization = try Parametrization(spec: text) }
        if let parametrization { c.model.parametrization = parametrization }
        if let optimizer {
            c.optimizer = optimizer
        } else if let saved = metadata["optimizer"] {
            c.optimizer = try OptimizerConfiguration(spec: saved)
            if let aux = metadata["aux_optimizer"] {
                c.optimizer = try c.optimizer.withAuxiliary(try OptimizerConfiguration(spec: aux))
            }
        }
        if let auxOptimizer { c.optimizer = try c.optimizer.withAuxiliary(auxOptimizer) }
        c.loss = try loss ?? metadata["loss"].map { try savedChoice($0, key: "loss") }
        c.batchSize = batchSize ?? metadata["batch_size"].flatMap(Int.init) ?? c.batchSize
        c.seed = seed ?? metadata["seed"].flatMap { UInt64($0) } ?? c.seed
        c.validationFraction = valFraction ?? metadata["val_fraction"].flatMap(Double.init) ?? c.validationFraction
        c.validationBatches = valBatches ?? metadata["val_batches"].flatMap(Int.init) ?? c.validationBatches
        return c
    }
}

/// A checkpoint's value of an enum field. `Checkpoint.read` has checked it against the same cases; a value that
/// still fails is a damaged checkpoint (exit 65), never a usage error.
func savedChoice<T: OptionChoice>(_ text: String, key: String) throws -> T {
    guard let value = T(rawValue: text) else {
        throw EtaError(.dataError, "checkpoint check '\(key)' failed: '\(key)' is \"\(text)\"; valid: \(T.choices)")
    }
    return value
}
