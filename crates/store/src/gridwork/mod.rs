//! Grid work's storage: members and duty rosters, patrol plans, patrols with their track
//! chunks and findings, visit rules and visits, quick records, key tasks and their shares
//! (whose heads and timelines are the work-item kernel's), and the sums its indicators and
//! roll-ups read.

use crate::bulk::{Val, insert_rows_returning};
use crate::{Conn, Result, scope_filter};
use sqlx::{AssertSqlSafe, Row};

pub const KIND: crate::work::Kind =
    crate::work::Kind { name: "gridwork.task", events: "gridwork_share_events", item_column: "share_id" };

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    binds: &'q [String],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for b in binds {
        q = q.bind(b.as_str());
    }
    q
}

// ---------------------------------------------------------------------------------------
// Members and rosters

#[derive(Debug, Clone)]
pub struct MemberRow {
    pub id: i64,
    pub person_id: i64,
    pub name: String,
    pub grid_code: String,
    pub kind: String,
    pub team: String,
    pub since_ms: i64,
    pub until_ms: Option<i64>,
}

pub async fn insert_member(
    conn: &mut Conn,
    person: i64,
    grid: &str,
    kind: &str,
    team: &str,
    since_ms: i64,
    by: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO gridwork_members (person_id, grid_code, kind, team, since_ms, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(person)
    .bind(grid)
    .bind(kind)
    .bind(team)
    .bind(since_ms)
    .bind(by)
    .fetch_one(&mut *conn)
    .await?)
}

/// Whether `person` already works in `grid` as `kind` (an active registration).
pub async fn member_exists(conn: &mut Conn, person: i64, grid: &str, kind: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM gridwork_members WHERE person_id = $1 AND grid_code = $2 AND kind = $3 AND until_ms IS NULL",
    )
    .bind(person)
    .bind(grid)
    .bind(kind)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

pub async fn end_member(conn: &mut Conn, id: i64, until_ms: i64) -> Result<bool> {
    Ok(sqlx::query("UPDATE gridwork_members SET until_ms = $2 WHERE id = $1 AND until_ms IS NULL")
        .bind(id)
        .bind(until_ms)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1)
}

pub async fn get_member(conn: &mut Conn, id: i64) -> Result<Option<MemberRow>> {
    let r = sqlx::query(
        "SELECT m.id, m.person_id, p.name, m.grid_code, m.kind, m.team, m.since_ms, m.until_ms FROM gridwork_members m JOIN people p ON p.id = m.person_id WHERE m.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    r.as_ref().map(member).transpose()
}

fn member(r: &sqlx::any::AnyRow) -> Result<MemberRow> {
    Ok(MemberRow {
        id: r.try_get(0)?,
        person_id: r.try_get(1)?,
        name: r.try_get(2)?,
        grid_code: r.try_get(3)?,
        kind: r.try_get(4)?,
        team: r.try_get(5)?,
        since_ms: r.try_get(6)?,
        until_ms: r.try_get(7)?,
    })
}

/// The active members of the grids under `prefix`, by grid, kind and name.
pub async fn members_in(conn: &mut Conn, prefix: &str) -> Result<Vec<MemberRow>> {
    let (scope, binds) = scope_filter("m.grid_code", &[prefix], 1);
    let sql = format!(
        "SELECT m.id, m.person_id, p.name, m.grid_code, m.kind, m.team, m.since_ms, m.until_ms FROM gridwork_members m JOIN people p ON p.id = m.person_id WHERE {scope} AND m.until_ms IS NULL ORDER BY m.grid_code, m.kind, p.name LIMIT 2000"
    );
    bind_all(sqlx::query(AssertSqlSafe(sql)), &binds).fetch_all(&mut *conn).await?.iter().map(member).collect()
}

/// The grids a person works in (actively).
pub async fn grids_of(conn: &mut Conn, person: i64) -> Result<Vec<MemberRow>> {
    sqlx::query(
        "SELECT m.id, m.person_id, p.name, m.grid_code, m.kind, m.team, m.since_ms, m.until_ms FROM gridwork_members m JOIN people p ON p.id = m.person_id WHERE m.person_id = $1 AND m.until_ms IS NULL ORDER BY m.grid_code",
    )
    .bind(person)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(member)
    .collect()
}

#[derive(Debug, Clone)]
pub struct DutyRow {
    pub id: i64,
    pub grid_code: String,
    pub person_id: i64,
    pub name: String,
    pub starts_ms: i64,
    pub ends_ms: i64,
    pub note: String,
}

pub async fn insert_duty(
    conn: &mut Conn,
    grid: &str,
    person: i64,
    starts_ms: i64,
    ends_ms: i64,
    note: &str,
    by: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO gridwork_duties (grid_code, person_id, starts_ms, ends_ms, note, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(grid)
    .bind(person)
    .bind(starts_ms)
    .bind(ends_ms)
    .bind(note)
    .bind(by)
    .fetch_one(&mut *conn)
    .await?)
}

/// Duties overlapping [from, to) in the grids under `prefix`, earliest first.
pub async fn duties(conn: &mut Conn, prefix: &str, from_ms: i64, to_ms: i64) -> Result<Vec<DutyRow>> {
    let (scope, binds) = scope_filter("d.grid_code", &[prefix], 3);
    let sql = format!(
        "SELECT d.id, d.grid_code, d.person_id, p.name, d.starts_ms, d.ends_ms, d.note FROM gridwork_duties d JOIN people p ON p.id = d.person_id WHERE d.ends_ms > $1 AND d.starts_ms < $2 AND {scope} ORDER BY d.starts_ms, d.grid_code, p.name LIMIT 2000"
    );
    let q = sqlx::query(AssertSqlSafe(sql)).bind(from_ms).bind(to_ms);
    bind_all(q, &binds)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(DutyRow {
                id: r.try_get(0)?,
                grid_code: r.try_get(1)?,
                person_id: r.try_get(2)?,
                name: r.try_get(3)?,
                starts_ms: r.try_get(4)?,
                ends_ms: r.try_get(5)?,
                note: r.try_get(6)?,
            })
        })
        .collect()
}

