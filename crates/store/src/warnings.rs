//! The rows of risk early warning: warnings (kind `warnings.warning`; heads and timelines are
//! the work-item kernel's) with their evidence cases and chart points, the detectors'
//! parameters per territory, the sensitive-word lexicon, and the detector lease.

use crate::{Conn, Result, scope_filter};
use sqlx::{AssertSqlSafe, Row};

pub const KIND: crate::work::Kind =
    crate::work::Kind { name: "warnings.warning", events: "warning_events", item_column: "warning_id" };

#[derive(Debug, Clone)]
pub struct WarningRow {
    pub id: i64,
    pub rule: String,
    pub dedup_key: String,
    pub level: String,
    pub territory_code: String,
    pub category_code: Option<String>,
    pub detail: String,
    pub status: String,
    pub open: bool,
    pub unit_org_id: Option<i64>,
    pub observed: i64,
    pub expected: f64,
    pub window_ms: i64,
    pub p: Option<f64>,
    pub rule_version: i64,
    pub cases: i64,
    pub first_case_at_ms: i64,
    pub raised_at_ms: i64,
    pub updated_at_ms: i64,
    pub due_at_ms: Option<i64>,
    pub overdue: bool,
    pub version: i64,
}

const SELECT: &str = "SELECT x.id, x.rule, x.dedup_key, x.level, x.territory_code, x.category_code, x.detail, x.status, \
    x.open, x.unit_org_id, x.observed, x.expected, x.window_ms, x.p, x.rule_version, x.cases, x.first_case_at_ms, \
    x.raised_at_ms, x.updated_at_ms, w.due_at_ms, w.overdue, w.version \
    FROM warnings x JOIN work_heads w ON w.kind = 'warnings.warning' AND w.item_id = x.id";

fn row(r: &sqlx::any::AnyRow) -> Result<WarningRow> {
    Ok(WarningRow {
        id: r.try_get(0)?,
        rule: r.try_get(1)?,
        dedup_key: r.try_get(2)?,
        level: r.try_get(3)?,
        territory_code: r.try_get(4)?,
        category_code: r.try_get(5)?,
        detail: r.try_get(6)?,
        status: r.try_get(7)?,
        open: r.try_get::<i64, _>(8)? != 0,
        unit_org_id: r.try_get(9)?,
        observed: r.try_get(10)?,
        expected: r.try_get(11)?,
        window_ms: r.try_get(12)?,
        p: r.try_get(13)?,
        rule_version: r.try_get(14)?,
        cases: r.try_get(15)?,
        first_case_at_ms: r.try_get(16)?,
        raised_at_ms: r.try_get(17)?,
        updated_at_ms: r.try_get(18)?,
        due_at_ms: r.try_get(19)?,
        overdue: r.try_get::<i64, _>(20)? != 0,
        version: r.try_get(21)?,
    })
}

/// A warning a detector raises.
#[derive(Debug, Clone)]
pub struct NewWarning<'a> {
    pub rule: &'a str,
    pub key: &'a str,
    pub level: &'a str,
    pub territory: &'a str,
    pub category: Option<&'a str>,
    pub detail: &'a str,
    pub status: &'a str,
    pub observed: i64,
    pub expected: f64,
    pub window_ms: i64,
    pub p: Option<f64>,
    pub rule_version: i64,
    pub first_case_at_ms: i64,
    pub now_ms: i64,
}

/// Inserts the warning unless one is open for its rule and key (the unique index decides, so
/// two servers never hold two): its id, or none when one was open.
pub async fn insert(conn: &mut Conn, w: &NewWarning<'_>) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO warnings (rule, dedup_key, level, territory_code, category_code, detail, status, open, observed, \
         expected, window_ms, p, rule_version, first_case_at_ms, raised_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, $11, $12, $13, $14, $14) \
         ON CONFLICT (rule, dedup_key) WHERE open = 1 DO NOTHING RETURNING id",
    )
    .bind(w.rule)
    .bind(w.key)
    .bind(w.level)
    .bind(w.territory)
    .bind(w.category)
    .bind(w.detail)
    .bind(w.status)
    .bind(w.observed)
    .bind(w.expected)
    .bind(w.window_ms)
    .bind(w.p)
    .bind(w.rule_version)
    .bind(w.first_case_at_ms)
    .bind(w.now_ms)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The open warning of a rule and key.
