//! Logging in: turning a verified identity into a session token.

use std::time::Duration;

use crate::domain::DomainResult;
use crate::domain::credentials::SessionToken;
use crate::domain::identity::Role;
use crate::domain::time::Millis;
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