pub async fn duty_grid(conn: &mut Conn, id: i64) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT grid_code FROM gridwork_duties WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

pub async fn delete_duty(conn: &mut Conn, id: i64) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM gridwork_duties WHERE id = $1").bind(id).execute(&mut *conn).await?.rows_affected()
        == 1)
}

// ---------------------------------------------------------------------------------------
// Patrol plans and patrols

#[derive(Debug, Clone)]
pub struct PlanRow {
    pub id: i64,
    pub grid_code: String,
    pub name: String,
    pub every_days: i64,
    pub places: String,
    pub route: Option<String>,
}

pub async fn insert_plan(
    conn: &mut Conn,
    grid: &str,
    name: &str,
    every_days: i64,
    places: &str,
    route: Option<&str>,
    now_ms: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO gridwork_plans (grid_code, name, every_days, places, route, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(grid)
    .bind(name)
    .bind(every_days)
    .bind(places)
    .bind(route)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn plans_in(conn: &mut Conn, prefix: &str) -> Result<Vec<PlanRow>> {
    let (scope, binds) = scope_filter("grid_code", &[prefix], 1);
    let sql = format!(
        "SELECT id, grid_code, name, every_days, places, route FROM gridwork_plans WHERE active = 1 AND {scope} ORDER BY grid_code, id LIMIT 2000"
    );
    bind_all(sqlx::query(AssertSqlSafe(sql)), &binds).fetch_all(&mut *conn).await?.iter().map(plan).collect()
}

fn plan(r: &sqlx::any::AnyRow) -> Result<PlanRow> {
    Ok(PlanRow {
        id: r.try_get(0)?,
        grid_code: r.try_get(1)?,
        name: r.try_get(2)?,
        every_days: r.try_get(3)?,
        places: r.try_get(4)?,
        route: r.try_get(5)?,
    })
}

pub async fn get_plan(conn: &mut Conn, id: i64) -> Result<Option<PlanRow>> {
    let r = sqlx::query("SELECT id, grid_code, name, every_days, places, route FROM gridwork_plans WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    r.as_ref().map(plan).transpose()
}

#[derive(Debug, Clone)]
pub struct PatrolRow {
    pub id: i64,
    pub grid_code: String,
    pub person_id: i64,
    pub name: String,
    pub plan_id: Option<i64>,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    pub ended_by_system: bool,
    pub note: String,
    pub points: i64,
    pub length_m: f64,
    pub track_deleted: bool,
    pub findings: i64,
    pub fixed: i64,
}

const PATROL_SELECT: &str = "SELECT t.id, t.grid_code, t.person_id, p.name, t.plan_id, t.started_at_ms, t.ended_at_ms, t.ended_by_system, t.note, t.points, t.length_m, t.track_deleted_at_ms, (SELECT COUNT(*) FROM gridwork_findings f WHERE f.patrol_id = t.id), (SELECT COUNT(*) FROM gridwork_findings f WHERE f.patrol_id = t.id AND f.fixed = 1) FROM gridwork_patrols t JOIN people p ON p.id = t.person_id";

fn patrol(r: &sqlx::any::AnyRow) -> Result<PatrolRow> {
    Ok(PatrolRow {
        id: r.try_get(0)?,
        grid_code: r.try_get(1)?,
        person_id: r.try_get(2)?,
        name: r.try_get(3)?,
        plan_id: r.try_get(4)?,
        started_at_ms: r.try_get(5)?,
        ended_at_ms: r.try_get(6)?,
        ended_by_system: r.try_get::<i64, _>(7)? != 0,
        note: r.try_get(8)?,
        points: r.try_get(9)?,
        length_m: r.try_get(10)?,
        track_deleted: r.try_get::<Option<i64>, _>(11)?.is_some(),
        findings: r.try_get(12)?,
        fixed: r.try_get(13)?,
    })
}

pub async fn patrol_by_key(conn: &mut Conn, key: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM gridwork_patrols WHERE idempotency_key = $1")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Starts a patrol (its key looked up first with [`patrol_by_key`]).
pub async fn insert_patrol(
    conn: &mut Conn,
    grid: &str,
    person: i64,
    plan: Option<i64>,
    started_ms: i64,
    key: Option<&str>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO gridwork_patrols (grid_code, person_id, plan_id, started_at_ms, idempotency_key) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(grid)
    .bind(person)
    .bind(plan)
    .bind(started_ms)
    .bind(key)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get_patrol(conn: &mut Conn, id: i64) -> Result<Option<PatrolRow>> {
    let sql = format!("{PATROL_SELECT} WHERE t.id = $1");
    sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(patrol).transpose()
}

/// The person's patrol under way, if any.
pub async fn running_of(conn: &mut Conn, person: i64) -> Result<Option<PatrolRow>> {
    let sql = format!("{PATROL_SELECT} WHERE t.person_id = $1 AND t.ended_at_ms IS NULL ORDER BY t.id DESC LIMIT 1");
    sqlx::query(AssertSqlSafe(sql)).bind(person).fetch_optional(&mut *conn).await?.as_ref().map(patrol).transpose()
}

pub async fn end_patrol(conn: &mut Conn, id: i64, ended_ms: i64, by_system: bool, note: &str) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE gridwork_patrols SET ended_at_ms = $2, ended_by_system = $3, note = $4 WHERE id = $1 AND ended_at_ms IS NULL",
    )
    .bind(id)
    .bind(ended_ms)
    .bind(i64::from(by_system))
    .bind(note)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// Patrols started in [from, to) in the grids under `prefix` (or by `person`), newest first.
pub async fn patrols(
    conn: &mut Conn,
    prefix: &str,
    person: Option<i64>,
    from_ms: i64,
    to_ms: i64,
    limit: i64,
) -> Result<Vec<PatrolRow>> {
    let (scope, binds) = scope_filter("t.grid_code", &[prefix], 4);
    let sql = format!(
        "{PATROL_SELECT} WHERE t.started_at_ms >= $1 AND t.started_at_ms < $2 AND ($3 = 0 OR t.person_id = $3) AND {scope} ORDER BY t.started_at_ms DESC LIMIT {}",
        limit.max(0)
    );
    let q = sqlx::query(AssertSqlSafe(sql)).bind(from_ms).bind(to_ms).bind(person.unwrap_or(0));
    bind_all(q, &binds).fetch_all(&mut *conn).await?.iter().map(patrol).collect()
}

/// Stores one upload of a patrol's track (once: a repeated `seq` is ignored) and adds its
/// points and length to the patrol. True when it was new.
#[allow(clippy::too_many_arguments)]
pub async fn insert_chunk(
    conn: &mut Conn,
    patrol: i64,
    seq: i64,
    first_ms: i64,
    last_ms: i64,
    n: i64,
    blob: &[u8],
    length_m: f64,
) -> Result<bool> {
    let new = sqlx::query(
        "INSERT INTO gridwork_track_chunks (patrol_id, seq, first_ms, last_ms, n, points) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (patrol_id, seq) DO NOTHING",
    )
    .bind(patrol)
    .bind(seq)
    .bind(first_ms)
    .bind(last_ms)
    .bind(n)
    .bind(blob)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if new {
        add_points(conn, patrol, n, length_m).await?;
    }
    Ok(new)
}

/// Adds `n` points and `length_m` to a patrol's totals.
pub async fn add_points(conn: &mut Conn, patrol: i64, n: i64, length_m: f64) -> Result<()> {
    sqlx::query("UPDATE gridwork_patrols SET points = points + $2, length_m = length_m + $3 WHERE id = $1")
        .bind(patrol)
        .bind(n)
        .bind(length_m)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A patrol's track chunks in order.
pub async fn chunks_of(conn: &mut Conn, patrol: i64) -> Result<Vec<Vec<u8>>> {
    let rows = sqlx::query("SELECT points FROM gridwork_track_chunks WHERE patrol_id = $1 ORDER BY seq")
        .bind(patrol)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok(r.try_get::<Vec<u8>, _>(0)?)).collect()
}

/// Deletes the tracks of patrols started before `before_ms` (a batch of them); returns how
/// many patrols lost their track.
pub async fn delete_tracks_before(conn: &mut Conn, before_ms: i64, now_ms: i64, limit: i64) -> Result<u64> {
    let ids: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT id FROM gridwork_patrols WHERE started_at_ms < $1 AND track_deleted_at_ms IS NULL AND ended_at_ms IS NOT NULL ORDER BY started_at_ms LIMIT {}",
        limit.max(0)
    )))
    .bind(before_ms)
    .fetch_all(&mut *conn)
    .await?;
    for id in &ids {
        sqlx::query("DELETE FROM gridwork_track_chunks WHERE patrol_id = $1").bind(id).execute(&mut *conn).await?;
        sqlx::query("UPDATE gridwork_patrols SET track_deleted_at_ms = $2 WHERE id = $1")
            .bind(id)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
    }
    Ok(ids.len() as u64)
}

/// Patrols still running that started before `before_ms`.
pub async fn stale_patrols(conn: &mut Conn, before_ms: i64, limit: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT id FROM gridwork_patrols WHERE ended_at_ms IS NULL AND started_at_ms < $1 ORDER BY started_at_ms LIMIT {}",
        limit.max(0)
    )))
    .bind(before_ms)
    .fetch_all(&mut *conn)
    .await?)
}

