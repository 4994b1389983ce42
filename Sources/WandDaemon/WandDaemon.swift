// WandDaemon: see ../shared/design/ARCHITECTURE.md for what this module owns.
public enum WandDaemonInfo {
    public static let moduleName = "WandDaemon"
}
