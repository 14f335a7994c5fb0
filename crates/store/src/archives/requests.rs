//! The rows of people's requests about their data (kind `archives.request`): what was asked,
//! by whom, about which record. Their heads and timelines are the work-item kernel's.

use crate::{Conn, Result, scope_filter};
use sqlx::{AssertSqlSafe, Row};

pub const KIND: crate::work::Kind =
    crate::work::Kind { name: "archives.request", events: "archive_request_events", item_column: "request_id" };

#[derive(Debug, Clone)]
pub struct RequestRow {
    pub id: i64,
    pub archive_person_id: i64,
    pub requester_id: i64,
    pub kind: String,
    pub field: Option<String>,
    pub detail: String,
    pub grid_code: String,
    pub created_at_ms: i64,
    pub status: String,
    pub due_at_ms: Option<i64>,
    pub overdue: bool,
    pub version: i64,
}

pub async fn insert(
    conn: &mut Conn,
    archive_person: i64,
    requester: i64,
    kind: &str,
    field: Option<&str>,
    detail: &str,
    grid: &str,
    now_ms: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO archive_requests (archive_person_id, requester_id, kind, field, detail, grid_code, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(archive_person)
    .bind(requester)
    .bind(kind)
    .bind(field)
    .bind(detail)
    .bind(grid)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

const SELECT: &str = "SELECT r.id, r.archive_person_id, r.requester_id, r.kind, r.field, r.detail, r.grid_code, r.created_at_ms, w.status, w.due_at_ms, w.overdue, w.version FROM archive_requests r JOIN work_heads w ON w.kind = 'archives.request' AND w.item_id = r.id";

fn row(r: &sqlx::any::AnyRow) -> Result<RequestRow> {
    Ok(RequestRow {
        id: r.try_get(0)?,
        archive_person_id: r.try_get(1)?,
        requester_id: r.try_get(2)?,
        kind: r.try_get(3)?,
        field: r.try_get(4)?,
        detail: r.try_get(5)?,
        grid_code: r.try_get(6)?,
        created_at_ms: r.try_get(7)?,
        status: r.try_get(8)?,
        due_at_ms: r.try_get(9)?,
        overdue: r.try_get::<i64, _>(10)? != 0,
        version: r.try_get(11)?,
    })
}

pub async fn get(conn: &mut Conn, id: i64) -> Result<Option<RequestRow>> {
    let sql = format!("{SELECT} WHERE r.id = $1");
    sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(row).transpose()
}

/// A requester's own requests, newest first.
pub async fn of_requester(conn: &mut Conn, requester: i64) -> Result<Vec<RequestRow>> {
    let sql = format!("{SELECT} WHERE r.requester_id = $1 ORDER BY r.id DESC");
    sqlx::query(AssertSqlSafe(sql)).bind(requester).fetch_all(&mut *conn).await?.iter().map(row).collect()
}

/// Requests in the scopes, open ones first and earliest due first.
pub async fn in_scopes(conn: &mut Conn, scopes: &[&str], open_only: bool, limit: i64) -> Result<Vec<RequestRow>> {
    let (scope_sql, binds) = scope_filter("r.grid_code", scopes, 1);
    let sql = format!(
        "{SELECT} WHERE {scope_sql}{} ORDER BY w.open DESC, w.due_at_ms, r.id LIMIT {}",
        if open_only { " AND w.open = 1" } else { "" },
        limit.max(0)
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(row).collect()
}

/// The request's timeline: (at, actor's name, event kind, data).
pub async fn events(conn: &mut Conn, id: i64) -> Result<Vec<(i64, Option<String>, String, String)>> {
    let rows = sqlx::query(
        "SELECT e.at_ms, p.name, e.kind, e.data FROM archive_request_events e LEFT JOIN people p ON p.id = e.actor_id WHERE e.request_id = $1 ORDER BY e.seq",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))).collect()
}
