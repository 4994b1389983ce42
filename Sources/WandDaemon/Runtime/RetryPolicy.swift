import Foundation
import WandEngine

/// When a job whose run ended early may run again (`retry_backoff`, doubled per attempt), and
/// which failures are worth another run at all.
enum RetryPolicy {
    /// Seconds to wait after the `attempts`-th run ended: backoff, 2 x backoff, 4 x backoff, …,
    /// capped at a day so a large `max_attempts` cannot park a job for ever.
    static func delay(afterAttempts attempts: Int, backoff: Double) -> Double {
        guard backoff > 0, attempts > 0 else { return 0 }
        return min(backoff * pow(2, Double(min(attempts, 40) - 1)), 86_400)
    }

    /// Failures of the machine rather than of the job: the model could not be run this time, the
    /// disk was full, memory or file handles ran out. Everything else (a bad request, an input
    /// that does not decode, a mode the engine lacks) fails the same way every time, so the job
    /// goes to failed/ at once instead of costing more runs.
    static func isTransient(_ error: any Error) -> Bool {
        if let engine = error as? EngineError { return engine.kind == .modelFailure }
        // Checked by domain: on Linux any NSError casts to CocoaError.
        let ns = error as NSError
        switch ns.domain {
        case NSPOSIXErrorDomain: return [ENOSPC, EDQUOT, EIO, ENOMEM, EAGAIN, EMFILE, ENFILE].contains(Int32(ns.code))
        case NSCocoaErrorDomain: return ns.code == CocoaError.fileWriteOutOfSpace.rawValue
        default: return false
        }
    }
}
