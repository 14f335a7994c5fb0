//! Organisations (组织): party organisations, departments, street offices, community
//! committees, command centres, volunteer teams, legal-service bodies, each on a territory.

use crate::{Conn, Result, scope_filter};
use sqlx::{AssertSqlSafe, Row};

#[derive(Debug, Clone)]
pub struct OrgRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub territory_code: String,
    pub parent_id: Option<i64>,
    pub created_at_ms: i64,
}

const COLS: &str = "id, name, kind, territory_code, parent_id, created_at_ms";

fn row(r: &sqlx::any::AnyRow) -> Result<OrgRow> {
    Ok(OrgRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        territory_code: r.try_get("territory_code")?,
        parent_id: r.try_get("parent_id")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

pub async fn insert(
    conn: &mut Conn,
    name: &str,
    kind: &str,
    territory: &str,
    parent: Option<i64>,
    now_ms: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO organisations (name, kind, territory_code, parent_id, created_at_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(name)
    .bind(kind)
    .bind(territory)
    .bind(parent)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get(conn: &mut Conn, id: i64) -> Result<Option<OrgRow>> {
    let sql = format!("SELECT {COLS} FROM organisations WHERE id = $1");
    sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(row).transpose()
}

/// The names of the organisations `ids`, in one query.
pub async fn names(conn: &mut Conn, ids: &[i64]) -> Result<std::collections::HashMap<i64, String>> {
    names_in(conn, "organisations", ids).await
}

/// The `name` of the rows `ids` of `table` (organisations, people), in one query.
pub(crate) async fn names_in(
    conn: &mut Conn,
    table: &'static str,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    let sql = format!("SELECT id, name FROM {table} WHERE id IN ({})", list.join(", "));
    let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

pub async fn list(
    conn: &mut Conn,
    scopes: &[&str],
    kind: Option<&str>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<OrgRow>> {
    let (scope_sql, mut binds) = scope_filter("territory_code", scopes, 1);
    let mut sql = format!("SELECT {COLS} FROM organisations WHERE {scope_sql}");
    if let Some(k) = kind {
        binds.push(k.to_owned());
        sql.push_str(&format!(" AND kind = ${}", binds.len()));
    }
    sql.push_str(&format!(" AND id > {after_id} ORDER BY id LIMIT {}", limit.max(0)));
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(row).collect()
}

/// Inserts many organisations in multi-row statements (for seeding); returns nothing.
/// Rows are (name, kind, territory_code).
pub async fn insert_many(conn: &mut Conn, rows: &[(String, String, String)], now_ms: i64) -> Result<()> {
    for chunk in rows.chunks(300) {
        let mut sql = String::from("INSERT INTO organisations (name, kind, territory_code, created_at_ms) VALUES ");
        for i in 0..chunk.len() {
            let b = i * 4;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("(${},${},${},${})", b + 1, b + 2, b + 3, b + 4));
        }
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (name, kind, territory) in chunk {
            q = q.bind(name).bind(kind).bind(territory).bind(now_ms);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The id of the organisation of this name on this territory.
pub async fn find(conn: &mut Conn, territory: &str, name: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM organisations WHERE territory_code = $1 AND name = $2")
        .bind(territory)
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?)
}
