//! People, their accounts, memberships (posts with roles), browser sessions and API tokens.

use crate::{Conn, Result, scope_filter};
use sqlx::{AssertSqlSafe, Row};

#[derive(Debug, Clone)]
pub struct PersonRow {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub home_territory: Option<String>,
    pub created_at_ms: i64,
    pub username: Option<String>,
}

const PERSON_COLS: &str = "p.id, p.name, p.phone, p.home_territory, p.created_at_ms, a.username FROM people p LEFT JOIN accounts a ON a.person_id = p.id";

fn person(r: &sqlx::any::AnyRow) -> Result<PersonRow> {
    Ok(PersonRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        phone: r.try_get("phone")?,
        home_territory: r.try_get("home_territory")?,
        created_at_ms: r.try_get("created_at_ms")?,
        username: r.try_get("username")?,
    })
}

pub async fn insert_person(
    conn: &mut Conn,
    name: &str,
    phone: Option<&str>,
    home: Option<&str>,
    now_ms: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO people (name, phone, home_territory, created_at_ms) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(name)
    .bind(phone)
    .bind(home)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get_person(conn: &mut Conn, id: i64) -> Result<Option<PersonRow>> {
    let sql = format!("SELECT {PERSON_COLS} WHERE p.id = $1");
    sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(person).transpose()
}

/// People whose home territory lies in the given scopes.
pub async fn list_people(conn: &mut Conn, scopes: &[&str], after_id: i64, limit: i64) -> Result<Vec<PersonRow>> {
    let (scope_sql, binds) = scope_filter("p.home_territory", scopes, 1);
    let sql =
        format!("SELECT {PERSON_COLS} WHERE {scope_sql} AND p.id > {after_id} ORDER BY p.id LIMIT {}", limit.max(0));
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(person).collect()
}

/// The names of the people `ids`, in one query.
pub async fn names(conn: &mut Conn, ids: &[i64]) -> Result<std::collections::HashMap<i64, String>> {
    crate::org::names_in(conn, "people", ids).await
}

// ---- accounts ----

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub person_id: i64,
    pub username: String,
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until_ms: i64,
    pub disabled: bool,
    /// The second factor's secret, sealed; `None` when the account has none.
    pub totp_secret: Option<Vec<u8>>,
}