pub async fn open_by_key(conn: &mut Conn, rule: &str, key: &str) -> Result<Option<WarningRow>> {
    let sql = format!("{SELECT} WHERE x.rule = $1 AND x.dedup_key = $2 AND x.open = 1");
    sqlx::query(AssertSqlSafe(sql)).bind(rule).bind(key).fetch_optional(&mut *conn).await?.as_ref().map(row).transpose()
}

/// Adds evidence cases (each once); how many were new.
pub async fn add_cases(conn: &mut Conn, id: i64, cases: &[(i64, i64)]) -> Result<u64> {
    if cases.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "INSERT INTO warning_cases (warning_id, case_id, at_ms) VALUES {} ON CONFLICT (warning_id, case_id) DO NOTHING",
        crate::bulk::row_marks(conn, cases.len(), 3)
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for (c, at) in cases {
        q = q.bind(id).bind(*c).bind(*at);
    }
    let added = q.execute(&mut *conn).await?.rows_affected();
    if added > 0 {
        sqlx::query("UPDATE warnings SET cases = cases + $2 WHERE id = $1")
            .bind(id)
            .bind(added as i64)
            .execute(&mut *conn)
            .await?;
    }
    Ok(added)
}

/// The detector's latest view of an open warning: observed, expected and the chart point.
pub async fn update_evidence(
    conn: &mut Conn,
    id: i64,
    observed: i64,
    expected: f64,
    p: Option<f64>,
    first_case_at_ms: i64,
    at_ms: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE warnings SET observed = $2, expected = $3, p = $4, first_case_at_ms = CASE WHEN first_case_at_ms < $5 THEN first_case_at_ms ELSE $5 END, \
         updated_at_ms = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(observed)
    .bind(expected)
    .bind(p)
    .bind(first_case_at_ms)
    .bind(at_ms)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO warning_points (warning_id, at_ms, observed, expected) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (warning_id, at_ms) DO UPDATE SET observed = excluded.observed, expected = excluded.expected",
    )
    .bind(id)
    .bind(at_ms)
    .bind(observed)
    .bind(expected)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The projection after a step: status, open, level, unit.
pub async fn set_projection(
    conn: &mut Conn,
    id: i64,
    status: &str,
    open: bool,
    level: &str,
    unit: Option<i64>,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE warnings SET status = $2, open = $3, level = $4, unit_org_id = $5, updated_at_ms = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(open as i64)
    .bind(level)
    .bind(unit)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: i64) -> Result<Option<WarningRow>> {
    let sql = format!("{SELECT} WHERE x.id = $1");
    sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(row).transpose()
}

/// What a list of warnings asks for.
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    pub open_only: bool,
    pub statuses: &'a [&'a str],
    pub levels: &'a [&'a str],
    pub rule: Option<&'a str>,
    /// Inside this territory (a prefix).
    pub within: Option<&'a str>,
    pub raised_from_ms: Option<i64>,
    pub raised_until_ms: Option<i64>,
    pub unit: Option<i64>,
    pub limit: i64,
}

