//! Secrets the product hands out — session ids, connector access tokens, API tokens — and the
//! digests it keeps of them. Only a SHA-256 digest of an access token is stored, so a copy of
//! the database lets nobody in; the token itself is shown once, when it is issued.

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

/// 32 random bytes as hex: a session id or a password nobody chose.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

/// `len` random letters and digits: a token people copy into a configuration.
pub(crate) fn alphanumeric(len: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// What is stored of a token.
pub(crate) fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
