// sd_notify messages for Type=notify: readiness, status text, watchdog pings, reload and stop.
// NOTIFY_SOCKET is read by libsystemd at every call, so a unit without it (or a test that
// sets it with setenv) behaves correctly without any state here.
import Foundation
import CSystemd
#if canImport(Glibc)
import Glibc
#endif

public struct SystemdNotifier: Sendable {
    public init() {}

    /// False when not started by systemd with notify support: every method is then a no-op.
    public var isAvailable: Bool { getenv("NOTIFY_SOCKET") != nil }

    /// Returns true when systemd received the message.
    @discardableResult public func ready() -> Bool { send("READY=1") }

    @discardableResult public func status(_ text: String) -> Bool {
        send("STATUS=" + text.replacingOccurrences(of: "\n", with: " "))
    }

    @discardableResult public func watchdog() -> Bool { send("WATCHDOG=1") }

    /// Pair with ready() once the reload is done. MONOTONIC_USEC is what Type=notify-reload (253+)
    /// requires; systemd 252 (Debian 12) ignores the unknown field, so sending it costs nothing.
    @discardableResult public func reloading() -> Bool {
        send("RELOADING=1\nMONOTONIC_USEC=\(Self.monotonicMicroseconds())")
    }

    @discardableResult public func stopping() -> Bool { send("STOPPING=1") }

    /// WatchdogSec= is set for this process (WATCHDOG_USEC and, if present, WATCHDOG_PID match).
    public var isWatchdogEnabled: Bool { watchdogInterval != nil }

    /// The watchdog period; ping at half of it.
    public var watchdogInterval: Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(clamping: usec))
    }

    public static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }

    private func send(_ state: String) -> Bool {
        guard isAvailable else { return false }
        return sd_notify(0, state) > 0
    }
}
