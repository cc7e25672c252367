import Foundation
import InletJSON
import Testing

@testable import InletPipeline

@Suite("The secret key")
struct CredentialVaultTests {
    static let base64Key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    static let hexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

    @Test("the roles take 32 bytes as base64 or hex (the same key either way), and refuse a passphrase or a short key, saying how to make one")
    func strictKeys() throws {
        let base64 = try CredentialVault(strictSecret: Self.base64Key)
        let hex = try CredentialVault(strictSecret: Self.hexKey)
        #expect(base64.keyId == hex.keyId)
        let sealed = try base64.seal(["token": "t"])
        #expect(try hex.open(sealed) == ["token": "t"])
        #expect(try CredentialVault(strictSecret: Self.base64Key + "\n").keyId == base64.keyId, "a key read from a file keeps its newline")
        let zeros = Data(count: 32).base64EncodedString()
        let plusHex = "+f" + String(Self.hexKey.dropFirst(2))
        for weak in ["correct horse battery staple", "AAECAwQFBgcICQoLDA0ODw==", String(Self.hexKey.dropLast()), "", zeros, String(repeating: "0", count: 64), plusHex] {
            let error = #expect(throws: VaultError.self) { try CredentialVault(strictSecret: weak) }
            #expect(error?.message.contains("openssl rand -base64 32") == true)
        }
        // `inlet dev` and tests may still stretch a passphrase.
        #expect(CredentialVault(secret: "correct horse battery staple").keyId != base64.keyId)
        #expect(!CredentialVault.isKey("correct horse battery staple") && CredentialVault.isKey(Self.hexKey))
    }
}
