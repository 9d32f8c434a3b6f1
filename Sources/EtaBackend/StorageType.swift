/// How optimizer state is stored in memory. Arithmetic is float32 whatever the storage: a kernel widens each
/// value exactly on load and rounds to nearest even on store.
///
/// Bytes moved per parameter by one update (read + write; parameters and gradients float32):
///
/// | optimizer | fp32 | bf16 / fp16 states |
/// |---|---|---|
/// | sgd (no momentum) | 12 | 12 |
/// | sgd (momentum) | 20 | 16 |
/// | adam, adamw | 28 | 20 |
/// | adam amsgrad | 36 | 24 |
/// | rmsprop, adagrad, lion | 20 | 16 |
/// | adadelta, adamax, nadam, radam | 28 | 20 |
/// | schedulefree_sgd | 20 | float32 only |
/// | schedulefree_adamw | 28 | float32 only |
/// | lamb (two passes) | 40 | float32 only |
/// | dadapt_adam (two passes) | 48 (44 with decouple) | float32 only |
/// | prodigy (two passes) | 52 (44 with beta1 = 0) | float32 only |
public enum StorageType: String, Sendable, CaseIterable, Codable {
    /// IEEE single precision; bfloat16 (float32's exponent, 8-bit significand); IEEE half precision.
    case fp32, bf16, fp16

    /// Bytes per element.
    public var bytes: Int { self == .fp32 ? 4 : 2 }

    /// Float32 slots a buffer of `count` elements of this type occupies (backends allocate in floats).
    ///
    /// - Parameter count: Elements.
    /// - Returns: `count` for fp32, else ⌈count / 2⌉.
    public func floatSlots(_ count: Int) -> Int { self == .fp32 ? count : (count + 1) / 2 }

    /// `value` rounded to this type and widened back (exactly what a kernel stores and loads again).
    ///
    /// - Parameter value: A float32 value.
    /// - Returns: The nearest value of this type (ties to even), as a float32.
    public func rounded(_ value: Float) -> Float {
        switch self {
        case .fp32: return value
        case .bf16: return Self.widen(bf16: Self.narrow(bf16: value))
        case .fp16: return Float(Float16(value))
        }
    }

    /// float32 → bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN.
    ///
    /// - Parameter value: A float32 value.
    /// - Returns: The bfloat16 bit pattern.
    public static func narrow(bf16 value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x40 }
        return UInt16(truncatingIfNeeded: (bits &+ 0x7fff &+ ((bits >> 16) & 1)) >> 16)
    }

    /// bfloat16 bits → float32 (exact).
    ///
    /// - Parameter bits: A bfloat16 bit pattern.
    /// - Returns: The value as a float32.
    public static func widen(bf16 bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// Packs `values` (already in float32) into this type's storage, two 16-bit elements per float slot.
    ///
    /// - Parameter values: The float32 values.
    /// - Returns: `floatSlots(values.count)` floats (the values unchanged for fp32).
    public func pack(_ values: [Float]) -> [Float] {
        guard self != .fp32 else { return values }
        var packed = [Float](repeating: 0, count: floatSlots(values.count))
        for (i, value) in values.enumerated() {
            let half: UInt16 = self == .bf16 ? Self.narrow(bf16: value) : Float16(value).bitPattern
            packed[i / 2] = Float(bitPattern: packed[i / 2].bitPattern | UInt32(half) << (16 * UInt32(i % 2)))
        }
        return packed
    }

    /// The `count` float32 values of packed storage.
    ///
    /// - Parameters:
    ///   - packed: Storage as ``pack(_:)`` returns it.
    ///   - count: Elements to unpack.
    /// - Returns: The `count` values widened to float32.
    public func unpack(_ packed: [Float], count: Int) -> [Float] {
        guard self != .fp32 else { return Array(packed.prefix(count)) }
        return (0..<count).map { i in
            let half = UInt16(truncatingIfNeeded: packed[i / 2].bitPattern >> (16 * UInt32(i % 2)))
            return self == .bf16 ? Self.widen(bf16: half) : Float(Float16(bitPattern: half))
        }
    }
}

/// How an update's buffers are stored, as a value: the storage of the state slots and of the parameters, and
/// whether a float32 master copy of 16-bit parameters is kept. Reports label it; backends key their builds on it.
public struct StorageLayout: Sendable, Hashable {
    /// How the state slots are stored.
    public var state = StorageType.fp32
    /// How the parameters are stored.
    public var parameters = StorageType.fp32
    /// Whether a float32 master copy of 16-bit parameters is kept.
    public var master = false

    /// - Parameters:
    ///   - state: How the state slots are stored.
    ///   - parameters: How the parameters are stored.
    ///   - master: Whether a float32 master copy of 16-bit parameters is kept.
    public init(state: StorageType = .fp32, parameters: StorageType = .fp32, master: Bool = false) {
        (self.state, self.parameters, self.master) = (state, parameters, master)
    }

    /// e.g. `bf16 state, fp16 params, master`; empty for all float32.
    public var label: String {
        [
            state != .fp32 ? "\(state.rawValue) state" : nil,
            parameters != .fp32 ? "\(parameters.rawValue) params" : nil,
            master ? "master" : nil,
        ].compactMap { $0 }.joined(separator: ", ")
    }
}
