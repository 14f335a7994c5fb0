//! Cases: the case hub's own rows (the projection of each timeline, with what only a case
//! has: subject, reporter, place), read and written here; their timeline (`timeline`), the
//! categories that route them (`categories`), the devices that report them (`devices`) and
//! their attachments (`attachments`). A case's head (status, owner, due, version) and the
//! append of its events are the work-item kernel's (`crate::work`): a step writes the head
//! and the event there, then the row here with the head's new version.

use crate::{Conn, Result, scope_filter};
use sqlx::{AssertSqlSafe, Row};
use wuzhi_domain::cases::Status;

mod attachments;
mod categories;
mod devices;
mod timeline;

pub use attachments::*;
pub use categories::*;
pub use devices::*;
pub use timeline::*;

/// The case as the work-item kernel knows it.
pub const KIND: crate::work::Kind = crate::work::Kind { name: "case", events: "case_events", item_column: "case_id" };

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

/// Writes the projection back and moves its counts in the roll-ups from `old` to `c`. The
/// concurrency check is the head's (`crate::work::append`, in the same transaction, before
/// this), which is what makes `old` the row as stored; the row takes the head's new
/// version, `c.version`.
pub async fn update(conn: &mut Conn, old: &CaseRow, c: &CaseRow) -> Result<()> {
    write_projection(conn, c).await?;
    crate::rollup::apply(conn, Some(old), c, true).await
}

async fn write_projection(conn: &mut Conn, c: &CaseRow) -> Result<()> {
    let n = sqlx::query(
        "UPDATE cases SET category_code = $3, priority = $4, status = $5, owner_org_id = $6, due_at_ms = $7, overdue = $8, \
         returns = $9, total_returns = $10, dispatches = $11, reworks = $12, extension_until_ms = $13, satisfaction = $14, \
         merged_into = $15, filed_at_ms = $16, closed_at_ms = $17, closed_late = $18, updated_at_ms = $19, filed_late = $20, summons = $21, summon_due_ms = $22, cooperating = $23, version = $2 \
         WHERE id = $1",
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
    if n == 1 { Ok(()) } else { Err(crate::StoreError::NotFound) }
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

/// Cases created from `since_ms` on, after `(after_ms, after_id)`, oldest first.
pub async fn created_between(conn: &mut Conn, since_ms: i64, after: (i64, i64), limit: i64) -> Result<Vec<CaseRow>> {
    let sql = format!(
        "SELECT {COLS} FROM cases WHERE created_at_ms >= $1 AND (created_at_ms > $2 OR (created_at_ms = $2 AND id > $3)) \
         ORDER BY created_at_ms, id LIMIT $4"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(since_ms)
        .bind(after.0)
        .bind(after.1)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(row)
        .collect()
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
