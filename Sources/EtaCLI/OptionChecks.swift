import ArgumentParser

/// Range checks for `validate()`: each failure is a `ValidationError` (exit 64) naming the flag, what is valid and
/// the value given, e.g. "--epochs must be >= 0 (got -1)". An absent optional value passes.
enum OptionCheck {
    /// `value >= minimum`.
    static func atLeast(_ flag: String, _ value: Int?, _ minimum: Int) throws {
        guard let value else { return }
        try require(value >= minimum, "\(flag) must be >= \(minimum) (got \(value))")
    }

    /// `value` in `range`.
    static func within(_ flag: String, _ value: Int?, _ range: ClosedRange<Int>) throws {
        guard let value else { return }
        try require(
            range.contains(value), "\(flag) must be in \(range.lowerBound)...\(range.upperBound) (got \(value))")
    }

    /// A finite number above `bound`.
    static func finite(_ flag: String, _ value: Double?, above bound: Double) throws {
        guard let value else { return }
        try require(
            value > bound && value.isFinite, "\(flag) must be a finite number > \(format(bound)) (got \(value))")
    }

    /// A finite number at or above `bound`.
    static func finite(_ flag: String, _ value: Double?, atLeast bound: Double) throws {
        guard let value else { return }
        try require(
            value >= bound && value.isFinite, "\(flag) must be a finite number >= \(format(bound)) (got \(value))")
    }

    /// `value` in [0, 1) (half-open: fractions and EMA factors).
    static func fraction(_ flag: String, _ value: Double?) throws {
        guard let value else { return }
        try require((0..<1).contains(value), "\(flag) must be in [0, 1) (got \(value))")
    }

    /// Throws `message` unless `condition` holds.
    static func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw ValidationError(message()) }
    }

    /// `1` rather than `1.0` in messages.
    private static func format(_ bound: Double) -> String {
        bound == bound.rounded() ? String(Int(bound)) : "\(bound)"
    }
}
