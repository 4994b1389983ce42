import Foundation
import WandEngine

/// Where the daemon keeps its own state under state_dir.
extension DaemonConfig {
    /// One folder per claimed job: under state_dir on one machine, the shared `queue.spool` with PostgreSQL.
    var spoolDir: String { queue.backend == .postgres ? (queue.spool ?? stateDir.appendingPathComponent("spool")).path : stateDir.path + "/spool" }
    var journalPath: String { stateDir.path + "/journal.sqlite" }
    var sourcePath: String { file ?? "" }
}

extension Mode {
    var generationMode: GenerationMode { GenerationMode(rawValue: rawValue)! }
}

extension Sampler {
    var samplerKind: SamplerKind { SamplerKind(rawValue: rawValue)! }
}
