//! Accounts and sign-in: argon2 password hashes, lockout after repeated failures, browser
//! sessions with a CSRF token, and API tokens for machine clients. Session and API tokens
//! are random 256-bit values; only their SHA-256 is stored.

use crate::audit::record;
use crate::{App, AppError, Result};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use rand::RngCore;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use wuzhi_domain::audit::hex;
use wuzhi_domain::{Actor, text};

pub use crate::second_factor::Login;

/// How many argon2 computations one server runs at once (each takes about 19 MiB and a core
/// for tens of milliseconds) — as many as there are cores — and how many more may wait for
/// one; past that a sign-in is refused as too many at once, so a flood of sign-ins (an
/// endpoint anyone may call) cannot take the server's memory or its blocking threads.
pub(crate) struct Argon2Gate {
    permits: tokio::sync::Semaphore,
    waiting: std::sync::atomic::AtomicUsize,
}

const ARGON2_QUEUE: usize = 64;

impl Default for Argon2Gate {
    fn default() -> Self {
        Argon2Gate {
            permits: tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
            waiting: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

impl Argon2Gate {
    /// Runs one argon2 computation off the async threads, bounded as above.
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        use std::sync::atomic::Ordering;
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= ARGON2_QUEUE {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(AppError::RateLimited { reason: "too many sign-ins at once; try again in a moment".into() });
        }
        let permit = self.permits.acquire().await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let _permit = permit.map_err(|e| AppError::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(f).await.map_err(|e| AppError::Internal(e.to_string()))
    }
}

/// Hashes a password with argon2id (default parameters), off the async threads.
pub async fn hash_password(app: &App, password: &str) -> Result<String> {
    let p = password.to_owned();
    app.argon2
        .run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default().hash_password(p.as_bytes(), &salt).map(|h| h.to_string())
        })
        .await?
        .map_err(|e| AppError::Internal(e.to_string()))
}

async fn verify_password(app: &App, hash: &str, password: &str) -> Result<bool> {
    let (h, p) = (hash.to_owned(), password.to_owned());
    app.argon2
        .run(move || {
            PasswordHash::new(&h)
                .map(|parsed| Argon2::default().verify_password(p.as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
        })
        .await
}

/// A hash to verify against when the username is unknown, so that the answer takes as long
/// as for a known one.
static DUMMY_HASH: OnceCell<String> = OnceCell::const_new();

pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex(&b)
}

pub fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignedIn {
    #[serde(skip)]
    pub session_token: String,
    pub csrf_token: String,
    pub person_id: i64,
    pub expires_at_ms: i64,
}

/// Signs in from `source` (the client's address). Failures are counted before the password
/// is checked, per username from this source and per source across usernames: an attacker
/// elsewhere cannot lock a person out, each lock is longer than the last, and an unknown
/// username is counted and answered exactly like a known one.
pub async fn login(app: &App, username: &str, password: &str, source: &str) -> Result<Login> {
    let now = app.now_ms();
    let s = &app.settings;
    let key = username.trim().to_lowercase();
    let mut tx = app.db.write().await?;
    let wide = wuzhi_store::people::begin_attempt(
        &mut tx,
        "",
        source,
        now,
        s.max_failed_from_source,
        s.login_window_ms,
        s.lockout_ms,
    )
    .await?;
    let attempt = match wide {
        Err(until_ms) => Err(until_ms),
        Ok(_) => count_attempt(app, &mut tx, &key, source, now).await?,
    };
    wuzhi_store::commit(tx).await?;
    let n = match attempt {
        Ok(n) => n,
        Err(until_ms) => return Err(AppError::Locked { until_ms }),
    };
    let locked = n >= s.max_failed_logins;
    let refused = || {
        if locked {
            // The attempt that reached the limit set the lock; its end is about now + lockout.
            AppError::Locked { until_ms: now + s.lockout_ms }
        } else {
            AppError::BadCredentials
        }
    };
    let mut conn = app.db.read().await?;
    let account = wuzhi_store::people::account_by_username(&mut conn, username).await?;
    drop(conn);
    let Some(acc) = account else {
        let dummy = DUMMY_HASH.get_or_try_init(|| hash_password(app, "not a password of anyone")).await?;
        let _ = verify_password(app, dummy, password).await?;
        return Err(refused());
    };
    if acc.disabled || !verify_password(app, &acc.password_hash, password).await? {
        let mut tx = app.db.write().await?;
        record(
            &mut tx,
            now,
            None,
            "login_failed",
            "person",
            &acc.person_id.to_string(),
            json!({"failures": n, "locked": locked, "source": source}),
        )
        .await?;
        wuzhi_store::commit(tx).await?;
        return Err(refused());
    }
    // The attempt stays counted until the second factor, when one is asked, is right too.
    if let Some(challenge) = crate::second_factor::after_password(app, &acc, source).await? {
        return Ok(Login::SecondFactor(challenge));
    }
    let mut tx = app.db.write().await?;
    let signed = open_session(app, &mut tx, acc.person_id, &key, source, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(Login::SignedIn(signed))
}

/// Counts one attempt of `key` (a username, lower case) from `source` before its password or
/// code is checked: `Ok(count)` with this one, or `Err(locked_until_ms)`.
pub(crate) async fn count_attempt(
    app: &App,
    tx: &mut wuzhi_store::Conn,
    key: &str,
    source: &str,
    now: i64,
) -> Result<std::result::Result<i64, i64>> {
    let s = &app.settings;
    Ok(wuzhi_store::people::begin_attempt(tx, key, source, now, s.max_failed_logins, s.login_window_ms, s.lockout_ms)
        .await?)
}

/// A sign-in that passed: its failures are forgotten and a session opens, in the caller's
/// write.
pub(crate) async fn open_session(
    app: &App,
    tx: &mut wuzhi_store::Conn,
    person_id: i64,
    key: &str,
    source: &str,
    now: i64,
) -> Result<SignedIn> {
    let token = random_token();
    let csrf = random_token();
    let expires = now + app.settings.session_ttl_ms;
    wuzhi_store::people::clear_attempts(tx, key, source).await?;
    wuzhi_store::people::uncount_attempt(tx, source).await?;
    wuzhi_store::people::insert_session(tx, &sha256_hex(&token), person_id, &csrf, now, expires).await?;
    record(tx, now, None, "login", "person", &person_id.to_string(), json!({})).await?;
    Ok(SignedIn { session_token: token, csrf_token: csrf, person_id, expires_at_ms: expires })
}

/// The actor and CSRF token of a live session, in one database round trip.
/// How stale a session's last use may be before it is written again: at most one write a
/// minute per session on the request path.
const TOUCH_EVERY_MS: i64 = 60_000;

pub async fn session_actor(app: &App, token: &str) -> Result<Option<(Actor, String)>> {
    let now = app.now_ms();
    let hash = sha256_hex(token);
    let mut conn = app.db.read().await?;
    let found =
        wuzhi_store::people::session_with_posts(&mut conn, &hash, now, now - app.settings.session_idle_ms).await?;
    drop(conn);
    let Some((person, csrf, posts, last_seen)) = found else { return Ok(None) };
    if last_seen < now - TOUCH_EVERY_MS {
        let mut tx = app.db.write().await?;
        wuzhi_store::people::touch_session(&mut tx, &hash, now).await?;
        wuzhi_store::commit(tx).await?;
    }
    Ok(Some((crate::actor_from(person, posts), csrf)))
}

pub async fn logout(app: &App, token: &str) -> Result<()> {
    let mut tx = app.db.write().await?;
    wuzhi_store::people::delete_session(&mut tx, &sha256_hex(token)).await?;
    wuzhi_store::commit(tx).await?;
    Ok(())
}

/// Changes the actor's own password; every other session of theirs ends.
pub async fn change_password(
    app: &App,
    actor: &Actor,
    current: &str,
    new: &str,
    keep_session: Option<&str>,
) -> Result<()> {
    let mut conn = app.db.read().await?;
    let acc = wuzhi_store::people::account_by_person(&mut conn, actor.person_id)
        .await?
        .ok_or_else(|| AppError::not_found("account"))?;
    drop(conn);
    text::password("new_password", new, Some(&acc.username))?;
    if !verify_password(app, &acc.password_hash, current).await? {
        return Err(AppError::invalid("current_password", "is wrong"));
    }
    let hash = hash_password(app, new).await?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    wuzhi_store::people::set_password(&mut tx, actor.person_id, &hash, now).await?;
    wuzhi_store::people::forget_attempts(&mut tx, &acc.username.to_lowercase()).await?;
    let keep = keep_session.map(sha256_hex).unwrap_or_default();
    wuzhi_store::people::delete_other_sessions(&mut tx, actor.person_id, &keep).await?;
    record(&mut tx, now, Some(actor), "change_password", "person", &actor.person_id.to_string(), json!({})).await?;
    wuzhi_store::commit(tx).await?;
    Ok(())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewToken {
    pub id: i64,
    pub name: String,
    /// Shown once; only its hash is kept.
    pub token: String,
}

pub async fn create_api_token(app: &App, actor: &Actor, name: &str) -> Result<NewToken> {
    let name = text::name("name", name, 100)?;
    let token = format!("wzt_{}", random_token());
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let id = wuzhi_store::people::insert_api_token(&mut tx, &sha256_hex(&token), actor.person_id, &name, now).await?;
    record(&mut tx, now, Some(actor), "create_api_token", "api_token", &id.to_string(), json!({"name": name})).await?;
    wuzhi_store::commit(tx).await?;
    Ok(NewToken { id, name, token })
}

pub async fn token_person(app: &App, token: &str) -> Result<Option<i64>> {
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::people::api_token_person(&mut conn, &sha256_hex(token)).await?)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

pub async fn list_api_tokens(app: &App, actor: &Actor) -> Result<Vec<TokenView>> {
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::people::list_api_tokens(&mut conn, actor.person_id)
        .await?
        .into_iter()
        .map(|(id, name, created_at_ms, revoked_at_ms)| TokenView { id, name, created_at_ms, revoked_at_ms })
        .collect())
}

pub async fn revoke_api_token(app: &App, actor: &Actor, id: i64) -> Result<()> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    if !wuzhi_store::people::revoke_api_token(&mut tx, id, actor.person_id, now).await? {
        return Err(AppError::not_found(format!("api token {id}")));
    }
    record(&mut tx, now, Some(actor), "revoke_api_token", "api_token", &id.to_string(), json!({})).await?;
    wuzhi_store::commit(tx).await?;
    Ok(())
}
