// WandMedia: see ../shared/design/ARCHITECTURE.md for what this module owns.
public enum WandMediaInfo {
    public static let moduleName = "WandMedia"
}