pub async fn insert_account(
    conn: &mut Conn,
    person_id: i64,
    username: &str,
    password_hash: &str,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO accounts (person_id, username, password_hash, password_changed_at_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(person_id)
    .bind(username)
    .bind(password_hash)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn account(r: &sqlx::any::AnyRow) -> Result<AccountRow> {
    Ok(AccountRow {
        person_id: r.try_get("person_id")?,
        username: r.try_get("username")?,
        password_hash: r.try_get("password_hash")?,
        failed_logins: r.try_get("failed_logins")?,
        locked_until_ms: r.try_get("locked_until_ms")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        totp_secret: r.try_get("totp_secret")?,
    })
}

const ACCOUNT_COLS: &str =
    "SELECT person_id, username, password_hash, failed_logins, locked_until_ms, disabled, totp_secret FROM accounts";

pub async fn account_by_username(conn: &mut Conn, username: &str) -> Result<Option<AccountRow>> {
    let sql = format!("{ACCOUNT_COLS} WHERE username = $1");
    sqlx::query(AssertSqlSafe(sql)).bind(username).fetch_optional(&mut *conn).await?.as_ref().map(account).transpose()
}

pub async fn account_by_person(conn: &mut Conn, person_id: i64) -> Result<Option<AccountRow>> {
    let sql = format!("{ACCOUNT_COLS} WHERE person_id = $1");
    sqlx::query(AssertSqlSafe(sql)).bind(person_id).fetch_optional(&mut *conn).await?.as_ref().map(account).transpose()
}

/// Counts a sign-in attempt for `username` (`""`: every username) from `source`, before its
/// password is checked, in one statement with the lock's check: concurrent wrong attempts are
/// counted one by one and no more than `max_failures` of them are ever checked before the
/// lock. Failures older than `window_ms` are forgotten. The count reaching `max_failures`
/// locks the pair for `lock_ms` times 2 to the power of the locks before it (at most 64
/// times); after a lock has run out, counting starts again. Returns `Ok(count)` with this
/// attempt, or `Err(locked_until_ms)` when the pair is locked.
pub async fn begin_attempt(
    conn: &mut Conn,
    username: &str,
    source: &str,
    now_ms: i64,
    max_failures: i64,
    window_ms: i64,
    lock_ms: i64,
) -> Result<std::result::Result<i64, i64>> {
    sqlx::query(
        "INSERT INTO login_attempts (username, source, failures, locked_until_ms, lockouts, updated_at_ms) \
         VALUES ($1, $2, 0, 0, 0, $3) ON CONFLICT (username, source) DO NOTHING",
    )
    .bind(username)
    .bind(source)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    let next = "CASE WHEN failures >= $3 OR updated_at_ms < $4 THEN 1 ELSE failures + 1 END";
    let sql = format!(
        "UPDATE login_attempts SET failures = {next}, \
         locked_until_ms = CASE WHEN {next} >= $3 \
           THEN $5 + $6 * (CASE WHEN lockouts >= 6 THEN 64 ELSE (1 << CAST(lockouts AS INTEGER)) END) ELSE locked_until_ms END, \
         lockouts = CASE WHEN {next} >= $3 THEN lockouts + 1 ELSE lockouts END, updated_at_ms = $5 \
         WHERE username = $1 AND source = $2 AND locked_until_ms <= $5 RETURNING failures"
    );
    let n: Option<i64> = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(username)
        .bind(source)
        .bind(max_failures)
        .bind(now_ms - window_ms)
        .bind(now_ms)
        .bind(lock_ms)
        .fetch_optional(&mut *conn)
        .await?;
    match n {
        Some(n) => Ok(Ok(n)),
        None => {
            let until: i64 =
                sqlx::query_scalar("SELECT locked_until_ms FROM login_attempts WHERE username = $1 AND source = $2")
                    .bind(username)
                    .bind(source)
                    .fetch_one(&mut *conn)
                    .await?;
            Ok(Err(until))
        }
    }
}

/// A right password from `source`: its count and back-off for `username` start again.
pub async fn clear_attempts(conn: &mut Conn, username: &str, source: &str) -> Result<()> {
    sqlx::query(
        "UPDATE login_attempts SET failures = 0, locked_until_ms = 0, lockouts = 0 WHERE username = $1 AND source = $2",
    )
    .bind(username)
    .bind(source)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A right password from `source`: the attempt is taken back from the source's count across
/// usernames (which counts failures, not people signing in from one office).
pub async fn uncount_attempt(conn: &mut Conn, source: &str) -> Result<()> {
    sqlx::query(
        "UPDATE login_attempts SET failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END \
         WHERE username = '' AND source = $1",
    )
    .bind(source)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A new password: every lock on the username, from every source, is lifted.
pub async fn forget_attempts(conn: &mut Conn, username: &str) -> Result<()> {
    sqlx::query("DELETE FROM login_attempts WHERE username = $1").bind(username).execute(&mut *conn).await?;
    Ok(())
}

/// Counts older than `before_ms` that hold no lock (the retention pass).
pub async fn delete_old_attempts(conn: &mut Conn, before_ms: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM login_attempts WHERE updated_at_ms < $1 AND locked_until_ms < $1")
        .bind(before_ms)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Sets a new password (its owner's change, or an administrator's reset). The person's API
/// tokens end with the old password: whoever held one must ask again.
pub async fn set_password(conn: &mut Conn, person_id: i64, hash: &str, now_ms: i64) -> Result<()> {
    sqlx::query("UPDATE accounts SET password_hash = $2, password_changed_at_ms = $3, failed_logins = 0, locked_until_ms = 0 WHERE person_id = $1")
        .bind(person_id)
        .bind(hash)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE api_tokens SET revoked_at_ms = $2 WHERE person_id = $1 AND revoked_at_ms IS NULL")
        .bind(person_id)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    crate::kernel::bump_authz(conn).await?;
    Ok(())
}

// ---- second factor ----

/// Sets (or, with `None`, removes) the account's sealed second-factor secret.
pub async fn set_totp_secret(conn: &mut Conn, person_id: i64, sealed: Option<&[u8]>, now_ms: i64) -> Result<bool> {
    let enrolled = sealed.map(|_| now_ms);
    Ok(sqlx::query(
        "UPDATE accounts SET totp_secret = $2, totp_enrolled_at_ms = $3, totp_last_step = 0 WHERE person_id = $1",
    )
    .bind(person_id)
    .bind(sealed.map(<[u8]>::to_vec))
    .bind(enrolled)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// Takes time step `step` of the account's codes, once: false when that step or a later one
/// was already taken (a code seen before, even by another server at the same moment).
pub async fn take_totp_step(conn: &mut Conn, person_id: i64, step: i64) -> Result<bool> {
    Ok(sqlx::query("UPDATE accounts SET totp_last_step = $2 WHERE person_id = $1 AND totp_last_step < $2")
        .bind(person_id)
        .bind(step)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1)
}

#[derive(Debug, Clone)]
pub struct ChallengeRow {
    pub person_id: i64,
    pub purpose: String,
    pub new_secret: Option<Vec<u8>>,
    pub source: String,
    pub wrong_codes: i64,
    pub expires_at_ms: i64,
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_challenge(
    conn: &mut Conn,
    token_hash: &str,
    person_id: i64,
    purpose: &str,
    new_secret: Option<&[u8]>,
    source: &str,
    now_ms: i64,
    expires_at_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sign_in_challenges (token_hash, person_id, purpose, new_secret, source, created_at_ms, expires_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(token_hash)
    .bind(person_id)
    .bind(purpose)
    .bind(new_secret.map(<[u8]>::to_vec))
    .bind(source)
    .bind(now_ms)
    .bind(expires_at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A challenge not yet run out.
pub async fn challenge(conn: &mut Conn, token_hash: &str, now_ms: i64) -> Result<Option<ChallengeRow>> {
    let row = sqlx::query(
        "SELECT person_id, purpose, new_secret, source, wrong_codes, expires_at_ms FROM sign_in_challenges \
         WHERE token_hash = $1 AND expires_at_ms > $2",
    )
    .bind(token_hash)
    .bind(now_ms)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(ChallengeRow {
            person_id: r.try_get("person_id")?,
            purpose: r.try_get("purpose")?,
            new_secret: r.try_get("new_secret")?,
            source: r.try_get("source")?,
            wrong_codes: r.try_get("wrong_codes")?,
            expires_at_ms: r.try_get("expires_at_ms")?,
        })
    })
    .transpose()
}

/// Counts a wrong code against a challenge; returns the count with it.
pub async fn count_wrong_code(conn: &mut Conn, token_hash: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "UPDATE sign_in_challenges SET wrong_codes = wrong_codes + 1 WHERE token_hash = $1 RETURNING wrong_codes",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or(i64::MAX))
}

/// Ends a challenge (used, or given up after too many wrong codes); false when another request
/// ended it first.
pub async fn delete_challenge(conn: &mut Conn, token_hash: &str) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM sign_in_challenges WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1)
}

/// Ends every challenge of a person (their second factor was removed or reset).
pub async fn delete_challenges_of(conn: &mut Conn, person_id: i64) -> Result<()> {
    sqlx::query("DELETE FROM sign_in_challenges WHERE person_id = $1").bind(person_id).execute(&mut *conn).await?;
    Ok(())
}

// ---- memberships ----

#[derive(Debug, Clone)]
pub struct MembershipRow {
    pub id: i64,
    pub person_id: i64,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub role: String,
    pub scope_code: String,
    pub post: String,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
}

pub async fn insert_membership(
    conn: &mut Conn,
    person_id: i64,
    organisation_id: i64,
    role: &str,
    scope: &str,
    post: &str,
    now_ms: i64,
) -> Result<i64> {
    let id = sqlx::query_scalar(
        "INSERT INTO memberships (person_id, organisation_id, role, scope_code, post, start_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(person_id)
    .bind(organisation_id)
    .bind(role)
    .bind(scope)
    .bind(post)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?;
    crate::kernel::bump_authz(conn).await?;
    Ok(id)
}

/// Memberships of a person that are active at `now_ms`.
/// (person, scope) of every active post with `role`.
pub async fn holders_of_role(conn: &mut Conn, role: &str, now_ms: i64) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query(
        "SELECT person_id, scope_code FROM memberships WHERE role = $1 AND start_ms <= $2 AND (end_ms IS NULL OR end_ms > $2) ORDER BY person_id",
    )
    .bind(role)
    .bind(now_ms)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

pub async fn active_memberships(conn: &mut Conn, person_id: i64, now_ms: i64) -> Result<Vec<MembershipRow>> {
    let rows = sqlx::query(
        "SELECT m.id, m.person_id, m.organisation_id, o.name AS organisation_name, m.role, m.scope_code, m.post, m.start_ms, m.end_ms \
         FROM memberships m JOIN organisations o ON o.id = m.organisation_id \
         WHERE m.person_id = $1 AND m.start_ms <= $2 AND (m.end_ms IS NULL OR m.end_ms > $2) ORDER BY m.id",
    )
    .bind(person_id)
    .bind(now_ms)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(MembershipRow {
                id: r.try_get("id")?,
                person_id: r.try_get("person_id")?,
                organisation_id: r.try_get("organisation_id")?,
                organisation_name: r.try_get("organisation_name")?,
                role: r.try_get("role")?,
                scope_code: r.try_get("scope_code")?,
                post: r.try_get("post")?,
                start_ms: r.try_get("start_ms")?,
                end_ms: r.try_get("end_ms")?,
            })
        })
        .collect()
}

/// A membership not yet ended: (person, scope, role).
pub async fn get_membership(conn: &mut Conn, id: i64) -> Result<Option<(i64, String, String)>> {
    let r = sqlx::query("SELECT person_id, scope_code, role FROM memberships WHERE id = $1 AND end_ms IS NULL")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    r.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).transpose()
}

/// Active posts with `role` over exactly `scope` held on enabled accounts, other than
/// membership `except`.
pub async fn count_other_posts(conn: &mut Conn, role: &str, scope: &str, except: i64, now_ms: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM memberships m JOIN accounts a ON a.person_id = m.person_id \
         WHERE m.role = $1 AND m.scope_code = $2 AND m.id <> $3 AND m.start_ms <= $4 AND (m.end_ms IS NULL OR m.end_ms > $4) \
         AND a.disabled = 0",
    )
    .bind(role)
    .bind(scope)
    .bind(except)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn end_membership(conn: &mut Conn, id: i64, now_ms: i64) -> Result<bool> {
    let n = sqlx::query("UPDATE memberships SET end_ms = $2 WHERE id = $1 AND end_ms IS NULL")
        .bind(id)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    crate::kernel::bump_authz(conn).await?;
    Ok(n == 1)
}

// ---- sessions and API tokens ----

pub async fn insert_session(
    conn: &mut Conn,
    token_hash: &str,
    person_id: i64,
    csrf: &str,
    now_ms: i64,
    expires_ms: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO sessions (token_hash, person_id, csrf_token, created_at_ms, expires_at_ms, last_seen_at_ms) VALUES ($1, $2, $3, $4, $5, $4)")
        .bind(token_hash)
        .bind(person_id)
        .bind(csrf)
        .bind(now_ms)
        .bind(expires_ms)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn delete_session(conn: &mut Conn, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&mut *conn).await?;
    crate::kernel::bump_authz(conn).await
}

/// Ends every session of a person except `keep` (after a password change).
pub async fn delete_other_sessions(conn: &mut Conn, person_id: i64, keep: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE person_id = $1 AND token_hash <> $2")
        .bind(person_id)
        .bind(keep)
        .execute(&mut *conn)
        .await?;
    crate::kernel::bump_authz(conn).await
}

pub async fn insert_api_token(
    conn: &mut Conn,
    token_hash: &str,
    person_id: i64,
    name: &str,
    now_ms: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO api_tokens (token_hash, person_id, name, created_at_ms) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(token_hash)
    .bind(person_id)
    .bind(name)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn api_token_person(conn: &mut Conn, token_hash: &str) -> Result<Option<i64>> {
    // A disabled account's tokens stop working with it.
    Ok(sqlx::query_scalar(
        "SELECT t.person_id FROM api_tokens t JOIN accounts a ON a.person_id = t.person_id \
         WHERE t.token_hash = $1 AND t.revoked_at_ms IS NULL AND a.disabled = 0",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?)
}

/// (id, name, created, revoked) of a person's tokens.
pub async fn list_api_tokens(conn: &mut Conn, person_id: i64) -> Result<Vec<(i64, String, i64, Option<i64>)>> {
    let rows =
        sqlx::query("SELECT id, name, created_at_ms, revoked_at_ms FROM api_tokens WHERE person_id = $1 ORDER BY id")
            .bind(person_id)
            .fetch_all(&mut *conn)
            .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))).collect()
}

pub async fn revoke_api_token(conn: &mut Conn, id: i64, person_id: i64, now_ms: i64) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE api_tokens SET revoked_at_ms = $3 WHERE id = $1 AND person_id = $2 AND revoked_at_ms IS NULL",
    )
    .bind(id)
    .bind(person_id)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    crate::kernel::bump_authz(conn).await?;
    Ok(n == 1)
}

pub async fn update_person(
    conn: &mut Conn,
    id: i64,
    name: &str,
    phone: Option<&str>,
    home: Option<&str>,
) -> Result<bool> {
    let n = sqlx::query("UPDATE people SET name = $2, phone = $3, home_territory = $4 WHERE id = $1")
        .bind(id)
        .bind(name)
        .bind(phone)
        .bind(home)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

pub async fn set_disabled(conn: &mut Conn, person_id: i64, disabled: bool) -> Result<bool> {
    let n = sqlx::query("UPDATE accounts SET disabled = $2 WHERE person_id = $1")
        .bind(person_id)
        .bind(disabled as i64)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    crate::kernel::bump_authz(conn).await?;
    Ok(n == 1)
}

/// Ends every session of a person (account disabled or password reset).
pub async fn delete_sessions_of(conn: &mut Conn, person_id: i64) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE person_id = $1").bind(person_id).execute(&mut *conn).await?;
    crate::kernel::bump_authz(conn).await
}

/// A live session with its person's active posts, in one round trip:
/// (person_id, csrf token, [(role, scope, organisation)]).
/// A live session's person, CSRF token, active posts and when it was last used: one used
/// since `idle_since_ms` and not expired at `now_ms`.
pub async fn session_with_posts(
    conn: &mut Conn,
    token_hash: &str,
    now_ms: i64,
    idle_since_ms: i64,
) -> Result<Option<(i64, String, Vec<(String, String, i64)>, i64)>> {
    let rows = sqlx::query(
        "SELECT s.person_id, s.csrf_token, m.role, m.scope_code, m.organisation_id, s.last_seen_at_ms FROM sessions s \
         LEFT JOIN memberships m ON m.person_id = s.person_id AND m.start_ms <= $2 AND (m.end_ms IS NULL OR m.end_ms > $2) \
         WHERE s.token_hash = $1 AND s.expires_at_ms > $2 AND s.last_seen_at_ms > $3",
    )
    .bind(token_hash)
    .bind(now_ms)
    .bind(idle_since_ms)
    .fetch_all(&mut *conn)
    .await?;
    let Some(first) = rows.first() else { return Ok(None) };
    let person: i64 = first.try_get(0)?;
    let csrf: String = first.try_get(1)?;
    let last_seen: i64 = first.try_get(5)?;
    let mut posts = Vec::new();
    for r in &rows {
        if let (Some(role), Some(scope), Some(org)) =
            (r.try_get::<Option<String>, _>(2)?, r.try_get::<Option<String>, _>(3)?, r.try_get::<Option<i64>, _>(4)?)
        {
            posts.push((role, scope, org));
        }
    }
    Ok(Some((person, csrf, posts, last_seen)))
}

/// Records that a session was used at `now_ms`.
pub async fn touch_session(conn: &mut Conn, token_hash: &str, now_ms: i64) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at_ms = $2 WHERE token_hash = $1 AND last_seen_at_ms < $2")
        .bind(token_hash)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Who holds an active post covering exactly this territory (name, role, post, unit), by role.
pub async fn on_duty(conn: &mut Conn, scope_code: &str, now_ms: i64) -> Result<Vec<(String, String, String, String)>> {
    let rows = sqlx::query(
        "SELECT p.name, m.role, m.post, o.name AS org FROM memberships m JOIN people p ON p.id = m.person_id \
         JOIN organisations o ON o.id = m.organisation_id \
         WHERE m.scope_code = $1 AND m.role <> 'resident' AND m.start_ms <= $2 AND (m.end_ms IS NULL OR m.end_ms > $2) \
         ORDER BY m.role, p.name",
    )
    .bind(scope_code)
    .bind(now_ms)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("role")?, r.try_get("post")?, r.try_get("org")?))).collect()
}
