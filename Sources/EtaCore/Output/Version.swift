/// Eta's version, reported by `eta --version` and in JSON output.
public enum EtaVersion {
    /// The version string, e.g. `0.1.0`.
    public static let current = "0.1.0"
}
