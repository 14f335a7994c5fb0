//! Two-factor sign-in (TOTP, RFC 6238: HMAC-SHA1, six digits, 30-second steps, one step of
//! clock drift either way), the codes any authenticator app shows.
//!
//! Required for every person holding a post of a role in `Settings::two_factor_roles` (by
//! default the administrators and the auditors); optional for everyone else, and once a
//! person has enrolled, asked of them at every sign-in. A right password for such an account
//! gives no session but a challenge (a random token; only its SHA-256 is stored, so every
//! server sharing the database can answer it), which the code must come back with within
//! five minutes. A person who must have a second factor and has none enrols at that moment:
//! the challenge carries a new secret, and its first code enrols it. Each wrong code counts
//! as a failed sign-in (the same lock as for passwords), and five end the challenge. A code
//! is accepted once: a time step taken is never taken again, even by another server.
//!
//! The secret is sealed by the vault, as the archives' sealed fields are.

use crate::audit::record;
use crate::auth::{SignedIn, random_token, sha256_hex};
use crate::{App, AppError, Result};
use serde::Serialize;
use serde_json::json;
use totp_rs::{Builder, Secret, Totp};
use wuzhi_domain::{Actor, Role};

/// How long a challenge waits for its code.
pub const CHALLENGE_MS: i64 = 5 * 60_000;
/// Wrong codes that end a challenge.
const WRONG_CODES: i64 = 5;
/// The issuer an authenticator app shows beside the account.
const ISSUER: &str = "wuzhi";
/// The vault's field name for the secrets.
const FIELD: &str = "accounts.totp_secret";

/// What a right password gives an account that needs a second factor.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Challenge {
    /// `code`: enter the code the authenticator app shows; `enrol`: this account must have a
    /// second factor and has none: add `secret` (or `otpauth_url`, as a QR code) to an
    /// authenticator app and enter its first code.
    pub second_factor: &'static str,
    /// Send it back with the code to `POST /api/session/second-factor`.
    pub challenge: String,
    pub expires_at_ms: i64,
    /// Enrolment only: the new secret in base32, to type into an app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Enrolment only: the `otpauth://` address of the new secret (shown as a QR code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otpauth_url: Option<String>,
}

/// The result of a sign-in with a right password.
pub enum Login {
    SignedIn(SignedIn),
    SecondFactor(Challenge),
}

fn totp(secret: Vec<u8>, account: &str) -> Result<Totp> {
    // An account name with ':' cannot be in an otpauth label; such usernames are refused on
    // creation, but a label is no reason to refuse a sign-in.
    let account = account.replace(':', "_");
    Builder::new()
        .with_secret(Secret::from(secret))
        .with_issuer(Some(ISSUER))
        .with_account_name(account)
        .build()
        .map_err(|e| AppError::Internal(format!("totp: {e}")))
}

fn new_secret() -> Vec<u8> {
    use rand::RngCore;
    let mut b = vec![0u8; 20];
    rand::rng().fill_bytes(&mut b);
    b
}

fn now_s(app: &App) -> u64 {
    (app.now_ms() / 1000).max(0) as u64
}

/// True when one of the person's posts is of a role that must have a second factor.
pub(crate) async fn required(app: &App, person_id: i64) -> Result<bool> {
    if app.settings.two_factor_roles.is_empty() {
        return Ok(false);
    }
    let mut conn = app.db.read().await?;
    let posts = wuzhi_store::people::active_memberships(&mut conn, person_id, app.now_ms()).await?;
    Ok(posts.iter().any(|m| Role::parse(&m.role).is_ok_and(|r| app.settings.two_factor_roles.contains(&r))))
}

/// After a right password: a challenge for the code of the enrolled secret, or, when the
/// account must have one and has none, an enrolment. `None`: no second factor is asked.
pub(crate) async fn after_password(
    app: &App,
    acc: &wuzhi_store::people::AccountRow,
    source: &str,
) -> Result<Option<Challenge>> {
    let enrolled = acc.totp_secret.is_some();
    if !enrolled && !required(app, acc.person_id).await? {
        return Ok(None);
    }
    Ok(Some(challenge(app, acc, if enrolled { "sign_in" } else { "enrol" }, source).await?))
}

