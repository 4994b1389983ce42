import Foundation

/// Turns files dropped without a job file into a job. Files belong together by stem
/// (`beach.png` + `beach.txt`); the watcher groups them and asks `route` whenever the group changes.
///
/// | dropped | becomes |
/// |---|---|
/// | NAME.txt | t2v, the text is the prompt |
/// | NAME.png/.jpg/.jpeg/.webp (+ NAME.txt) | i2v or ti2v (config/inbox `image_drops`) |
/// | NAME.png + NAME.wav/.mp3/.flac/.m4a (+ NAME.txt) | s2v |
/// | NAME.mp4/.mov/.webm + NAME.txt | edit, the text is the instruction |
///
/// An inbox with a fixed mode needs that mode's files (animate: image + video).
/// Until `settled` (the inbox's settle time passed with no change), a group that could still
/// gain a partner waits for it.
public struct BareDropRouter: Sendable {
    public enum FileRole: String, Sendable, Hashable, CaseIterable { case text, image, audio, video }

    public enum Decision: Sendable, Equatable {
        /// Build these jobs now.
        case ready([JobSpec])
        /// Wait (until settled) for files with one of these roles.
        case waiting(for: Set<FileRole>)
        /// The group cannot become a job (missing a required partner after settling, bad prompt...).
        case invalid(JobErrors)
        /// Nothing here is a bare-drop file.
        case ignored
    }

    public static let extensions: [FileRole: Set<String>] = [
        .text: ["txt"],
        .image: ["png", "jpg", "jpeg", "webp"],
        .audio: ["wav", "mp3", "flac", "m4a"],
        .video: ["mp4", "mov", "webm"],
    ]

    public let config: DaemonConfig
    public let inbox: InboxConfig

    public init(config: DaemonConfig, inbox: InboxConfig) {
        self.config = config
        self.inbox = inbox
    }

    /// The role of a file by its extension (case-insensitive), nil for anything else.
    public static func role(of fileName: String) -> FileRole? {
        let ext = (fileName as NSString).pathExtension.lowercased()
        return extensions.first { $0.value.contains(ext) }?.key
    }

    /// The stem files group by: `beach.png` -> `beach`.
    public static func stem(of fileName: String) -> String {
        ((fileName as NSString).lastPathComponent as NSString).deletingPathExtension
    }

    /// Decides what the files `fileNames` (same stem, all inside `folder`) become.
    public func route(fileNames: [String], in folder: URL, settled: Bool) -> Decision {
        var byRole: [FileRole: String] = [:]
        for name in fileNames.sorted() {
            if let role = Self.role(of: name), byRole[role] == nil { byRole[role] = name }
        }
        guard !byRole.isEmpty else { return .ignored }
        let have = Set(byRole.keys)
        let mainFile = byRole[.video] ?? byRole[.image] ?? byRole[.audio] ?? byRole[.text]!
        let stem = Self.stem(of: mainFile)

        // Which mode, what it requires, what could still arrive.
        let mode: Mode
        var required: Set<FileRole>
        var optional: Set<FileRole> = []
        switch inbox.mode {
        case .fixed(let fixed):
            mode = fixed
            switch fixed {
            case .t2v: required = [.text]
            case .i2v, .ti2v: required = [.image]; optional = [.text]
            case .s2v: required = [.image, .audio]; optional = [.text]
            case .animate: required = [.image, .video]; optional = [.text]
            case .edit: required = [.video, .text]
            }
        case .auto:
            if have.contains(.video) {
                mode = .edit; required = [.video, .text]
            } else if have.contains(.audio) {
                mode = .s2v; required = [.image, .audio]; optional = [.text]
            } else if have.contains(.image) {
                mode = inbox.imageDrops ?? config.imageDrops; required = [.image]; optional = [.text, .audio]
            } else {
                mode = .t2v; required = [.text]; optional = [.image, .audio, .video]
            }
        }
        let missing = required.subtracting(have)
        let couldArrive = missing.union(optional.subtracting(have))
        if !settled && !couldArrive.isEmpty {
            return .waiting(for: couldArrive)
        }
        let location = SourceLocation(file: folder.appendingPathComponent(mainFile).path, line: 1, column: 1)
        if !missing.isEmpty {
            let names = missing.map(\.rawValue).sorted().joined(separator: " and ")
            return .invalid(JobErrors([Diagnostic(at: location, "\(mode.rawValue) drop '\(stem)' needs a \(names) file with the same name")]))
        }
        let extra = have.subtracting(required).subtracting(optional)
        if !extra.isEmpty {
            let names = extra.map { byRole[$0]! }.sorted().joined(separator: ", ")
            return .invalid(JobErrors([Diagnostic(at: location, "\(names) cannot be used by a \(mode.rawValue) drop")]))
        }

        var fields = JobFields(document: YAMLMark(line: 1, column: 1))
        let mark = YAMLMark(line: 1, column: 1)
        fields.mode = Located(value: mode, mark: mark)
        if let text = byRole[.text] {
            let url = folder.appendingPathComponent(text)
            guard let data = FileManager.default.contents(atPath: url.path), let prompt = String(data: data, encoding: .utf8) else {
                return .invalid(JobErrors([Diagnostic(file: url.path, line: 1, column: 1, message: "the prompt file is not readable UTF-8 text")]))
            }
            fields.prompt = Located(value: prompt.trimmingCharacters(in: .whitespacesAndNewlines), mark: mark)
        }
        if let f = byRole[.image] { fields.image = Located(value: f, mark: mark) }
        if let f = byRole[.audio] { fields.audio = Located(value: f, mark: mark) }
        if let f = byRole[.video] { fields.video = Located(value: f, mark: mark) }
        let resolver = JobResolver(config: config, inbox: inbox, displayFile: location.file, jobFolder: folder)
        var reader = SchemaReader(file: location.file)
        let jobs = resolver.resolve(fields, document: 0, defaultName: stem, reader: &reader, requireVersion: false)
        if reader.diagnostics.contains(where: { $0.severity == .error }) {
            return .invalid(JobErrors(reader.diagnostics))
        }
        return .ready(jobs)
    }
}

extension JobErrors: Equatable {
    public static func == (a: JobErrors, b: JobErrors) -> Bool { a.diagnostics == b.diagnostics }
}
