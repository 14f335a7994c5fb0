//! Cases, their timeline, categories, calendar days and the outbox.
//!
//! A case row is the projection of its timeline; every change updates the row under
//! optimistic concurrency (`version`) and appends its event and an outbox row in the same
//! transaction.

use crate::{Conn, Result, StoreError, scope_filter};
use sqlx::{AssertSqlSafe, Row};
use wuzhi_domain::cases::Status;

#[derive(Debug, Clone, Default)]
pub struct CaseRow {
    pub id: i64,
    pub channel: String,
    pub kind: String,
    pub subject: String,
    pub description: String,
    pub category_code: Option<String>,
    pub priority: Option<String>,
    pub status: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: Option<String>,
    pub territory_code: String,
    pub reporter_id: Option<i64>,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    /// Given through Open311; personal data like the phone.
    pub reporter_email: Option<String>,
    pub anonymous: bool,
    /// Shown to the public (see `wuzhi_domain::cases::public`).
    pub public: bool,
    pub owner_org_id: Option<i64>,
    pub due_at_ms: Option<i64>,
    pub overdue: bool,
    pub returns: i64,
    pub total_returns: i64,
    pub dispatches: i64,
    pub reworks: i64,
    pub extension_until_ms: Option<i64>,
    pub satisfaction: Option<String>,
    pub merged_into: Option<i64>,
    pub filed_at_ms: Option<i64>,
    pub closed_at_ms: Option<i64>,
    pub closed_late: bool,
    pub filed_late: bool,
    /// JSON: summoned departments.
    pub summons: Option<String>,
    pub summon_due_ms: Option<i64>,
    /// JSON: cooperating organisation ids.
    pub cooperating: Option<String>,
    /// JSON object: answers to the category's attributes and an external `media_url`.
    pub attributes: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub version: i64,
}

pub(crate) const COLS: &str = "id, channel, kind, subject, description, category_code, priority, status, lon, lat, address, \
    territory_code, reporter_id, reporter_name, reporter_phone, anonymous, owner_org_id, due_at_ms, overdue, returns, \
    total_returns, dispatches, reworks, extension_until_ms, satisfaction, merged_into, filed_at_ms, closed_at_ms, \
    closed_late, filed_late, summons, summon_due_ms, cooperating, attributes, reporter_email, created_at_ms, updated_at_ms, \
    version, public";

pub(crate) fn row(r: &sqlx::any::AnyRow) -> Result<CaseRow> {
    Ok(CaseRow {
        id: r.try_get("id")?,
        channel: r.try_get("channel")?,
        kind: r.try_get("kind")?,
        subject: r.try_get("subject")?,
        description: r.try_get("description")?,
        category_code: r.try_get("category_code")?,
        priority: r.try_get("priority")?,
        status: r.try_get("status")?,
        lon: r.try_get("lon")?,
        lat: r.try_get("lat")?,
        address: r.try_get("address")?,
        territory_code: r.try_get("territory_code")?,
        reporter_id: r.try_get("reporter_id")?,
        reporter_name: r.try_get("reporter_name")?,
        reporter_phone: r.try_get("reporter_phone")?,
        anonymous: r.try_get::<i64, _>("anonymous")? != 0,
        owner_org_id: r.try_get("owner_org_id")?,
        due_at_ms: r.try_get("due_at_ms")?,
        overdue: r.try_get::<i64, _>("overdue")? != 0,
        returns: r.try_get("returns")?,
        total_returns: r.try_get("total_returns")?,
        dispatches: r.try_get("dispatches")?,
        reworks: r.try_get("reworks")?,
        extension_until_ms: r.try_get("extension_until_ms")?,
        satisfaction: r.try_get("satisfaction")?,
        merged_into: r.try_get("merged_into")?,
        filed_at_ms: r.try_get("filed_at_ms")?,
        closed_at_ms: r.try_get("closed_at_ms")?,
        closed_late: r.try_get::<i64, _>("closed_late")? != 0,
        filed_late: r.try_get::<i64, _>("filed_late")? != 0,
        summons: r.try_get("summons")?,
        summon_due_ms: r.try_get("summon_due_ms")?,
        cooperating: r.try_get("cooperating")?,
        attributes: r.try_get("attributes")?,
        reporter_email: r.try_get("reporter_email")?,
        created_at_ms: r.try_get("created_at_ms")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
        version: r.try_get("version")?,
        public: r.try_get::<i64, _>("public")? != 0,
    })
}

