/// The built-in datasets' CSV files, embedded at build time from `Data/*.csv` (see `Data/NOTICE.md` for
/// their sources and licences).
public enum Datasets {}
