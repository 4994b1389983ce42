import Foundation

/// Renews the running job's lease every `interval` seconds, and tells the shared journal this host
/// is alive. It runs on a thread of its own, not on the daemon's executor: a job runs for hours
/// and the engine may keep the cooperative threads busy, and a renewal must not wait behind that.
/// A renewal that finds the lease gone (it ran out while this process was stopped, say) or a
/// cancel asked from another host is reported through `onChange`; a renewal that fails on the
/// network is simply tried again (the fencing token keeps an expired lease harmless).
final class LeaseHeartbeat: @unchecked Sendable {
    private let journal: any JobJournal
    private let interval: Double
    private let onChange: @Sendable (Lease, LeaseCheck) -> Void
    private let lock = NSLock()
    private var lease: Lease?
    private var stopped = false
    private let finished = DispatchSemaphore(value: 0)

    init(journal: any JobJournal, interval: Double, onChange: @escaping @Sendable (Lease, LeaseCheck) -> Void) {
        self.journal = journal
        self.interval = interval
        self.onChange = onChange
    }

    func start() {
        let thread = Thread { [self] in
            loop()
            finished.signal()
        }
        thread.name = "wand-heartbeat"
        thread.start()
    }

    /// The lease to keep renewing (nil: none, the host is idle).
    func hold(_ lease: Lease?) { lock.withLock { self.lease = lease } }

    func stop() {
        lock.withLock { stopped = true }
        finished.wait()
    }

    private func loop() {
        var next = Date().addingTimeInterval(interval)
        while true {
            // Short naps, so that stop() returns quickly.
            while Date() < next {
                if lock.withLock({ stopped }) { return }
                Thread.sleep(forTimeInterval: min(0.05, max(0.001, next.timeIntervalSinceNow)))
            }
            next = Date().addingTimeInterval(interval)
            if let held = lock.withLock({ lease }) {
                switch try? journal.renew(held) {
                case .lost?:
                    // Only once per lease: the daemon stops the job and leaves its files alone.
                    lock.withLock { if lease == held { lease = nil } }
                    onChange(held, .lost)
                case .cancelRequested?: onChange(held, .cancelRequested)
                case .held?, nil: break
                }
            }
            try? journal.touchHost()
        }
    }
}
