//! The categories that classify and route cases, with their time limits.

use crate::{Conn, Result};
use sqlx::{AssertSqlSafe, Row};

#[derive(Debug, Clone, Default)]
pub struct CategoryRow {
    pub code: String,
    pub name: String,
    pub parent_code: Option<String>,
    pub kind: String,
    pub emergency: bool,
    pub accept_limit: Option<String>,
    pub handle_limit: Option<String>,
    pub verify_limit: Option<String>,
    pub priority: Option<String>,
    pub default_org: Option<String>,
    pub filing_condition: Option<String>,
    pub closing_condition: Option<String>,
}

const CAT_COLS: &str = "code, name, parent_code, kind, emergency, accept_limit, handle_limit, verify_limit, priority, \
    default_org, filing_condition, closing_condition";

fn category(r: &sqlx::any::AnyRow) -> Result<CategoryRow> {
    Ok(CategoryRow {
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        parent_code: r.try_get("parent_code")?,
        kind: r.try_get("kind")?,
        emergency: r.try_get::<i64, _>("emergency")? != 0,
        accept_limit: r.try_get("accept_limit")?,
        handle_limit: r.try_get("handle_limit")?,
        verify_limit: r.try_get("verify_limit")?,
        priority: r.try_get("priority")?,
        default_org: r.try_get("default_org")?,
        filing_condition: r.try_get("filing_condition")?,
        closing_condition: r.try_get("closing_condition")?,
    })
}

pub async fn upsert_categories(conn: &mut Conn, rows: &[CategoryRow], now_ms: i64) -> Result<()> {
    for c in rows {
        sqlx::query(
            "INSERT INTO categories (code, name, parent_code, kind, emergency, accept_limit, handle_limit, verify_limit, priority, \
             default_org, filing_condition, closing_condition, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, parent_code = excluded.parent_code, kind = excluded.kind, \
             emergency = excluded.emergency, accept_limit = excluded.accept_limit, handle_limit = excluded.handle_limit, \
             verify_limit = excluded.verify_limit, priority = excluded.priority, default_org = excluded.default_org, \
             filing_condition = excluded.filing_condition, closing_condition = excluded.closing_condition, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(&c.code)
        .bind(&c.name)
        .bind(&c.parent_code)
        .bind(&c.kind)
        .bind(c.emergency as i64)
        .bind(&c.accept_limit)
        .bind(&c.handle_limit)
        .bind(&c.verify_limit)
        .bind(&c.priority)
        .bind(&c.default_org)
        .bind(&c.filing_condition)
        .bind(&c.closing_condition)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn get_category(conn: &mut Conn, code: &str) -> Result<Option<CategoryRow>> {
    let sql = format!("SELECT {CAT_COLS} FROM categories WHERE code = $1");
    sqlx::query(AssertSqlSafe(sql)).bind(code).fetch_optional(&mut *conn).await?.as_ref().map(category).transpose()
}

pub async fn categories(conn: &mut Conn) -> Result<Vec<CategoryRow>> {
    let sql = format!("SELECT {CAT_COLS} FROM categories ORDER BY code");
    sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *conn).await?.iter().map(category).collect()
}

pub async fn count_categories(conn: &mut Conn) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM categories").fetch_one(&mut *conn).await?)
}
