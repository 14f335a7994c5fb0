//! Open311 GeoReport v2: category attributes, API keys with their rate windows, and the
//! public reads of cases and of their timeline.

use crate::cases::{COLS, CaseRow, row};
use crate::{Conn, Result};
use sqlx::{AssertSqlSafe, Row};

#[derive(Debug, Clone, PartialEq)]
pub struct AttributeRow {
    pub category_code: String,
    pub code: String,
    pub datatype: String,
    pub required: bool,
    pub variable: bool,
    pub datatype_description: String,
    pub ord: i64,
    pub description: String,
    /// JSON array of `{"key": …, "name": …}`.
    pub choices: String,
}

fn attribute(r: &sqlx::any::AnyRow) -> Result<AttributeRow> {
    Ok(AttributeRow {
        category_code: r.try_get("category_code")?,
        code: r.try_get("code")?,
        datatype: r.try_get("datatype")?,
        required: r.try_get::<i64, _>("required")? != 0,
        variable: r.try_get::<i64, _>("variable")? != 0,
        datatype_description: r.try_get("datatype_description")?,
        ord: r.try_get("ord")?,
        description: r.try_get("description")?,
        choices: r.try_get("choices")?,
    })
}

const ATTR_COLS: &str =
    "category_code, code, datatype, required, variable, datatype_description, ord, description, choices";

/// A category's attributes in their order.
pub async fn attributes(conn: &mut Conn, category: &str) -> Result<Vec<AttributeRow>> {
    let sql = format!("SELECT {ATTR_COLS} FROM category_attributes WHERE category_code = $1 ORDER BY ord, code");
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(category).fetch_all(&mut *conn).await?;
    rows.iter().map(attribute).collect()
}

/// Every category that has attributes (Open311's `metadata: true`).
pub async fn categories_with_attributes(conn: &mut Conn) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT DISTINCT category_code FROM category_attributes").fetch_all(&mut *conn).await?)
}

