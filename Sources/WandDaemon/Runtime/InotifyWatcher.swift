import CInotify
import Foundation

/// inotify through libinotifytools, on a thread of its own (the library keeps one global,
/// non-thread-safe instance). It only says "something changed"; the scanner decides what. Any
/// event, an overflow included, triggers a scan, and periodic rescans run regardless.
final class InotifyWatcher: @unchecked Sendable {
    private static let active = NSLock()
    private let stopFlag: StopFlag
    final class StopFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
        func set() { lock.lock(); value = true; lock.unlock() }
    }

    /// nil when inotify cannot be used (another watcher in this process, or the kernel refused).
    init?(paths: [String], onChange: @escaping @Sendable () -> Void) {
        guard Self.active.try() else { return nil }
        guard inotifytools_initialize() != 0 else { Self.active.unlock(); return nil }
        let mask = Int32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_UNMOUNT)
        for p in paths where inotifytools_watch_file(p, mask) == 0 {
            inotifytools_cleanup()
            Self.active.unlock()
            return nil
        }
        let flag = StopFlag()
        stopFlag = flag
        let thread = Thread {
            while !flag.isSet {
                if inotifytools_next_event(1) != nil { onChange() }
            }
            inotifytools_cleanup()
            InotifyWatcher.active.unlock()
        }
        thread.name = "wand-inotify"
        thread.start()
    }

    func stop() { stopFlag.set() }
}

/// Filesystems where inotify sees no writes made by other machines: poll those.
func isNetworkFilesystem(_ path: String) -> (Bool, String) {
    var s = statfs()
    guard statfs(path, &s) == 0 else { return (false, "unknown") }
    let names: [Int: String] = [0x6969: "nfs", 0x517B: "smb", 0xFE534D42: "smb2", 0xFF534D42: "cifs",
                                0x65735546: "fuse", 0x01021997: "9p", 0x00C36400: "ceph"]
    let magic = Int(UInt32(truncatingIfNeeded: s.f_type))
    if let name = names[magic] { return (true, name) }
    return (false, String(format: "0x%X", magic))
}
