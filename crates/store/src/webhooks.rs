//! Webhook subscriptions and their delivery queue.

use crate::{Conn, Result};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct WebhookRow {
    pub id: i64,
    pub url: String,
    pub secret: String,
    pub topics: String,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

fn webhook(r: &sqlx::any::AnyRow) -> Result<WebhookRow> {
    Ok(WebhookRow {
        id: r.try_get(0)?,
        url: r.try_get(1)?,
        secret: r.try_get(2)?,
        topics: r.try_get(3)?,
        created_at_ms: r.try_get(4)?,
        revoked_at_ms: r.try_get(5)?,
    })
}

pub async fn insert(conn: &mut Conn, url: &str, secret: &str, topics: &str, now_ms: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO webhooks (url, secret, topics, created_at_ms) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(url)
    .bind(secret)
    .bind(topics)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn list(conn: &mut Conn) -> Result<Vec<WebhookRow>> {
    let rows = sqlx::query("SELECT id, url, secret, topics, created_at_ms, revoked_at_ms FROM webhooks ORDER BY id")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(webhook).collect()
}

pub async fn revoke(conn: &mut Conn, id: i64, now_ms: i64) -> Result<bool> {
    crate::revoke(conn, "webhooks", id, now_ms).await
}

pub async fn enqueue(conn: &mut Conn, webhook_id: i64, topic: &str, payload: &str, now_ms: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (webhook_id, topic, payload, status, next_attempt_ms, created_at_ms) VALUES ($1, $2, $3, 'pending', $4, $4)",
    )
    .bind(webhook_id)
    .bind(topic)
    .bind(payload)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: i64,
    pub webhook_id: i64,
    pub topic: String,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_ms: i64,
    pub last_error: Option<String>,
    pub delivered_at_ms: Option<i64>,
}

fn delivery(r: &sqlx::any::AnyRow) -> Result<DeliveryRow> {
    Ok(DeliveryRow {
        id: r.try_get(0)?,
        webhook_id: r.try_get(1)?,
        topic: r.try_get(2)?,
        payload: r.try_get(3)?,
        status: r.try_get(4)?,
        attempts: r.try_get(5)?,
        next_attempt_ms: r.try_get(6)?,
        last_error: r.try_get(7)?,
        delivered_at_ms: r.try_get(8)?,
    })
}

/// Claims due pending deliveries for `worker` until `until_ms` (the conditions are
/// re-checked on the updated row, so two servers never claim the same delivery).
pub async fn claim(conn: &mut Conn, worker: &str, now_ms: i64, until_ms: i64, limit: i64) -> Result<Vec<DeliveryRow>> {
    let rows = sqlx::query(
        "UPDATE webhook_deliveries SET claimed_by = $1, claimed_until_ms = $2 \
         WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_ms <= $3 \
             AND (claimed_until_ms IS NULL OR claimed_until_ms < $3) ORDER BY id LIMIT $4) \
         AND status = 'pending' AND next_attempt_ms <= $3 AND (claimed_until_ms IS NULL OR claimed_until_ms < $3) \
         RETURNING id, webhook_id, topic, payload, status, attempts, next_attempt_ms, last_error, delivered_at_ms",
    )
    .bind(worker)
    .bind(until_ms)
    .bind(now_ms)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut out: Vec<DeliveryRow> = rows.iter().map(delivery).collect::<Result<_>>()?;
    out.sort_by_key(|d| d.id);
    Ok(out)
}

/// Records the outcome of an attempt by the worker holding the claim.
pub async fn finish(
    conn: &mut Conn,
    id: i64,
    worker: &str,
    status: &str,
    next_attempt_ms: i64,
    error: Option<&str>,
    now_ms: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, next_attempt_ms = $4, last_error = $5, \
         delivered_at_ms = CASE WHEN $3 = 'delivered' THEN $6 ELSE NULL END, claimed_by = NULL, claimed_until_ms = NULL \
         WHERE id = $1 AND claimed_by = $2",
    )
    .bind(id)
    .bind(worker)
    .bind(status)
    .bind(next_attempt_ms)
    .bind(error)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn deliveries(conn: &mut Conn, webhook_id: i64, limit: i64) -> Result<Vec<DeliveryRow>> {
    let rows = sqlx::query(
        "SELECT id, webhook_id, topic, payload, status, attempts, next_attempt_ms, last_error, delivered_at_ms \
         FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(webhook_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(delivery).collect()
}
