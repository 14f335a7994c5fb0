//! Files attached to cases (photos before and after).

use crate::{Conn, Result};
use sqlx::{AssertSqlSafe, Row};

#[derive(Debug, Clone)]
pub struct AttachmentRow {
    pub id: i64,
    pub case_id: i64,
    pub sha256: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub name: String,
    pub uploaded_by: Option<i64>,
    pub created_at_ms: i64,
}

fn attachment(r: &sqlx::any::AnyRow) -> Result<AttachmentRow> {
    Ok(AttachmentRow {
        id: r.try_get(0)?,
        case_id: r.try_get(1)?,
        sha256: r.try_get(2)?,
        content_type: r.try_get(3)?,
        size_bytes: r.try_get(4)?,
        name: r.try_get(5)?,
        uploaded_by: r.try_get(6)?,
        created_at_ms: r.try_get(7)?,
    })
}

const ATT_COLS: &str = "id, case_id, sha256, content_type, size_bytes, name, uploaded_by, created_at_ms";

pub async fn insert_attachment(conn: &mut Conn, a: &AttachmentRow) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO attachments (case_id, sha256, content_type, size_bytes, name, uploaded_by, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(a.case_id)
    .bind(&a.sha256)
    .bind(&a.content_type)
    .bind(a.size_bytes)
    .bind(&a.name)
    .bind(a.uploaded_by)
    .bind(a.created_at_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get_attachment(conn: &mut Conn, id: i64) -> Result<Option<AttachmentRow>> {
    let sql = format!("SELECT {ATT_COLS} FROM attachments WHERE id = $1");
    sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(attachment).transpose()
}

pub async fn attachments_of(conn: &mut Conn, case_id: i64) -> Result<Vec<AttachmentRow>> {
    attachments_of_cases(conn, &[case_id]).await
}

/// The attachments of several cases in one query, by id.
pub async fn attachments_of_cases(conn: &mut Conn, case_ids: &[i64]) -> Result<Vec<AttachmentRow>> {
    if case_ids.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<String> = case_ids.iter().map(|i| i.to_string()).collect();
    let sql = format!("SELECT {ATT_COLS} FROM attachments WHERE case_id IN ({}) ORDER BY id", ids.join(", "));
    sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *conn).await?.iter().map(attachment).collect()
}
