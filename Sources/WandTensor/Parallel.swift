import Dispatch

/// Carries a closure into Dispatch's @Sendable worker. Safe here because `parallelChunks` waits
/// for all workers before returning and the chunks write disjoint memory by construction.
private struct UncheckedSendable<T>: @unchecked Sendable { let value: T }

/// Split `0..<count` into at most `threads` contiguous chunks and run them concurrently.
/// Each chunk runs on one thread, so a chunk may reuse one scratch buffer for all its items.
func parallelChunks(_ count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    let chunks = Swift.max(1, Swift.min(threads, count))
    if chunks == 1 {
        if count > 0 { body(0..<count) }
        return
    }
    withoutActuallyEscaping(body) { escaping in
        let work = UncheckedSendable(value: escaping)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = count * c / chunks, hi = count * (c + 1) / chunks
            if lo < hi { work.value(lo..<hi) }
        }
    }
}
