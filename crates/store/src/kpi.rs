//! Aggregates for performance evaluation: counts over the cases filed in a period, for a
//! territory subtree and/or an owning organisation, optionally grouped.

use crate::{Conn, Result, scope_filter};
use sqlx::{AssertSqlSafe, Row};
use wuzhi_domain::kpi::Counts;

/// Which cases are counted.
#[derive(Debug, Clone, Default)]
pub struct Cohort<'a> {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Territory scope prefixes (empty = all).
    pub scopes: Vec<&'a str>,
    pub org: Option<i64>,
}

/// How rows are grouped for rankings.
#[derive(Debug, Clone, Copy)]
pub enum GroupBy {
    /// By the first `n` digits of the territory code (6 district, 9 township, 12 village, 15 grid).
    TerritoryPrefix(usize),
    OwnerOrg,
}

const SUMS: &str = "COUNT(*), \
    COALESCE(CAST(SUM(CASE WHEN filed_late = 0 THEN 1 ELSE 0 END) AS BIGINT), 0), \
    COALESCE(CAST(SUM(CASE WHEN status <> 'parked' AND (status = 'closed' OR due_at_ms < $2) THEN 1 ELSE 0 END) AS BIGINT), 0), \
    COALESCE(CAST(SUM(CASE WHEN status = 'closed' THEN 1 ELSE 0 END) AS BIGINT), 0), \
    COALESCE(CAST(SUM(CASE WHEN status = 'closed' AND closed_late = 0 THEN 1 ELSE 0 END) AS BIGINT), 0), \
    COALESCE(CAST(SUM(CASE WHEN status = 'closed' AND closed_late = 1 THEN 1 ELSE 0 END) AS BIGINT), 0), \
    COALESCE(CAST(SUM(CASE WHEN reworks > 0 THEN 1 ELSE 0 END) AS BIGINT), 0), \
    COALESCE(CAST(SUM(dispatches) AS BIGINT), 0), \
    COALESCE(CAST(SUM(total_returns) AS BIGINT), 0), \
    COALESCE(CAST(SUM(CASE WHEN satisfaction IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT), 0), \
    COALESCE(CAST(SUM(CASE WHEN satisfaction IN ('satisfied', 'basically_satisfied') THEN 1 ELSE 0 END) AS BIGINT), 0), \
    COALESCE(CAST(SUM(CASE WHEN status = 'closed' THEN closed_at_ms - filed_at_ms ELSE 0 END) AS BIGINT), 0)";

fn counts(r: &sqlx::any::AnyRow, first: usize) -> Result<Counts> {
    let g = |i: usize| -> Result<i64> { Ok(r.try_get::<i64, _>(first + i)?) };
    Ok(Counts {
        filed: g(0)?,
        filed_on_time: g(1)?,
        should_close: g(2)?,
        closed: g(3)?,
        closed_on_time: g(4)?,
        closed_late: g(5)?,
        reworked: g(6)?,
        dispatches: g(7)?,
        returns: g(8)?,
        rated: g(9)?,
        satisfied: g(10)?,
        handling_ms_total: g(11)?,
    })
}

/// The WHERE clause: $1 from, $2 to, then scope binds.
fn cohort_where(c: &Cohort<'_>) -> (String, Vec<String>) {
    let mut sql = String::from(" WHERE filed_at_ms >= $1 AND filed_at_ms < $2 AND status <> 'merged'");
    let mut binds = Vec::new();
    if !c.scopes.is_empty() {
        let (s, b) = scope_filter("territory_code", &c.scopes, 3);
        sql.push_str(&format!(" AND {s}"));
        binds = b;
    }
    if let Some(o) = c.org {
        sql.push_str(&format!(" AND owner_org_id = {o}"));
    }
    (sql, binds)
}

pub async fn totals(conn: &mut Conn, c: &Cohort<'_>) -> Result<(Counts, Option<i64>)> {
    let (w, binds) = cohort_where(c);
    let sql = format!("SELECT {SUMS} FROM cases{w}");
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(c.from_ms).bind(c.to_ms);
    for b in &binds {
        q = q.bind(b);
    }
    let row = q.fetch_one(&mut *conn).await?;
    let totals = counts(&row, 0)?;
    let p90 = p90_exact(conn, c, totals.closed).await?;
    Ok((totals, p90))
}

