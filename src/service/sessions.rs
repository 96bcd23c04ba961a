//! Logging in: turning a verified identity into a session token.

use std::time::Duration;

use crate::domain::credentials::{SessionToken, decoy_hash, verify_password};
use crate::domain::error::AuthFailure;
use crate::domain::identity::{Role, Username};
use crate::domain::throttle::LoginThrottle;
use crate::domain::time::Millis;
use crate::domain::{DomainError, DomainResult};
use crate::store::accounts::AccountRow;
use crate::store::{self, Db};

pub struct IssuedSession {
    pub token: SessionToken,
    pub expires_at: Millis,
    pub role: Role,
}

pub async fn issue(
    db: &Db,
    secret: &str,
    account_id: &str,
    city_id: &str,
    role: Role,
    ttl: Duration,
) -> DomainResult<IssuedSession> {
    let token = SessionToken::generate();
    let expires_at = Millis::now().plus_secs(ttl.as_secs() as i64);
    store::sessions::insert(db, &token.hash(secret), account_id, city_id, expires_at).await?;
    Ok(IssuedSession { token, expires_at, role })
}

/// Checks a staff member's username and password, throttling guesses per username.
pub async fn verify_staff(db: &Db, raw_username: &str, password: &str) -> DomainResult<AccountRow> {
    let bad_credentials = DomainError::Unauthenticated(AuthFailure::BadCredentials);
    // A name that cannot exist is throttled under its folded form like any other.
    let key = raw_username.trim().to_ascii_lowercase();
    let throttle = LoginThrottle::default();
    let now = Millis::now();
    let recent = store::login_failures::since(db, &key, throttle.window_start(now)).await?;
    throttle.check(&recent, now)?;

    let found = match Username::parse(raw_username) {
        Ok(username) => store::accounts::find_staff_credentials(db, &username).await?,
        Err(_) => None,
    };
    // An unknown name costs a full verification too, so timing does not tell names apart.
    let stored_hash = found.as_ref().map(|(_, h)| h.clone()).unwrap_or_else(|| decoy_hash().to_string());
    let candidate = password.to_string();
    let verified = tokio::task::spawn_blocking(move || verify_password(&candidate, &stored_hash))
        .await
        .map_err(DomainError::internal)?;
    match found {
        Some((account, _)) if verified => {
            store::login_failures::clear(db, &key).await?;
            if account.disabled {
                return Err(DomainError::Unauthenticated(AuthFailure::AccountDisabled));
            }
            Ok(account)
        }
        _ => {
            store::login_failures::record(db, &key, now, throttle.window_start(now)).await?;
            Err(bad_credentials)
        }
    }
}
