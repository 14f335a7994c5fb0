//! The audit log: appended in the caller's transaction, chained through `audit_head`.
//!
//! `UPDATE audit_head … RETURNING` takes the head row's lock, so concurrent writers on
//! PostgreSQL (several app servers) append one after another, and the chain has no forks.

use crate::{Conn, Result};
use sqlx::Row;
use wuzhi_domain::audit::{Entry, entry_hash};

/// Appends one entry; returns its seq.
#[allow(clippy::too_many_arguments)]
pub async fn append(
    conn: &mut Conn,
    at_ms: i64,
    actor_id: Option<i64>,
    action: &str,
    object_type: &str,
    object_id: &str,
    detail: &str,
) -> Result<i64> {
    let r = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut *conn)
        .await?;
    let (seq, prev): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
    let hash = entry_hash(seq, at_ms, actor_id, action, object_type, object_id, detail, &prev);
    sqlx::query(
        "INSERT INTO audit_log (seq, at_ms, actor_id, action, object_type, object_id, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(seq)
    .bind(at_ms)
    .bind(actor_id)
    .bind(action)
    .bind(object_type)
    .bind(object_id)
    .bind(detail)
    .bind(&prev)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(&hash).execute(&mut *conn).await?;
    Ok(seq)
}

pub async fn head(conn: &mut Conn) -> Result<(i64, String)> {
    let r = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&mut *conn).await?;
    Ok((r.try_get(0)?, r.try_get(1)?))
}

fn entry(r: &sqlx::any::AnyRow) -> Result<Entry> {
    Ok(Entry {
        seq: r.try_get("seq")?,
        at_ms: r.try_get("at_ms")?,
        actor_id: r.try_get("actor_id")?,
        action: r.try_get("action")?,
        object_type: r.try_get("object_type")?,
        object_id: r.try_get("object_id")?,
        detail: r.try_get("detail")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

/// Entries with seq > `after`, oldest first, at most `limit` (for paging and for verify).
pub async fn page(conn: &mut Conn, after: i64, limit: i64) -> Result<Vec<Entry>> {
    let rows = sqlx::query(
        "SELECT seq, at_ms, actor_id, action, object_type, object_id, detail, prev_hash, hash FROM audit_log \
         WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(entry).collect()
}

/// Entries with seq < `before`, newest first, at most `limit` (an auditor reading back).
pub async fn page_before(conn: &mut Conn, before: i64, limit: i64) -> Result<Vec<Entry>> {
    let rows = sqlx::query(
        "SELECT seq, at_ms, actor_id, action, object_type, object_id, detail, prev_hash, hash FROM audit_log \
         WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(entry).collect()
}

/// Entries about one object, newest first.
pub async fn for_object(conn: &mut Conn, object_type: &str, object_id: &str, limit: i64) -> Result<Vec<Entry>> {
    let rows = sqlx::query(
        "SELECT seq, at_ms, actor_id, action, object_type, object_id, detail, prev_hash, hash FROM audit_log \
         WHERE object_type = $1 AND object_id = $2 ORDER BY seq DESC LIMIT $3",
    )
    .bind(object_type)
    .bind(object_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(entry).collect()
}