/// The exact 90th-percentile handling time of the cohort's `closed` closed cases.
pub async fn p90_exact(conn: &mut Conn, c: &Cohort<'_>, closed: i64) -> Result<Option<i64>> {
    let Some(off) = wuzhi_domain::kpi::p90_offset(closed) else { return Ok(None) };
    let (w, binds) = cohort_where(c);
    let sql = format!(
        "SELECT closed_at_ms - filed_at_ms FROM cases{w} AND status = 'closed' ORDER BY 1 LIMIT 1 OFFSET {off}"
    );
    let mut q = sqlx::query_scalar(AssertSqlSafe(sql)).bind(c.from_ms).bind(c.to_ms);
    for b in &binds {
        q = q.bind(b);
    }
    Ok(q.fetch_optional(&mut *conn).await?)
}

/// Counts per group (territory prefix or owning organisation).
pub async fn grouped(conn: &mut Conn, c: &Cohort<'_>, by: GroupBy) -> Result<Vec<(String, Counts)>> {
    let (w, binds) = cohort_where(c);
    let key = match by {
        GroupBy::TerritoryPrefix(n) => format!("SUBSTR(territory_code, 1, {n})"),
        GroupBy::OwnerOrg => "CAST(owner_org_id AS TEXT)".to_owned(),
    };
    let extra = match by {
        GroupBy::TerritoryPrefix(n) => format!(" AND LENGTH(territory_code) >= {n}"),
        GroupBy::OwnerOrg => " AND owner_org_id IS NOT NULL".to_owned(),
    };
    let sql = format!("SELECT {key} AS k, {SUMS} FROM cases{w}{extra} GROUP BY {key} ORDER BY 1");
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(c.from_ms).bind(c.to_ms);
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(|r| Ok((r.try_get::<String, _>(0)?, counts(r, 1)?))).collect()
}