/// Inserts a new case; returns its id, or `None` when a case with the same idempotency key
/// exists (`ON CONFLICT DO NOTHING`, so the surrounding transaction stays usable).
pub async fn insert(conn: &mut Conn, c: &CaseRow, idempotency_key: Option<&str>) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO cases (channel, kind, subject, description, category_code, priority, status, lon, lat, address, \
         territory_code, reporter_id, reporter_name, reporter_phone, anonymous, due_at_ms, created_at_ms, updated_at_ms, \
         idempotency_key, attributes, reporter_email, public) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) \
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(&c.channel)
    .bind(&c.kind)
    .bind(&c.subject)
    .bind(&c.description)
    .bind(&c.category_code)
    .bind(&c.priority)
    .bind(&c.status)
    .bind(crate::NullableF64(c.lon))
    .bind(crate::NullableF64(c.lat))
    .bind(&c.address)
    .bind(&c.territory_code)
    .bind(c.reporter_id)
    .bind(&c.reporter_name)
    .bind(&c.reporter_phone)
    .bind(c.anonymous as i64)
    .bind(c.due_at_ms)
    .bind(c.created_at_ms)
    .bind(c.updated_at_ms)
    .bind(idempotency_key)
    .bind(&c.attributes)
    .bind(&c.reporter_email)
    .bind(c.public as i64)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Inserts a case and counts it in the roll-ups at once (imports, cases fixed on the spot).
/// Intake instead counts a whole batch's open cases together, in territory order.
pub async fn insert_counted(conn: &mut Conn, c: &CaseRow, idempotency_key: Option<&str>) -> Result<Option<i64>> {
    let id = insert(conn, c, idempotency_key).await?;
    if id.is_some() {
        crate::rollup::apply(conn, None, c, true).await?;
    }
    Ok(id)
}

pub async fn by_idempotency_key(conn: &mut Conn, key: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM cases WHERE idempotency_key = $1")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?)
}

pub async fn get(conn: &mut Conn, id: i64) -> Result<Option<CaseRow>> {
    let sql = format!("SELECT {COLS} FROM cases WHERE id = $1");
    sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(row).transpose()
}

/// Writes the projection back if nobody changed the case since `old` (with `c.version`) was
/// read, and moves its counts in the roll-ups from `old` to `c`. The version check is what
/// makes `old` the row as stored, so it is not read again. Returns `StoreError::NotFound`
/// when the version moved (a concurrent change).
pub async fn update(conn: &mut Conn, old: &CaseRow, c: &CaseRow) -> Result<()> {
    write_projection(conn, c).await?;
    crate::rollup::apply(conn, Some(old), c, true).await
}

async fn write_projection(conn: &mut Conn, c: &CaseRow) -> Result<()> {
    let n = sqlx::query(
        "UPDATE cases SET category_code = $3, priority = $4, status = $5, owner_org_id = $6, due_at_ms = $7, overdue = $8, \
         returns = $9, total_returns = $10, dispatches = $11, reworks = $12, extension_until_ms = $13, satisfaction = $14, \
         merged_into = $15, filed_at_ms = $16, closed_at_ms = $17, closed_late = $18, updated_at_ms = $19, filed_late = $20, summons = $21, summon_due_ms = $22, cooperating = $23, version = version + 1 \
         WHERE id = $1 AND version = $2",
    )
    .bind(c.id)
    .bind(c.version)
    .bind(&c.category_code)
    .bind(&c.priority)
    .bind(&c.status)
    .bind(c.owner_org_id)
    .bind(c.due_at_ms)
    .bind(c.overdue as i64)
    .bind(c.returns)
    .bind(c.total_returns)
    .bind(c.dispatches)
    .bind(c.reworks)
    .bind(c.extension_until_ms)
    .bind(&c.satisfaction)
    .bind(c.merged_into)
    .bind(c.filed_at_ms)
    .bind(c.closed_at_ms)
    .bind(c.closed_late as i64)
    .bind(c.updated_at_ms)
    .bind(c.filed_late as i64)
    .bind(&c.summons)
    .bind(c.summon_due_ms)
    .bind(&c.cooperating)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 1 { Ok(()) } else { Err(StoreError::NotFound) }
}

