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

/// The domain's counters ([`wuzhi_domain::kpi::COUNTERS`]) as SQL over the `cases` table,
/// and as Rust over one row: the two readings of one definition.
pub mod terms {
    use crate::cases::CaseRow;
    use wuzhi_domain::cases::{Satisfaction, Status};
    use wuzhi_domain::kpi::{Amount, COHORT, COUNTERS, Cond, Flag, Tally};

    fn flag(f: Flag) -> &'static str {
        match f {
            Flag::FiledLate => "filed_late",
            Flag::ClosedLate => "closed_late",
        }
    }

    fn tally(t: Tally) -> &'static str {
        match t {
            Tally::Reworks => "reworks",
            Tally::Dispatches => "dispatches",
            Tally::TotalReturns => "total_returns",
        }
    }

    fn satisfied_names() -> String {
        let names: Vec<String> = Satisfaction::ALL
            .into_iter()
            .filter(|s| s.counts_as_satisfied())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        names.join(", ")
    }

    pub fn cond_sql(c: &Cond) -> String {
        match c {
            Cond::Always => "1 = 1".into(),
            Cond::Filed => "filed_at_ms IS NOT NULL".into(),
            Cond::StatusIs(s) => format!("status = '{}'", s.as_str()),
            Cond::StatusIsNot(s) => format!("status <> '{}'", s.as_str()),
            Cond::Not(f) => format!("{} = 0", flag(*f)),
            Cond::Is(f) => format!("{} = 1", flag(*f)),
            Cond::Positive(t) => format!("{} > 0", tally(*t)),
            Cond::Rated => "satisfaction IS NOT NULL".into(),
            Cond::Satisfied => format!("satisfaction IN ({})", satisfied_names()),
            Cond::And(a, b) => format!("({} AND {})", cond_sql(a), cond_sql(b)),
        }
    }

    fn amount_sql(a: &Amount) -> String {
        match a {
            Amount::One => "1".into(),
            Amount::Tally(t) => tally(*t).into(),
            Amount::HandlingMs => "closed_at_ms - filed_at_ms".into(),
        }
    }

    /// `SUM(CASE WHEN … THEN … ELSE 0 END)` of one counter.
    pub fn sum_sql(i: usize) -> String {
        let c = &COUNTERS[i];
        format!("SUM(CASE WHEN {} THEN {} ELSE 0 END)", cond_sql(&c.when), amount_sql(&c.amount))
    }

    pub fn eval_cond(c: &Cond, r: &CaseRow) -> bool {
        let flag_of = |f: &Flag| match f {
            Flag::FiledLate => r.filed_late,
            Flag::ClosedLate => r.closed_late,
        };
        match c {
            Cond::Always => true,
            Cond::Filed => r.filed_at_ms.is_some(),
            Cond::StatusIs(s) => r.status == s.as_str(),
            Cond::StatusIsNot(s) => r.status != s.as_str(),
            Cond::Not(f) => !flag_of(f),
            Cond::Is(f) => flag_of(f),
            Cond::Positive(t) => tally_of(*t, r) > 0,
            Cond::Rated => r.satisfaction.is_some(),
            Cond::Satisfied => r
                .satisfaction
                .as_deref()
                .and_then(|s| Satisfaction::parse(s).ok())
                .is_some_and(Satisfaction::counts_as_satisfied),
            Cond::And(a, b) => eval_cond(a, r) && eval_cond(b, r),
        }
    }

    fn tally_of(t: Tally, r: &CaseRow) -> i64 {
        match t {
            Tally::Reworks => r.reworks,
            Tally::Dispatches => r.dispatches,
            Tally::TotalReturns => r.total_returns,
        }
    }

    /// What the row adds to each counter (none when it is not in the cohort).
    pub fn eval(r: &CaseRow) -> Option<[i64; 11]> {
        if !eval_cond(&COHORT, r) {
            return None;
        }
        let mut v = [0i64; 11];
        for (i, c) in COUNTERS.iter().enumerate() {
            if eval_cond(&c.when, r) {
                v[i] = match c.amount {
                    Amount::One => 1,
                    Amount::Tally(t) => tally_of(t, r),
                    Amount::HandlingMs => r.closed_at_ms.zip(r.filed_at_ms).map_or(0, |(c, f)| c - f),
                };
            }
        }
        Some(v)
    }

    /// The open statuses for which a past due time makes a filed case one that should have
    /// been closed (应结案).
    pub fn awaiting_closure_sql() -> String {
        crate::cases::status_in(&Status::awaiting_closure())
    }

    /// The SQL of [`COHORT`].
    pub fn cohort_sql() -> String {
        cond_sql(&COHORT)
    }
}