/// Warnings in the scopes (territory prefixes), newest first; also those assigned to `units`.
pub async fn list(conn: &mut Conn, scopes: &[&str], units: &[i64], f: &Filter<'_>) -> Result<Vec<WarningRow>> {
    let (scope_sql, mut binds) = scope_filter("x.territory_code", scopes, 1);
    let mut n = binds.len();
    let mut next = |binds: &mut Vec<String>, v: String| {
        binds.push(v);
        n += 1;
        format!("${n}")
    };
    let units_sql = if units.is_empty() {
        String::new()
    } else {
        format!(" OR x.unit_org_id IN ({})", units.iter().map(|u| u.to_string()).collect::<Vec<_>>().join(", "))
    };
    let mut sql = format!("{SELECT} WHERE ({scope_sql}{units_sql})");
    if f.open_only {
        sql.push_str(" AND x.open = 1");
    }
    if !f.statuses.is_empty() {
        let marks: Vec<String> = f.statuses.iter().map(|s| next(&mut binds, (*s).to_owned())).collect();
        sql.push_str(&format!(" AND x.status IN ({})", marks.join(", ")));
    }
    if !f.levels.is_empty() {
        let marks: Vec<String> = f.levels.iter().map(|s| next(&mut binds, (*s).to_owned())).collect();
        sql.push_str(&format!(" AND x.level IN ({})", marks.join(", ")));
    }
    if let Some(r) = f.rule {
        let m = next(&mut binds, r.to_owned());
        sql.push_str(&format!(" AND x.rule = {m}"));
    }
    if let Some(w) = f.within {
        let lo = next(&mut binds, w.to_owned());
        let hi = next(&mut binds, crate::prefix_upper_bound(w));
        sql.push_str(&format!(" AND x.territory_code >= {lo} AND x.territory_code < {hi}"));
    }
    if let Some(t) = f.raised_from_ms {
        sql.push_str(&format!(" AND x.raised_at_ms >= {t}"));
    }
    if let Some(t) = f.raised_until_ms {
        sql.push_str(&format!(" AND x.raised_at_ms < {t}"));
    }
    if let Some(u) = f.unit {
        sql.push_str(&format!(" AND x.unit_org_id = {u}"));
    }
    sql.push_str(&format!(" ORDER BY x.raised_at_ms DESC, x.id DESC LIMIT {}", f.limit.clamp(0, 1000)));
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(row).collect()
}

/// Every open warning's (territory, level) inside `within`, in the scopes: the map layer.
pub async fn open_levels(conn: &mut Conn, scopes: &[&str], within: &str) -> Result<Vec<(String, String)>> {
    let (scope_sql, mut binds) = scope_filter("territory_code", scopes, 1);
    let n = binds.len();
    binds.push(within.to_owned());
    binds.push(crate::prefix_upper_bound(within));
    let sql = format!(
        "SELECT territory_code, level FROM warnings WHERE open = 1 AND {scope_sql} AND territory_code >= ${} AND territory_code < ${}",
        n + 1,
        n + 2
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// The warning's evidence cases (case id, time), earliest first.
pub async fn cases(conn: &mut Conn, id: i64, limit: i64) -> Result<Vec<(i64, i64)>> {
    let rows =
        sqlx::query("SELECT case_id, at_ms FROM warning_cases WHERE warning_id = $1 ORDER BY at_ms, case_id LIMIT $2")
            .bind(id)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// The warnings a case is evidence of.
pub async fn of_case(conn: &mut Conn, case: i64) -> Result<Vec<i64>> {
    let rows = sqlx::query("SELECT warning_id FROM warning_cases WHERE case_id = $1 ORDER BY warning_id")
        .bind(case)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// Observed against expected, each time the detector fired.
pub async fn points(conn: &mut Conn, id: i64) -> Result<Vec<(i64, i64, f64)>> {
    let rows = sqlx::query("SELECT at_ms, observed, expected FROM warning_points WHERE warning_id = $1 ORDER BY at_ms")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
}

/// The warning's timeline: (at, actor's name, event kind, data).
pub async fn events(conn: &mut Conn, id: i64) -> Result<Vec<(i64, Option<String>, String, String)>> {
    let rows = sqlx::query(
        "SELECT e.at_ms, p.name, e.kind, e.data FROM warning_events e LEFT JOIN people p ON p.id = e.actor_id \
         WHERE e.warning_id = $1 ORDER BY e.seq",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))).collect()
}

// ---- parameters and lexicon ----

/// Every territory's parameters: (territory, params JSON, version).
pub async fn rules(conn: &mut Conn) -> Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query("SELECT territory_code, params, version FROM warning_rules ORDER BY territory_code")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
}

/// Sets a territory's parameters; returns their new version.
pub async fn set_rules(conn: &mut Conn, territory: &str, params: &str, by: Option<i64>, now_ms: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO warning_rules (territory_code, params, version, updated_by, updated_at_ms) VALUES ($1, $2, 1, $3, $4) \
         ON CONFLICT (territory_code) DO UPDATE SET params = excluded.params, version = warning_rules.version + 1, \
         updated_by = excluded.updated_by, updated_at_ms = excluded.updated_at_ms RETURNING version",
    )
    .bind(territory)
    .bind(params)
    .bind(by)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

/// A territory's own parameters go; its parent's apply again.
pub async fn delete_rules(conn: &mut Conn, territory: &str) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM warning_rules WHERE territory_code = $1")
        .bind(territory)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        > 0)
}

