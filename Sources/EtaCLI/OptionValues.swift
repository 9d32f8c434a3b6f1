import ArgumentParser
import Eta
import Foundation

// Typed option values with a syntax of their own: lists, SPECs, device and dataset selectors. Each is read once,
// when the command line is parsed; the library checks the values again (it is used from Swift too).

/// `1,17,1000003`: non-negative integers (`verify --sizes`, `bench --params`).
struct SizeList: OptionValue {
    let values: [Int]

    static func parse(_ text: String) throws -> SizeList {
        SizeList(
            values: try text.split(separator: ",").map { part in
                guard let value = Int(part.trimmingCharacters(in: .whitespaces)), value >= 0 else {
                    throw ValidationError("invalid size '\(part)': expected non-negative integers, e.g. 0,1,17,1000003")
                }
                return value
            })
    }
}

/// `-1.5,2`: finite numbers (`explore --start`, `--curvature`). A negative first value is written `--start=-1.5,2`.
struct NumberList: OptionValue {
    /// As given, for summaries.
    let text: String
    let values: [Float]

    static func parse(_ text: String) throws -> NumberList {
        NumberList(
            text: text,
            values: try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
                guard let value = Float(part.trimmingCharacters(in: .whitespaces)), value.isFinite else {
                    throw ValidationError(
                        "invalid number '\(part)': expected finite numbers separated by commas (a negative first "
                            + "value: --start=-1.5,2)"
                    )
                }
                return value
            })
    }
}

/// `fp32,bf16`: storage types (`bench --state-dtype`, `--param-dtype`).
struct StorageTypeList: OptionValue {
    let values: [StorageType]

    static func parse(_ text: String) throws -> StorageTypeList {
        StorageTypeList(
            values: try text.split(separator: ",").map { name in
                try StorageType.parse(name.trimmingCharacters(in: .whitespaces))
            })
    }
}

/// `sweep --lrs a,b,c` or `--log-range lo:hi:n`: the learning rates of the replicas.
struct LearningRates {
    let values: [Double]

    static func parse(list text: String) throws -> LearningRates {
        LearningRates(values: try Sweep.learningRates(list: text, logRange: nil))
    }

    static func parse(logRange text: String) throws -> LearningRates {
        LearningRates(values: try Sweep.learningRates(list: nil, logRange: text))
    }
}

/// A schedule SPEC with its text, which logs and checkpoints record as given.
struct ScheduleArgument: OptionValue {
    let spec: String
    let schedule: Schedule

    static func parse(_ text: String) throws -> ScheduleArgument {
        ScheduleArgument(spec: text, schedule: try Schedule(spec: text))
    }

    /// A warmup must know its length: constant, linear or polynomial (their `total_iters`).
    static func checkWarmup(_ warmup: ScheduleArgument?) throws {
        guard let warmup else { return }
        try OptionCheck.require(
            warmup.schedule.warmupLength != nil,
            "--warmup takes constant, linear or polynomial (their total_iters is the warmup length); got "
                + "'\(warmup.spec)'"
        )
    }
}

/// `bench --optimizer`: comma-separated optimizer SPECs, or `all`.
enum OptimizerSelection: OptionValue {
    case all
    case specs([String])

    static func parse(_ text: String) throws -> OptimizerSelection {
        if text == "all" { return .all }
        let specs = splitSpecs(text)
        for spec in specs { _ = try OptimizerConfiguration(spec: spec) }
        return .specs(specs)
    }

    /// Splits `adam,sgd:lr=0.1,momentum=0.9` into SPECs: a new SPEC starts at each optimizer name.
    static func splitSpecs(_ text: String) -> [String] {
        var specs: [String] = []
        for part in text.split(separator: ",") {
            let head = part.split(separator: ":").first.map(String.init)?.lowercased() ?? ""
            if OptimizerConfiguration.names.contains(head) || specs.isEmpty {
                specs.append(String(part))
            } else {
                specs[specs.count - 1] += "," + part
            }
        }
        return specs
    }
}

/// `--device`: auto | cpu | opencl | opencl:N | a device-name substring. The syntax is checked here (after
/// `opencl:` comes a device index); whether that device exists is known only when it is resolved (exit 69).
struct DeviceSelector: OptionValue {
    let text: String

    static func parse(_ text: String) throws -> DeviceSelector {
        let lowered = text.trimmingCharacters(in: .whitespaces).lowercased()
        if lowered.hasPrefix("opencl:") {
            guard let index = Int(lowered.dropFirst("opencl:".count)), index >= 0 else {
                throw ValidationError("expected opencl:N with N a device index (0, 1, ...: see eta devices)")
            }
        }
        return DeviceSelector(text: text)
    }
}

/// `--dataset`: a built-in name, `csv:PATH`, `idx:DIR` or `cifar:DIR`. Files are read (and their errors reported)
/// when training starts.
struct DatasetSource: OptionValue {
    let text: String

    var isCSV: Bool { text.hasPrefix("csv:") }
    /// `text:PATH` or the built-in `shakespeare`.
    var isText: Bool { Dataset.isText(text) }

    static func parse(_ text: String) throws -> DatasetSource {
        guard
            ["csv:", "idx:", "cifar:", "text:"].contains(where: text.hasPrefix)
                || Dataset.builtIn.contains(where: { $0.name == text })
        else {
            throw ValidationError(
                "unknown dataset; valid values are \(Dataset.builtIn.map(\.name).joined(separator: ", ")), csv:PATH, "
                    + "idx:DIR, cifar:DIR, text:PATH"
            )
        }
        return DatasetSource(text: text)
    }
}

/// `--input-shape 1x28x28`: the shape each row's features are read in (checked against the data when it loads).
struct InputShape: OptionValue {
    let shape: [Int]

    static func parse(_ text: String) throws -> InputShape {
        do { return InputShape(shape: try Dataset.parseShape(text)) } catch let error as EtaError {
            throw ValidationError(error.message)
        }
    }
}

extension OptimizerConfiguration: ExpressibleByArgument, OptionValue {
    static func parse(_ text: String) throws -> OptimizerConfiguration { try OptimizerConfiguration(spec: text) }
}

extension ModelSpec: ExpressibleByArgument, OptionValue {
    static func parse(_ text: String) throws -> ModelSpec { try ModelSpec(parsing: text) }
}

extension ParameterGroup: ExpressibleByArgument, OptionValue {
    static func parse(_ text: String) throws -> ParameterGroup { try ParameterGroup(spec: text) }
}

extension Parametrization: ExpressibleByArgument, OptionValue {
    static func parse(_ text: String) throws -> Parametrization { try Parametrization(spec: text) }
}

/// `--early-stop PATIENCE[,min_delta=D][,metric=M]`.
struct EarlyStoppingArgument: OptionValue {
    let value: EarlyStopping
    static func parse(_ text: String) throws -> EarlyStoppingArgument {
        do { return EarlyStoppingArgument(value: try EarlyStopping(spec: text)) } catch let error as EtaError {
            throw ValidationError(error.message)
        }
    }
}

/// `--best-metric val_loss|val_accuracy|train_loss|train_accuracy`.
struct BestMetricArgument: OptionValue {
    let value: EpochMetric
    static func parse(_ text: String) throws -> BestMetricArgument {
        guard let metric = EpochMetric(rawValue: text) else {
            throw ValidationError(
                "unknown metric; valid values are \(EpochMetric.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return BestMetricArgument(value: metric)
    }
}