/// Adds to a unit's dispatches and returns on a case (see `wuzhi_domain::kpi::unit_tally`).
pub async fn add_unit_tally(conn: &mut Conn, case_id: i64, org: i64, dispatches: i64, returns: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO case_units (case_id, org_id, dispatches, returns) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (case_id, org_id) DO UPDATE SET dispatches = case_units.dispatches + excluded.dispatches, \
         returns = case_units.returns + excluded.returns",
    )
    .bind(case_id)
    .bind(org)
    .bind(dispatches)
    .bind(returns)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Appends an event (its seq is one past the last) and an outbox row.
pub async fn append_event(
    conn: &mut Conn,
    case_id: i64,
    at_ms: i64,
    actor: Option<i64>,
    kind: &str,
    data: &str,
) -> Result<i64> {
    append_event_at(conn, case_id, None, at_ms, actor, kind, data).await
}

async fn next_seq(conn: &mut Conn, case_id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM case_events WHERE case_id = $1")
        .bind(case_id)
        .fetch_one(&mut *conn)
        .await?)
}

/// Like [`append_event`], with the seq given when the caller knows it (1 for a new case).
pub async fn append_event_at(
    conn: &mut Conn,
    case_id: i64,
    seq: Option<i64>,
    at_ms: i64,
    actor: Option<i64>,
    kind: &str,
    data: &str,
) -> Result<i64> {
    append_event_written(conn, case_id, seq, at_ms, at_ms, actor, kind, data).await
}

/// Like [`append_event_at`] for an event that happened at `at_ms` but is written now, at
/// `written_ms` (a historical import): the outbox row carries the time of writing, which
/// is what its readers follow.
#[allow(clippy::too_many_arguments)]
pub async fn append_event_written(
    conn: &mut Conn,
    case_id: i64,
    seq: Option<i64>,
    at_ms: i64,
    written_ms: i64,
    actor: Option<i64>,
    kind: &str,
    data: &str,
) -> Result<i64> {
    let seq: i64 = match seq {
        Some(s) => s,
        None => next_seq(conn, case_id).await?,
    };

    sqlx::query("INSERT INTO case_events (case_id, seq, at_ms, actor_id, kind, data) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(case_id)
        .bind(seq)
        .bind(at_ms)
        .bind(actor)
        .bind(kind)
        .bind(data)
        .execute(&mut *conn)
        .await?;
    let payload = format!("{{\"case_id\":{case_id},\"seq\":{seq},\"kind\":\"{kind}\"}}");
    sqlx::query("INSERT INTO outbox (topic, case_id, payload, created_at_ms) VALUES ($1, $2, $3, $4)")
        .bind(format!("case.{kind}"))
        .bind(case_id)
        .bind(payload)
        .bind(written_ms)
        .execute(&mut *conn)
        .await?;
    Ok(seq)
}

#[derive(Debug, Clone)]
pub struct EventRow {
    pub seq: i64,
    pub at_ms: i64,
    pub actor_id: Option<i64>,
    pub kind: String,
    pub data: String,
}

pub async fn events(conn: &mut Conn, case_id: i64) -> Result<Vec<EventRow>> {
    Ok(events_of(conn, &[case_id]).await?.into_iter().map(|(_, e)| e).collect())
}

/// The timelines of several cases in one query: (case id, event), by case and seq.
pub async fn events_of(conn: &mut Conn, case_ids: &[i64]) -> Result<Vec<(i64, EventRow)>> {
    if case_ids.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<String> = case_ids.iter().map(|i| i.to_string()).collect();
    let sql = format!(
        "SELECT case_id, seq, at_ms, actor_id, kind, data FROM case_events WHERE case_id IN ({}) ORDER BY case_id, seq",
        ids.join(", ")
    );
    let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                EventRow {
                    seq: r.try_get(1)?,
                    at_ms: r.try_get(2)?,
                    actor_id: r.try_get(3)?,
                    kind: r.try_get(4)?,
                    data: r.try_get(5)?,
                },
            ))
        })
        .collect()
}

/// Which cases a list returns: those in the scopes, or owned by the organisations, or
/// reported by the person.
#[derive(Debug, Default, Clone)]
pub struct Filter<'a> {
    pub scopes: Vec<&'a str>,
    pub owner_orgs: Vec<i64>,
    pub reporter: Option<i64>,
    pub status: Option<&'a str>,
    pub category_prefix: Option<&'a str>,
    pub overdue: Option<bool>,
    pub before_id: Option<i64>,
    /// Only cases inside this territory (a code prefix).
    pub territory_prefix: Option<&'a str>,
    pub channel: Option<&'a str>,
    /// Reported in `[from, to)`.
    pub created_from_ms: Option<i64>,
    pub created_to_ms: Option<i64>,
    pub limit: i64,
}