/// Replaces the attributes of every category named in `rows` (and of `clear` categories).
pub async fn replace_attributes(conn: &mut Conn, categories: &[String], rows: &[AttributeRow]) -> Result<()> {
    for c in categories {
        sqlx::query("DELETE FROM category_attributes WHERE category_code = $1").bind(c).execute(&mut *conn).await?;
    }
    for a in rows {
        sqlx::query(
            "INSERT INTO category_attributes (category_code, code, datatype, required, variable, datatype_description, \
             ord, description, choices) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&a.category_code)
        .bind(&a.code)
        .bind(&a.datatype)
        .bind(a.required as i64)
        .bind(a.variable as i64)
        .bind(&a.datatype_description)
        .bind(a.ord)
        .bind(&a.description)
        .bind(&a.choices)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct KeyRow {
    pub id: i64,
    pub name: String,
    pub rate_per_minute: i64,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

fn key(r: &sqlx::any::AnyRow) -> Result<KeyRow> {
    Ok(KeyRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        rate_per_minute: r.try_get("rate_per_minute")?,
        created_at_ms: r.try_get("created_at_ms")?,
        revoked_at_ms: r.try_get("revoked_at_ms")?,
    })
}

pub async fn insert_key(conn: &mut Conn, name: &str, key_hash: &str, rate: i64, now_ms: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO open311_keys (name, key_hash, rate_per_minute, created_at_ms) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(name)
    .bind(key_hash)
    .bind(rate)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn list_keys(conn: &mut Conn) -> Result<Vec<KeyRow>> {
    let rows =
        sqlx::query("SELECT id, name, rate_per_minute, created_at_ms, revoked_at_ms FROM open311_keys ORDER BY id")
            .fetch_all(&mut *conn)
            .await?;
    rows.iter().map(key).collect()
}

/// Revokes an active key; false when there is no such active key.
pub async fn revoke_key(conn: &mut Conn, id: i64, now_ms: i64) -> Result<bool> {
    crate::revoke(conn, "open311_keys", id, now_ms).await
}

/// Adds `uses` to the count of the active key with this hash in the one-minute window
/// starting at `window_ms` (a single-row update, so app servers sharing the database share
/// the count). Returns the key and its count in the window, or `None` for an unknown or
/// revoked key.
pub async fn use_key(conn: &mut Conn, key_hash: &str, window_ms: i64, uses: i64) -> Result<Option<(KeyRow, i64)>> {
    let r = sqlx::query(
        "UPDATE open311_keys SET window_count = CASE WHEN window_start_ms = $2 THEN window_count + $3 ELSE $3 END, \
         window_start_ms = $2 WHERE key_hash = $1 AND revoked_at_ms IS NULL \
         RETURNING id, name, rate_per_minute, created_at_ms, revoked_at_ms, window_count",
    )
    .bind(key_hash)
    .bind(window_ms)
    .bind(uses)
    .fetch_optional(&mut *conn)
    .await?;
    r.map(|r| Ok((key(&r)?, r.try_get("window_count")?))).transpose()
}

/// What `GET requests` asks for. Empty lists mean "any".
#[derive(Debug, Default, Clone)]
pub struct RequestFilter {
    pub ids: Vec<i64>,
    pub categories: Vec<String>,
    pub statuses: Vec<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// Cases for the public Open311 reads, newest first.
pub async fn requests(conn: &mut Conn, f: &RequestFilter) -> Result<Vec<CaseRow>> {
    // Only public cases: the rule is the domain's, applied when each case was reported.
    let mut sql = format!("SELECT {COLS} FROM cases WHERE public = 1");
    let mut binds: Vec<String> = Vec::new();
    let mut list = |col: &str, vals: &[String], sql: &mut String| {
        let mut ph = Vec::new();
        for v in vals {
            binds.push(v.clone());
            ph.push(format!("${}", binds.len()));
        }
        sql.push_str(&format!(" AND {col} IN ({})", ph.join(", ")));
    };
    if !f.ids.is_empty() {
        let ids: Vec<String> = f.ids.iter().map(|i| i.to_string()).collect();
        sql.push_str(&format!(" AND id IN ({})", ids.join(", ")));
    }
    if !f.categories.is_empty() {
        list("category_code", &f.categories, &mut sql);
    }
    if !f.statuses.is_empty() {
        list("status", &f.statuses, &mut sql);
    }
    if let Some(t) = f.from_ms {
        sql.push_str(&format!(" AND created_at_ms >= {t}"));
    }
    if let Some(t) = f.to_ms {
        sql.push_str(&format!(" AND created_at_ms <= {t}"));
    }
    sql.push_str(&format!(" ORDER BY created_at_ms DESC, id DESC LIMIT {} OFFSET {}", f.limit.max(0), f.offset.max(0)));
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(row).collect()
}

/// One timeline event with its global id (an Open311 `update_id`).
#[derive(Debug, Clone)]
pub struct UpdateRow {
    pub id: i64,
    pub case_id: i64,
    pub seq: i64,
    pub at_ms: i64,
    pub kind: String,
    pub data: String,
}

/// Timeline events in `[from_ms, to_ms]` of the given kinds, oldest first.
pub async fn updates(conn: &mut Conn, from_ms: i64, to_ms: i64, kinds: &[&str], limit: i64) -> Result<Vec<UpdateRow>> {
    let kinds: Vec<String> = kinds.iter().map(|k| format!("'{k}'")).collect();
    let sql = format!(
        "SELECT id, case_id, seq, at_ms, kind, data FROM case_events WHERE at_ms >= $1 AND at_ms <= $2 \
         AND kind IN ({}) ORDER BY at_ms, id LIMIT {}",
        kinds.join(", "),
        limit.max(0)
    );
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(from_ms).bind(to_ms).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            Ok(UpdateRow {
                id: r.try_get("id")?,
                case_id: r.try_get("case_id")?,
                seq: r.try_get("seq")?,
                at_ms: r.try_get("at_ms")?,
                kind: r.try_get("kind")?,
                data: r.try_get("data")?,
            })
        })
        .collect()
}

/// The global id of a case's event.
pub async fn event_id(conn: &mut Conn, case_id: i64, seq: i64) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM case_events WHERE case_id = $1 AND seq = $2")
        .bind(case_id)
        .bind(seq)
        .fetch_optional(&mut *conn)
        .await?)
}
