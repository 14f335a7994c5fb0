//! The kernel's own state: counters that every app server watches.

use crate::{Conn, Result};
use sqlx::Row;

/// Records that someone's right to read may have shrunk, in the caller's transaction.
pub async fn bump_authz(conn: &mut Conn) -> Result<()> {
    sqlx::query("UPDATE kernel_state SET value = value + 1 WHERE name = 'authz_epoch'").execute(&mut *conn).await?;
    Ok(())
}

/// How often rights may have shrunk so far.
pub async fn authz_epoch(conn: &mut Conn) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT value FROM kernel_state WHERE name = 'authz_epoch'").fetch_one(&mut *conn).await?)
}

/// Deletes at most `limit` rows of `table` matching `condition` (a fixed text of the
/// caller's, with `$1` the cut-off time), oldest first; returns how many went. Deleting in
/// slices keeps each transaction short on a large table.
async fn purge(
    conn: &mut Conn,
    table: &'static str,
    condition: &'static str,
    cutoff_ms: i64,
    limit: i64,
) -> Result<u64> {
    let key = if matches!(table, "sessions" | "sign_in_challenges") { "token_hash" } else { "id" };
    let sql = format!("DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {condition} LIMIT {limit})");
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(cutoff_ms).execute(&mut *conn).await?.rows_affected())
}

/// Outbox rows processed and written before `cutoff_ms`.
pub async fn purge_outbox(conn: &mut Conn, cutoff_ms: i64, limit: i64) -> Result<u64> {
    purge(conn, "outbox", "processed = 1 AND created_at_ms < $1", cutoff_ms, limit).await
}

/// Notifications read before `cutoff_ms`.
pub async fn purge_read_notifications(conn: &mut Conn, cutoff_ms: i64, limit: i64) -> Result<u64> {
    purge(conn, "notifications", "read_at_ms IS NOT NULL AND read_at_ms < $1", cutoff_ms, limit).await
}

/// Notifications, read or not, written before `cutoff_ms`.
pub async fn purge_notifications(conn: &mut Conn, cutoff_ms: i64, limit: i64) -> Result<u64> {
    purge(conn, "notifications", "created_at_ms < $1", cutoff_ms, limit).await
}

/// Deliveries that succeeded before `cutoff_ms`.
pub async fn purge_delivered(conn: &mut Conn, cutoff_ms: i64, limit: i64) -> Result<u64> {
    purge(conn, "webhook_deliveries", "status = 'delivered' AND delivered_at_ms < $1", cutoff_ms, limit).await
}

/// Dead letters written before `cutoff_ms`.
pub async fn purge_dead_letters(conn: &mut Conn, cutoff_ms: i64, limit: i64) -> Result<u64> {
    purge(conn, "webhook_deliveries", "status = 'dead' AND created_at_ms < $1", cutoff_ms, limit).await
}

/// Sessions that expired before `cutoff_ms`.
pub async fn purge_sessions(conn: &mut Conn, cutoff_ms: i64, limit: i64) -> Result<u64> {
    purge(conn, "sessions", "expires_at_ms < $1", cutoff_ms, limit).await
}

/// Background jobs that ended before `cutoff_ms`.
pub async fn purge_jobs(conn: &mut Conn, cutoff_ms: i64, limit: i64) -> Result<u64> {
    purge(conn, "jobs", "state IN ('done', 'failed') AND finished_at_ms < $1", cutoff_ms, limit).await
}

/// Second-factor challenges that ran out before `cutoff_ms`.
pub async fn purge_challenges(conn: &mut Conn, cutoff_ms: i64, limit: i64) -> Result<u64> {
    purge(conn, "sign_in_challenges", "expires_at_ms < $1", cutoff_ms, limit).await
}

/// The working-day calendar (the kernel's deadlines count working days on it).
pub async fn replace_calendar(conn: &mut Conn, days: &[(i64, String, String)]) -> Result<()> {
    sqlx::query("DELETE FROM calendar_days").execute(&mut *conn).await?;
    for (day, kind, name) in days {
        sqlx::query("INSERT INTO calendar_days (day, kind, name) VALUES ($1, $2, $3)")
            .bind(day)
            .bind(kind)
            .bind(name)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn calendar(conn: &mut Conn) -> Result<Vec<(i64, String, String)>> {
    let rows = sqlx::query("SELECT day, kind, name FROM calendar_days ORDER BY day").fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
}

/// Stores a file's bytes under its SHA-256 (PostgreSQL deployments; a file stored twice is
/// kept once).
pub async fn put_file(conn: &mut Conn, sha256: &str, bytes: &[u8], now_ms: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO stored_files (sha256, size_bytes, bytes, created_at_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(sha256)
    .bind(bytes.len() as i64)
    .bind(bytes.to_vec())
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A stored file's bytes, if the database holds it.
pub async fn get_file(conn: &mut Conn, sha256: &str) -> Result<Option<Vec<u8>>> {
    Ok(sqlx::query_scalar("SELECT bytes FROM stored_files WHERE sha256 = $1")
        .bind(sha256)
        .fetch_optional(&mut *conn)
        .await?)
}
