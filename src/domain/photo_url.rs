//! Signed photo URLs: what lets `<image src>` and `wx.previewImage`, which send no token, load a
//! photo. A URL names the photo, an expiry and an HMAC-SHA256 of both under a key only the
//! server holds. The signature is the authorization: checking it needs the key and the clock,
//! no database. A URL is made only for a caller who may see the photo when a view carrying it
//! is made (see `report::may_see_photo`), and it works for anyone holding it until it expires.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::DomainError;
use super::time::Millis;

type HmacSha256 = Hmac<Sha256>;

/// What the URL key is derived under: no session token (they all start `xhb_`) hashes to it.
const KEY_LABEL: &[u8] = b"xinhuoban photo url key v1";

/// The key photo URLs are signed with, derived from the token secret under a label of its own, so
/// that one secret serves both uses without one's outputs ever standing for the other's.
#[derive(Clone)]
pub struct UrlKey([u8; 32]);

impl UrlKey {
    pub fn derive(token_secret: &str) -> UrlKey {
        let mut mac = HmacSha256::new_from_slice(token_secret.as_bytes()).expect("HMAC accepts any key length");
        mac.update(KEY_LABEL);
        UrlKey(mac.finalize().into_bytes().into())
    }

    fn mac(&self, id: &str, expires: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC accepts any key length");
        // Ids never hold a newline, so no two (id, expiry) pairs make the same message.
        mac.update(id.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    fn sign(&self, id: &str, expires: i64) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(id, expires).finalize().into_bytes())
    }

    /// Accepts a URL whose signature is this key's for `id` and `expires` (compared in
    /// constant time) and whose expiry has not passed at `now`.
    pub fn verify(&self, id: &str, expires: i64, signature: &str, now: Millis) -> Result<(), UrlRefused> {
        let tag = URL_SAFE_NO_PAD.decode(signature).map_err(|_| UrlRefused::BadSignature)?;
        self.mac(id, expires).verify_slice(&tag).map_err(|_| UrlRefused::BadSignature)?;
        if now.0 >= expires.saturating_mul(1000) {
            return Err(UrlRefused::Expired);
        }
        Ok(())
    }
}

impl fmt::Debug for UrlKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UrlKey(<redacted>)")
    }
}

/// Why a signed URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    /// Not made by this server for this photo and expiry: altered, or made up.
    #[error("{}", self.reason())]
    BadSignature,
    #[error("{}", self.reason())]
    Expired,
}

impl UrlRefused {
    pub fn reason(self) -> &'static str {
        match self {
            UrlRefused::BadSignature => "the photo URL's signature does not match it",
            UrlRefused::Expired => "the photo URL has expired",
        }
    }
}

/// 403 `forbidden`, with the reason in `details`.
impl From<UrlRefused> for DomainError {
    fn from(refused: UrlRefused) -> Self {
        DomainError::Forbidden(refused.reason())
    }
}

/// The longest lifetime a signer takes (about 30 years), which keeps its sums far from overflow.
pub const MAX_LIFETIME_SECS: i64 = 1_000_000_000;

/// Makes signed URLs that last at least `lifetime`. The expiry is rounded up to a multiple of the
/// lifetime (from the unix epoch), so a photo's URL stays the same for a whole lifetime and the
/// client's and the browser's caches hit; a URL lasts between one and two lifetimes.
#[derive(Clone, Debug)]
pub struct UrlSigner {
    key: Arc<UrlKey>,
    lifetime_secs: i64,
}

impl UrlSigner {
    pub fn new(key: Arc<UrlKey>, lifetime: Duration) -> UrlSigner {
        let lifetime_secs = i64::try_from(lifetime.as_secs()).unwrap_or(MAX_LIFETIME_SECS).clamp(1, MAX_LIFETIME_SECS);
        UrlSigner { key, lifetime_secs }
    }

    /// The expiry, in unix seconds, of the URLs made at `now`: the first multiple of the
    /// lifetime at least a lifetime after `now`.
    pub fn expiry(&self, now: Millis) -> i64 {
        let lifetime_ms = self.lifetime_secs * 1000;
        ((now.0 + lifetime_ms - 1).div_euclid(lifetime_ms) + 1) * self.lifetime_secs
    }

    pub fn sign(&self, id: &str, now: Millis) -> SignedPhoto {
        let expires = self.expiry(now);
        SignedPhoto { id: id.to_string(), expires, signature: self.key.sign(id, expires) }
    }