/// The sums of one cohort in the column order [`counts`] reads: the counters, with 应结案
/// (closed, or awaiting closure and due before the period's end `$2`) third.
fn sums() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let cast = |e: String| format!("COALESCE(CAST({e} AS BIGINT), 0)");
        let mut cols: Vec<String> = (0..wuzhi_domain::kpi::COUNTERS.len()).map(|i| cast(terms::sum_sql(i))).collect();
        let should_close = format!(
            "SUM(CASE WHEN status = 'closed' OR ({} AND due_at_ms < $2) THEN 1 ELSE 0 END)",
            terms::awaiting_closure_sql()
        );
        cols.insert(2, cast(should_close));
        cols.join(", ")
    })
}

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
    let mut sql = format!(" WHERE filed_at_ms >= $1 AND filed_at_ms < $2 AND {}", terms::cohort_sql());
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
    let sql = format!("SELECT {} FROM cases{w}", sums());
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(c.from_ms).bind(c.to_ms);
    for b in &binds {
        q = q.bind(b);
    }
    let row = q.fetch_one(&mut *conn).await?;
    let mut totals = counts(&row, 0)?;
    if let Some(org) = c.org {
        // A unit's dispatches and returns are those it received and made, on any case.
        let (d, r) = unit_tallies(conn, &Cohort { org: None, ..c.clone() }).await?.remove(&org).unwrap_or((0, 0));
        (totals.dispatches, totals.returns) = (d, r);
    }
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
    let sql = format!("SELECT {key} AS k, {} FROM cases{w}{extra} GROUP BY {key} ORDER BY 1", sums());
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(c.from_ms).bind(c.to_ms);
    for b in &binds {
        q = q.bind(b);
    }
    let groups: Vec<(String, Counts)> = q
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get::<String, _>(0)?, counts(r, 1)?)))
        .collect::<Result<_>>()?;
    let GroupBy::OwnerOrg = by else { return Ok(groups) };
    // Per unit, dispatches and returns are those the unit received and made (a unit that only
    // returned cases is ranked too).
    let mut tallies = unit_tallies(conn, c).await?;
    let mut out: std::collections::BTreeMap<String, Counts> = groups.into_iter().collect();
    for (key, counts) in out.iter_mut() {
        let (d, r) = key.parse::<i64>().ok().and_then(|o| tallies.remove(&o)).unwrap_or((0, 0));
        (counts.dispatches, counts.returns) = (d, r);
    }
    for (org, (d, r)) in tallies {
        out.insert(org.to_string(), Counts { dispatches: d, returns: r, ..Counts::default() });
    }
    Ok(out.into_iter().collect())
}

/// Per unit: (dispatches received, returns made) on the cohort's cases.
async fn unit_tallies(conn: &mut Conn, c: &Cohort<'_>) -> Result<std::collections::HashMap<i64, (i64, i64)>> {
    let (w, binds) = cohort_where(c);
    let sql = format!(
        "SELECT u.org_id, COALESCE(CAST(SUM(u.dispatches) AS BIGINT), 0), COALESCE(CAST(SUM(u.returns) AS BIGINT), 0) \
         FROM case_units u JOIN cases ON cases.id = u.case_id{w} GROUP BY u.org_id"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(c.from_ms).bind(c.to_ms);
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(|r| Ok((r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?)))).collect()
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
        "SELECT territory_code, COUNT(*) FROM cases WHERE {} \
         AND due_at_ms < $1 AND {s} GROUP BY territory_code ORDER BY 1",
        crate::cases::open_statuses()
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
/// rest open in various stages. A fixture of the read paths: the rows have no timeline and
/// no work-item head (the sweep and the case pages do not see them as cases of the loop).
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
    let mut sql = format!(
        "SELECT COUNT(*) FROM cases WHERE {} AND filed_at_ms >= $1 AND filed_at_ms < $2 AND due_at_ms < $2",
        terms::awaiting_closure_sql()
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