pub async fn list(conn: &mut Conn, f: &Filter<'_>) -> Result<Vec<CaseRow>> {
    let (scope_sql, mut binds) = scope_filter("territory_code", &f.scopes, 1);
    let mut who = vec![scope_sql];
    if !f.owner_orgs.is_empty() {
        let ids: Vec<String> = f.owner_orgs.iter().map(|i| i.to_string()).collect();
        who.push(format!("owner_org_id IN ({})", ids.join(",")));
    }
    if let Some(r) = f.reporter {
        who.push(format!("reporter_id = {r}"));
    }
    let mut sql = format!("SELECT {COLS} FROM cases WHERE ({})", who.join(" OR "));
    if let Some(s) = f.status {
        binds.push(s.to_owned());
        sql.push_str(&format!(" AND status = ${}", binds.len()));
    }
    if let Some(c) = f.category_prefix {
        binds.push(format!("{c}%"));
        sql.push_str(&format!(" AND category_code LIKE ${}", binds.len()));
    }
    if let Some(o) = f.overdue {
        sql.push_str(&format!(" AND overdue = {}", o as i64));
    }
    if let Some(b) = f.before_id {
        sql.push_str(&format!(" AND id < {b}"));
    }
    if let Some(t) = f.territory_prefix {
        let (s, b) = scope_filter("territory_code", &[t], binds.len() + 1);
        sql.push_str(&format!(" AND {s}"));
        binds.extend(b);
    }
    if let Some(c) = f.channel {
        binds.push(c.to_owned());
        sql.push_str(&format!(" AND channel = ${}", binds.len()));
    }
    if let Some(t) = f.created_from_ms {
        sql.push_str(&format!(" AND created_at_ms >= {t}"));
    }
    if let Some(t) = f.created_to_ms {
        sql.push_str(&format!(" AND created_at_ms < {t}"));
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", f.limit.max(0)));
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(row).collect()
}

// ---- categories ----

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

// ---- calendar ----

pub async fn replace_calendar(conn: &mut Conn, days: &[(i64, String, String)]) -> Result<()> {
    sqlx::query("DELETE FROM calendar_days").execute(&mut *conn).await?;
    for (day, kind, name) in days {
        sqlx::query("INSERT INTO calendar_days (day, kind, name) VALUES ($1, $2, $3)")
            .bind(day)
            .bind(kind)
            .bind(name)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn calendar(conn: &mut Conn) -> Result<Vec<(i64, String, String)>> {
    let rows = sqlx::query("SELECT day, kind, name FROM calendar_days ORDER BY day").fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
}

/// The organisation of a kind (and name ending) on the nearest of the given territories,
/// tried in order (the case's own territory first, then up the tree).
pub async fn find_org_for(
    conn: &mut Conn,
    kind: &str,
    name_suffix: Option<&str>,
    territories: &[String],
) -> Result<Option<i64>> {
    for t in territories {
        let id: Option<i64> = match name_suffix {
            Some(n) => {
                sqlx::query_scalar("SELECT id FROM organisations WHERE territory_code = $1 AND kind = $2 AND name LIKE $3 ORDER BY id LIMIT 1")
                    .bind(t)
                    .bind(kind)
                    .bind(format!("%{n}"))
                    .fetch_optional(&mut *conn)
                    .await?
            }
            None => {
                sqlx::query_scalar("SELECT id FROM organisations WHERE territory_code = $1 AND kind = $2 ORDER BY id LIMIT 1")
                    .bind(t)
                    .bind(kind)
                    .fetch_optional(&mut *conn)
                    .await?
            }
        };
        if id.is_some() {
            return Ok(id);
        }
    }
    Ok(None)
}

// ---- deadline sweep ----

/// `status IN (…)` over the open statuses as the domain defines them ([`Status::open`]):
/// every query of open cases uses this, so the set is written once.
pub fn open_statuses() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| status_in(&Status::open()))
}

/// `status IN ('a', 'b')` for statuses named by the domain (never user input).
pub fn status_in(statuses: &[&str]) -> String {
    let quoted: Vec<String> = statuses
        .iter()
        .inspect(|s| assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "status name {s}"))
        .map(|s| format!("'{s}'"))
        .collect();
    format!("status IN ({})", quoted.join(", "))
}

