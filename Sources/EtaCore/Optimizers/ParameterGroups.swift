#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A parameter group: the tensors whose names match `pattern` (a shell glob such as `*.bias` or `layer0.*`) take
/// `lrScale` times the scheduled lr and their own weight decay (0 excludes them from decay, as practitioners do for
/// biases and norms). Tensors no group matches use the optimizer's values; the first matching group wins.
///
/// ```swift
/// let noDecay = try ParameterGroup(spec: "*.bias:weight_decay=0")
/// let slowFirstLayer = try ParameterGroup(spec: "layer0.*:lr_scale=0.1")
/// ```
public struct ParameterGroup: Equatable, Sendable {
    /// The shell glob tensor names are matched against, e.g. `*.bias`.
    public var pattern: String
    /// The factor on the scheduled learning rate.
    public var lrScale: Double
    /// nil: the optimizer's weight_decay.
    public var weightDecay: Double?

    /// - Parameters:
    ///   - pattern: A shell glob over tensor names, e.g. `layer0.*`.
    ///   - lrScale: The factor on the scheduled learning rate.
    ///   - weightDecay: The group's weight decay; nil: the optimizer's.
    public init(pattern: String, lrScale: Double = 1, weightDecay: Double? = nil) {
        (self.pattern, self.lrScale, self.weightDecay) = (pattern, lrScale, weightDecay)
    }

    /// Parses `PATTERN[:lr_scale=X][,weight_decay=Y]`; throws a usage error naming the bad part.
    ///
    /// - Parameter spec: `PATTERN[:lr_scale=X][,weight_decay=Y]`, values finite and ≥ 0.
    /// - Throws: `EtaError` `.usage` for an empty pattern, a malformed or negative value, or an unknown key.
    public init(spec: String) throws {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let pattern = parts.first, !pattern.isEmpty else {
            throw EtaError(
                .usage,
                "parameter group '\(spec)': expected PATTERN[:lr_scale=X,weight_decay=Y], e.g. '*.bias:weight_decay=0'")
        }
        self.init(pattern: pattern)
        for pair in (parts.count > 1 ? parts[1] : "").split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let value = Double(kv[1]), value.isFinite, value >= 0 else {
                throw EtaError(
                    .usage,
                    "parameter group '\(spec)': '\(pair)' must be lr_scale=X or weight_decay=Y "
                        + "with a finite number >= 0"
                )
            }
            switch kv[0] {
            case "lr_scale": lrScale = value
            case "weight_decay": weightDecay = value
            default:
                throw EtaError(
                    .usage, "parameter group '\(spec)': unknown key '\(kv[0])'; valid keys: lr_scale, weight_decay")
            }
        }
    }

    /// Whether `name` matches the pattern (fnmatch(3) rules).
    ///
    /// - Parameter name: A tensor name, e.g. `layer0.weight`.
    /// - Returns: Whether the glob matches it.
    public func matches(_ name: String) -> Bool { fnmatch(pattern, name, 0) == 0 }

    /// The group index of each tensor of `layout`: 0 for the optimizer's defaults, i + 1 for `groups[i]`.
    ///
    /// - Parameters:
    ///   - groups: The groups, first match wins.
    ///   - layout: The arena's tensors.
    /// - Returns: One group index per entry of `layout`.
    public static func assignment(_ groups: [ParameterGroup], layout: TensorLayout) -> [Int] {
        layout.entries.map { entry in groups.firstIndex { $0.matches(entry.name) }.map { $0 + 1 } ?? 0 }
    }
}

