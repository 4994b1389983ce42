import Glibc

/// Split `0..<count` into at most `threads` contiguous chunks and run them concurrently.
/// Each chunk runs on one thread, so a chunk may reuse one scratch buffer for all its items.
///
/// Runs on WandTensor's own pthread pool, not Dispatch: DispatchQueue.concurrentPerform called
/// from a Swift-concurrency thread (an actor, an async main) runs its iterations one after the
/// other on Linux, which would make every op single-threaded inside the engine actor.
func parallelChunks(_ count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    parallelChunks(count, threads: threads) { _, range in body(range) }
}

/// The same, telling each chunk its index (below `threads`): no two chunks of one call share an
/// index, so a caller can hand chunk `c` scratch buffer `c`, allocated once for several calls.
func parallelChunks(_ count: Int, threads: Int, _ body: (_ chunk: Int, Range<Int>) -> Void) {
    let chunks = Swift.max(1, Swift.min(threads, count))
    if chunks == 1 || WorkerPool.isInsidePool {
        if count > 0 { body(0, 0..<count) }
        return
    }
    WorkerPool.shared.run(chunks) { c in
        let lo = count * c / chunks, hi = count * (c + 1) / chunks
        if lo < hi { body(c, lo..<hi) }
    }
}

/// A fixed set of worker threads, grown on demand, that execute the chunks of one parallel
/// region at a time; the calling thread works on chunks too. Regions from different callers are
/// serialized; a region started from inside a chunk runs inline (no nested parallelism).
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let regionLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let finished = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    private var workers = 0
    private var task: ((Int) -> Void)?
    private var chunks = 0
    private var nextChunk = 0
    private var unfinished = 0

    private static let insideKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    static var isInsidePool: Bool { pthread_getspecific(insideKey) != nil }

    private init() {
        pthread_mutex_init(mutex, nil)
        pthread_mutex_init(regionLock, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(finished, nil)
    }

    func run(_ count: Int, _ body: (Int) -> Void) {
        pthread_mutex_lock(regionLock)
        defer { pthread_mutex_unlock(regionLock) }
        withoutActuallyEscaping(body) { escaping in
            pthread_mutex_lock(mutex)
            while workers < count - 1 && spawnWorker() {}
            task = escaping
            chunks = count
            nextChunk = 0
            unfinished = count
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(mutex)

            pthread_setspecific(Self.insideKey, UnsafeRawPointer(bitPattern: 1))
            while let (t, c) = claim() { t(c); complete() }
            pthread_setspecific(Self.insideKey, nil)

            pthread_mutex_lock(mutex)
            while unfinished > 0 { pthread_cond_wait(finished, mutex) }
            task = nil
            pthread_mutex_unlock(mutex)
        }
    }

    private func claim() -> (((Int) -> Void), Int)? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard let t = task, nextChunk < chunks else { return nil }
        nextChunk += 1
        return (t, nextChunk - 1)
    }

    private func complete() {
        pthread_mutex_lock(mutex)
        unfinished -= 1
        if unfinished == 0 { pthread_cond_broadcast(finished) }
        pthread_mutex_unlock(mutex)
    }

    /// Called with `mutex` held. False when no thread could be created (the caller then runs
    /// the remaining chunks itself).
    private func spawnWorker() -> Bool {
        workers += 1
        var thread = pthread_t()
        let context = Unmanaged.passUnretained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { context in
            let pool = Unmanaged<WorkerPool>.fromOpaque(context!).takeUnretainedValue()
            pool.workerLoop()
            return nil
        }, context)
        if rc == 0 { pthread_detach(thread) } else { workers -= 1 }
        return rc == 0
    }

    private func workerLoop() {
        pthread_setspecific(Self.insideKey, UnsafeRawPointer(bitPattern: 1))
        pthread_mutex_lock(mutex)
        while true {
            while task == nil || nextChunk >= chunks { pthread_cond_wait(wake, mutex) }
            let t = task!, c = nextChunk
            nextChunk += 1
            pthread_mutex_unlock(mutex)
            t(c)
            pthread_mutex_lock(mutex)
            unfinished -= 1
            if unfinished == 0 { pthread_cond_broadcast(finished) }
        }
    }
}