/// Links a case found on a patrol (once).
pub async fn insert_finding(conn: &mut Conn, case_id: i64, patrol: i64, fixed: bool, at_ms: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO gridwork_findings (case_id, patrol_id, fixed, at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (case_id) DO NOTHING",
    )
    .bind(case_id)
    .bind(patrol)
    .bind(i64::from(fixed))
    .bind(at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A patrol's findings: (case, fixed, subject, status).
pub async fn findings_of(conn: &mut Conn, patrol: i64) -> Result<Vec<(i64, bool, String, String)>> {
    let rows = sqlx::query(
        "SELECT f.case_id, f.fixed, c.subject, c.status FROM gridwork_findings f JOIN cases c ON c.id = f.case_id WHERE f.patrol_id = $1 ORDER BY f.at_ms",
    )
    .bind(patrol)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get::<i64, _>(1)? != 0, r.try_get(2)?, r.try_get(3)?))).collect()
}

// ---------------------------------------------------------------------------------------
// Visit rules and visits

/// The visit rules kept for any of `codes` (a grid and the territories above it).
pub async fn rules_for(conn: &mut Conn, codes: &[&str]) -> Result<Vec<(String, Option<String>, i64)>> {
    let mut out = Vec::new();
    for c in codes {
        let rows = sqlx::query(
            "SELECT territory_code, tag, every_days FROM gridwork_visit_rules WHERE territory_code = $1 ORDER BY id",
        )
        .bind(*c)
        .fetch_all(&mut *conn)
        .await?;
        for r in rows {
            out.push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?));
        }
    }
    Ok(out)
}

