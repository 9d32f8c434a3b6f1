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
    public var pattern: String
    public var lrScale: Double
    /// nil: the optimizer's weight_decay.
    public var weightDecay: Double?

    public init(pattern: String, lrScale: Double = 1, weightDecay: Double? = nil) {
        (self.pattern, self.lrScale, self.weightDecay) = (pattern, lrScale, weightDecay)
    }

    /// Parses `PATTERN[:lr_scale=X][,weight_decay=Y]`; throws a usage error naming the bad part.
    public init(spec: String) throws {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let pattern = parts.first, !pattern.isEmpty else {
            throw EtaError(.usage, "parameter group '\(spec)': expected PATTERN[:lr_scale=X,weight_decay=Y], e.g. '*.bias:weight_decay=0'")
        }
        self.init(pattern: pattern)
        for pair in (parts.count > 1 ? parts[1] : "").split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let value = Double(kv[1]), value.isFinite, value >= 0 else {
                throw EtaError(.usage, "parameter group '\(spec)': '\(pair)' must be lr_scale=X or weight_decay=Y with a finite number >= 0")
            }
            switch kv[0] {
            case "lr_scale": lrScale = value
            case "weight_decay": weightDecay = value
            default: throw EtaError(.usage, "parameter group '\(spec)': unknown key '\(kv[0])'; valid keys: lr_scale, weight_decay")
            }
        }
    }

    /// Whether `name` matches the pattern (fnmatch(3) rules).
    public func matches(_ name: String) -> Bool { fnmatch(pattern, name, 0) == 0 }

    /// The group index of each tensor of `layout`: 0 for the optimizer's defaults, i + 1 for `groups[i]`.
    public static func assignment(_ groups: [ParameterGroup], layout: TensorLayout) -> [Int] {
        layout.entries.map { entry in groups.firstIndex { $0.matches(entry.name) }.map { $0 + 1 } ?? 0 }
    }
}

extension Optimizer {
    /// The per-group chunk table and runs of `arena` (groups are per tensor; tensors start at chunk multiples).
    func makeGroups(_ arena: ParameterArena, stride: Int) throws -> UpdateGroups {
        let layout = arena.layout, chunk = UpdateGroups.chunk
        guard layout.entries.allSatisfy({ $0.offset % chunk == 0 }) else {
            throw EtaError(.software, "parameter groups need tensors aligned to \(chunk) elements (TensorLayout alignment)")
        }
        guard groups.count < 255 else { throw EtaError(.usage, "at most 254 parameter groups (got \(groups.count))") }
        let assignment = ParameterGroup.assignment(groups, layout: layout)
        var chunkGroups = [UInt8](repeating: 0, count: (layout.count + chunk - 1) / chunk)
        var ranges: [(offset: Int, count: Int, group: Int)] = []
        for (entry, group) in zip(layout.entries, assignment) where entry.count > 0 {
            // Up to the next tensor (or the end): the padding after a tensor belongs to it.
            let end = layout.entries.first { $0.offset > entry.offset }?.offset ?? layout.count
            for c in (entry.offset / chunk)..<((end + chunk - 1) / chunk) { chunkGroups[c] = UInt8(group) }
            if let last = ranges.last, last.group == group, last.offset + last.count == entry.offset {
                ranges[ranges.count - 1].count = end - last.offset
            } else {
                ranges.append((entry.offset, end - entry.offset, group))
            }
        }
        return try Self.uploadGroups(chunkGroups, ranges: ranges, groups: groups.count + 1, stride: stride, backend: arena.backend)
    }

    /// The device side of a group table: one byte per chunk (packed four to a float slot) and `groups` rows of
    /// `stride` scalars, written each step.
    static func uploadGroups(_ chunkGroups: [UInt8], ranges: [(offset: Int, count: Int, group: Int)], groups: Int, stride: Int,
                             backend: Backend) throws -> UpdateGroups {
        var packed = [Float](repeating: 0, count: max(1, (chunkGroups.count + 3) / 4))
        for (i, group) in chunkGroups.enumerated() {
            packed[i / 4] = Float(bitPattern: packed[i / 4].bitPattern | UInt32(group) << (8 * UInt32(i % 4)))
        }
        let chunks = try backend.makeBuffer(count: packed.count)
        try backend.write(packed, to: chunks)
        return UpdateGroups(chunks: chunks, scalars: try backend.makeBuffer(count: groups * stride), hostScalars: [], ranges: ranges)
    }

    /// Sweep replicas as groups: replica r is [r·replicaSize, (r+1)·replicaSize) (replicaSize a multiple of the chunk).
    func makeReplicaGroups(_ arena: ParameterArena, replicaSize: Int, replicas: Int) throws -> UpdateGroups {
        let chunk = UpdateGroups.chunk
        guard replicaSize % chunk == 0, replicas < 256 else {
            throw EtaError(.software, "replica groups need a replica size that is a multiple of \(chunk) and at most 255 replicas")
        }
        let chunkGroups = (0..<((arena.layout.count + chunk - 1) / chunk)).map { UInt8(min(replicas - 1, $0 * chunk / replicaSize)) }
        let ranges = (0..<replicas).map { r in (offset: r * replicaSize, count: min(replicaSize, arena.layout.count - r * replicaSize), group: r) }
        return try Self.uploadGroups(chunkGroups, ranges: ranges, groups: replicas, stride: 12, backend: arena.backend)
    }

    /// The optimizer's lr and weight decay for group g (0: the defaults).
    func groupValues(_ g: Int, lr: Double, weightDecay: Double) -> (lr: Double, weightDecay: Double) {
        g == 0 ? (lr, weightDecay) : (lr * groups[g - 1].lrScale, groups[g - 1].weightDecay ?? weightDecay)
    }
}