#[derive(Debug, Clone)]
pub struct LexiconRow {
    pub id: i64,
    pub phrase: String,
    pub class: String,
    pub level: String,
    /// JSON list of category codes.
    pub categories: String,
    pub active: bool,
}

pub async fn lexicon(conn: &mut Conn) -> Result<Vec<LexiconRow>> {
    let rows = sqlx::query("SELECT id, phrase, class, level, categories, active FROM warning_lexicon ORDER BY id")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(LexiconRow {
                id: r.try_get(0)?,
                phrase: r.try_get(1)?,
                class: r.try_get(2)?,
                level: r.try_get(3)?,
                categories: r.try_get(4)?,
                active: r.try_get::<i64, _>(5)? != 0,
            })
        })
        .collect()
}

/// Adds an entry, or changes the one with its phrase; its id.
#[allow(clippy::too_many_arguments)]
pub async fn put_lexicon(
    conn: &mut Conn,
    phrase: &str,
    class: &str,
    level: &str,
    categories: &str,
    active: bool,
    by: Option<i64>,
    now_ms: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO warning_lexicon (phrase, class, level, categories, active, updated_by, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (phrase) DO UPDATE SET class = excluded.class, \
         level = excluded.level, categories = excluded.categories, active = excluded.active, \
         updated_by = excluded.updated_by, updated_at_ms = excluded.updated_at_ms RETURNING id",
    )
    .bind(phrase)
    .bind(class)
    .bind(level)
    .bind(categories)
    .bind(active as i64)
    .bind(by)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

// ---- the detector lease ----

/// Where the detectors are: the lease's holder runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub cursor_ms: i64,
    pub cursor_id: i64,
    /// Raised when the parameters or the lexicon change: the holder reloads them.
    pub generation: i64,
}

/// Takes or renews the detector lease for `holder` until `until_ms` when it is free, lapsed or
/// its own; where the detectors are, or none when another server holds it.
pub async fn take_lease(conn: &mut Conn, holder: &str, now_ms: i64, until_ms: i64) -> Result<Option<Lease>> {
    let r = sqlx::query(
        "UPDATE warning_detector SET holder = $1, until_ms = $3 WHERE id = 1 AND (holder = $1 OR holder IS NULL OR until_ms < $2) \
         RETURNING cursor_ms, cursor_id, generation",
    )
    .bind(holder)
    .bind(now_ms)
    .bind(until_ms)
    .fetch_optional(&mut *conn)
    .await?;
    r.map(|r| Ok(Lease { cursor_ms: r.try_get(0)?, cursor_id: r.try_get(1)?, generation: r.try_get(2)? })).transpose()
}

/// Moves the cursor, if `holder` still holds the lease (false: it lapsed to another server,
/// and the caller's transaction must not commit).
pub async fn advance(conn: &mut Conn, holder: &str, cursor: (i64, i64)) -> Result<bool> {
    Ok(sqlx::query("UPDATE warning_detector SET cursor_ms = $2, cursor_id = $3 WHERE id = 1 AND holder = $1")
        .bind(holder)
        .bind(cursor.0)
        .bind(cursor.1)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1)
}

/// Gives the lease up (a server that stops).
pub async fn release(conn: &mut Conn, holder: &str) -> Result<()> {
    sqlx::query("UPDATE warning_detector SET holder = NULL, until_ms = 0 WHERE id = 1 AND holder = $1")
        .bind(holder)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Tells the detectors' holder to reload parameters and lexicon.
pub async fn bump_generation(conn: &mut Conn) -> Result<()> {
    sqlx::query("UPDATE warning_detector SET generation = generation + 1 WHERE id = 1").execute(&mut *conn).await?;
    Ok(())
}

/// The parameters' and lexicon's generation.
pub async fn generation(conn: &mut Conn) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT generation FROM warning_detector WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or(0))
}

