//! Roll-ups for evaluation at city scale (see migration 0009). Every insert and update of a
//! case applies the difference between its old and new contribution, in the same
//! transaction, so the roll-ups always agree with the `cases` table; `rebuild` recomputes
//! them from scratch (after bulk loads).

use crate::cases::CaseRow;
use crate::{Conn, Result};
use wuzhi_domain::calendar::local_day;
use wuzhi_domain::cases::Status;

/// Handling times are counted in buckets of this many milliseconds (30 minutes), up to
/// `MAX_BUCKET` (30 days).
pub const BUCKET_MS: i64 = 1_800_000;
pub const MAX_BUCKET: i64 = 1440;

pub fn bucket(handling_ms: i64) -> i64 {
    (handling_ms.max(0) / BUCKET_MS).min(MAX_BUCKET)
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Contribution {
    day: i64,
    district: String,
    org: i64,
    counts: [i64; 11],
    bucket: Option<i64>,
}

fn open_status(s: &str) -> bool {
    Status::parse(s).is_ok_and(Status::is_open)
}

/// The case's contribution to its filing day's counters: the domain's counters evaluated on
/// the row ([`crate::kpi::terms`]), the very definition the rebuild below sums in SQL.
fn contribution(r: &CaseRow) -> Option<Contribution> {
    let filed = r.filed_at_ms?;
    if r.territory_code.len() < 6 {
        return None;
    }
    let counts = crate::kpi::terms::eval(r)?;
    let closed = r.status == Status::Closed.as_str();
    Some(Contribution {
        day: local_day(filed),
        district: r.territory_code[..6].to_owned(),
        org: r.owner_org_id.unwrap_or(0),
        counts,
        bucket: closed.then(|| bucket(counts[10])),
    })
}

async fn add(conn: &mut Conn, c: &Contribution, sign: i64) -> Result<()> {
    let v: Vec<i64> = c.counts.iter().map(|x| x * sign).collect();
    sqlx::query(
        "INSERT INTO kpi_days (day, district, org, filed, filed_on_time, closed, closed_on_time, closed_late, reworked, \
         dispatches, returns, rated, satisfied, handling_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (day, district, org) DO UPDATE SET filed = kpi_days.filed + excluded.filed, \
         filed_on_time = kpi_days.filed_on_time + excluded.filed_on_time, closed = kpi_days.closed + excluded.closed, \
         closed_on_time = kpi_days.closed_on_time + excluded.closed_on_time, closed_late = kpi_days.closed_late + excluded.closed_late, \
         reworked = kpi_days.reworked + excluded.reworked, dispatches = kpi_days.dispatches + excluded.dispatches, \
         returns = kpi_days.returns + excluded.returns, rated = kpi_days.rated + excluded.rated, \
         satisfied = kpi_days.satisfied + excluded.satisfied, handling_ms = kpi_days.handling_ms + excluded.handling_ms",
    )
    .bind(c.day)
    .bind(&c.district)
    .bind(c.org)
    .bind(v[0])
    .bind(v[1])
    .bind(v[2])
    .bind(v[3])
    .bind(v[4])
    .bind(v[5])
    .bind(v[6])
    .bind(v[7])
    .bind(v[8])
    .bind(v[9])
    .bind(v[10])
    .execute(&mut *conn)
    .await?;
    if let Some(b) = c.bucket {
        sqlx::query(
            "INSERT INTO kpi_hist (day, district, bucket, n) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (day, district, bucket) DO UPDATE SET n = kpi_hist.n + excluded.n",
        )
        .bind(c.day)
        .bind(&c.district)
        .bind(b)
        .bind(sign)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Adds `delta` open cases to a territory's counter.
pub async fn add_open(conn: &mut Conn, territory: &str, delta: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO open_cases (territory_code, open) VALUES ($1, $2) \
         ON CONFLICT (territory_code) DO UPDATE SET open = open_cases.open + excluded.open",
    )
    .bind(territory)
    .bind(delta)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Applies the change from `old` (absent for a new case) to `new`.
pub async fn apply(conn: &mut Conn, old: Option<&CaseRow>, new: &CaseRow, count_open: bool) -> Result<()> {
    let (a, b) = (old.and_then(contribution), contribution(new));
    if a != b {
        if let Some(a) = &a {
            add(conn, a, -1).await?;
        }
        if let Some(b) = &b {
            add(conn, b, 1).await?;
        }
    }
    if count_open {
        let was = old.is_some_and(|o| open_status(&o.status));
        let is = open_status(&new.status);
        if was != is {
            add_open(conn, &new.territory_code, if is { 1 } else { -1 }).await?;
        }
    }
    Ok(())
}

/// Recomputes every roll-up from the `cases` table.
pub async fn rebuild(conn: &mut Conn) -> Result<()> {
    use sqlx::Executor;
    conn.execute("DELETE FROM kpi_days").await?;
    conn.execute("DELETE FROM kpi_hist").await?;
    conn.execute("DELETE FROM open_cases").await?;
    let day = "((filed_at_ms + 28800000) / 86400000)";
    let sums: Vec<String> = (0..wuzhi_domain::kpi::COUNTERS.len()).map(crate::kpi::terms::sum_sql).collect();
    let sql = format!(
        "INSERT INTO kpi_days (day, district, org, filed, filed_on_time, closed, closed_on_time, closed_late, reworked, \
         dispatches, returns, rated, satisfied, handling_ms) \
         SELECT {day}, SUBSTR(territory_code, 1, 6), COALESCE(owner_org_id, 0), {} \
         FROM cases WHERE {} AND LENGTH(territory_code) >= 6 \
         GROUP BY {day}, SUBSTR(territory_code, 1, 6), COALESCE(owner_org_id, 0)",
        sums.join(", "),
        crate::kpi::terms::cohort_sql()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *conn).await?;
    let b = format!(
        "CASE WHEN (closed_at_ms - filed_at_ms) / {BUCKET_MS} > {MAX_BUCKET} THEN {MAX_BUCKET} WHEN closed_at_ms < filed_at_ms THEN 0 ELSE (closed_at_ms - filed_at_ms) / {BUCKET_MS} END"
    );
    let sql = format!(
        "INSERT INTO kpi_hist (day, district, bucket, n) SELECT {day}, SUBSTR(territory_code, 1, 6), {b}, COUNT(*) \
         FROM cases WHERE {} AND status = 'closed' AND LENGTH(territory_code) >= 6 \
         GROUP BY {day}, SUBSTR(territory_code, 1, 6), {b}",
        crate::kpi::terms::cohort_sql()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *conn).await?;
    let sql = format!(
        "INSERT INTO open_cases (territory_code, open) SELECT territory_code, COUNT(*) FROM cases \
         WHERE {} GROUP BY territory_code",
        crate::cases::open_statuses()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *conn).await?;
    Ok(())
}

/// Adds many open-case deltas in one statement (a whole intake batch), in the order given.
pub async fn add_open_many(conn: &mut Conn, deltas: &[(&str, i64)]) -> Result<()> {
    if deltas.is_empty() {
        return Ok(());
    }
    let mut sql = String::from("INSERT INTO open_cases (territory_code, open) VALUES ");
    for i in 0..deltas.len() {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!("(${}, ${})", 2 * i + 1, 2 * i + 2));
    }
    sql.push_str(" ON CONFLICT (territory_code) DO UPDATE SET open = open_cases.open + excluded.open");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (t, n) in deltas {
        q = q.bind(*t).bind(*n);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}
