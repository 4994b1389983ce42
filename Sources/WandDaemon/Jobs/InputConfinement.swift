import Foundation

/// Resolves a job's input path against its folder and refuses anything that leaves the folder or
/// the configured input roots, by `..` or through a symlink.
struct InputConfinement {
    /// Real (symlink-resolved) folders a job may read from.
    let roots: [String]
    let jobFolder: String

    init(jobFolder: URL, inputRoots: [URL]) {
        let folder = InputConfinement.realPath(jobFolder.path) ?? jobFolder.standardizedFileURL.path
        self.jobFolder = folder
        self.roots = [folder] + inputRoots.map { InputConfinement.realPath($0.path) ?? $0.standardizedFileURL.path }
    }

    enum Failure: Error, Equatable {
        case escapes, symlinkEscapes, missing, notAFile
    }

    func resolve(_ relative: String) -> Result<URL, Failure> {
        let joined = relative.hasPrefix("/") ? relative : jobFolder + "/" + relative
        let lexical = URL(fileURLWithPath: joined).standardizedFileURL.path
        guard inside(lexical) else { return .failure(.escapes) }
        guard let real = InputConfinement.realPath(joined) else { return .failure(.missing) }
        guard inside(real) else { return .failure(.symlinkEscapes) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: real, isDirectory: &isDirectory), !isDirectory.boolValue else {
            return .failure(.notAFile)
        }
        return .success(URL(fileURLWithPath: real))
    }

    private func inside(_ path: String) -> Bool {
        roots.contains { root in path.hasPrefix(root == "/" ? "/" : root + "/") }
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
