//! WeChat's message push, as the mini-program's message push configuration defines it: the
//! signature on every push, the encrypted (安全模式) envelope, and the one event read from it,
//! `wxa_media_check` (a photo's content check verdict).
//!
//! - A push names `signature` = SHA-1 of the sorted, concatenated [token, timestamp, nonce]. The
//!   server verification (a GET) is the same signature, answered by echoing `echostr`.
//! - An encrypted push carries `Encrypt` (base64) and `msg_signature` = SHA-1 of the sorted,
//!   concatenated [token, timestamp, nonce, Encrypt]. The key is the 43-character EncodingAESKey
//!   read as base64 (with a `=` added): 32 bytes, AES-256-CBC with the key's first 16 bytes as the
//!   IV, PKCS#7 padding to 32-byte blocks. The plaintext is 16 random bytes, the message's length
//!   (4 bytes, big-endian), the message, and the app id it was meant for.
//!
//! The plaintext signature does not cover the body; the encrypted one does. So when an AES key
//! is configured, only encrypted pushes are taken.

use std::fmt;

use aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use sha1::{Digest, Sha1};

use super::content::Verdict;

/// WeChat pads to multiples of 32 bytes (its own PKCS#7 block), not AES's 16.
const PAD_BLOCK: usize = 32;
const RANDOM_LEN: usize = 16;

/// Base64 as WeChat's EncodingAESKey is written: its 43rd character carries 2 bits beyond the
/// 256 the key uses, and those bits are not always zero.
const KEY_BASE64: GeneralPurpose =
    GeneralPurpose::new(&base64::alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true));

/// The 32-byte key an EncodingAESKey stands for.
#[derive(Clone, PartialEq, Eq)]
pub struct AesKey([u8; 32]);

impl AesKey {
    /// Reads a 43-character EncodingAESKey (letters and digits, as the WeChat console makes it).
    pub fn parse(encoding_aes_key: &str) -> Result<AesKey, String> {
        let text = encoding_aes_key.trim();
        if text.len() != 43 || !text.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err("an EncodingAESKey is 43 letters and digits".into());
        }
        let bytes = KEY_BASE64.decode(format!("{text}=")).map_err(|e| format!("not base64: {e}"))?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| "does not decode to 32 bytes".to_string())?;
        Ok(AesKey(key))
    }

    fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.0[..16]);
        iv
    }
}

impl fmt::Debug for AesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AesKey(<redacted>)")
    }
}

/// Why a push is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushRefused {
    #[error("{}", self.reason())]
    BadSignature,
    #[error("{}", self.reason())]
    NotEncrypted,
    #[error("{}", self.reason())]
    NoAesKey,
    #[error("{}", self.reason())]
    Undecryptable,
    #[error("{}", self.reason())]
    WrongApp,
}

impl PushRefused {
    pub fn reason(self) -> &'static str {
        match self {
            PushRefused::BadSignature => "the push's signature does not match",
            PushRefused::NotEncrypted => "only encrypted pushes are taken (an EncodingAESKey is configured)",
            PushRefused::NoAesKey => "an encrypted push arrived but no EncodingAESKey is configured",
            PushRefused::Undecryptable => "the encrypted message cannot be read",
            PushRefused::WrongApp => "the encrypted message is for another app",
        }
    }
}

/// 403 `forbidden`, with the reason in `details`: WeChat signs every push, so a push that does
/// not verify did not come from WeChat (or not for this app).
impl From<PushRefused> for super::DomainError {
    fn from(refused: PushRefused) -> Self {
        super::DomainError::Forbidden(refused.reason())
    }
}

/// What checking and opening pushes needs: the push token, the AES key (when pushes are
/// encrypted) and the app id encrypted messages must name.
#[derive(Clone)]
pub struct PushKeys {
    token: String,
    aes: Option<AesKey>,
    app_id: String,
}

