import Testing

@testable import InletPipeline

@Suite("Message ids")
struct MessageDigestTests {
    /// Event ids are derived again by every version after a replay or a rolling upgrade: the
    /// text of an id never changes (these were computed apart, with Python's hashlib:
    /// `sha256("\x1f".join(parts).encode()).hexdigest()[:32]`).
    @Test("an id is the first 16 bytes of SHA-256 over the parts joined by U+001F, in lower-case hex", arguments: [
        (["a"], "ca978112ca1bbdcafac231b39a23dc4d"),
        (["sub-1", "ingress", "3", "42", "0"], "3f815cf02118e9ad31779149bcf4512a"),
        (["", ""], "ffe679bb831c95b67dc17819c63c5090"),
        (["héllo", "wörldé"], "8e00f84fc55dae7f6c93f0b24d09fe8b"),
        ([], "e3b0c44298fc1c149afbf4c8996fb924"),
    ])
    func stable(parts: [String], id: String) {
        #expect(MessageDigest.id(parts) == id)
    }
}
