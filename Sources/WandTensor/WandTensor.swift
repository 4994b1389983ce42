// WandTensor: see ../shared/design/ARCHITECTURE.md for what this module owns.
public enum WandTensorInfo {
    public static let moduleName = "WandTensor"
}