impl fmt::Debug for PushKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushKeys").field("app_id", &self.app_id).field("encrypted", &self.aes.is_some()).finish()
    }
}

/// SHA-1 of the parts sorted and concatenated, in lowercase hex: WeChat's push signature.
pub fn signature(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    let mut sha = Sha1::new();
    for part in sorted {
        sha.update(part.as_bytes());
    }
    hex::encode(sha.finalize())
}

/// Compares in time that does not depend on where the two differ.
fn same(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.trim().to_ascii_lowercase().into_bytes());
    a.len() == b.len() && a.iter().zip(&b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl PushKeys {
    pub fn new(token: impl Into<String>, aes: Option<AesKey>, app_id: impl Into<String>) -> PushKeys {
        PushKeys { token: token.into(), aes, app_id: app_id.into() }
    }

    /// Pushes must come encrypted.
    pub fn encrypted(&self) -> bool {
        self.aes.is_some()
    }

    /// Checks `signature` over [token, timestamp, nonce]: the server verification, and a
    /// plaintext push.
    pub fn verify(&self, signature_given: &str, timestamp: &str, nonce: &str) -> Result<(), PushRefused> {
        if same(&signature(&[&self.token, timestamp, nonce]), signature_given) {
            Ok(())
        } else {
            Err(PushRefused::BadSignature)
        }
    }

    /// Checks `msg_signature` over [token, timestamp, nonce, encrypt], decrypts `encrypt` and
    /// checks that it was meant for this app; returns the message.
    pub fn open(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<String, PushRefused> {
        if !same(&signature(&[&self.token, timestamp, nonce, encrypt]), msg_signature) {
            return Err(PushRefused::BadSignature);
        }
        let key = self.aes.as_ref().ok_or(PushRefused::NoAesKey)?;
        let (message, app_id) = decrypt(key, encrypt).ok_or(PushRefused::Undecryptable)?;
        if app_id != self.app_id {
            return Err(PushRefused::WrongApp);
        }
        Ok(message)
    }

    /// Encrypts and signs a message as WeChat does (`random` is the 16-byte prefix): the
    /// `Encrypt` and `msg_signature` of a push. What tests and a local WeChat stand-in use.
    pub fn seal(&self, message: &str, random: [u8; 16], timestamp: &str, nonce: &str) -> Option<(String, String)> {
        let key = self.aes.as_ref()?;
        let encrypt = encrypt(key, message, &self.app_id, random);
        let msg_signature = signature(&[&self.token, timestamp, nonce, &encrypt]);
        Some((encrypt, msg_signature))
    }
}

type Enc = cbc::Encryptor<Aes256>;
type Dec = cbc::Decryptor<Aes256>;

fn encrypt(key: &AesKey, message: &str, app_id: &str, random: [u8; 16]) -> String {
    let mut plain = Vec::with_capacity(RANDOM_LEN + 4 + message.len() + app_id.len() + PAD_BLOCK);
    plain.extend_from_slice(&random);
    plain.extend_from_slice(&(message.len() as u32).to_be_bytes());
    plain.extend_from_slice(message.as_bytes());
    plain.extend_from_slice(app_id.as_bytes());
    let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
    plain.resize(plain.len() + pad, pad as u8);
    let len = plain.len();
    let sealed = Enc::new(&key.0.into(), &key.iv().into())
        .encrypt_padded_mut::<NoPadding>(&mut plain, len)
        .expect("a whole number of blocks");
    STANDARD.encode(sealed)
}

/// The message and the app id inside `encrypt`, or none when it is not such a message.
fn decrypt(key: &AesKey, encrypt: &str) -> Option<(String, String)> {
    let mut bytes = STANDARD.decode(encrypt.trim()).ok()?;
    if bytes.is_empty() || bytes.len() % 16 != 0 {
        return None;
    }
    let plain = Dec::new(&key.0.into(), &key.iv().into()).decrypt_padded_mut::<NoPadding>(&mut bytes).ok()?;
    let pad = usize::from(*plain.last()?);
    if !(1..=PAD_BLOCK).contains(&pad)
        || pad > plain.len()
        || !plain[plain.len() - pad..].iter().all(|b| usize::from(*b) == pad)
    {
        return None;
    }
    let body = plain.get(RANDOM_LEN..plain.len() - pad)?;
    let len = u32::from_be_bytes(body.get(..4)?.try_into().ok()?) as usize;
    let message = body.get(4..4usize.checked_add(len)?)?;
    let app_id = body.get(4 + len..)?;
    Some((String::from_utf8(message.to_vec()).ok()?, String::from_utf8(app_id.to_vec()).ok()?))
}

/// A check's `label` as WeChat sends it: a number from `msgSecCheck`, sometimes a string in pushes.
pub fn label_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What a push says, as far as this service listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushEvent {
    /// `wxa_media_check`: the verdict on the photo `mediaCheckAsync` answered `trace_id` for;
    /// `verdict` is none when the push carries no `result.suggest` this service knows.
    MediaCheck { trace_id: String, verdict: Option<Verdict>, label: Option<String> },
    /// Any other event or message: acknowledged and ignored.
    Other,
}

impl PushEvent {
    /// Reads a push in WeChat's JSON data format.
    pub fn read(push: &serde_json::Value) -> PushEvent {
        if push["Event"].as_str() != Some("wxa_media_check") {
            return PushEvent::Other;
        }
        match push["trace_id"].as_str().filter(|t| !t.is_empty()) {
            Some(trace_id) => PushEvent::MediaCheck {
                trace_id: trace_id.to_string(),
                verdict: push["result"]["suggest"].as_str().and_then(Verdict::from_suggest),
                label: label_text(&push["result"]["label"]),
            },
            None => PushEvent::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values of wechatpy's tests of the same scheme (`tests/test_crypto.py`).
    const TOKEN: &str = "123456";
    const AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
    const APP_ID: &str = "wx49f0ab532d5d035a";

    fn keys() -> PushKeys {
        PushKeys::new(TOKEN, Some(AesKey::parse(AES_KEY).unwrap()), APP_ID)
    }

    #[test]
    fn the_plaintext_signature_matches_wechats_own_example() {
        // WeChat's message push guide: Token "AAAAA", timestamp 1714037059, nonce 486452656.
        assert_eq!(signature(&["AAAAA", "1714037059", "486452656"]), "899cf89e464efb63f54ddac96b0a0a235f53aa78");
        let keys = PushKeys::new("AAAAA", None, "wx");
        assert_eq!(keys.verify("899cf89e464efb63f54ddac96b0a0a235f53aa78", "1714037059", "486452656"), Ok(()));
        assert_eq!(keys.verify("899CF89E464EFB63F54DDAC96B0A0A235F53AA78", "1714037059", "486452656"), Ok(()));
        for (sig, nonce) in [("899cf89e464efb63f54ddac96b0a0a235f53aa79", "486452656"), ("", "486452656")] {
            assert_eq!(keys.verify(sig, "1714037059", nonce), Err(PushRefused::BadSignature));
        }
        assert_eq!(
            keys.verify("899cf89e464efb63f54ddac96b0a0a235f53aa78", "1714037059", "486452657"),
            Err(PushRefused::BadSignature)
        );
    }

    #[test]
    fn a_known_encrypted_message_is_opened() {
        let encrypt = "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=";
        let opened = keys().open("74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "1411525903", "461056294", encrypt);
        let message = opened.expect("opens");
        assert!(message.contains("<Content><![CDATA[test]]></Content>"), "{message}");
        assert!(message.contains("<FromUserName><![CDATA[messense]]></FromUserName>"), "{message}");
        // Another signature, another app, or no key: refused.
        let k = keys();
        assert_eq!(
            k.open("74d92dfeb87ba7c714f89d98870ae5eb62dff26e", "1411525903", "461056294", encrypt),
            Err(PushRefused::BadSignature)
        );
        let other_app = PushKeys::new(TOKEN, Some(AesKey::parse(AES_KEY).unwrap()), "wx-other");
        assert_eq!(
            other_app.open("74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "1411525903", "461056294", encrypt),
            Err(PushRefused::WrongApp)
        );
        let keyless = PushKeys::new(TOKEN, None, APP_ID);
        assert_eq!(
            keyless.open("74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "1411525903", "461056294", encrypt),
            Err(PushRefused::NoAesKey)
        );
    }

    #[test]
    fn sealing_matches_the_known_ciphertext_and_signature() {
        let reply = "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>";
        let (encrypt, msg_signature) = keys().seal(reply, *b"1234567890123456", "1411525903", "461056294").unwrap();
        assert_eq!(
            encrypt,
            "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
        );
        assert_eq!(msg_signature, "407518b7649e86ef23978113f92d27afa9296533");
        assert_eq!(keys().open(&msg_signature, "1411525903", "461056294", &encrypt).as_deref(), Ok(reply));
    }

    #[test]
    fn every_length_round_trips_and_garbage_is_refused_not_a_panic() {
        let k = keys();
        for len in [0, 1, 5, 6, 11, 12, 27, 28, 100] {
            let message = "消".repeat(len / 3) + &"x".repeat(len % 3);
            let (encrypt, sig) = k.seal(&message, [7; 16], "1", "2").unwrap();
            assert_eq!(k.open(&sig, "1", "2", &encrypt), Ok(message.clone()), "{len}");
        }
        for junk in ["", "not base64!", "AAAA", &STANDARD.encode([0u8; 32]), &STANDARD.encode([0u8; 17])] {
            let sig = signature(&[TOKEN, "1", "2", junk]);
            assert_eq!(k.open(&sig, "1", "2", junk), Err(PushRefused::Undecryptable), "{junk}");
        }
    }

    #[test]
    fn an_encoding_aes_key_is_43_letters_and_digits() {
        assert!(AesKey::parse(AES_KEY).is_ok());
        for bad in ["", "short", &format!("{AES_KEY}x"), &AES_KEY.replace('k', "+")] {
            assert!(AesKey::parse(bad).is_err(), "{bad}");
        }
        assert!(!format!("{:?}", AesKey::parse(AES_KEY).unwrap()).contains("kWx"));
    }

    #[test]
    fn a_media_check_push_is_read_by_its_trace_id_and_suggestion() {
        let push = serde_json::json!({
            "ToUserName": "gh_7bf1f1389686", "FromUserName": "or9bw69j", "CreateTime": 1762329554,
            "MsgType": "event", "Event": "wxa_media_check", "appid": "wxb04d1be1ede56d47",
            "trace_id": "690b03d2-301f6111-35ffbd44", "version": 2,
            "result": { "suggest": "risky", "label": "20002" },
            "detail": [{ "strategy": "content_model", "errcode": 0, "suggest": "risky", "label": "20002", "prob": 90 }]
        });
        assert_eq!(
            PushEvent::read(&push),
            PushEvent::MediaCheck {
                trace_id: "690b03d2-301f6111-35ffbd44".into(),
                verdict: Some(Verdict::Risky),
                label: Some("20002".into())
            }
        );
        let numeric = serde_json::json!({ "Event": "wxa_media_check", "trace_id": "t", "result": { "suggest": "pass", "label": 100 } });
        assert!(
            matches!(PushEvent::read(&numeric), PushEvent::MediaCheck { verdict: Some(Verdict::Pass), label: Some(l), .. } if l == "100")
        );
        for other in [
            serde_json::json!({ "Event": "debug_demo" }),
            serde_json::json!({ "Event": "wxa_media_check" }),
            serde_json::json!([]),
        ] {
            assert_eq!(PushEvent::read(&other), PushEvent::Other);
        }
    }
}
