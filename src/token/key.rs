//! Fingerprints of secrets and the store keys built from them: tell apart the tokens of different secrets
//! without revealing the secret.

use super::Secret;

/// A short hex fingerprint of a secret (the first 12 hex digits of its SHA-1): tells apart the tokens of
/// different secrets in a store's keys without revealing the secret.
pub fn fingerprint(secret: &Secret) -> String {
    use sha1::Digest;
    let digest = sha1::Sha1::digest(secret.expose().as_bytes());
    hex::encode(&digest[..6])
}

/// The store key of a token: `<kind>:<id>:<fingerprint of the secret>`, e.g.
/// `access_token:ww0123456789:3f9a0c21b7de`. Never contains the secret.
pub fn token_key(kind: &str, id: &str, secret: &Secret) -> String {
    format!("{kind}:{id}:{}", fingerprint(secret))
}
