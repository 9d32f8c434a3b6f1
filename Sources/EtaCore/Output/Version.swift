/// Eta's version, reported by `eta --version` and in JSON output.
public enum EtaVersion {
    public static let current = "0.1.0"
}
