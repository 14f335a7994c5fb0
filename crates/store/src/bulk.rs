//! Bulk writes that every module shares: typed values to bind (a NULL keeps its type, as
//! PostgreSQL wants), multi-row INSERTs inside both engines' limits on bound values, and
//! placeholder lists that stay linear to bind on SQLite.

use crate::{Conn, Result};
use sqlx::any::AnyArguments;
use sqlx::{AssertSqlSafe, Row};

/// A value to bind, typed even when null (PostgreSQL wants to know the type of a NULL).
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    I(Option<i64>),
    F(Option<f64>),
    T(Option<String>),
    B(Option<Vec<u8>>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I(Some(v))
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Val {
        Val::I(v)
    }
}
impl From<Option<f64>> for Val {
    fn from(v: Option<f64>) -> Val {
        Val::F(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::T(Some(v.to_owned()))
    }
}
impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::T(Some(v))
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Val {
        Val::T(v)
    }
}
impl From<Option<Vec<u8>>> for Val {
    fn from(v: Option<Vec<u8>>) -> Val {
        Val::B(v)
    }
}

pub fn bind<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, AnyArguments>,
    v: &'q Val,
) -> sqlx::query::Query<'q, sqlx::Any, AnyArguments> {
    match v {
        Val::I(x) => q.bind(*x),
        Val::F(x) => q.bind(*x),
        Val::T(x) => q.bind(x.as_deref()),
        Val::B(x) => q.bind(x.as_deref()),
    }
}

/// Bound values per statement, inside both engines' limits (SQLite 32,766, PostgreSQL 65,535).
const MAX_BINDS: usize = 8_000;

/// Inserts `rows` (each with one value per column of `columns`) in multi-row statements.
///
/// On SQLite the placeholders are plain `?`: sqlx binds a `$N` parameter by asking SQLite its
/// name, which SQLite finds by a linear scan, so binding `$N` is quadratic in the statement's
/// parameters (with 30,000 a statement the archives' import spent 77 % of its time in
/// `sqlite3_bind_parameter_name`, at 1,400 people a second). PostgreSQL needs `$N`.
pub async fn insert_rows(conn: &mut Conn, table: &str, columns: &[&str], rows: &[Vec<Val>]) -> Result<()> {
    insert(conn, table, columns, rows, None).await.map(drop)
}

/// [`insert_rows`], returning each new row's `key` column and id (so no look-up follows).
pub async fn insert_rows_returning(
    conn: &mut Conn,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Val>],
    key: &str,
) -> Result<Vec<(String, i64)>> {
    insert(conn, table, columns, rows, Some(key)).await
}

async fn insert(
    conn: &mut Conn,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Val>],
    returning: Option<&str>,
) -> Result<Vec<(String, i64)>> {
    let positional = conn.backend_name().eq_ignore_ascii_case("sqlite");
    let per = (MAX_BINDS / columns.len()).clamp(1, 1000);
    let mut out = Vec::new();
    for chunk in rows.chunks(per) {
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut n = 0;
        for (i, row) in chunk.iter().enumerate() {
            debug_assert_eq!(row.len(), columns.len());
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for j in 0..row.len() {
                n += 1;
                if j > 0 {
                    sql.push_str(", ");
                }
                if positional {
                    sql.push('?');
                } else {
                    sql.push_str(&format!("${n}"));
                }
            }
            sql.push(')');
        }
        if let Some(k) = returning {
            sql.push_str(&format!(" RETURNING {k}, id"));
        }
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for row in chunk {
            for v in row {
                q = bind(q, v);
            }
        }
        if returning.is_some() {
            for r in q.fetch_all(&mut *conn).await? {
                out.push((r.try_get(0)?, r.try_get(1)?));
            }
        } else {
            q.execute(&mut *conn).await?;
        }
    }
    // A bulk load leaves PostgreSQL's planner with the statistics of the table before it,
    // and it then scans the whole table for every look-up that follows (the import of the
    // next file, in the same minute): after a big insert, the table is analysed at once.
    if rows.len() >= 10_000 && !positional {
        sqlx::query(AssertSqlSafe(format!("ANALYZE {table}"))).execute(&mut *conn).await?;
    }
    Ok(out)
}

/// `n` placeholders for an `IN (…)` list: `?` on SQLite (see [`insert_rows`] for why), `$1…`
/// on PostgreSQL.
/// The placeholders of a multi-row `VALUES` list: `rows` groups of `per`, numbered on
/// PostgreSQL, plain `?` on SQLite (whose `$N` binding by name is quadratic in a statement's
/// parameters).
pub fn row_marks(conn: &Conn, rows: usize, per: usize) -> String {
    let positional = conn.backend_name().eq_ignore_ascii_case("sqlite");
    let mut out = String::with_capacity(rows * per * 6);
    for i in 0..rows {
        out.push_str(if i == 0 { "(" } else { ", (" });
        for k in 0..per {
            if k > 0 {
                out.push_str(", ");
            }
            if positional {
                out.push('?');
            } else {
                out.push_str(&format!("${}", i * per + k + 1));
            }
        }
        out.push(')');
    }
    out
}

pub fn marks(conn: &Conn, n: usize) -> String {
    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        vec!["?"; n].join(", ")
    } else {
        (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
    }
}