extension Optimizer {
    /// The group of every chunk of `arena` and the runs of each group (groups are per tensor; tensors start at
    /// chunk multiples).
    func makeGroupLayout(_ arena: ParameterArena) throws -> GroupLayout {
        let layout = arena.layout, chunk = GroupLayout.chunk
        guard layout.entries.allSatisfy({ $0.offset % chunk == 0 }) else {
            throw EtaError(
                .software, "parameter groups need tensors aligned to \(chunk) elements (TensorLayout alignment)")
        }
        guard groups.count < 255 else { throw EtaError(.usage, "at most 254 parameter groups (got \(groups.count))") }
        let assignment = ParameterGroup.assignment(groups, layout: layout)
        var chunkGroups = [UInt8](repeating: 0, count: (layout.count + chunk - 1) / chunk)
        var ranges: [GroupRange] = []
        for (entry, group) in zip(layout.entries, assignment) where entry.count > 0 {
            // Up to the next tensor (or the end): the padding after a tensor belongs to it.
            let end = layout.entries.first { $0.offset > entry.offset }?.offset ?? layout.count
            for c in (entry.offset / chunk)..<((end + chunk - 1) / chunk) { chunkGroups[c] = UInt8(group) }
            if let last = ranges.last, last.group == group, last.offset + last.count == entry.offset {
                ranges[ranges.count - 1].count = end - last.offset
            } else {
                ranges.append(GroupRange(offset: entry.offset, count: end - entry.offset, group: group))
            }
        }
        return GroupLayout(chunkGroups: chunkGroups, ranges: ranges, groupCount: groups.count + 1)
    }

    /// Sweep replicas as groups: replica r is [r·replicaSize, (r+1)·replicaSize) (replicaSize a multiple of the
    /// chunk).
    func makeReplicaLayout(_ arena: ParameterArena, replicaSize: Int, replicas: Int) throws -> GroupLayout {
        let chunk = GroupLayout.chunk
        guard replicaSize % chunk == 0, replicas < 256, replicas > 0 else {
            throw EtaError(
                .software, "replica groups need a replica size that is a multiple of \(chunk) and 1 to 255 replicas")
        }
        let count = arena.layout.count
        // With per-tensor groups (μP in a sweep), replica r's tensor group g is group r·(groups + 1) + g.
        let perReplica = groups.count + 1
        guard replicas * perReplica <= 255 else {
            throw EtaError(
                .usage,
                "\(replicas) learning rates × \(perReplica) parameter groups exceed the 255 groups of one launch")
        }
        var withinReplica = [UInt8](repeating: 0, count: replicaSize / chunk)
        if let tensors = replicaTensorLayout, !groups.isEmpty {
            for (entry, group) in zip(tensors.entries, ParameterGroup.assignment(groups, layout: tensors)) {
                let end = tensors.entries.first { $0.offset > entry.offset }?.offset ?? tensors.count
                for c in (entry.offset / chunk)..<min(withinReplica.count, (end + chunk - 1) / chunk) {
                    withinReplica[c] = UInt8(group)
                }
            }
        }
        let chunkGroups = (0..<((count + chunk - 1) / chunk)).map { c -> UInt8 in
            let r = min(replicas - 1, c * chunk / replicaSize)
            return UInt8(r * perReplica) + withinReplica[c - r * (replicaSize / chunk)]
        }
        var ranges: [GroupRange] = []
        for (c, group) in chunkGroups.enumerated() {
            if let last = ranges.last, last.group == Int(group) {
                ranges[ranges.count - 1].count = min(count, (c + 1) * chunk) - last.offset
            } else {
                ranges.append(
                    GroupRange(offset: c * chunk, count: min(count, (c + 1) * chunk) - c * chunk, group: Int(group)))
            }
        }
        return GroupLayout(chunkGroups: chunkGroups, ranges: ranges, groupCount: replicas * perReplica)
    }

    /// The optimizer's lr and weight decay for group g (0: the defaults).
    func groupValues(_ g: Int, lr: Double, weightDecay: Double) -> (lr: Double, weightDecay: Double) {
        g == 0 ? (lr, weightDecay) : (lr * groups[g - 1].lrScale, groups[g - 1].weightDecay ?? weightDecay)
    }
}