/// Open cases whose stage was due before `before_ms` and that are not yet marked overdue, with
/// their due time; at most `limit`, earliest due first. (A parked case has no due time.)
pub async fn due_before(conn: &mut Conn, before_ms: i64, limit: i64) -> Result<Vec<(i64, i64)>> {
    let sql = format!(
        "SELECT id, due_at_ms FROM cases WHERE {} AND due_at_ms < $1 AND overdue = 0 ORDER BY due_at_ms, id LIMIT $2",
        open_statuses()
    );
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(before_ms).bind(limit).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Overdue cases in one of `statuses`, earliest due first, after `(due, id)`: a page of at
/// most `limit`, with their due times.
pub async fn overdue_in(
    conn: &mut Conn,
    statuses: &[&str],
    after: Option<(i64, i64)>,
    limit: i64,
) -> Result<Vec<(i64, i64)>> {
    let (due, id) = after.unwrap_or((i64::MIN, i64::MIN));
    let sql = format!(
        "SELECT id, due_at_ms FROM cases WHERE {} AND overdue = 1 AND due_at_ms IS NOT NULL          AND (due_at_ms > $1 OR (due_at_ms = $1 AND id > $2)) ORDER BY due_at_ms, id LIMIT $3",
        status_in(statuses)
    );
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(due).bind(id).bind(limit).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Open cases due between now and `until_ms` whose current due time was not warned yet.
pub async fn due_soon_unwarned(conn: &mut Conn, now_ms: i64, until_ms: i64, limit: i64) -> Result<Vec<(i64, i64)>> {
    let sql = format!(
        "SELECT id, due_at_ms FROM cases WHERE {} \
         AND overdue = 0 AND due_at_ms >= $1 AND due_at_ms < $2 AND (warned_due_ms IS NULL OR warned_due_ms <> due_at_ms) \
         ORDER BY due_at_ms LIMIT $3",
        open_statuses()
    );
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(now_ms).bind(until_ms).bind(limit).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Records that the warning for this due time was sent; false if another server did it.
pub async fn mark_warned(conn: &mut Conn, id: i64, due_ms: i64) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE cases SET warned_due_ms = $2 WHERE id = $1 AND due_at_ms = $2 AND (warned_due_ms IS NULL OR warned_due_ms <> $2)",
    )
    .bind(id)
    .bind(due_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn insert_notification(
    conn: &mut Conn,
    person: i64,
    case_id: Option<i64>,
    kind: &str,
    body: &str,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO notifications (person_id, case_id, kind, body, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(person)
    .bind(case_id)
    .bind(kind)
    .bind(body)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// People holding an active post in an organisation.
pub async fn org_members(conn: &mut Conn, org: i64, now_ms: i64) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT DISTINCT person_id FROM memberships WHERE organisation_id = $1 AND start_ms <= $2 AND (end_ms IS NULL OR end_ms > $2)",
    )
    .bind(org)
    .bind(now_ms)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

#[derive(Debug, Clone)]
pub struct NotificationRow {
    pub id: i64,
    pub case_id: Option<i64>,
    pub kind: String,
    pub body: String,
    pub created_at_ms: i64,
    pub read_at_ms: Option<i64>,
}

pub async fn notifications(
    conn: &mut Conn,
    person: i64,
    unread_only: bool,
    limit: i64,
) -> Result<Vec<NotificationRow>> {
    let sql = format!(
        "SELECT id, case_id, kind, body, created_at_ms, read_at_ms FROM notifications WHERE person_id = $1{} ORDER BY id DESC LIMIT $2",
        if unread_only { " AND read_at_ms IS NULL" } else { "" }
    );
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(person).bind(limit).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            Ok(NotificationRow {
                id: r.try_get(0)?,
                case_id: r.try_get(1)?,
                kind: r.try_get(2)?,
                body: r.try_get(3)?,
                created_at_ms: r.try_get(4)?,
                read_at_ms: r.try_get(5)?,
            })
        })
        .collect()
}

pub async fn mark_read(conn: &mut Conn, person: i64, id: i64, now_ms: i64) -> Result<bool> {
    let n =
        sqlx::query("UPDATE notifications SET read_at_ms = $3 WHERE id = $1 AND person_id = $2 AND read_at_ms IS NULL")
            .bind(id)
            .bind(person)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    Ok(n == 1)
}

// ---- outbox ----

#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub topic: String,
    pub case_id: Option<i64>,
    pub payload: String,
    pub created_at_ms: i64,
}

/// Claims up to `limit` unprocessed rows for `worker` until `until_ms`. The conditions are
/// repeated on the updated row, so two servers racing for the same row cannot both claim it
/// (PostgreSQL re-checks them after the first claim commits; SQLite has one writer).
pub async fn claim_outbox(
    conn: &mut Conn,
    worker: &str,
    now_ms: i64,
    until_ms: i64,
    limit: i64,
) -> Result<Vec<OutboxRow>> {
    let rows = sqlx::query(
        "UPDATE outbox SET claimed_by = $1, claimed_until_ms = $2 \
         WHERE id IN (SELECT id FROM outbox WHERE processed = 0 AND (claimed_until_ms IS NULL OR claimed_until_ms < $3) ORDER BY id LIMIT $4) \
         AND processed = 0 AND (claimed_until_ms IS NULL OR claimed_until_ms < $3) \
         RETURNING id, topic, case_id, payload, created_at_ms",
    )
    .bind(worker)
    .bind(until_ms)
    .bind(now_ms)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut out: Vec<OutboxRow> = rows
        .iter()
        .map(|r| {
            Ok(OutboxRow {
                id: r.try_get(0)?,
                topic: r.try_get(1)?,
                case_id: r.try_get(2)?,
                payload: r.try_get(3)?,
                created_at_ms: r.try_get(4)?,
            })
        })
        .collect::<Result<_>>()?;
    out.sort_by_key(|r| r.id);
    Ok(out)
}

/// Marks a claimed row processed; false when the claim was lost to another worker.
pub async fn finish_outbox(conn: &mut Conn, id: i64, worker: &str) -> Result<bool> {
    let n = sqlx::query("UPDATE outbox SET processed = 1 WHERE id = $1 AND claimed_by = $2 AND processed = 0")
        .bind(id)
        .bind(worker)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

// ---- devices ----

#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub id: i64,
    pub name: String,
    pub secret: String,
    pub territory_code: String,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

fn device(r: &sqlx::any::AnyRow) -> Result<DeviceRow> {
    Ok(DeviceRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        secret: r.try_get(2)?,
        territory_code: r.try_get(3)?,
        created_at_ms: r.try_get(4)?,
        revoked_at_ms: r.try_get(5)?,
    })
}

pub async fn insert_device(conn: &mut Conn, name: &str, secret: &str, territory: &str, now_ms: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO devices (name, secret, territory_code, created_at_ms) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(name)
    .bind(secret)
    .bind(territory)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get_device(conn: &mut Conn, id: i64) -> Result<Option<DeviceRow>> {
    sqlx::query("SELECT id, name, secret, territory_code, created_at_ms, revoked_at_ms FROM devices WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(device)
        .transpose()
}

pub async fn list_devices(conn: &mut Conn, scopes: &[&str]) -> Result<Vec<DeviceRow>> {
    let (s, binds) = scope_filter("territory_code", scopes, 1);
    let sql = format!(
        "SELECT id, name, secret, territory_code, created_at_ms, revoked_at_ms FROM devices WHERE {s} ORDER BY id"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(device).collect()
}

pub async fn revoke_device(conn: &mut Conn, id: i64, now_ms: i64) -> Result<bool> {
    crate::revoke(conn, "devices", id, now_ms).await
}

// ---- attachments ----

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

/// The newest `limit` outbox rows written since `since_ms` (processed or not), newest
/// first: what live views are told about. Looking back by time rather than by id catches
/// rows whose transaction committed after a later id's; taking the newest keeps a busy
/// window from holding the views on rows they have already seen.
pub async fn recent_outbox(conn: &mut Conn, since_ms: i64, limit: i64) -> Result<Vec<(i64, String, Option<i64>)>> {
    let rows = sqlx::query("SELECT id, topic, case_id FROM outbox WHERE created_at_ms >= $1 ORDER BY id DESC LIMIT $2")
        .bind(since_ms)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("topic")?, r.try_get("case_id")?))).collect()
}

/// The cases with these ids (in no order).
pub async fn by_ids(conn: &mut Conn, ids: &[i64]) -> Result<Vec<CaseRow>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    let sql = format!("SELECT {COLS} FROM cases WHERE id IN ({})", list.join(", "));
    sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *conn).await?.iter().map(row).collect()
}
