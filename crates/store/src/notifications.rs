//! The in-app inbox: notifications to people, and who holds a post in a unit.

use crate::{Conn, Result};
use sqlx::{AssertSqlSafe, Row};

pub async fn insert_notification(
    conn: &mut Conn,
    person: i64,
    case_id: Option<i64>,
    kind: &str,
    body: &str,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO notifications (person_id, case_id, kind, body, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(person)
    .bind(case_id)
    .bind(kind)
    .bind(body)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// People holding an active post in an organisation.
pub async fn org_members(conn: &mut Conn, org: i64, now_ms: i64) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT DISTINCT person_id FROM memberships WHERE organisation_id = $1 AND start_ms <= $2 AND (end_ms IS NULL OR end_ms > $2)",
    )
    .bind(org)
    .bind(now_ms)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

#[derive(Debug, Clone)]
pub struct NotificationRow {
    pub id: i64,
    pub case_id: Option<i64>,
    pub kind: String,
    pub body: String,
    pub created_at_ms: i64,
    pub read_at_ms: Option<i64>,
}

pub async fn notifications(
    conn: &mut Conn,
    person: i64,
    unread_only: bool,
    limit: i64,
) -> Result<Vec<NotificationRow>> {
    let sql = format!(
        "SELECT id, case_id, kind, body, created_at_ms, read_at_ms FROM notifications WHERE person_id = $1{} ORDER BY id DESC LIMIT $2",
        if unread_only { " AND read_at_ms IS NULL" } else { "" }
    );
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(person).bind(limit).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            Ok(NotificationRow {
                id: r.try_get(0)?,
                case_id: r.try_get(1)?,
                kind: r.try_get(2)?,
                body: r.try_get(3)?,
                created_at_ms: r.try_get(4)?,
                read_at_ms: r.try_get(5)?,
            })
        })
        .collect()
}

pub async fn mark_read(conn: &mut Conn, person: i64, id: i64, now_ms: i64) -> Result<bool> {
    let n =
        sqlx::query("UPDATE notifications SET read_at_ms = $3 WHERE id = $1 AND person_id = $2 AND read_at_ms IS NULL")
            .bind(id)
            .bind(person)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    Ok(n == 1)
}
