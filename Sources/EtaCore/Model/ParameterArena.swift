/// Named tensors laid out back to back in one flat float32 range, so one launch covers them all.
///
/// ```swift
/// let layout = try TensorLayout([("weight", [128, 64]), ("bias", [128])])
/// layout["bias"]!.offset  // 8192
/// ```
public struct TensorLayout: Equatable, Sendable {
    /// A named tensor's place in the arena.
    public struct Entry: Equatable, Sendable {
        /// The tensor's name, e.g. `layer0.weight`.
        public let name: String
        /// The tensor's dimensions.
        public let shape: [Int]
        /// The first element in the arena.
        public let offset: Int
        /// The number of elements, the product of `shape`.
        public var count: Int { shape.reduce(1, *) }
    }

    /// The tensors in arena order.
    public let entries: [Entry]
    /// Total elements of all tensors.
    public let count: Int

    /// `alignment`: each tensor starts at a multiple of this many elements (the gap is zero padding), so a
    /// kernel's vector of up to 16 lanes never straddles two tensors (parameter groups rely on it).
    ///
    /// - Parameters:
    ///   - tensors: Names and shapes in arena order; names must be unique and dimensions ≥ 0.
    ///   - alignment: Elements each tensor's offset (and the total count) is rounded up to, at least 1.
    /// - Throws: `EtaError` `.usage` for a negative dimension or a repeated name.
    public init(_ tensors: [(name: String, shape: [Int])], alignment: Int = 1) throws {
        var entries: [Entry] = []
        var offset = 0
        for (name, shape) in tensors {
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw EtaError(.usage, "tensor '\(name)' has a negative dimension in shape \(shape)")
            }
            guard !entries.contains(where: { $0.name == name }) else {
                throw EtaError(.usage, "tensor name '\(name)' appears twice in a layout")
            }
            offset = (offset + alignment - 1) / alignment * alignment
            let entry = Entry(name: name, shape: shape, offset: offset)
            entries.append(entry)
            offset += entry.count
        }
        self.entries = entries
        count = (offset + alignment - 1) / alignment * alignment
    }

    /// The entry named `name`.
    ///
    /// - Parameter name: A tensor's name.
    /// - Returns: Its entry, or nil when there is none.
    public subscript(name: String) -> Entry? { entries.first { $0.name == name } }
}

/// One flat buffer per role (parameters, gradients, each optimizer state slot) on a backend, with named views.
///
/// ```swift
/// let arena = try ParameterArena(layout: layout, stateSlots: ["exp_avg", "exp_avg_sq"], backend: backend)
/// try arena.upload(weights, to: .parameters)
/// let bias = try arena.download(.parameters, tensor: "bias")
/// ```
public final class ParameterArena {
    /// A role in the arena.
    public enum Role: Hashable, Sendable, CustomStringConvertible {
        /// The model's parameters.
        case parameters
        /// Their gradients, always float32.
        case gradients
        /// An optimizer state slot by PyTorch's name (`exp_avg`, `momentum_buffer`, ...).
        case state(String)

        /// `parameters`, `gradients`, or the slot's name.
        public var description: String {
            switch self {
            case .parameters: "parameters"
            case .gradients: "gradients"
            case .state(let name): name
            }
        }
    }

    /// The tensors and where they lie.
    public let layout: TensorLayout
    /// The backend holding the buffers.
    public let backend: Backend
    /// The parameters (16-bit packed when `parameterType` says so).
    public let parameters: DeviceBuffer
    /// The gradients, float32.
    public let gradients: DeviceBuffer
    /// State buffers by slot name, zero-filled at creation.
    public let state: [String: DeviceBuffer]
    /// Slot names in a fixed order.
    public let stateSlots: [String]

    /// How the state slots are stored (gradients are always float32).
    public let stateType: StorageType
    /// How the parameters are stored.
    public let parameterType: StorageType
    /// With 16-bit parameters: a float32 master copy the optimizer updates (the parameters then hold its rounding).
    public let master: DeviceBuffer?

    /// `parameterType` other than fp32 stores the parameters in 16 bits; `masterCopy` adds a float32 copy that the
    /// updates run on, so small updates are not lost to the 16-bit rounding.
    ///
    /// - Parameters:
    ///   - layout: The tensors and where they lie.
    ///   - stateSlots: The optimizer's state slots, by PyTorch's name; each gets a zero-filled buffer.
    ///   - backend: The backend to allocate on.
    ///   - stateType: How the state slots are stored.
    ///   - parameterType: How the parameters are stored.
    ///   - masterCopy: Whether to keep a float32 master copy of 16-bit parameters.
    /// - Throws: `EtaError` `.usage` for a master copy of float32 parameters or a buffer the device cannot hold, or the
    ///   backend's allocation error.
    public init(
        layout: TensorLayout, stateSlots: [String], backend: Backend, stateType: StorageType = .fp32,
        parameterType: StorageType = .fp32, masterCopy: Bool = false
    ) throws {
        self.layout = layout
        self.backend = backend
        self.stateSlots = stateSlots
        self.stateType = stateType
        self.parameterType = parameterType
        guard !masterCopy || parameterType != .fp32 else {
            throw EtaError(
                .usage, "a float32 master copy is for 16-bit parameters (bf16 or fp16); float32 parameters need none")
        }
        master = masterCopy ? try backend.makeBuffer(count: layout.count) : nil
        parameters = try backend.makeBuffer(count: parameterType.floatSlots(layout.count))
        gradients = try backend.makeBuffer(count: layout.count)
        var state: [String: DeviceBuffer] = [:]
        for slot in stateSlots { state[slot] = try backend.makeBuffer(count: stateType.floatSlots(layout.count)) }
        self.state = state
    }

