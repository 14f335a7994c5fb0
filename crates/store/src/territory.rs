//! Territory rows: the tree city → district → township → village → grid with polygons
//! stored as WGS84 GeoJSON text.

use crate::{Conn, Result, scope_filter};
use sqlx::{AssertSqlSafe, Row};

#[derive(Debug, Clone)]
pub struct TerritoryRow {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent_code: Option<String>,
    /// GeoJSON geometry (WGS84), when asked for.
    pub geometry: Option<String>,
    pub urban_rural: Option<String>,
    pub updated_at_ms: i64,
}

const COLS: &str = "code, name, level, parent_code, urban_rural, updated_at_ms";

fn row(r: &sqlx::any::AnyRow, with_geometry: bool) -> Result<TerritoryRow> {
    Ok(TerritoryRow {
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        level: r.try_get("level")?,
        parent_code: r.try_get("parent_code")?,
        urban_rural: r.try_get("urban_rural")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
        geometry: if with_geometry { r.try_get("geometry")? } else { None },
    })
}

/// Inserts or replaces rows (by code), in batches of multi-row statements. Parents must come
/// before their children.
pub async fn upsert_many(conn: &mut Conn, rows: &[TerritoryRow]) -> Result<()> {
    for chunk in rows.chunks(200) {
        let mut sql = String::from(
            "INSERT INTO territories (code, name, level, parent_code, geometry, urban_rural, updated_at_ms) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 7;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("(${},${},${},${},${},${},${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7));
        }
        sql.push_str(
            " ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, \
             parent_code = excluded.parent_code, \
             geometry = COALESCE(excluded.geometry, territories.geometry), \
             urban_rural = COALESCE(excluded.urban_rural, territories.urban_rural), \
             updated_at_ms = excluded.updated_at_ms",
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(&r.code)
                .bind(&r.name)
                .bind(&r.level)
                .bind(&r.parent_code)
                .bind(&r.geometry)
                .bind(&r.urban_rural)
                .bind(r.updated_at_ms);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn get(conn: &mut Conn, code: &str, with_geometry: bool) -> Result<Option<TerritoryRow>> {
    let sql = format!("SELECT {COLS}, geometry FROM territories WHERE code = $1");
    let r = sqlx::query(AssertSqlSafe(sql)).bind(code).fetch_optional(&mut *conn).await?;
    r.map(|r| row(&r, with_geometry)).transpose()
}

/// Which territories a list returns.
#[derive(Debug, Default, Clone)]
pub struct Filter<'a> {
    pub level: Option<&'a str>,
    pub parent: Option<&'a str>,
    /// Scope prefixes the reader may see (see [`crate::scope_filter`]).
    pub scopes: Vec<&'a str>,
    /// Keyset paging: codes after this one.
    pub after: Option<&'a str>,
    pub limit: i64,
    pub with_geometry: bool,
}

fn where_clause(f: &Filter<'_>) -> (String, Vec<String>) {
    let (scope_sql, mut binds) = scope_filter("code", &f.scopes, 1);
    let mut sql = format!(" WHERE {scope_sql}");
    for (col, val, op) in [("level", f.level, "="), ("parent_code", f.parent, "="), ("code", f.after, ">")] {
        if let Some(v) = val {
            binds.push(v.to_owned());
            sql.push_str(&format!(" AND {col} {op} ${}", binds.len()));
        }
    }
    (sql, binds)
}

pub async fn list(conn: &mut Conn, f: &Filter<'_>) -> Result<Vec<TerritoryRow>> {
    let (w, binds) = where_clause(f);
    let geom = if f.with_geometry { ", geometry" } else { "" };
    let sql = format!("SELECT {COLS}{geom} FROM territories{w} ORDER BY code LIMIT {}", f.limit.max(0));
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(|r| row(r, f.with_geometry)).collect()
}

/// How many rows match the filter, ignoring paging.
pub async fn count(conn: &mut Conn, f: &Filter<'_>) -> Result<i64> {
    let f = Filter { after: None, ..f.clone() };
    let (w, binds) = where_clause(&f);
    let sql = format!("SELECT COUNT(*) FROM territories{w}");
    let mut q = sqlx::query_scalar(AssertSqlSafe(sql));
    for b in &binds {
        q = q.bind(b);
    }
    Ok(q.fetch_one(&mut *conn).await?)
}

/// Every grid with its name and polygon, for the grid index.
pub async fn grids_with_geometry(conn: &mut Conn) -> Result<Vec<(String, String, String)>> {
    let rows = sqlx::query(
        "SELECT code, name, geometry FROM territories WHERE level = 'grid' AND geometry IS NOT NULL ORDER BY code",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
}

/// (code, name) of every territory above grid level, for naming a located grid's ancestors.
pub async fn names_above_grid(conn: &mut Conn) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT code, name FROM territories WHERE level <> 'grid' ORDER BY code")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

pub async fn version(conn: &mut Conn) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT version FROM territory_state WHERE id = 1").fetch_one(&mut *conn).await?)
}

pub async fn bump_version(conn: &mut Conn) -> Result<i64> {
    Ok(sqlx::query_scalar("UPDATE territory_state SET version = version + 1 WHERE id = 1 RETURNING version")
        .fetch_one(&mut *conn)
        .await?)
}
