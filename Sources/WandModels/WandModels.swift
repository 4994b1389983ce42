// WandModels: see ../shared/design/ARCHITECTURE.md for what this module owns.
public enum WandModelsInfo {
    public static let moduleName = "WandModels"
}
