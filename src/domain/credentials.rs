//! Staff passwords (argon2id) and session tokens (random, stored as a keyed hash).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::DomainError;
use super::identity::NewPassword;

/// Hashes a new password with argon2id and a random salt (PHC string format).
pub fn hash_password(password: &NewPassword) -> Result<String, DomainError> {
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(DomainError::internal)?;
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(DomainError::internal)
}

/// True when `candidate` matches the stored hash.
pub fn verify_password(candidate: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|parsed| Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// A hash that costs as much to verify as a real one, so an unknown username takes as long
/// to refuse as a wrong password.
pub fn decoy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$5vN2JgQf0r4JbCq3l0mG1o8pXv1r2m1Z3k4s5t6u7v8"
}

/// A bearer token as handed to a client. Only its keyed hash is stored.
pub struct SessionToken(String);

impl SessionToken {
    const PREFIX: &'static str = "xhb_";

    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        SessionToken(format!("{}{}", Self::PREFIX, base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Accepts what a client sent, without judging whether it is valid.
    pub fn from_client(raw: &str) -> Option<Self> {
        let ok = raw.starts_with(Self::PREFIX) && raw.len() <= 100;
        ok.then(|| SessionToken(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// HMAC-SHA256 of the token under the server's secret: a stolen table yields no tokens.
    pub fn hash(&self, secret: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
        mac.update(self.0.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_only_against_its_own_hash() {
        let hash = hash_password(&NewPassword::parse("correct horse").unwrap()).unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("anything", "not a hash"));
        assert!(!verify_password("anything", decoy_hash()));
    }

    #[test]
    fn tokens_are_unique_and_hashed_under_the_secret() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_ne!(a.expose(), b.expose());
        assert_ne!(a.hash("secret-one"), a.hash("secret-two"));
        assert_eq!(a.hash("s"), SessionToken::from_client(a.expose()).unwrap().hash("s"));
        assert!(SessionToken::from_client("Bearer nonsense").is_none());
    }
}
