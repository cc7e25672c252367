/// Comparing secrets (tokens, signatures) without leaking through timing where they differ.
public enum ConstantTime {
    /// Whether `a` and `b` are equal, looking at every byte whatever the first difference;
    /// only a difference in length returns early (lengths are not secret).
    public static func equal(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
