// WandEngine: see ../shared/design/ARCHITECTURE.md for what this module owns.
public enum WandEngineInfo {
    public static let moduleName = "WandEngine"
}