    pub fn verify(&self, id: &str, expires: i64, signature: &str, now: Millis) -> Result<(), UrlRefused> {
        self.key.verify(id, expires, signature, now)
    }
}

/// A photo's signed URL: its id, its expiry (unix seconds) and the signature of both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPhoto {
    pub id: String,
    pub expires: i64,
    pub signature: String,
}

impl SignedPhoto {
    pub fn expires_at(&self) -> Millis {
        Millis(self.expires.saturating_mul(1000))
    }

    /// `/media/{id}/signed?exp=…&sig=…`: the URL below the API's prefix (ids and base64url need
    /// no escaping).
    pub fn path(&self) -> String {
        format!("/media/{}/signed?exp={}&sig={}", self.id, self.expires, self.signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01937a4e-8a5b-7cc0-9d2e-3f4a5b6c7d8e";

    fn signer(secret: &str, secs: u64) -> UrlSigner {
        UrlSigner::new(Arc::new(UrlKey::derive(secret)), Duration::from_secs(secs))
    }

    #[test]
    fn a_url_verifies_until_its_expiry_and_not_after() {
        let s = signer("secret-secret-secret-secret-secret", 3600);
        let now = Millis(1_700_000_123_456);
        let url = s.sign(ID, now);
        assert_eq!(s.verify(ID, url.expires, &url.signature, now), Ok(()));
        let last = Millis(url.expires * 1000 - 1);
        assert_eq!(s.verify(ID, url.expires, &url.signature, last), Ok(()));
        let end = url.expires_at();
        assert_eq!(s.verify(ID, url.expires, &url.signature, end), Err(UrlRefused::Expired));
    }

    #[test]
    fn an_altered_id_expiry_or_signature_or_another_key_is_refused() {
        let s = signer("secret-secret-secret-secret-secret", 3600);
        let now = Millis(1_700_000_000_000);
        let url = s.sign(ID, now);
        let other_id = ID.replace('8', "9");
        assert_eq!(s.verify(&other_id, url.expires, &url.signature, now), Err(UrlRefused::BadSignature));
        assert_eq!(s.verify(ID, url.expires + 3600, &url.signature, now), Err(UrlRefused::BadSignature));
        let mut altered = url.signature.clone().into_bytes();
        altered[0] = if altered[0] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(s.verify(ID, url.expires, &altered, now), Err(UrlRefused::BadSignature));
        for junk in ["", "not base64!", &url.signature[..20]] {
            assert_eq!(s.verify(ID, url.expires, junk, now), Err(UrlRefused::BadSignature), "{junk}");
        }
        let other = signer("another-secret-another-secret-another", 3600);
        assert_eq!(other.verify(ID, url.expires, &url.signature, now), Err(UrlRefused::BadSignature));
    }

    #[test]
    fn the_expiry_is_rounded_up_so_a_url_stays_the_same_for_a_lifetime() {
        let s = signer("secret-secret-secret-secret-secret", 3600);
        let hour = |h: i64| h * 3600 * 1000;
        // Anywhere within one hour: the same URL, expiring at the end of the next hour.
        let first = s.sign(ID, Millis(hour(10) + 1));
        for at in [hour(10) + 1000, hour(10) + 1_800_000, hour(11)] {
            assert_eq!(s.sign(ID, Millis(at)), first, "{at}");
        }
        assert_eq!(first.expires_at(), Millis(hour(12)));
        assert_eq!(s.expiry(Millis(hour(10))), 11 * 3600);
        // Always at least a lifetime ahead, never more than two.
        for at in [hour(10), hour(10) + 1, hour(10) + 999, hour(11) - 1] {
            let left = s.expiry(Millis(at)) * 1000 - at;
            assert!((hour(1)..hour(2)).contains(&left), "{at}: {left}");
        }
        let second = signer("secret-secret-secret-secret-secret", 1);
        assert_eq!(second.expiry(Millis(5_000)), 6);
        assert_eq!(second.expiry(Millis(5_001)), 7);
    }

    #[test]
    fn the_url_key_is_not_the_token_secret_nor_a_token_hash() {
        let secret = "secret-secret-secret-secret-secret";
        let key = UrlKey::derive(secret);
        assert_ne!(&key.0[..], secret.as_bytes());
        assert_ne!(key.0, UrlKey::derive("another-secret-another-secret-another").0);
        assert!(!format!("{key:?}").contains(secret));
    }
}