pub async fn replace_rules(conn: &mut Conn, code: &str, rules: &[(Option<String>, i64)], now_ms: i64) -> Result<()> {
    sqlx::query("DELETE FROM gridwork_visit_rules WHERE territory_code = $1").bind(code).execute(&mut *conn).await?;
    for (tag, days) in rules {
        sqlx::query(
            "INSERT INTO gridwork_visit_rules (territory_code, tag, every_days, created_at_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(code)
        .bind(tag.as_deref())
        .bind(*days)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct NewVisit<'a> {
    pub grid_code: &'a str,
    pub household_key: &'a str,
    pub house_id: Option<i64>,
    pub visitor_id: i64,
    pub at_ms: i64,
    pub way: &'a str,
    pub outcome: &'a str,
    pub found: &'a str,
    pub needs: &'a str,
    /// A photo taken with the household's consent: its sha256 and type.
    pub photo: Option<(&'a str, &'a str)>,
    pub key: Option<&'a str>,
}

pub async fn visit_by_key(conn: &mut Conn, key: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM gridwork_visits WHERE idempotency_key = $1")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?)
}

pub async fn insert_visit(conn: &mut Conn, v: &NewVisit<'_>, now_ms: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO gridwork_visits (grid_code, household_key, house_id, visitor_id, at_ms, way, outcome, found, needs, photo_sha, photo_type, created_at_ms, idempotency_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(v.grid_code)
    .bind(v.household_key)
    .bind(v.house_id)
    .bind(v.visitor_id)
    .bind(v.at_ms)
    .bind(v.way)
    .bind(v.outcome)
    .bind(v.found)
    .bind(v.needs)
    .bind(v.photo.map(|p| p.0))
    .bind(v.photo.map(|p| p.1))
    .bind(now_ms)
    .bind(v.key)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn set_visit_photo(conn: &mut Conn, id: i64, sha: &str, kind: &str) -> Result<()> {
    sqlx::query("UPDATE gridwork_visits SET photo_sha = $2, photo_type = $3 WHERE id = $1")
        .bind(id)
        .bind(sha)
        .bind(kind)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn set_visit_case(conn: &mut Conn, id: i64, case_id: i64) -> Result<()> {
    sqlx::query("UPDATE gridwork_visits SET case_id = $2 WHERE id = $1")
        .bind(id)
        .bind(case_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct VisitRow {
    pub id: i64,
    pub grid_code: String,
    pub household_key: String,
    pub house_id: Option<i64>,
    pub visitor_id: i64,
    pub visitor: String,
    pub at_ms: i64,
    pub way: String,
    pub outcome: String,
    pub found: String,
    pub needs: String,
    pub photo: Option<(String, String)>,
    pub case_id: Option<i64>,
}

const VISIT_SELECT: &str = "SELECT v.id, v.grid_code, v.household_key, v.house_id, v.visitor_id, p.name, v.at_ms, v.way, v.outcome, v.found, v.needs, v.photo_sha, v.photo_type, v.case_id FROM gridwork_visits v JOIN people p ON p.id = v.visitor_id";

fn visit(r: &sqlx::any::AnyRow) -> Result<VisitRow> {
    Ok(VisitRow {
        id: r.try_get(0)?,
        grid_code: r.try_get(1)?,
        household_key: r.try_get(2)?,
        house_id: r.try_get(3)?,
        visitor_id: r.try_get(4)?,
        visitor: r.try_get(5)?,
        at_ms: r.try_get(6)?,
        way: r.try_get(7)?,
        outcome: r.try_get(8)?,
        found: r.try_get(9)?,
        needs: r.try_get(10)?,
        photo: match (r.try_get::<Option<String>, _>(11)?, r.try_get::<Option<String>, _>(12)?) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        },
        case_id: r.try_get(13)?,
    })
}

pub async fn get_visit(conn: &mut Conn, id: i64) -> Result<Option<VisitRow>> {
    let sql = format!("{VISIT_SELECT} WHERE v.id = $1");
    sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(visit).transpose()
}

/// A household's visits, newest first.
pub async fn visits_of(conn: &mut Conn, household_key: &str, limit: i64) -> Result<Vec<VisitRow>> {
    let sql = format!("{VISIT_SELECT} WHERE v.household_key = $1 ORDER BY v.at_ms DESC LIMIT {}", limit.max(0));
    sqlx::query(AssertSqlSafe(sql)).bind(household_key).fetch_all(&mut *conn).await?.iter().map(visit).collect()
}

/// Visits in [from, to) in the grids under `prefix` (or by `visitor`), newest first.
pub async fn visits_in(
    conn: &mut Conn,
    prefix: &str,
    visitor: Option<i64>,
    from_ms: i64,
    to_ms: i64,
    limit: i64,
) -> Result<Vec<VisitRow>> {
    let (scope, binds) = scope_filter("v.grid_code", &[prefix], 4);
    let sql = format!(
        "{VISIT_SELECT} WHERE v.at_ms >= $1 AND v.at_ms < $2 AND ($3 = 0 OR v.visitor_id = $3) AND {scope} ORDER BY v.at_ms DESC LIMIT {}",
        limit.max(0)
    );
    let q = sqlx::query(AssertSqlSafe(sql)).bind(from_ms).bind(to_ms).bind(visitor.unwrap_or(0));
    bind_all(q, &binds).fetch_all(&mut *conn).await?.iter().map(visit).collect()
}

/// Each household's last visit before `before_ms`, in the grids under `prefix`.
pub async fn last_visits(
    conn: &mut Conn,
    prefix: &str,
    before_ms: i64,
) -> Result<std::collections::HashMap<String, i64>> {
    let (scope, binds) = scope_filter("grid_code", &[prefix], 2);
    let sql = format!(
        "SELECT household_key, MAX(at_ms) FROM gridwork_visits WHERE at_ms < $1 AND outcome <> 'not_home' AND {scope} GROUP BY household_key"
    );
    let q = sqlx::query(AssertSqlSafe(sql)).bind(before_ms);
    let rows = bind_all(q, &binds).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

// ---------------------------------------------------------------------------------------
// Quick records

#[derive(Debug, Clone)]
pub struct NoteRow {
    pub id: i64,
    pub grid_code: String,
    pub kind: String,
    pub text: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub house_id: Option<i64>,
    pub archive_person_id: Option<i64>,
    pub author_id: i64,
    pub author: String,
    pub created_at_ms: i64,
    pub status: String,
    pub reviewed_by: Option<i64>,
    pub reviewed_at_ms: Option<i64>,
    pub review_note: Option<String>,
    pub case_id: Option<i64>,
}

const NOTE_SELECT: &str = "SELECT n.id, n.grid_code, n.kind, n.text, n.lat, n.lon, n.house_id, n.archive_person_id, n.author_id, p.name, n.created_at_ms, n.status, n.reviewed_by, n.reviewed_at_ms, n.review_note, n.case_id FROM gridwork_notes n JOIN people p ON p.id = n.author_id";

fn note(r: &sqlx::any::AnyRow) -> Result<NoteRow> {
    Ok(NoteRow {
        id: r.try_get(0)?,
        grid_code: r.try_get(1)?,
        kind: r.try_get(2)?,
        text: r.try_get(3)?,
        lat: r.try_get(4)?,
        lon: r.try_get(5)?,
        house_id: r.try_get(6)?,
        archive_person_id: r.try_get(7)?,
        author_id: r.try_get(8)?,
        author: r.try_get(9)?,
        created_at_ms: r.try_get(10)?,
        status: r.try_get(11)?,
        reviewed_by: r.try_get(12)?,
        reviewed_at_ms: r.try_get(13)?,
        review_note: r.try_get(14)?,
        case_id: r.try_get(15)?,
    })
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_note(
    conn: &mut Conn,
    grid: &str,
    kind: &str,
    text: &str,
    point: Option<(f64, f64)>,
    house: Option<i64>,
    person: Option<i64>,
    author: i64,
    now_ms: i64,
    key: Option<&str>,
) -> Result<(i64, bool)> {
    if let Some(k) = key {
        if let Some(id) = sqlx::query_scalar::<_, i64>("SELECT id FROM gridwork_notes WHERE idempotency_key = $1")
            .bind(k)
            .fetch_optional(&mut *conn)
            .await?
        {
            return Ok((id, false));
        }
    }
    let id = sqlx::query_scalar(
        "INSERT INTO gridwork_notes (grid_code, kind, text, lat, lon, house_id, archive_person_id, author_id, created_at_ms, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(grid)
    .bind(kind)
    .bind(text)
    .bind(point.map(|p| p.1))
    .bind(point.map(|p| p.0))
    .bind(house)
    .bind(person)
    .bind(author)
    .bind(now_ms)
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    Ok((id, true))
}

pub async fn get_note(conn: &mut Conn, id: i64) -> Result<Option<NoteRow>> {
    let sql = format!("{NOTE_SELECT} WHERE n.id = $1");
    sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(note).transpose()
}

/// Notes in the grids under `prefix` (open ones only, when asked), or the author's own.
pub async fn notes_in(
    conn: &mut Conn,
    prefix: Option<&str>,
    author: Option<i64>,
    open_only: bool,
    limit: i64,
) -> Result<Vec<NoteRow>> {
    let (scope, binds) = match prefix {
        Some(p) => scope_filter("n.grid_code", &[p], 2),
        None => ("1 = 1".into(), vec![]),
    };
    let sql = format!(
        "{NOTE_SELECT} WHERE ($1 = 0 OR n.author_id = $1) AND {scope}{} ORDER BY n.created_at_ms DESC LIMIT {}",
        if open_only { " AND n.status = 'open'" } else { "" },
        limit.max(0)
    );
    let q = sqlx::query(AssertSqlSafe(sql)).bind(author.unwrap_or(0));
    bind_all(q, &binds).fetch_all(&mut *conn).await?.iter().map(note).collect()
}

/// Closes an open note as reviewed (or turned into case `case_id`). False when it was no
/// longer open.
pub async fn review_note(
    conn: &mut Conn,
    id: i64,
    status: &str,
    by: i64,
    at_ms: i64,
    review: &str,
    case_id: Option<i64>,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE gridwork_notes SET status = $2, reviewed_by = $3, reviewed_at_ms = $4, review_note = $5, case_id = $6 WHERE id = $1 AND status = 'open'",
    )
    .bind(id)
    .bind(status)
    .bind(by)
    .bind(at_ms)
    .bind(review)
    .bind(case_id)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

// ---------------------------------------------------------------------------------------
// Key tasks and shares

#[derive(Debug, Clone)]
pub struct TaskRow {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub checklist: String,
    pub territory_code: String,
    pub level: String,
    pub deadline_ms: i64,
    pub org_id: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at_ms: i64,
    pub shares: i64,
}

const TASK_SELECT: &str = "SELECT id, title, description, checklist, territory_code, level, deadline_ms, org_id, created_by, created_at_ms, shares FROM gridwork_tasks";

fn task(r: &sqlx::any::AnyRow) -> Result<TaskRow> {
    Ok(TaskRow {
        id: r.try_get(0)?,
        title: r.try_get(1)?,
        description: r.try_get(2)?,
        checklist: r.try_get(3)?,
        territory_code: r.try_get(4)?,
        level: r.try_get(5)?,
        deadline_ms: r.try_get(6)?,
        org_id: r.try_get(7)?,
        created_by: r.try_get(8)?,
        created_at_ms: r.try_get(9)?,
        shares: r.try_get(10)?,
    })
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_task(
    conn: &mut Conn,
    title: &str,
    description: &str,
    checklist: &str,
    territory: &str,
    level: &str,
    deadline_ms: i64,
    org: Option<i64>,
    by: i64,
    now_ms: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO gridwork_tasks (title, description, checklist, territory_code, level, deadline_ms, org_id, created_by, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(title)
    .bind(description)
    .bind(checklist)
    .bind(territory)
    .bind(level)
    .bind(deadline_ms)
    .bind(org)
    .bind(by)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn set_task_shares(conn: &mut Conn, id: i64, shares: i64) -> Result<()> {
    sqlx::query("UPDATE gridwork_tasks SET shares = $2 WHERE id = $1")
        .bind(id)
        .bind(shares)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn get_task(conn: &mut Conn, id: i64) -> Result<Option<TaskRow>> {
    let sql = format!("{TASK_SELECT} WHERE id = $1");
    sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(task).transpose()
}

/// Tasks that reach into any of the scopes (sent inside them, or above them with shares in
/// them), newest first.
pub async fn tasks_reaching(conn: &mut Conn, scopes: &[&str], limit: i64) -> Result<Vec<TaskRow>> {
    let (inside, b1) = scope_filter("territory_code", scopes, 1);
    let (shares, b2) = scope_filter("s.territory_code", scopes, 1 + b1.len());
    let sql = format!(
        "{TASK_SELECT} WHERE {inside} OR id IN (SELECT s.task_id FROM gridwork_shares s WHERE {shares}) ORDER BY id DESC LIMIT {}",
        limit.max(0)
    );
    let q = bind_all(sqlx::query(AssertSqlSafe(sql)), &b1);
    bind_all(q, &b2).fetch_all(&mut *conn).await?.iter().map(task).collect()
}

/// Inserts the shares of a task, one per territory (with its items' JSON); returns
/// (territory, share id).
pub async fn insert_shares(conn: &mut Conn, task: i64, rows: &[(String, String)]) -> Result<Vec<(String, i64)>> {
    let rows: Vec<Vec<Val>> =
        rows.iter().map(|(t, items)| vec![Val::from(task), Val::from(t.as_str()), Val::from(items.as_str())]).collect();
    insert_rows_returning(conn, "gridwork_shares", &["task_id", "territory_code", "items"], &rows, "territory_code")
        .await
}

#[derive(Debug, Clone)]
pub struct ShareRow {
    pub id: i64,
    pub task_id: i64,
    pub territory_code: String,
    pub items: String,
    pub items_done: i64,
    pub found: i64,
    pub cases: i64,
    pub done_at_ms: Option<i64>,
    pub status: String,
    pub due_at_ms: Option<i64>,
    pub overdue: bool,
    pub owner_org_id: Option<i64>,
    pub version: i64,
}

const SHARE_SELECT: &str = "SELECT s.id, s.task_id, s.territory_code, s.items, s.items_done, s.found, s.cases, s.done_at_ms, w.status, w.due_at_ms, w.overdue, w.owner_org_id, w.version FROM gridwork_shares s JOIN work_heads w ON w.kind = 'gridwork.task' AND w.item_id = s.id";

fn share(r: &sqlx::any::AnyRow) -> Result<ShareRow> {
    Ok(ShareRow {
        id: r.try_get(0)?,
        task_id: r.try_get(1)?,
        territory_code: r.try_get(2)?,
        items: r.try_get(3)?,
        items_done: r.try_get(4)?,
        found: r.try_get(5)?,
        cases: r.try_get(6)?,
        done_at_ms: r.try_get(7)?,
        status: r.try_get(8)?,
        due_at_ms: r.try_get(9)?,
        overdue: r.try_get::<i64, _>(10)? != 0,
        owner_org_id: r.try_get(11)?,
        version: r.try_get(12)?,
    })
}

pub async fn get_share(conn: &mut Conn, id: i64) -> Result<Option<ShareRow>> {
    let sql = format!("{SHARE_SELECT} WHERE s.id = $1");
    sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(share).transpose()
}

/// A task's shares under `prefix`, overdue and open first.
pub async fn shares_of(conn: &mut Conn, task: i64, prefix: &str, limit: i64) -> Result<Vec<ShareRow>> {
    let (scope, binds) = scope_filter("s.territory_code", &[prefix], 2);
    let sql = format!(
        "{SHARE_SELECT} WHERE s.task_id = $1 AND {scope} ORDER BY w.overdue DESC, w.open DESC, s.territory_code LIMIT {}",
        limit.max(0)
    );
    let q = sqlx::query(AssertSqlSafe(sql)).bind(task);
    bind_all(q, &binds).fetch_all(&mut *conn).await?.iter().map(share).collect()
}

/// Open shares of any task in the scopes (a grid's or community's to-do list).
pub async fn open_shares_in(conn: &mut Conn, scopes: &[&str], limit: i64) -> Result<Vec<ShareRow>> {
    let (scope, binds) = scope_filter("s.territory_code", scopes, 1);
    let sql = format!("{SHARE_SELECT} WHERE w.open = 1 AND {scope} ORDER BY w.due_at_ms, s.id LIMIT {}", limit.max(0));
    bind_all(sqlx::query(AssertSqlSafe(sql)), &binds).fetch_all(&mut *conn).await?.iter().map(share).collect()
}

pub async fn update_share(
    conn: &mut Conn,
    id: i64,
    items: &str,
    items_done: i64,
    found: i64,
    done_at_ms: Option<i64>,
    on_time: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE gridwork_shares SET items = $2, items_done = $3, found = $4, done_at_ms = $5, on_time = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(items)
    .bind(items_done)
    .bind(found)
    .bind(done_at_ms)
    .bind(i64::from(on_time))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Links a case made from a share's item (once) and counts it on the share.
pub async fn add_share_case(conn: &mut Conn, share: i64, case_id: i64, item: i64) -> Result<()> {
    let new = sqlx::query(
        "INSERT INTO gridwork_share_cases (share_id, case_id, item) VALUES ($1, $2, $3) ON CONFLICT (share_id, case_id) DO NOTHING",
    )
    .bind(share)
    .bind(case_id)
    .bind(item)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if new == 1 {
        sqlx::query("UPDATE gridwork_shares SET cases = cases + 1 WHERE id = $1")
            .bind(share)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A share's cases: (case, item).
pub async fn share_cases(conn: &mut Conn, share: i64) -> Result<Vec<(i64, i64)>> {
    let rows = sqlx::query("SELECT case_id, item FROM gridwork_share_cases WHERE share_id = $1 ORDER BY case_id")
        .bind(share)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// A share's timeline: (at, actor's name, event kind, data).
pub async fn share_events(conn: &mut Conn, id: i64) -> Result<Vec<(i64, Option<String>, String, String)>> {
    let rows = sqlx::query(
        "SELECT e.at_ms, p.name, e.kind, e.data FROM gridwork_share_events e LEFT JOIN people p ON p.id = e.actor_id WHERE e.share_id = $1 ORDER BY e.seq",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))).collect()
}

/// One line of a task's roll-up: the shares under one territory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rollup {
    pub code: String,
    pub shares: i64,
    pub done: i64,
    pub done_on_time: i64,
    pub overdue: i64,
    pub items_done: i64,
    pub found: i64,
    pub cases: i64,
}

/// A task's progress under `prefix`, summed per territory whose code is `child_len` long
/// (the level below, or the shares themselves), and the total.
pub async fn rollup(conn: &mut Conn, task: i64, prefix: &str, child_len: usize) -> Result<(Rollup, Vec<Rollup>)> {
    let (scope, binds) = scope_filter("s.territory_code", &[prefix], 2);
    let sql = format!(
        "SELECT SUBSTR(s.territory_code, 1, {child_len}) AS code, COUNT(*), \
         CAST(SUM(CASE WHEN w.open = 0 THEN 1 ELSE 0 END) AS BIGINT), CAST(SUM(s.on_time) AS BIGINT), CAST(SUM(w.overdue) AS BIGINT), \
         CAST(SUM(s.items_done) AS BIGINT), CAST(SUM(s.found) AS BIGINT), CAST(SUM(s.cases) AS BIGINT) \
         FROM gridwork_shares s JOIN work_heads w ON w.kind = 'gridwork.task' AND w.item_id = s.id \
         WHERE s.task_id = $1 AND {scope} GROUP BY SUBSTR(s.territory_code, 1, {child_len}) ORDER BY code"
    );
    let q = sqlx::query(AssertSqlSafe(sql)).bind(task);
    let rows = bind_all(q, &binds).fetch_all(&mut *conn).await?;
    let mut total = Rollup { code: prefix.to_owned(), ..Default::default() };
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let line = Rollup {
            code: r.try_get(0)?,
            shares: r.try_get(1)?,
            done: r.try_get(2)?,
            done_on_time: r.try_get(3)?,
            overdue: r.try_get(4)?,
            items_done: r.try_get(5)?,
            found: r.try_get(6)?,
            cases: r.try_get(7)?,
        };
        total.shares += line.shares;
        total.done += line.done;
        total.done_on_time += line.done_on_time;
        total.overdue += line.overdue;
        total.items_done += line.items_done;
        total.found += line.found;
        total.cases += line.cases;
        out.push(line);
    }
    Ok((total, out))
}

// ---------------------------------------------------------------------------------------
// Indicators

/// The sums the indicators need for the grids under `prefix` in [from, to) (the visit plan's
/// households are counted from the archives by the caller).
pub async fn counts(
    conn: &mut Conn,
    prefix: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<wuzhi_domain::gridwork::indicators::Counts> {
    let (scope_t, bt) = scope_filter("code", &[prefix], 1);
    let grids: i64 = bind_all(
        sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) FROM territories WHERE level = 'grid' AND {scope_t}"))),
        &bt,
    )
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    let (scope, b) = scope_filter("grid_code", &[prefix], 3);
    let r = bind_all(
        sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(DISTINCT grid_code), COUNT(*) FROM gridwork_patrols WHERE started_at_ms >= $1 AND started_at_ms < $2 AND {scope}"
        )))
        .bind(from_ms)
        .bind(to_ms),
        &b,
    )
    .fetch_one(&mut *conn)
    .await?;
    let (grids_patrolled, patrols): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
    let (scope_c, bc) = scope_filter("territory_code", &[prefix], 3);
    let r = bind_all(
        sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*), COALESCE(CAST(SUM(CASE WHEN closed_at_ms IS NOT NULL AND closed_at_ms = filed_at_ms THEN 1 ELSE 0 END) AS BIGINT), 0) \
             FROM cases WHERE channel = 'grid' AND created_at_ms >= $1 AND created_at_ms < $2 AND {scope_c} \
             AND id NOT IN (SELECT case_id FROM gridwork_visits WHERE case_id IS NOT NULL)"
        )))
        .bind(from_ms)
        .bind(to_ms),
        &bc,
    )
    .fetch_one(&mut *conn)
    .await?;
    let (found, fixed_on_spot): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
    let r = bind_all(
        sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*), COUNT(DISTINCT CASE WHEN outcome <> 'not_home' THEN household_key END), COALESCE(CAST(SUM(CASE WHEN needs <> '' THEN 1 ELSE 0 END) AS BIGINT), 0) \
             FROM gridwork_visits WHERE at_ms >= $1 AND at_ms < $2 AND {scope}"
        )))
        .bind(from_ms)
        .bind(to_ms),
        &b,
    )
    .fetch_one(&mut *conn)
    .await?;
    let (visits, households_visited, needs_raised): (i64, i64, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
    let notes: i64 = bind_all(
        sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM gridwork_notes WHERE created_at_ms >= $1 AND created_at_ms < $2 AND {scope}"
        )))
        .bind(from_ms)
        .bind(to_ms),
        &b,
    )
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    // Shares whose task fell due in the period, or that were done in it (early).
    let (scope_s, bs) = scope_filter("s.territory_code", &[prefix], 3);
    let r = bind_all(
        sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*), COALESCE(CAST(SUM(s.on_time) AS BIGINT), 0), COALESCE(CAST(SUM(w.overdue) AS BIGINT), 0) FROM gridwork_shares s \
             JOIN gridwork_tasks t ON t.id = s.task_id JOIN work_heads w ON w.kind = 'gridwork.task' AND w.item_id = s.id \
             WHERE ((t.deadline_ms >= $1 AND t.deadline_ms < $2) OR (s.done_at_ms >= $1 AND s.done_at_ms < $2)) AND {scope_s}"
        )))
        .bind(from_ms)
        .bind(to_ms),
        &bs,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(wuzhi_domain::gridwork::indicators::Counts {
        grids,
        grids_patrolled,
        patrols,
        found,
        fixed_on_spot,
        households_due: 0,
        households_visited,
        visits,
        needs_raised,
        notes,
        shares_due: r.try_get(0)?,
        shares_done_on_time: r.try_get(1)?,
        shares_overdue: r.try_get(2)?,
    })
}