/// Writes a challenge of `purpose` for the account: `sign_in` waits for the code of its
/// enrolled secret; `enrol` (at sign-in) and `add` (signed in) carry a new secret, sealed,
/// which the answer shows once.
async fn challenge(app: &App, acc: &wuzhi_store::people::AccountRow, purpose: &str, source: &str) -> Result<Challenge> {
    let now = app.now_ms();
    let token = random_token();
    let expires = now + CHALLENGE_MS;
    let (sealed, shown) = if purpose == "sign_in" {
        (None, None)
    } else {
        let secret = new_secret();
        let t = totp(secret.clone(), &acc.username)?;
        let url = t.to_url().map_err(|e| AppError::Internal(format!("totp: {e}")))?;
        (Some(app.settings.vault.seal(FIELD, &secret)), Some((t.secret().to_base32(), url)))
    };
    let mut tx = app.db.write().await?;
    wuzhi_store::people::insert_challenge(
        &mut tx,
        &sha256_hex(&token),
        acc.person_id,
        purpose,
        sealed.as_deref(),
        source,
        now,
        expires,
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    let (secret, otpauth_url) = shown.unzip();
    Ok(Challenge {
        second_factor: if purpose == "sign_in" { "code" } else { "enrol" },
        challenge: token,
        expires_at_ms: expires,
        secret,
        otpauth_url,
    })
}

/// The time step `code` is valid for under `secret` now, if any.
fn step_of(app: &App, secret: Vec<u8>, account: &str, code: &str) -> Result<Option<i64>> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::invalid("code", "must be the six digits the authenticator app shows"));
    }
    Ok(totp(secret, account)?.check(&code, now_s(app)).map(|s| s as i64))
}

/// Checks `code` against a challenge; on success enrols the new secret (for an enrolment)
/// and signs in. The code's attempt is counted before it is checked, like a password's.
pub async fn answer(app: &App, challenge: &str, code: &str, source: &str) -> Result<SignedIn> {
    let now = app.now_ms();
    let hash = sha256_hex(challenge);
    let mut conn = app.db.read().await?;
    let found = wuzhi_store::people::challenge(&mut conn, &hash, now).await?;
    let ch = match found {
        Some(c) if c.purpose != "add" => c,
        _ => return Err(AppError::Unauthenticated),
    };
    let acc =
        wuzhi_store::people::account_by_person(&mut conn, ch.person_id).await?.ok_or(AppError::Unauthenticated)?;
    drop(conn);
    if acc.disabled {
        return Err(AppError::Unauthenticated);
    }
    let key = acc.username.to_lowercase();
    let s = &app.settings;
    let mut tx = app.db.write().await?;
    let attempt = crate::auth::count_attempt(app, &mut tx, &key, source, now).await?;
    wuzhi_store::commit(tx).await?;
    let n = match attempt {
        Ok(n) => n,
        Err(until_ms) => return Err(AppError::Locked { until_ms }),
    };
    let sealed = match (ch.purpose.as_str(), &ch.new_secret, &acc.totp_secret) {
        ("enrol", Some(new), _) => new.clone(),
        ("sign_in", _, Some(enrolled)) => enrolled.clone(),
        // The second factor was removed or reset since: start again from the password.
        _ => return Err(AppError::Unauthenticated),
    };
    let secret = s.vault.open(FIELD, &sealed).map_err(|e| AppError::Internal(format!("second factor: {e}")))?;
    let step = step_of(app, secret, &acc.username, code)?;
    let mut tx = app.db.write().await?;
    let taken = match step {
        Some(step) => wuzhi_store::people::take_totp_step(&mut tx, acc.person_id, step).await?,
        None => false,
    };
    if !taken {
        let wrong = wuzhi_store::people::count_wrong_code(&mut tx, &hash).await?;
        if wrong >= WRONG_CODES {
            wuzhi_store::people::delete_challenge(&mut tx, &hash).await?;
        }
        let locked = n >= s.max_failed_logins;
        record(
            &mut tx,
            now,
            None,
            "second_factor_failed",
            "person",
            &acc.person_id.to_string(),
            json!({"failures": n, "locked": locked, "source": source, "reused": step.is_some()}),
        )
        .await?;
        wuzhi_store::commit(tx).await?;
        return Err(if locked {
            AppError::Locked { until_ms: now + s.lockout_ms }
        } else {
            AppError::invalid("code", "is wrong, or was used already; wait for the next one")
        });
    }
    // The challenge is used once, even by two servers answering the same code at once.
    if !wuzhi_store::people::delete_challenge(&mut tx, &hash).await? {
        return Err(AppError::Unauthenticated);
    }
    if ch.purpose == "enrol" {
        wuzhi_store::people::set_totp_secret(&mut tx, acc.person_id, Some(&sealed), now).await?;
        wuzhi_store::people::take_totp_step(&mut tx, acc.person_id, step.unwrap_or_default()).await?;
        record(&mut tx, now, None, "enrol_second_factor", "person", &acc.person_id.to_string(), json!({})).await?;
    }
    let signed = crate::auth::open_session(app, &mut tx, acc.person_id, &key, source, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(signed)
}

/// Whether the actor has a second factor, and whether their posts require one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecondFactorState {
    pub enrolled: bool,
    pub required: bool,
}