/// Claims the digest of `day` (true once, for one server).
pub async fn claim_digest(conn: &mut Conn, day: i64) -> Result<bool> {
    Ok(sqlx::query("UPDATE warning_detector SET digest_day = $1 WHERE id = 1 AND digest_day < $1")
        .bind(day)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1)
}

/// People holding an active post of one of `roles` over one of `scopes` (exact codes).
pub async fn posts_over(
    conn: &mut Conn,
    roles: &[&str],
    scopes: &[String],
    now_ms: i64,
) -> Result<Vec<(i64, String, String)>> {
    if roles.is_empty() || scopes.is_empty() {
        return Ok(Vec::new());
    }
    let mut n = 1;
    let mut mark = || {
        n += 1;
        format!("${n}")
    };
    let r: Vec<String> = roles.iter().map(|_| mark()).collect();
    let s: Vec<String> = scopes.iter().map(|_| mark()).collect();
    let sql = format!(
        "SELECT DISTINCT person_id, role, scope_code FROM memberships WHERE start_ms <= $1 AND (end_ms IS NULL OR end_ms > $1) \
         AND role IN ({}) AND scope_code IN ({}) ORDER BY person_id",
        r.join(", "),
        s.join(", ")
    );
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(now_ms);
    for x in roles {
        q = q.bind(*x);
    }
    for x in scopes {
        q = q.bind(x);
    }
    q.fetch_all(&mut *conn).await?.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
}

/// The buildings the cases are linked to (case id, building id).
pub async fn buildings_of(conn: &mut Conn, case_ids: &[i64]) -> Result<Vec<(i64, i64)>> {
    if case_ids.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<String> = case_ids.iter().map(|i| i.to_string()).collect();
    let sql = format!(
        "SELECT item_id, record_id FROM archive_links WHERE item_kind = 'case' AND record = 'building' AND item_id IN ({})",
        ids.join(", ")
    );
    sqlx::query(AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// How often each case has been reopened, up to and including event `seq`.
pub async fn reopenings(conn: &mut Conn, case_id: i64, seq: i64) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM case_events WHERE case_id = $1 AND kind = 'reopened' AND seq <= $2")
        .bind(case_id)
        .bind(seq)
        .fetch_one(&mut *conn)
        .await?)
}

/// The units of the person who took event `seq` of a case (the unit that returned it).
pub async fn actor_units(conn: &mut Conn, case_id: i64, seq: i64) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT DISTINCT m.organisation_id FROM case_events e JOIN memberships m ON m.person_id = e.actor_id \
         WHERE e.case_id = $1 AND e.seq = $2 AND m.role <> 'resident' AND m.start_ms <= e.at_ms AND (m.end_ms IS NULL OR m.end_ms > e.at_ms) \
         ORDER BY m.organisation_id",
    )
    .bind(case_id)
    .bind(seq)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// Outbox rows of cases from `since_ms` on, after `(after_ms, after_id)`, in time order:
/// (id, case id, event name, seq, time) — the detectors' feed.
pub async fn case_feed(
    conn: &mut Conn,
    since_ms: i64,
    after: (i64, i64),
    limit: i64,
) -> Result<Vec<(i64, i64, String, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT id, item_id, topic, CASE WHEN topic IN ($6, $7) THEN payload ELSE '' END, created_at_ms FROM outbox \
         WHERE item_kind = $5 AND created_at_ms >= $1 AND (created_at_ms > $2 OR (created_at_ms = $2 AND id > $3)) \
         ORDER BY created_at_ms, id LIMIT $4",
    )
    .bind(since_ms)
    .bind(after.0)
    .bind(after.1)
    .bind(limit)
    .bind(crate::cases::KIND.name)
    // Only these events' sequence numbers are needed (to count reopenings, to find who
    // returned it): the others' payloads are not read.
    .bind("cases.case.reopened")
    .bind("cases.case.returned")
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let topic: String = r.try_get(2)?;
            let payload: String = r.try_get(3)?;
            let seq = payload
                .split("\"seq\":")
                .nth(1)
                .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let event = topic.rsplit_once('.').map(|(_, e)| e.to_owned()).unwrap_or_default();
            Ok((r.try_get(0)?, r.try_get(1)?, event, seq, r.try_get(4)?))
        })
        .collect()
}