/// Grids under `prefix` patrolled in [from, to): (grid, patrols, findings, fixed).
pub async fn coverage(conn: &mut Conn, prefix: &str, from_ms: i64, to_ms: i64) -> Result<Vec<(String, i64, i64, i64)>> {
    let (scope, b) = scope_filter("t.grid_code", &[prefix], 3);
    let sql = format!(
        "SELECT t.grid_code, COUNT(DISTINCT t.id), COUNT(f.case_id), COALESCE(CAST(SUM(f.fixed) AS BIGINT), 0) FROM gridwork_patrols t \
         LEFT JOIN gridwork_findings f ON f.patrol_id = t.id \
         WHERE t.started_at_ms >= $1 AND t.started_at_ms < $2 AND {scope} GROUP BY t.grid_code ORDER BY t.grid_code"
    );
    let q = sqlx::query(AssertSqlSafe(sql)).bind(from_ms).bind(to_ms);
    let rows = bind_all(q, &b).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))).collect()
}

/// The organisations of `kind` in the territories under `prefix`: territory → the first
/// such organisation there.
pub async fn orgs_of_kind(conn: &mut Conn, prefix: &str, kind: &str) -> Result<std::collections::HashMap<String, i64>> {
    let (scope, binds) = scope_filter("territory_code", &[prefix], 2);
    let sql = format!(
        "SELECT territory_code, MIN(id) FROM organisations WHERE kind = $1 AND {scope} GROUP BY territory_code"
    );
    let q = sqlx::query(AssertSqlSafe(sql)).bind(kind);
    let rows = bind_all(q, &binds).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// The staff of organisation `org` whose posts cover `code` or lie inside it (the people a
/// share's reminder goes to).
pub async fn staff_for(conn: &mut Conn, org: i64, code: &str, now_ms: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT person_id FROM memberships WHERE organisation_id = $1 AND role <> 'resident' \
         AND start_ms <= $3 AND (end_ms IS NULL OR end_ms > $3) \
         AND (SUBSTR($2, 1, LENGTH(scope_code)) = scope_code OR SUBSTR(scope_code, 1, LENGTH($2)) = $2)",
    )
    .bind(org)
    .bind(code)
    .bind(now_ms)
    .fetch_all(&mut *conn)
    .await?)
}

/// The encoded bytes and the points of every stored track (for the benchmark's size per point).
pub async fn track_size(conn: &mut Conn) -> Result<(i64, i64)> {
    let r = sqlx::query(
        "SELECT COALESCE(CAST(SUM(LENGTH(points)) AS BIGINT), 0), COALESCE(CAST(SUM(n) AS BIGINT), 0) FROM gridwork_track_chunks",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok((r.try_get(0)?, r.try_get(1)?))
}
