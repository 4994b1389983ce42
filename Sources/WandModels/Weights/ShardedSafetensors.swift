#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A checkpoint split into shards by a `*.safetensors.index.json` (`{"metadata": ..., "weight_map": {tensor: shard}}`).
/// Every shard the index names must exist, every tensor must be in the shard the index says,
/// and no shard may hold a tensor the index does not list.
public final class ShardedSafetensors: Sendable {
    public let indexPath: String
    public let shards: [SafetensorsFile]
    public let weights: WeightSet

    public init(indexPath: String) throws(WeightError) {
        self.indexPath = indexPath
        let indexFile = try MappedFile(path: indexPath)
        let json: JSONValue
        do { json = try JSONParser.parse(indexFile.all) } catch { throw WeightError(path: indexPath, .malformedHeader(error)) }
        guard let map = json["weight_map"]?.objectValue else {
            throw WeightError(path: indexPath, .invalidIndex("no \"weight_map\" object"))
        }
        let directory = PathUtil.directory(of: indexPath)
        var shardOrder: [String] = []
        var expected: [String: String] = [:]
        for (tensor, shardValue) in map {
            guard let shard = shardValue.stringValue, !shard.isEmpty, !shard.contains("/") || !shard.hasPrefix("/"),
                  !shard.split(separator: "/").contains("..") else {
                throw WeightError(path: indexPath, tensor: tensor, .invalidIndex("shard name must be a relative file name"))
            }
            if !shardOrder.contains(shard) { shardOrder.append(shard) }
            expected[tensor] = shard
        }
        for shard in shardOrder where !PathUtil.isRegularFile(PathUtil.join(directory, shard)) {
            throw WeightError(path: indexPath, .missingShard(shard))
        }
        var files: [SafetensorsFile] = []
        var tensors: [WeightTensor] = []
        for shard in shardOrder {
            let shardPath = PathUtil.join(directory, shard)
            let file = try SafetensorsFile(path: shardPath)
            for t in file.weights.tensors where expected[t.name] != shard {
                throw WeightError(path: shardPath, tensor: t.name,
                                  .invalidIndex(expected[t.name].map { "index places it in \"\($0)\"" } ?? "not listed in the index"))
            }
            files.append(file)
            tensors.append(contentsOf: file.weights.tensors)
        }
        for (tensor, shard) in map {
            let shardName = shard.stringValue ?? ""
            if let file = files.first(where: { PathUtil.lastComponent($0.path) == PathUtil.lastComponent(shardName) }),
               file.weights[tensor] == nil {
                throw WeightError(path: indexPath, tensor: tensor, .tensorNotInShard(shard: shardName))
            }
        }
        shards = files
        weights = try WeightSet(tensors)
    }
}

enum PathUtil {
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func lastComponent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    static func join(_ a: String, _ b: String) -> String {
        a.hasSuffix("/") ? a + b : a + "/" + b
    }

    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Names in a directory, sorted.
    static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
