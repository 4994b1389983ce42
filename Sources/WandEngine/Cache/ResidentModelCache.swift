// The engine's warm model cache: a model is loaded on first use and kept resident between jobs,
// so the second job on a model skips loading. When a new load would exceed the memory budget,
// the least recently used unpinned entries are evicted first. Components that several models
// share (the umT5 encoder, a VAE file) are cached under their own key, so they load once.
//
// Concurrent requests for the same key share one load (no double loading), and a failed load
// leaves nothing behind, so the next request tries again.

public struct CacheBudgetError: Error, Sendable, CustomStringConvertible {
    public let key: String
    public let bytes: Int
    public let budget: Int
    public var description: String {
        "model component \(key) needs \(bytes) bytes but the memory budget is \(budget) bytes "
            + "(raise engine.memory_budget or use a smaller model)"
    }
}

public actor ResidentModelCache {
    public struct Stats: Sendable, Equatable {
        public var loads = 0
        public var hits = 0
        public var evictions = 0
    }

    private struct Entry {
        let value: any Sendable
        let bytes: Int
        var lastUse: UInt64
    }

    public let budgetBytes: Int
    private var entries: [String: Entry] = [:]
    private var inFlight: [String: Task<(any Sendable, Int), any Error>] = [:]
    private var pinned: Set<String>
    private var clock: UInt64 = 0
    public private(set) var stats = Stats()

    /// `pinned` keys (the config's engine.keep_warm) are never evicted.
    public init(budgetBytes: Int, pinned: Set<String> = []) {
        self.budgetBytes = budgetBytes
        self.pinned = pinned
    }

    public var residentBytes: Int { entries.values.reduce(0) { $0 + $1.bytes } }
    public var residentKeys: [String] { entries.keys.sorted() }
    public func contains(_ key: String) -> Bool { entries[key] != nil }

    /// Returns the cached value for `key`, or runs `load` (which returns the value and its
    /// resident size in bytes), caches and returns it. `wasWarm` tells the caller which happened.
    public func value<T: Sendable>(
        for key: String, as type: T.Type = T.self,
        load: @escaping @Sendable () async throws -> (T, Int)
    ) async throws -> (value: T, wasWarm: Bool) {
        clock += 1
        if var entry = entries[key] {
            entry.lastUse = clock
            entries[key] = entry
            stats.hits += 1
            guard let value = entry.value as? T else { preconditionFailure("cache key \(key) holds another type") }
            return (value, true)
        }
        if let running = inFlight[key] {
            let (value, _) = try await running.value
            stats.hits += 1
            guard let typed = value as? T else { preconditionFailure("cache key \(key) holds another type") }
            return (typed, true)
        }
        let task = Task<(any Sendable, Int), any Error> {
            let (value, bytes) = try await load()
            return (value, bytes)
        }
        inFlight[key] = task
        defer { inFlight[key] = nil }
        let (value, bytes) = try await task.value
        try makeRoom(for: bytes, key: key)
        clock += 1
        entries[key] = Entry(value: value, bytes: bytes, lastUse: clock)
        stats.loads += 1
        guard let typed = value as? T else { preconditionFailure("cache key \(key) holds another type") }
        return (typed, false)
    }

    public func pin(_ key: String) { pinned.insert(key) }
    public func unpin(_ key: String) { pinned.remove(key) }

    /// Drops an entry (for example after its files changed on disk).
    public func evict(_ key: String) {
        if entries.removeValue(forKey: key) != nil { stats.evictions += 1 }
    }

    private func makeRoom(for bytes: Int, key: String) throws {
        let pinnedBytes = entries.filter { pinned.contains($0.key) }.reduce(0) { $0 + $1.value.bytes }
        guard bytes + pinnedBytes <= budgetBytes else {
            throw CacheBudgetError(key: key, bytes: bytes, budget: budgetBytes - pinnedBytes)
        }
        while residentBytes + bytes > budgetBytes {
            let victim = entries.filter { !pinned.contains($0.key) }.min { $0.value.lastUse < $1.value.lastUse }
            guard let victim else { break }
            entries.removeValue(forKey: victim.key)
            stats.evictions += 1
        }
    }
}