pub async fn state(app: &App, actor: &Actor) -> Result<SecondFactorState> {
    let mut conn = app.db.read().await?;
    let acc = wuzhi_store::people::account_by_person(&mut conn, actor.person_id)
        .await?
        .ok_or_else(|| AppError::not_found("account"))?;
    drop(conn);
    Ok(SecondFactorState { enrolled: acc.totp_secret.is_some(), required: required(app, actor.person_id).await? })
}

/// A signed-in person starts adding a second factor: a new secret to add to an app, and
/// the challenge its first code confirms with ([`confirm`]).
pub async fn start(app: &App, actor: &Actor) -> Result<Challenge> {
    let mut conn = app.db.read().await?;
    let acc = wuzhi_store::people::account_by_person(&mut conn, actor.person_id)
        .await?
        .ok_or_else(|| AppError::not_found("account"))?;
    drop(conn);
    if acc.totp_secret.is_some() {
        return Err(AppError::conflict("second_factor", "is set already; remove it first to add another"));
    }
    challenge(app, &acc, "add", "").await
}

/// Confirms an enrolment begun by [`start`] with its first code.
pub async fn confirm(app: &App, actor: &Actor, challenge: &str, code: &str) -> Result<()> {
    let now = app.now_ms();
    let hash = sha256_hex(challenge);
    let mut conn = app.db.read().await?;
    let found = wuzhi_store::people::challenge(&mut conn, &hash, now).await?;
    let acc = wuzhi_store::people::account_by_person(&mut conn, actor.person_id)
        .await?
        .ok_or_else(|| AppError::not_found("account"))?;
    drop(conn);
    let Some(ch) = found.filter(|c| c.purpose == "add" && c.person_id == actor.person_id) else {
        return Err(AppError::invalid("challenge", "has run out or is not yours; start again"));
    };
    let new = ch.new_secret.clone().ok_or_else(|| AppError::invalid("challenge", "carries no secret"))?;
    let secret = app.settings.vault.open(FIELD, &new).map_err(|e| AppError::Internal(format!("second factor: {e}")))?;
    let step = step_of(app, secret, &acc.username, code)?;
    let mut tx = app.db.write().await?;
    let Some(step) = step else {
        let wrong = wuzhi_store::people::count_wrong_code(&mut tx, &hash).await?;
        if wrong >= WRONG_CODES {
            wuzhi_store::people::delete_challenge(&mut tx, &hash).await?;
        }
        wuzhi_store::commit(tx).await?;
        return Err(AppError::invalid("code", "is wrong; enter the code the app shows now"));
    };
    if !wuzhi_store::people::delete_challenge(&mut tx, &hash).await? {
        return Err(AppError::invalid("challenge", "has run out or is not yours; start again"));
    }
    wuzhi_store::people::set_totp_secret(&mut tx, actor.person_id, Some(&new), now).await?;
    wuzhi_store::people::take_totp_step(&mut tx, actor.person_id, step).await?;
    record(&mut tx, now, Some(actor), "enrol_second_factor", "person", &actor.person_id.to_string(), json!({})).await?;
    wuzhi_store::commit(tx).await?;
    Ok(())
}

