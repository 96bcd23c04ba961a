//! Sessions: logging riders in through WeChat and staff with a password, finding the caller
//! behind a token, logging out, and who the caller is.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::DomainError;
use crate::domain::DomainResult;
use crate::domain::city::City;
use crate::domain::credentials::{SessionToken, decoy_hash, verify_password};
use crate::domain::error::AuthFailure;
use crate::domain::identity::{Account, Caller, Role, Username, demo_rider_name};
use crate::domain::throttle::LoginThrottle;
use crate::domain::time::Millis;
use crate::integrations::wechat::WechatClient;
use crate::store::{self, Db};

/// What logging in needs: the database, the city riders join, WeChat, and the session settings.
#[derive(Clone)]
pub struct SessionsContext {
    pub db: Db,
    pub city: Arc<City>,
    pub wechat: WechatClient,
    pub token_secret: String,
    pub rider_ttl: Duration,
    pub staff_ttl: Duration,
    /// `demo-<name>` codes log in demo riders (demo mode without WeChat configured).
    pub demo_logins: bool,
}

/// A new session: the token goes to the client once and only its hash is stored.
pub struct IssuedSession {
    pub token: SessionToken,
    pub expires_at: Millis,
    pub role: Role,
}

/// A caller whose session token checked out.
#[derive(Debug, Clone)]
pub struct Session {
    pub caller: Caller,
    pub token_hash: String,
}

/// Who the caller is, and for a station manager the places they keep.
pub struct Me {
    pub caller: Caller,
    pub place_ids: Option<Vec<String>>,
    /// A rider's choice to appear in rankings by their masked name.
    pub name_shown_in_rankings: Option<bool>,
}

async fn issue(db: &Db, secret: &str, account: &Account, ttl: Duration) -> DomainResult<IssuedSession> {
    let token = SessionToken::generate();
    let expires_at = Millis::now().plus_secs(ttl.as_secs() as i64);
    store::sessions::insert(db, &token.hash(secret), &account.id, &account.city_id, expires_at).await?;
    Ok(IssuedSession { token, expires_at, role: account.role })
}

/// Logs a rider in with a `wx.login()` code: WeChat's `jscode2session` names the rider, who is
/// created on first login. Where demo logins are on, `demo-<name>` is the demo rider `<name>`
/// and no other code is accepted.
pub async fn rider_login(ctx: &SessionsContext, code: &str) -> DomainResult<IssuedSession> {
    let account = match ctx.demo_logins.then(|| demo_rider_name(code)).flatten() {
        Some(name) => demo_rider(&ctx.db, &ctx.city.id, name).await?,
        None if ctx.demo_logins => return Err(DomainError::Unauthenticated(AuthFailure::InvalidWechatCode)),
        None => {
            let openid = ctx.wechat.code_to_session(code).await?.openid;
            store::accounts::upsert_rider(&ctx.db, &ctx.city.id, &openid, "骑手").await?
        }
    };
    if account.disabled {
        return Err(DomainError::Unauthenticated(AuthFailure::AccountDisabled));
    }
    issue(&ctx.db, &ctx.token_secret, &account, ctx.rider_ttl).await
}

/// The demo rider `<name>`, created on first use.
pub async fn demo_rider(db: &Db, city_id: &str, name: &str) -> DomainResult<Account> {
    store::accounts::upsert_rider(db, city_id, &format!("demo:{name}"), name).await
}

/// Logs a staff member in with username and password.
pub async fn staff_login(ctx: &SessionsContext, raw_username: &str, password: &str) -> DomainResult<IssuedSession> {
    let account = verify_staff(&ctx.db, raw_username, password).await?;
    issue(&ctx.db, &ctx.token_secret, &account, ctx.staff_ttl).await
}

/// Checks a staff member's username and password, throttling guesses per username.
///
/// The attempt is reserved (written and committed) before the throttle counts the others, so of
/// many parallel guesses each counts those reserved before it, and at most `max_failures` reach
/// the password check; the rest are refused unchecked, and their reservations forgotten.
async fn verify_staff(db: &Db, raw_username: &str, password: &str) -> DomainResult<Account> {
    // A name that cannot exist is throttled under its folded form like any other.
    let key = raw_username.trim().to_ascii_lowercase();
    let throttle = LoginThrottle::default();
    let now = Millis::now();
    let attempt = store::login_failures::reserve(db, &key, now, throttle.window_start(now)).await?;
    let others = store::login_failures::since_except(db, &key, throttle.window_start(now), &attempt).await?;
    // Judged as of now, after the count: others may have reserved after `now`.
    if let Err(refused) = throttle.check(&others, Millis::now()) {
        store::login_failures::forget(db, &attempt).await?;
        return Err(refused);
    }

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
        // The reservation stays: it is this failure.
        _ => Err(DomainError::Unauthenticated(AuthFailure::BadCredentials)),
    }
}

/// Finds the live session behind a token as a client sent it.
pub async fn authenticate(db: &Db, token_secret: &str, raw_token: &str) -> DomainResult<Session> {
    let unauthenticated = DomainError::Unauthenticated;
    let token = SessionToken::from_client(raw_token.trim()).ok_or(unauthenticated(AuthFailure::InvalidToken))?;
    let token_hash = token.hash(token_secret);
    let found = store::sessions::lookup(db, &token_hash).await?.ok_or(unauthenticated(AuthFailure::InvalidToken))?;
    if found.revoked {
        return Err(unauthenticated(AuthFailure::RevokedToken));
    }
    if found.account_disabled {
        return Err(unauthenticated(AuthFailure::AccountDisabled));
    }
    if found.expires_at <= Millis::now() {
        return Err(unauthenticated(AuthFailure::ExpiredToken));
    }
    Ok(Session { caller: found.caller, token_hash })
}

/// Ends the session a request carries.
pub async fn logout(db: &Db, session: &Session) -> DomainResult<()> {
    store::sessions::revoke(db, &session.token_hash).await
}

/// Who the caller is; a station manager also gets the places they keep.
pub async fn me(db: &Db, caller: &Caller) -> DomainResult<Me> {
    let place_ids = match caller.role {
        Role::StationManager => Some(store::places::managed_ids(db, &caller.account_id).await?),
        _ => None,
    };
    let name_shown_in_rankings = match caller.role {
        Role::Rider => Some(store::points::ranking_name_shown(db, &caller.account_id).await?),
        _ => None,
    };
    Ok(Me { caller: caller.clone(), place_ids, name_shown_in_rankings })
}

/// A rider chooses whether rankings show their masked name (王**); answers with who they are.
pub async fn set_name_shown_in_rankings(db: &Db, rider: &Caller, shown: bool) -> DomainResult<Me> {
    rider.require_role(&[Role::Rider])?;
    store::points::set_ranking_name_shown(db, &rider.account_id, shown).await?;
    me(db, rider).await
}
