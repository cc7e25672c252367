import Crypto
import Foundation
import InletConnectors
import JWTKit

/// Customer tokens (seed 002): a JWT your backend asks Inlet for and hands to your front end,
/// which then sends app events as that customer (`Authorization: Bearer <token>`).
///
/// HS256 with a key derived (HKDF-SHA256) from the vault's secret key, so every role that has
/// `INLET_SECRET_KEY` verifies tokens and nothing else needs to be stored. The header's `kid`
/// names the secret key it was derived from, so a key rotation can keep verifying old tokens
/// (by adding the old key's collection) while new ones are signed with the new key.
public struct CustomerTokens: Sendable {
    /// The claims: `sub` the customer id, `name`, `fields`, `iat`, `exp`.
    public struct Claims: JWTPayload {
        public var sub: SubjectClaim
        public var name: String?
        public var fields: JSONValue?
        public var iat: IssuedAtClaim
        public var exp: ExpirationClaim

        public func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
        }
    }

    /// Why a token was refused, for the 401 body.
    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    /// A key per key of the vault's ring, the signing key first: tokens signed before a key
    /// rotation stay valid while the old key is in the ring.
    private let ring: [(kid: JWKIdentifier, key: SymmetricKey)]
    private var kid: JWKIdentifier { ring[0].kid }

    public init(vault: CredentialVault) {
        ring = vault.derivedKeys(purpose: "inlet customer tokens v1").map { (JWKIdentifier(string: "ct-\($0.keyId)"), $0.key) }
    }

    /// The signing and verifying keys (an actor of jwt-kit's; made per use, an HMAC key is cheap).
    private var keys: JWTKeyCollection {
        get async {
            let keys = JWTKeyCollection()
            for entry in ring { await keys.add(hmac: HMACKey(key: entry.key), digestAlgorithm: .sha256, kid: entry.kid) }
            return keys
        }
    }

    /// A token for `customer`, valid for `lifetime`.
    public func issue(for customer: CustomerRecord, lifetime: Duration, now: Date = Date()) async throws -> (token: String, expiresAt: Date) {
        let expiresAt = now.addingTimeInterval(Double(lifetime.components.seconds))
        let claims = Claims(sub: .init(value: customer.id), name: customer.name, fields: customer.fields, iat: .init(value: now), exp: .init(value: expiresAt))
        return (try await keys.sign(claims, kid: kid), expiresAt)
    }

    /// The claims of a valid token.
    ///
    /// - Throws: ``Refused`` when the token is malformed, signed with another key, or expired.
    public func verify(_ token: String) async throws -> Claims {
        do {
            return try await keys.verify(token, as: Claims.self)
        } catch {
            throw Refused(description: "the customer token is not valid (\(error)); ask your backend for a new one (POST /api/v1/customers/<id>/token)")
        }
    }

    /// Whether `token` looks like a JWT (three dot-separated parts), not an app key.
    public static func looksLikeToken(_ token: String) -> Bool {
        token.split(separator: ".", omittingEmptySubsequences: false).count == 3
    }
}
