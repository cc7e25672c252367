/// The version of Inlet, printed by `inlet --version`.
public enum InletVersion {
    public static let current = "0.1.0"
}
