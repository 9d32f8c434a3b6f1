import Dispatch
import Eta
import Foundation

/// Set by SIGINT (Ctrl-C), SIGTERM (`kill`, `timeout`, job schedulers) or SIGHUP (a closed terminal): the training
/// loop checks it after every step and stops cleanly, with a final checkpoint and finished logs, exiting 128 + the
/// signal's number. A second signal exits at once, leaving the previous checkpoint intact. A signal the parent set to
/// be ignored stays ignored (`nohup eta train ...` survives a closed terminal, as `nohup` promises).
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32?
    private var sources: [(signal: Int32, source: DispatchSourceSignal)] = []

    static let handled: [(signal: Int32, name: String)] = [
        (SIGINT, "SIGINT"), (SIGTERM, "SIGTERM"), (SIGHUP, "SIGHUP"),
    ]

    init() {
        for (number, name) in Self.handled where !Self.ignoredByParent(number) {
            Glibc.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            let index = sources.count
            source.setEventHandler { [weak self] in
                guard let self else { return }
                // Signals that arrive before the handler runs are coalesced: data counts them.
                self.receive(number, name: name, count: Int(self.sources[index].source.data))
            }
            source.resume()
            sources.append((number, source))
        }
    }

    deinit {
        for (number, source) in sources {
            source.cancel()
            Glibc.signal(number, SIG_DFL)
        }
    }

    private func receive(_ number: Int32, name: String, count: Int) {
        lock.lock()
        let first = received
        if first == nil { received = number }
        lock.unlock()
        if let first = first ?? (count > 1 ? number : nil) {
            Console.note("\neta: \(name) again: stopping now (the last checkpoint written is intact)")
            // _exit: no exit handlers or destructors run under a kernel or a write still in progress.
            _exit(128 + first)
        }
        Console.note("\neta: \(name): stopping after this step (send it again to quit at once)")
    }

    private static func ignoredByParent(_ number: Int32) -> Bool {
        var current = sigaction()
        guard sigaction(number, nil, &current) == 0, let handler = current.__sigaction_handler.sa_handler else {
            return false
        }
        return unsafeBitCast(handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
    }

    /// The first signal received.
    var signal: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    var isRaised: Bool { signal != nil }

    var signalName: String {
        let number = signal
        return Self.handled.first { $0.signal == number }?.name ?? "interrupted"
    }
}

/// The first output failure of a run (a log line, a checkpoint, the plot): recorded where it happens so the run stops
/// at the next step and every other output is still finalised; the CLI exits 74 with it.
final class OutputFailure {
    private(set) var error: Error?

    func record(_ error: Error) {
        if self.error == nil { self.error = error }
    }

    /// Runs `body`, recording its error instead of throwing it.
    func attempt(_ body: () throws -> Void) {
        do { try body() } catch { record(error) }
    }
}
