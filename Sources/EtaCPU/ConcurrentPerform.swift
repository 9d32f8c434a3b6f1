import Dispatch

/// Runs `body(i)` for every i in 0..<iterations on the host's cores and returns when all are done.
///
/// The loops this runs write disjoint ranges of memory per iteration (each thread its own blocks of the arena or
/// rows of a matrix), which the type system cannot see: the body crosses threads unchecked, on that contract.
func concurrentPerform(_ iterations: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { body in
        nonisolated(unsafe) let body = body
        DispatchQueue.concurrentPerform(iterations: iterations) { body($0) }
    }
}
