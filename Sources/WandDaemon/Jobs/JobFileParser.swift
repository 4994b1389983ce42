import Foundation

/// Reads a job file (`*.yaml`/`*.yml`): one job per YAML document (`---` makes a batch), one per
/// seed when `seeds:` is given. All problems of the file are reported together, sorted by position.
public enum JobFileParser {
    /// - Parameters:
    ///   - path: the file; diagnostics name it exactly as given.
    ///   - inbox: the inbox it was dropped into (fixed mode, defaults, priority), nil for `wand validate`.
    public static func parse(fileAt path: String, inbox: InboxConfig?, config: DaemonConfig) throws(JobErrors) -> [JobSpec] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw JobErrors([Diagnostic(file: path, line: 1, column: 1, message: "cannot read the job file")])
        }
        return try parse(bytes: [UInt8](data), file: path, inbox: inbox, config: config)
    }

    /// Parses job text whose folder (for relative input paths) is the folder of `file`.
    public static func parse(bytes: [UInt8], file: String, inbox: InboxConfig?, config: DaemonConfig) throws(JobErrors) -> [JobSpec] {
        let documents: [YAMLNode]
        do {
            documents = try YAMLReader.parse(bytes: bytes)
        } catch {
            throw JobErrors([Diagnostic(file: file, line: error.mark.line, column: error.mark.column, message: error.message)])
        }
        guard !documents.isEmpty else {
            throw JobErrors([Diagnostic(file: file, line: 1, column: 1, message: "empty job file (expected at least 'wand: 1' and 'mode')")])
        }
        let url = URL(fileURLWithPath: file)
        let stem = url.deletingPathExtension().lastPathComponent
        let resolver = JobResolver(config: config, inbox: inbox, displayFile: file,
                                   jobFolder: url.deletingLastPathComponent())
        var reader = SchemaReader(file: file)
        var jobs: [JobSpec] = []
        for (index, document) in documents.enumerated() {
            let fields = JobFields.read(document, forDefaults: false, reader: &reader)
            guard document.mapping != nil else { continue }
            let name = documents.count > 1 ? "\(stem)-\(index + 1)" : stem
            jobs += resolver.resolve(fields, document: index, defaultName: name, reader: &reader)
        }
        let errors = reader.diagnostics.filter { $0.severity == .error }
        if !errors.isEmpty {
            throw JobErrors(reader.diagnostics.sorted { ($0.line, $0.column) < ($1.line, $1.column) })
        }
        return jobs
    }
}
