import Dispatch
import Foundation

/// When the process started and when its first kernel (or CPU operation) was launched: the startup time a
/// program-binary cache exists to cut.
public enum LaunchClock {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var start: UInt64?
    nonisolated(unsafe) private static var firstLaunch: UInt64?

    /// Marks the process start (the CLI calls this first thing).
    public static func markStart() {
        lock.lock()
        defer { lock.unlock() }
        if start == nil { start = DispatchTime.now().uptimeNanoseconds }
    }

    /// Records the first launch; later calls are ignored. Cheap enough for every launch.
    public static func noteLaunch() {
        lock.lock()
        defer { lock.unlock() }
        if firstLaunch == nil { firstLaunch = DispatchTime.now().uptimeNanoseconds }
    }

    /// Seconds from `markStart` to the first launch, if both happened.
    public static var secondsToFirstLaunch: Double? {
        lock.lock()
        defer { lock.unlock() }
        guard let start, let firstLaunch else { return nil }
        return Double(firstLaunch - start) * 1e-9
    }
}