/// Removes one's own second factor, with a current code; refused while one's posts require
/// it (an administrator whose phone is lost asks another to reset it: [`reset`]).
pub async fn remove(app: &App, actor: &Actor, code: &str) -> Result<()> {
    if required(app, actor.person_id).await? {
        return Err(AppError::conflict("second_factor", "is required for your posts; it cannot be removed"));
    }
    let mut conn = app.db.read().await?;
    let acc = wuzhi_store::people::account_by_person(&mut conn, actor.person_id)
        .await?
        .ok_or_else(|| AppError::not_found("account"))?;
    drop(conn);
    let Some(sealed) = acc.totp_secret else { return Err(AppError::not_found("second factor")) };
    let secret =
        app.settings.vault.open(FIELD, &sealed).map_err(|e| AppError::Internal(format!("second factor: {e}")))?;
    let step = step_of(app, secret, &acc.username, code)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    match step {
        Some(step) if wuzhi_store::people::take_totp_step(&mut tx, actor.person_id, step).await? => {}
        _ => return Err(AppError::invalid("code", "is wrong, or was used already; wait for the next one")),
    }
    wuzhi_store::people::set_totp_secret(&mut tx, actor.person_id, None, now).await?;
    wuzhi_store::people::delete_challenges_of(&mut tx, actor.person_id).await?;
    record(&mut tx, now, Some(actor), "remove_second_factor", "person", &actor.person_id.to_string(), json!({}))
        .await?;
    wuzhi_store::commit(tx).await?;
    Ok(())
}

/// The command line's reset of a person's second factor (an administrator whose phone is
/// lost, with nobody else to reset it; others use `people::manage_account`). Their sessions
/// end; at the next sign-in they enrol again if their posts require it.
pub async fn reset_by_username(app: &App, username: &str) -> Result<i64> {
    let mut conn = app.db.read().await?;
    let acc = wuzhi_store::people::account_by_username(&mut conn, username)
        .await?
        .ok_or_else(|| AppError::not_found(format!("account {username}")))?;
    drop(conn);
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    forget(&mut tx, acc.person_id, now).await?;
    wuzhi_store::people::delete_sessions_of(&mut tx, acc.person_id).await?;
    record(&mut tx, now, None, "reset_second_factor", "person", &acc.person_id.to_string(), json!({})).await?;
    wuzhi_store::commit(tx).await?;
    Ok(acc.person_id)
}

/// Removes a person's second factor and every challenge of theirs, in the caller's write.
pub(crate) async fn forget(tx: &mut wuzhi_store::Conn, person_id: i64, now: i64) -> Result<()> {
    wuzhi_store::people::set_totp_secret(tx, person_id, None, now).await?;
    wuzhi_store::people::delete_challenges_of(tx, person_id).await?;
    Ok(())
}

/// The code of `secret` (base32) at `at_ms`: for tests and for a command line that checks a
/// secret it was given.
pub fn code_at(secret_base32: &str, at_ms: i64) -> Option<String> {
    let secret = Secret::try_from_base32(secret_base32).ok()?;
    let t = Builder::new().with_secret(secret).build().ok()?;
    Some(t.generate((at_ms / 1000).max(0) as u64).to_string())
}
