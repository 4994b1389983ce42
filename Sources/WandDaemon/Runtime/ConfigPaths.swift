import Foundation
import WandEngine

/// Where the daemon keeps its own state under state_dir.
extension DaemonConfig {
    var spoolDir: String { stateDir.path + "/spool" }
    var journalPath: String { stateDir.path + "/journal.sqlite" }
    var sourcePath: String { file ?? "" }
}

extension Mode {
    var generationMode: GenerationMode { GenerationMode(rawValue: rawValue)! }
}

extension Sampler {
    var samplerKind: SamplerKind { SamplerKind(rawValue: rawValue)! }
}