/// Open cases per territory (for the map), within the scopes, from the counters.
pub async fn open_per_grid(conn: &mut Conn, scopes: &[&str]) -> Result<Vec<(String, i64)>> {
    let (s, binds) = scope_filter("territory_code", scopes, 1);
    let sql = format!("SELECT territory_code, open FROM open_cases WHERE {s} AND open > 0 ORDER BY 1");
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Open cases past their stage's due time per territory, inside the scope prefixes (for
/// colouring the map by overdue cases; read from the index on (status, due time)).
pub async fn overdue_per_grid(conn: &mut Conn, scopes: &[&str], now_ms: i64) -> Result<Vec<(String, i64)>> {
    let (s, binds) = scope_filter("territory_code", scopes, 2);
    let sql = format!(
        "SELECT territory_code, COUNT(*) FROM cases WHERE status IN ('filed', 'dispatched', 'handling', 'handled') \
         AND due_at_ms < $1 AND {s} GROUP BY territory_code ORDER BY 1"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(now_ms);
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Fills the `cases` table with `n` generated cases (for `wuzhi bench kpi`), spread over the
/// grids and over the `days` days before `now_ms`, in one statement per million rows: a
/// recursive row generator (standard SQL, the same text on both engines) joined to the
/// numbered grids. Statuses: 90 % closed (one in ten late, rated four times in five), the
/// rest open in various stages.
pub async fn generate_cases(conn: &mut Conn, n: i64, now_ms: i64, days: i64, first: i64) -> Result<()> {
    let sql = "WITH RECURSIVE seq(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM seq WHERE i < $2), \
         g AS (SELECT code, ROW_NUMBER() OVER (ORDER BY code) AS k FROM territories WHERE level = 'grid'), \
         gc AS (SELECT COUNT(*) AS c FROM g), \
         rows AS (SELECT i, (i * 7919) % (SELECT c FROM gc) + 1 AS k, $3 - ((i * 104729) % ($4 * 86400)) * 1000 AS t FROM seq) \
         INSERT INTO cases (channel, kind, subject, description, category_code, priority, status, territory_code, \
             due_at_ms, overdue, dispatches, total_returns, reworks, satisfaction, filed_at_ms, closed_at_ms, closed_late, \
             created_at_ms, updated_at_ms) \
         SELECT 'app', 'request', 'generated', 'generated', 'E0102', 'normal', \
             CASE WHEN i % 10 < 9 THEN 'closed' WHEN i % 20 = 9 THEN 'handling' ELSE 'dispatched' END, \
             g.code, \
             CASE WHEN i % 10 < 9 THEN NULL ELSE t + 86400000 END, \
             0, 1 + (CASE WHEN i % 25 = 0 THEN 1 ELSE 0 END), CASE WHEN i % 25 = 0 THEN 1 ELSE 0 END, \
             CASE WHEN i % 30 = 0 THEN 1 ELSE 0 END, \
             CASE WHEN i % 10 < 9 AND i % 5 <> 0 THEN (CASE WHEN i % 7 = 0 THEN 'dissatisfied' ELSE 'satisfied' END) ELSE NULL END, \
             t, CASE WHEN i % 10 < 9 THEN t + 3600000 * (1 + i % 48) ELSE NULL END, \
             CASE WHEN i % 10 = 1 THEN 1 ELSE 0 END, t, t \
         FROM rows JOIN g ON g.k = rows.k";
    sqlx::query(sql).bind(first).bind(first + n - 1).bind(now_ms).bind(days).execute(&mut *conn).await?;
    Ok(())
}

/// Counts from the roll-ups for filing days `from_day..=to_day` in districts matching the
/// scope prefixes (city or district prefixes). `should_close` is left 0: see [`open_due`].
pub async fn rollup_totals(conn: &mut Conn, from_day: i64, to_day: i64, scopes: &[&str]) -> Result<Counts> {
    let mut sql = String::from(
        "SELECT COALESCE(CAST(SUM(filed) AS BIGINT), 0), COALESCE(CAST(SUM(filed_on_time) AS BIGINT), 0), 0, \
         COALESCE(CAST(SUM(closed) AS BIGINT), 0), COALESCE(CAST(SUM(closed_on_time) AS BIGINT), 0), \
         COALESCE(CAST(SUM(closed_late) AS BIGINT), 0), COALESCE(CAST(SUM(reworked) AS BIGINT), 0), \
         COALESCE(CAST(SUM(dispatches) AS BIGINT), 0), COALESCE(CAST(SUM(returns) AS BIGINT), 0), \
         COALESCE(CAST(SUM(rated) AS BIGINT), 0), COALESCE(CAST(SUM(satisfied) AS BIGINT), 0), \
         COALESCE(CAST(SUM(handling_ms) AS BIGINT), 0) FROM kpi_days WHERE day >= $1 AND day <= $2",
    );
    let mut binds = Vec::new();
    if !scopes.is_empty() {
        let (s, b) = scope_filter("district", scopes, 3);
        sql.push_str(&format!(" AND {s}"));
        binds = b;
    }
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(from_day).bind(to_day);
    for b in &binds {
        q = q.bind(b);
    }
    counts(&q.fetch_one(&mut *conn).await?, 0)
}

/// Open (not parked) filed cases of the cohort whose stage is due before `to_ms`: the part
/// of 应结案数 that is not yet closed, counted from the index (status, filed_at_ms,
/// due_at_ms, territory_code) alone.
pub async fn open_due(conn: &mut Conn, from_ms: i64, to_ms: i64, scopes: &[&str]) -> Result<i64> {
    let mut sql = String::from(
        "SELECT COUNT(*) FROM cases WHERE status IN ('filed', 'dispatched', 'handling', 'handled') \
         AND filed_at_ms >= $1 AND filed_at_ms < $2 AND due_at_ms < $2",
    );
    let mut binds = Vec::new();
    if !scopes.is_empty() {
        let (s, b) = scope_filter("territory_code", scopes, 3);
        sql.push_str(&format!(" AND {s}"));
        binds = b;
    }
    let mut q = sqlx::query_scalar(AssertSqlSafe(sql)).bind(from_ms).bind(to_ms);
    for b in &binds {
        q = q.bind(b);
    }
    Ok(q.fetch_one(&mut *conn).await?)
}

/// The handling-time histogram (bucket, count) of the cohort.
pub async fn histogram(conn: &mut Conn, from_day: i64, to_day: i64, scopes: &[&str]) -> Result<Vec<(i64, i64)>> {
    let mut sql = String::from("SELECT bucket, CAST(SUM(n) AS BIGINT) FROM kpi_hist WHERE day >= $1 AND day <= $2");
    let mut binds = Vec::new();
    if !scopes.is_empty() {
        let (s, b) = scope_filter("district", scopes, 3);
        sql.push_str(&format!(" AND {s}"));
        binds = b;
    }
    sql.push_str(" GROUP BY bucket ORDER BY bucket");
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(from_day).bind(to_day);
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}