    /// How this arena's buffers are stored, as an update launch takes it.
    public var storage: UpdateStorage { UpdateStorage(state: stateType, parameters: parameterType, master: master) }

    /// How a role is stored (16-bit roles pack two elements per float slot).
    private func storage(_ role: Role) -> StorageType {
        switch role {
        case .state: stateType
        case .parameters: parameterType
        case .gradients: .fp32
        }
    }

    /// Every role this arena holds, parameters first.
    public var roles: [Role] { [.parameters, .gradients] + stateSlots.map(Role.state) }

    /// The buffer of a role.
    ///
    /// - Parameter role: The role.
    /// - Returns: Its buffer.
    /// - Throws: `EtaError` `.software` for a state slot the arena does not hold.
    public func buffer(_ role: Role) throws -> DeviceBuffer {
        switch role {
        case .parameters: return parameters
        case .gradients: return gradients
        case .state(let name):
            guard let buffer = state[name] else {
                throw EtaError(
                    .software, "no state slot '\(name)'; this arena holds: \(stateSlots.joined(separator: ", "))")
            }
            return buffer
        }
    }

    private func range(of tensor: String?) throws -> (offset: Int, count: Int) {
        guard let tensor else { return (0, layout.count) }
        guard let entry = layout[tensor] else {
            throw EtaError(
                .usage, "no tensor '\(tensor)'; valid: \(layout.entries.map(\.name).joined(separator: ", "))")
        }
        return (entry.offset, entry.count)
    }

    /// Copies host values into a role: the whole arena, or one named tensor.
    ///
    /// - Parameters:
    ///   - values: Float32 values, as many as the arena (or the tensor) holds; rounded for 16-bit roles.
    ///   - role: The role to write.
    ///   - tensor: A tensor's name; nil writes the whole arena.
    /// - Throws: `EtaError` `.usage` for an unknown tensor or a wrong count, `.software` for a missing slot, or the
    ///   backend's error.
    public func upload(_ values: [Float], to role: Role, tensor: String? = nil) throws {
        let (offset, count) = try range(of: tensor)
        guard values.count == count else {
            throw EtaError(.usage, "\(values.count) values given for \(tensor ?? "the arena") of \(count) elements")
        }
        let type = storage(role)
        // exact in the master
        if role == .parameters, let master { try backend.write(values, to: master, offset: offset) }
        guard type != .fp32 else { return try backend.write(values, to: try buffer(role), offset: offset) }
        // 16-bit: values are rounded to the storage type; a tensor's range may share a float slot with its neighbour.
        var all = count == layout.count ? values : type.unpack(try backend.read(try buffer(role)), count: layout.count)
        all.replaceSubrange(offset..<(offset + count), with: values)
        try backend.write(type.pack(all), to: try buffer(role))
    }

    /// The float32 master copy of the parameters (or of one tensor).
    ///
    /// - Parameter tensor: A tensor's name; nil reads the whole arena.
    /// - Returns: The master values.
    /// - Throws: `EtaError` `.usage` when the arena keeps no master copy or for an unknown tensor; the backend's error.
    public func downloadMaster(tensor: String? = nil) throws -> [Float] {
        guard let master else { throw EtaError(.usage, "this arena keeps no float32 master copy") }
        let (offset, count) = try range(of: tensor)
        return try backend.read(master, offset: offset, count: count)
    }

    /// Copies a role (or one named tensor of it) back to the host (16-bit state widened to float32 exactly).
    ///
    /// - Parameters:
    ///   - role: The role to read.
    ///   - tensor: A tensor's name; nil reads the whole arena.
    /// - Returns: The values as float32.
    /// - Throws: `EtaError` `.usage` for an unknown tensor, `.software` for a missing slot, or the backend's error.
    public func download(_ role: Role, tensor: String? = nil) throws -> [Float] {
        let (offset, count) = try range(of: tensor)
        let type = storage(role)
        guard type != .fp32 else { return try backend.read(try buffer(role), offset: offset, count: count) }
        let all = type.unpack(try backend.read(try buffer(role)), count: layout.count)
        return Array(all[offset..<(offset + count)])
    }
}
