//! Grid work's use cases (网格工作): the people of each grid and their rosters, patrols with a
//! track kept only while they run and only for their supervisor, findings reported through
//! the case hub and linked to the patrol, quick records that may become cases, household
//! visits planned from the archives' care groups, key tasks sent down to every community or
//! grid ([`tasks`]), and the indicators that count outcomes, never people's rankings
//! ([`indicators`]).
//!
//! Writes from the phone carry an idempotency key (patrols, notes, visits) or their own
//! sequence number (track uploads), so a queue that sends again after a lost answer records
//! nothing twice.

pub mod demo;
pub mod indicators;
pub mod tasks;

use crate::audit::record;
use crate::cases::{Channel, NewCase};
use crate::{App, AppError, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;
use wuzhi_domain::gridwork::{self as domain, track};
use wuzhi_domain::{Action, Actor, Level, Target, TerritoryCode};
use wuzhi_store::gridwork as store;

pub(crate) fn territory(field: &str, code: &str) -> Result<TerritoryCode> {
    TerritoryCode::parse(code).map_err(|e| AppError::invalid(field, e.reason))
}

fn grid(field: &str, code: &str) -> Result<TerritoryCode> {
    let t = territory(field, code)?;
    if t.level() != Level::Grid {
        return Err(AppError::invalid(field, format!("`{code}` is not a grid")));
    }
    Ok(t)
}

fn key(k: Option<&str>) -> Result<Option<String>> {
    match k.map(str::trim).filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some(k) if k.len() <= 100 && k.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(k.to_owned())),
        Some(_) => Err(AppError::invalid("idempotency_key", "must be 1 to 100 visible ASCII characters")),
    }
}

/// A person's name as the caller may see it: in full for those who read people in the
/// territory, else masked (the same rule as the people register's).
fn shown_name(actor: &Actor, t: &TerritoryCode, name: String) -> String {
    if actor.can(Action::ReadPeople, &Target::territory(t)).is_ok() { name } else { wuzhi_domain::mask::name(&name) }
}

fn name_of(app: &App, code: &str) -> Option<String> {
    app.locator().name_of(code)
}

// ---------------------------------------------------------------------------------------
// People of the grid

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct MemberView {
    pub id: i64,
    pub person_id: i64,
    pub name: String,
    pub grid_code: String,
    pub grid_name: Option<String>,
    pub kind: String,
    pub team: String,
    pub since_ms: i64,
}

fn member_view(app: &App, m: store::MemberRow) -> MemberView {
    MemberView {
        id: m.id,
        person_id: m.person_id,
        name: m.name,
        grid_name: name_of(app, &m.grid_code),
        grid_code: m.grid_code,
        kind: m.kind,
        team: m.team,
        since_ms: m.since_ms,
    }
}

#[derive(Debug, Deserialize, Clone, utoipa::ToSchema)]
pub struct NewMember {
    pub person_id: i64,
    pub grid_code: String,
    /// steward, volunteer, grid_worker, building_head or police
    pub kind: String,
    #[serde(default)]
    pub team: String,
}

/// Registers someone as working in a grid (a steward with their team, a volunteer…).
pub async fn register_member(app: &App, actor: &Actor, n: &NewMember) -> Result<MemberView> {
    let g = grid("grid_code", &n.grid_code)?;
    actor.can(Action::SuperviseGridWork, &Target::territory(&g))?;
    let kind = domain::member_kind(&n.kind)?;
    let team = wuzhi_domain::text::optional("team", &n.team)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    if wuzhi_store::people::get_person(&mut tx, n.person_id).await?.is_none() {
        return Err(AppError::invalid("person_id", format!("person {} does not exist", n.person_id)));
    }
    if store::member_exists(&mut tx, n.person_id, g.as_str(), kind).await? {
        return Err(AppError::Conflict {
            field: "person_id".into(),
            reason: format!("already registered in this grid as {kind}"),
        });
    }
    let id = store::insert_member(&mut tx, n.person_id, g.as_str(), kind, &team, now, actor.person_id).await?;
    // Alley stewards and grid volunteers are volunteers too (志愿服务): their service is
    // recorded like every volunteer's.
    if matches!(kind, "steward" | "volunteer") {
        crate::virtue::enrol_grid_volunteer(&mut tx, n.person_id, None, now).await?;
    }
    record(
        &mut tx,
        now,
        Some(actor),
        "gridwork.member",
        "gridwork_member",
        &id.to_string(),
        json!({"grid": g.as_str(), "kind": kind}),
    )
    .await?;
    let m = store::get_member(&mut tx, id).await?.ok_or_else(|| AppError::Internal("member vanished".into()))?;
    wuzhi_store::commit(tx).await?;
    Ok(member_view(app, m))
}

/// Ends a registration (the person stops working in the grid; their history stays).
pub async fn end_member(app: &App, actor: &Actor, id: i64) -> Result<()> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let m = store::get_member(&mut tx, id).await?.ok_or_else(|| AppError::not_found(format!("member {id}")))?;
    actor.can(Action::SuperviseGridWork, &Target::territory(&territory("grid_code", &m.grid_code)?))?;
    if !store::end_member(&mut tx, id, now).await? {
        return Err(AppError::Conflict { field: "id".into(), reason: "the registration has already ended".into() });
    }
    record(&mut tx, now, Some(actor), "gridwork.member_end", "gridwork_member", &id.to_string(), json!({})).await?;
    wuzhi_store::commit(tx).await?;
    Ok(())
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct DutyView {
    pub id: i64,
    pub grid_code: String,
    pub grid_name: Option<String>,
    pub person_id: i64,
    pub name: String,
    pub starts_ms: i64,
    pub ends_ms: i64,
    pub note: String,
}

fn duty_view(app: &App, d: store::DutyRow) -> DutyView {
    DutyView {
        id: d.id,
        grid_name: name_of(app, &d.grid_code),
        grid_code: d.grid_code,
        person_id: d.person_id,
        name: d.name,
        starts_ms: d.starts_ms,
        ends_ms: d.ends_ms,
        note: d.note,
    }
}

/// A territory's people of the grid and its duty roster for a period, and who is on duty now.
#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct Roster {
    pub territory_code: String,
    pub members: Vec<MemberView>,
    pub duties: Vec<DutyView>,
    pub on_duty_now: Vec<DutyView>,
}

pub async fn roster(app: &App, actor: &Actor, code: &str, from_ms: Option<i64>, to_ms: Option<i64>) -> Result<Roster> {
    let t = territory("territory", code)?;
    actor.can(Action::ReadGridWork, &Target::territory(&t))?;
    let now = app.now_ms();
    let from = from_ms.unwrap_or(now - now.rem_euclid(domain::DAY_MS));
    let to = to_ms.unwrap_or(from + 7 * domain::DAY_MS);
    if to <= from || to - from > 62 * domain::DAY_MS {
        return Err(AppError::invalid("to_ms", "must be after from_ms, within 62 days"));
    }
    let mut conn = app.db.read().await?;
    let members = store::members_in(&mut conn, t.scope_prefix()).await?;
    let duties = store::duties(&mut conn, t.scope_prefix(), from, to).await?;
    let now_on = store::duties(&mut conn, t.scope_prefix(), now, now + 1).await?;
    drop(conn);
    let duty = |d: store::DutyRow| {
        let mut v = duty_view(app, d);
        v.name = shown_name(actor, &t, v.name);
        v
    };
    Ok(Roster {
        territory_code: t.as_str().to_owned(),
        members: members
            .into_iter()
            .map(|m| {
                let mut v = member_view(app, m);
                v.name = shown_name(actor, &t, v.name);
                v
            })
            .collect(),
        duties: duties.into_iter().map(duty).collect(),
        on_duty_now: now_on.into_iter().map(duty).collect(),
    })
}

#[derive(Debug, Deserialize, Clone, utoipa::ToSchema)]
pub struct NewDuty {
    pub grid_code: String,
    pub person_id: i64,
    pub starts_ms: i64,
    pub ends_ms: i64,
    #[serde(default)]
    pub note: String,
}

/// Puts a registered member of the grid on its roster (at most 24 hours a duty).
pub async fn add_duty(app: &App, actor: &Actor, n: &NewDuty) -> Result<DutyView> {
    let g = grid("grid_code", &n.grid_code)?;
    actor.can(Action::SuperviseGridWork, &Target::territory(&g))?;
    if n.ends_ms <= n.starts_ms {
        return Err(AppError::invalid("ends_ms", "must be after starts_ms"));
    }
    if n.ends_ms - n.starts_ms > domain::DAY_MS {
        return Err(AppError::invalid("ends_ms", "a duty lasts at most 24 hours"));
    }
    let note = wuzhi_domain::text::optional("note", &n.note)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let registered = store::members_in(&mut tx, g.as_str()).await?.into_iter().any(|m| m.person_id == n.person_id);
    if !registered {
        return Err(AppError::invalid("person_id", "is not registered as working in this grid"));
    }
    let id =
        store::insert_duty(&mut tx, g.as_str(), n.person_id, n.starts_ms, n.ends_ms, &note, actor.person_id).await?;
    record(&mut tx, now, Some(actor), "gridwork.duty", "gridwork_duty", &id.to_string(), json!({"grid": g.as_str()}))
        .await?;
    let d = store::duties(&mut tx, g.as_str(), n.starts_ms, n.ends_ms)
        .await?
        .into_iter()
        .find(|d| d.id == id)
        .ok_or_else(|| AppError::Internal("duty vanished".into()))?;
    wuzhi_store::commit(tx).await?;
    Ok(duty_view(app, d))
}

pub async fn remove_duty(app: &App, actor: &Actor, id: i64) -> Result<()> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let g = store::duty_grid(&mut tx, id).await?.ok_or_else(|| AppError::not_found(format!("duty {id}")))?;
    actor.can(Action::SuperviseGridWork, &Target::territory(&territory("grid_code", &g)?))?;
    store::delete_duty(&mut tx, id).await?;
    record(&mut tx, now, Some(actor), "gridwork.duty_removed", "gridwork_duty", &id.to_string(), json!({})).await?;
    wuzhi_store::commit(tx).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Patrol plans and patrols

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct PlanView {
    pub id: i64,
    pub grid_code: String,
    pub name: String,
    pub every_days: i64,
    /// What to look at: places or components, in words or codes.
    pub places: Vec<String>,
    /// A route as a GeoJSON LineString, if one is drawn.
    #[schema(value_type = Option<Object>)]
    pub route: Option<serde_json::Value>,
}

fn plan_view(p: store::PlanRow) -> PlanView {
    PlanView {
        id: p.id,
        grid_code: p.grid_code,
        name: p.name,
        every_days: p.every_days,
        places: serde_json::from_str(&p.places).unwrap_or_default(),
        route: p.route.and_then(|r| serde_json::from_str(&r).ok()),
    }
}

#[derive(Debug, Deserialize, Clone, utoipa::ToSchema)]
pub struct NewPlan {
    pub grid_code: String,
    pub name: String,
    pub every_days: i64,
    #[serde(default)]
    pub places: Vec<String>,
    #[schema(value_type = Option<Object>)]
    pub route: Option<serde_json::Value>,
}

pub async fn add_plan(app: &App, actor: &Actor, n: &NewPlan) -> Result<PlanView> {
    let g = grid("grid_code", &n.grid_code)?;
    actor.can(Action::SuperviseGridWork, &Target::territory(&g))?;
    let name = wuzhi_domain::text::name("name", &n.name, 100)?;
    if !(1..=31).contains(&n.every_days) {
        return Err(AppError::invalid("every_days", "must be 1 to 31 days"));
    }
    if n.places.len() > 50 {
        return Err(AppError::invalid("places", "at most 50 places"));
    }
    let mut places = Vec::new();
    for (i, p) in n.places.iter().enumerate() {
        places.push(wuzhi_domain::text::name(&format!("places[{i}]"), p, 100)?);
    }
    let route = match &n.route {
        None | Some(serde_json::Value::Null) => None,
        Some(r) => {
            let coords = r.get("coordinates").and_then(|c| c.as_array());
            let ok = r.get("type").and_then(|t| t.as_str()) == Some("LineString")
                && coords.is_some_and(|c| {
                    (2..=500).contains(&c.len())
                        && c.iter().all(|p| {
                            p.as_array().is_some_and(|p| {
                                p.len() == 2
                                    && p[0].as_f64().is_some_and(|x| (-180.0..=180.0).contains(&x))
                                    && p[1].as_f64().is_some_and(|y| (-90.0..=90.0).contains(&y))
                            })
                        })
                });
            if !ok {
                return Err(AppError::invalid("route", "must be a GeoJSON LineString of 2 to 500 [lon, lat] points"));
            }
            Some(r.to_string())
        }
    };
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let places_json = serde_json::to_string(&places).unwrap_or_else(|_| "[]".into());
    let id = store::insert_plan(&mut tx, g.as_str(), &name, n.every_days, &places_json, route.as_deref(), now).await?;
    let p = store::get_plan(&mut tx, id).await?.ok_or_else(|| AppError::Internal("plan vanished".into()))?;
    wuzhi_store::commit(tx).await?;
    Ok(plan_view(p))
}

pub async fn plans(app: &App, actor: &Actor, code: &str) -> Result<Vec<PlanView>> {
    let t = territory("territory", code)?;
    actor.can(Action::ReadGridWork, &Target::territory(&t))?;
    let mut conn = app.db.read().await?;
    Ok(store::plans_in(&mut conn, t.scope_prefix()).await?.into_iter().map(plan_view).collect())
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct FindingView {
    pub case_id: i64,
    pub fixed_on_spot: bool,
    pub subject: String,
    pub status: String,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct PatrolView {
    pub id: i64,
    pub grid_code: String,
    pub grid_name: Option<String>,
    pub person_id: i64,
    pub name: String,
    pub plan_id: Option<i64>,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    pub running: bool,
    pub ended_by_system: bool,
    pub note: String,
    pub points: i64,
    pub length_m: f64,
    /// The track was deleted at the end of its keeping time.
    pub track_deleted: bool,
    pub findings: i64,
    pub fixed_on_spot: i64,
    /// Listed on a single patrol's page.
    pub finding_list: Vec<FindingView>,
}

fn patrol_view(app: &App, p: store::PatrolRow) -> PatrolView {
    PatrolView {
        id: p.id,
        grid_name: name_of(app, &p.grid_code),
        grid_code: p.grid_code,
        person_id: p.person_id,
        name: p.name,
        plan_id: p.plan_id,
        started_at_ms: p.started_at_ms,
        ended_at_ms: p.ended_at_ms,
        running: p.ended_at_ms.is_none(),
        ended_by_system: p.ended_by_system,
        note: p.note,
        points: p.points,
        length_m: (p.length_m * 10.0).round() / 10.0,
        track_deleted: p.track_deleted,
        findings: p.findings,
        fixed_on_spot: p.fixed,
        finding_list: vec![],
    }
}

#[derive(Debug, Deserialize, Clone, utoipa::ToSchema)]
pub struct StartPatrol {
    pub grid_code: String,
    pub plan_id: Option<i64>,
    /// When the patrol began on the phone (it may have been offline); default now.
    pub started_at_ms: Option<i64>,
    pub idempotency_key: Option<String>,
}

/// Starts a patrol in a grid the caller works in (one at a time: end the last one first). A
/// repeated key returns the patrol it started.
pub async fn start_patrol(app: &App, actor: &Actor, s: &StartPatrol) -> Result<(PatrolView, bool)> {
    let g = grid("grid_code", &s.grid_code)?;
    actor.can(Action::DoGridWork, &Target::territory(&g))?;
    let key = key(s.idempotency_key.as_deref())?;
    let now = app.now_ms();
    let started = s.started_at_ms.unwrap_or(now);
    if started > now + 60_000 || started < now - domain::PATROL_MAX_MS {
        return Err(AppError::invalid("started_at_ms", "must be within the last 12 hours"));
    }
    let mut tx = app.db.write().await?;
    if let Some(k) = &key {
        if let Some(id) = store::patrol_by_key(&mut tx, k).await? {
            drop(tx);
            return Ok((patrol(app, actor, id).await?, false));
        }
    }
    if let Some(plan) = s.plan_id {
        let p = store::get_plan(&mut tx, plan).await?;
        if p.is_none_or(|p| p.grid_code != g.as_str()) {
            return Err(AppError::invalid("plan_id", format!("plan {plan} is not a plan of this grid")));
        }
    }
    // One patrol at a time.
    if let Some(r) = store::running_of(&mut tx, actor.person_id).await? {
        return Err(AppError::Conflict {
            field: "grid_code".into(),
            reason: format!("patrol {} is still running: end it first", r.id),
        });
    }
    let id = store::insert_patrol(&mut tx, g.as_str(), actor.person_id, s.plan_id, started, key.as_deref()).await?;
    wuzhi_store::commit(tx).await?;
    Ok((patrol(app, actor, id).await?, true))
}

/// A patrol: the person's own, or one in a territory whose grid work the caller reads.
pub async fn patrol(app: &App, actor: &Actor, id: i64) -> Result<PatrolView> {
    let mut conn = app.db.read().await?;
    let p = store::get_patrol(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("patrol {id}")))?;
    if p.person_id != actor.person_id
        && actor.can(Action::ReadGridWork, &Target::territory(&territory("grid_code", &p.grid_code)?)).is_err()
    {
        return Err(AppError::not_found(format!("patrol {id}")));
    }
    let findings = store::findings_of(&mut conn, id).await?;
    drop(conn);
    let mut v = patrol_view(app, p);
    v.finding_list = findings
        .into_iter()
        .map(|(case_id, fixed, subject, status)| FindingView { case_id, fixed_on_spot: fixed, subject, status })
        .collect();
    Ok(v)
}

/// The caller's patrol under way, if any.
pub async fn my_running(app: &App, actor: &Actor) -> Result<Option<PatrolView>> {
    let mut conn = app.db.read().await?;
    let p = store::running_of(&mut conn, actor.person_id).await?;
    drop(conn);
    match p {
        Some(p) => Ok(Some(patrol(app, actor, p.id).await?)),
        None => Ok(None),
    }
}

/// A point of a track as the phone sends it.
#[derive(Debug, Deserialize, Serialize, Clone, Copy, utoipa::ToSchema)]
pub struct TrackPoint {
    pub at_ms: i64,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Deserialize, Clone, utoipa::ToSchema)]
pub struct TrackUpload {
    /// The phone's own count of its uploads for this patrol (0, 1, 2…): an upload sent twice
    /// is stored once.
    pub seq: i64,
    pub points: Vec<TrackPoint>,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct TrackStored {
    pub stored: bool,
    pub points: i64,
}

/// Adds points to the caller's own patrol: only points within the patrol's time (a patrol
/// ended offline sends its last points after it ends, with their own times).
pub async fn add_track(app: &App, actor: &Actor, patrol_id: i64, u: &TrackUpload) -> Result<TrackStored> {
    if !(0..=100_000).contains(&u.seq) {
        return Err(AppError::invalid("seq", "must be 0 to 100000"));
    }
    let points: Vec<track::Point> =
        u.points.iter().map(|p| track::Point { at_ms: p.at_ms, lat: p.lat, lon: p.lon }).collect();
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let p = store::get_patrol(&mut tx, patrol_id)
        .await?
        .filter(|p| p.person_id == actor.person_id)
        .ok_or_else(|| AppError::not_found(format!("your patrol {patrol_id}")))?;
    track::check(&points, (p.started_at_ms, p.ended_at_ms.unwrap_or(now)))?;
    let blob = track::encode(&points);
    let first = points.first().map(|p| p.at_ms).unwrap_or(0);
    let last = points.last().map(|p| p.at_ms).unwrap_or(0);
    let stored = store::insert_chunk(
        &mut tx,
        patrol_id,
        u.seq,
        first,
        last,
        points.len() as i64,
        &blob,
        track::length_m(&points),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    Ok(TrackStored { stored, points: points.len() as i64 })
}

#[derive(Debug, Deserialize, Clone, Default, utoipa::ToSchema)]
pub struct EndPatrol {
    #[serde(default)]
    pub note: String,
    /// When it ended on the phone; default now.
    pub ended_at_ms: Option<i64>,
}

/// Ends the caller's own patrol (again: nothing changes, so a queue may send it twice).
pub async fn end_patrol(app: &App, actor: &Actor, id: i64, e: &EndPatrol) -> Result<PatrolView> {
    let note = wuzhi_domain::text::optional("note", &e.note)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let p = store::get_patrol(&mut tx, id)
        .await?
        .filter(|p| p.person_id == actor.person_id)
        .ok_or_else(|| AppError::not_found(format!("your patrol {id}")))?;
    if p.ended_at_ms.is_none() {
        let ended = e.ended_at_ms.unwrap_or(now);
        if ended < p.started_at_ms || ended > now + 60_000 {
            return Err(AppError::invalid("ended_at_ms", "must be between the patrol's start and now"));
        }
        store::end_patrol(&mut tx, id, ended.min(now), false, &note).await?;
        wuzhi_store::commit(tx).await?;
    } else {
        drop(tx);
    }
    patrol(app, actor, id).await
}

/// A patrol's track: for the person who walked it and their supervisors only, each read by
/// a supervisor audited; never aggregated into anything about the person.
pub async fn track_of(app: &App, actor: &Actor, id: i64) -> Result<Vec<TrackPoint>> {
    let mut conn = app.db.read().await?;
    let p = store::get_patrol(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("patrol {id}")))?;
    let own = p.person_id == actor.person_id;
    if !own {
        actor
            .can(Action::SuperviseGridWork, &Target::territory(&territory("grid_code", &p.grid_code)?))
            .map_err(|_| AppError::not_found(format!("patrol {id}")))?;
    }
    let chunks = store::chunks_of(&mut conn, id).await?;
    drop(conn);
    let mut out = Vec::new();
    for c in chunks {
        let pts =
            track::decode(&c).ok_or_else(|| AppError::Internal(format!("patrol {id}: a track chunk is corrupt")))?;
        out.extend(pts.into_iter().map(|p| TrackPoint { at_ms: p.at_ms, lat: p.lat, lon: p.lon }));
    }
    if !own {
        let now = app.now_ms();
        let mut tx = app.db.write().await?;
        record(
            &mut tx,
            now,
            Some(actor),
            "gridwork.track_read",
            "gridwork_patrol",
            &id.to_string(),
            json!({"person": p.person_id}),
        )
        .await?;
        wuzhi_store::commit(tx).await?;
    }
    Ok(out)
}

/// Reports a finding on the caller's patrol: a case through the case hub (channel `grid`,
/// fixed on the spot when the caller may), linked to the patrol. A repeated key returns the
/// case it made, linked once.
pub async fn report_finding(
    app: &App,
    actor: &Actor,
    patrol_id: i64,
    mut n: NewCase,
) -> Result<(crate::cases::CaseView, bool)> {
    let mut conn = app.db.read().await?;
    let p = store::get_patrol(&mut conn, patrol_id)
        .await?
        .filter(|p| p.person_id == actor.person_id)
        .ok_or_else(|| AppError::not_found(format!("your patrol {patrol_id}")))?;
    drop(conn);
    n.channel = Channel::Grid;
    let fixed = n.fixed_on_spot.as_deref().is_some_and(|f| !f.trim().is_empty());
    let (case, created) = crate::cases::report(app, actor, n).await?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    store::insert_finding(&mut tx, case.id, p.id, fixed && case.status == "closed", now).await?;
    wuzhi_store::commit(tx).await?;
    Ok((case, created))
}

/// Patrols in a territory and period (newest first), for those who read its grid work: when
/// and where, what was found; no ranking.
pub async fn patrols(app: &App, actor: &Actor, code: &str, from_ms: i64, to_ms: i64) -> Result<Vec<PatrolView>> {
    let t = territory("territory", code)?;
    actor.can(Action::ReadGridWork, &Target::territory(&t))?;
    let mut conn = app.db.read().await?;
    let rows = store::patrols(&mut conn, t.scope_prefix(), None, from_ms, to_ms, 500).await?;
    Ok(rows
        .into_iter()
        .map(|p| {
            let mut v = patrol_view(app, p);
            if v.person_id != actor.person_id {
                v.name = shown_name(actor, &t, v.name);
            }
            v
        })
        .collect())
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct GridCoverage {
    pub grid_code: String,
    pub grid_name: Option<String>,
    pub patrolled: bool,
    pub patrols: i64,
    pub findings: i64,
    pub fixed_on_spot: i64,
}

/// Every grid under a territory (at most 2,000), patrolled in the period or not.
pub async fn coverage(app: &App, actor: &Actor, code: &str, from_ms: i64, to_ms: i64) -> Result<Vec<GridCoverage>> {
    let t = territory("territory", code)?;
    actor.can(Action::ReadGridWork, &Target::territory(&t))?;
    let grids = grids_under(app, &t)?;
    if grids.len() > 2000 {
        return Err(AppError::invalid("territory", "has more than 2000 grids: choose a street or a community"));
    }
    let mut conn = app.db.read().await?;
    let rows = store::coverage(&mut conn, t.scope_prefix(), from_ms, to_ms).await?;
    drop(conn);
    let by: std::collections::HashMap<String, (i64, i64, i64)> =
        rows.into_iter().map(|(g, p, f, x)| (g, (p, f, x))).collect();
    Ok(grids
        .into_iter()
        .map(|g| {
            let (p, f, x) = by.get(&g).copied().unwrap_or((0, 0, 0));
            GridCoverage {
                grid_name: name_of(app, &g),
                grid_code: g,
                patrolled: p > 0,
                patrols: p,
                findings: f,
                fixed_on_spot: x,
            }
        })
        .collect())
}

/// The grid codes under `t` (itself when it is a grid), from the locator's index.
pub(crate) fn grids_under(app: &App, t: &TerritoryCode) -> Result<Vec<String>> {
    let loc = app.locator();
    let prefix = t.scope_prefix();
    let mut v: Vec<String> = loc.grid_codes().filter(|g| g.starts_with(prefix)).map(str::to_owned).collect();
    v.sort();
    Ok(v)
}

// ---------------------------------------------------------------------------------------
// Quick records

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct NoteView {
    pub id: i64,
    pub grid_code: String,
    pub grid_name: Option<String>,
    pub kind: String,
    pub text: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub house_id: Option<i64>,
    pub archive_person_id: Option<i64>,
    pub author_id: i64,
    pub author: String,
    pub created_at_ms: i64,
    /// open, reviewed or case
    pub status: String,
    pub review_note: Option<String>,
    pub case_id: Option<i64>,
}

fn note_view(app: &App, n: store::NoteRow) -> NoteView {
    NoteView {
        id: n.id,
        grid_name: name_of(app, &n.grid_code),
        grid_code: n.grid_code,
        kind: n.kind,
        text: n.text,
        lat: n.lat,
        lon: n.lon,
        house_id: n.house_id,
        archive_person_id: n.archive_person_id,
        author_id: n.author_id,
        author: n.author,
        created_at_ms: n.created_at_ms,
        status: n.status,
        review_note: n.review_note,
        case_id: n.case_id,
    }
}

#[derive(Debug, Deserialize, Clone, utoipa::ToSchema)]
pub struct NewNote {
    /// The grid; default: the grid the point lies in.
    pub grid_code: Option<String>,
    /// worry, hazard, need or other
    pub kind: String,
    pub text: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// A house or person of the archives it is about (for those who read the archives).
    pub house_id: Option<i64>,
    pub archive_person_id: Option<i64>,
    pub idempotency_key: Option<String>,
}

/// Records a note in a grid the caller works in. A repeated key returns the note it made.
pub async fn add_note(app: &App, actor: &Actor, n: &NewNote) -> Result<(NoteView, bool)> {
    let kind = domain::note_kind(&n.kind)?;
    let text = wuzhi_domain::text::required("text", &n.text)?;
    let point = match (n.lon, n.lat) {
        (Some(lon), Some(lat)) => Some(crate::locate::point(lon, lat, wuzhi_geo::territory::Crs::Wgs84)?),
        (None, None) => None,
        _ => return Err(AppError::invalid("lat", "give both lat and lon, or neither")),
    };
    let g = match (&n.grid_code, point) {
        (Some(c), _) => grid("grid_code", c)?,
        (None, Some((lon, lat))) => {
            let l =
                app.locator().locate(lon, lat).ok_or_else(|| AppError::invalid("lat", "the point is in no grid"))?;
            grid("grid_code", &l.grid.code)?
        }
        (None, None) => return Err(AppError::invalid("grid_code", "give a grid or a point")),
    };
    actor.can(Action::DoGridWork, &Target::territory(&g))?;
    if (n.house_id.is_some() || n.archive_person_id.is_some())
        && actor.can(Action::ReadArchives, &Target::territory(&g)).is_err()
    {
        return Err(AppError::Forbidden { action: "name archive records without read_archives".into() });
    }
    let key = key(n.idempotency_key.as_deref())?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let (id, new) = store::insert_note(
        &mut tx,
        g.as_str(),
        kind,
        &text,
        point,
        n.house_id,
        n.archive_person_id,
        actor.person_id,
        now,
        key.as_deref(),
    )
    .await?;
    let row = store::get_note(&mut tx, id).await?.ok_or_else(|| AppError::Internal("note vanished".into()))?;
    if new {
        wuzhi_store::commit(tx).await?;
    }
    Ok((note_view(app, row), new))
}

/// Notes: a supervisor's of their territory, everyone else's own.
pub async fn notes(app: &App, actor: &Actor, code: Option<&str>, open_only: bool) -> Result<Vec<NoteView>> {
    let mut conn = app.db.read().await?;
    let rows = match code {
        Some(c) => {
            let t = territory("territory", c)?;
            if actor.can(Action::SuperviseGridWork, &Target::territory(&t)).is_ok() {
                store::notes_in(&mut conn, Some(t.scope_prefix()), None, open_only, 500).await?
            } else {
                actor.can(Action::DoGridWork, &Target::territory(&t))?;
                store::notes_in(&mut conn, Some(t.scope_prefix()), Some(actor.person_id), open_only, 500).await?
            }
        }
        None => store::notes_in(&mut conn, None, Some(actor.person_id), open_only, 500).await?,
    };
    Ok(rows.into_iter().map(|n| note_view(app, n)).collect())
}

#[derive(Debug, Deserialize, Clone, utoipa::ToSchema)]
pub struct ReviewNote {
    /// `reviewed` (looked at, nothing to open) or `case` (turned into a case)
    pub action: String,
    #[serde(default)]
    pub note: String,
    /// For `case`: the case's subject and kind (default: the note's words, `report`).
    pub subject: Option<String>,
    pub kind: Option<String>,
    pub category: Option<String>,
}

/// Reviews an open note (its supervisor), or turns it into a case (its supervisor or its
/// author): the case carries the note's words and place, and the note names the case.
pub async fn review_note(app: &App, actor: &Actor, id: i64, r: &ReviewNote) -> Result<NoteView> {
    let mut conn = app.db.read().await?;
    let n = store::get_note(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("note {id}")))?;
    drop(conn);
    let g = territory("grid_code", &n.grid_code)?;
    let supervisor = actor.can(Action::SuperviseGridWork, &Target::territory(&g)).is_ok();
    let author = n.author_id == actor.person_id;
    if !supervisor && !author {
        return Err(AppError::not_found(format!("note {id}")));
    }
    if n.status != "open" {
        return Err(AppError::Conflict { field: "action".into(), reason: format!("the note is already {}", n.status) });
    }
    let review = wuzhi_domain::text::optional("note", &r.note)?;
    let now = app.now_ms();
    let case_id = match r.action.as_str() {
        "reviewed" => {
            if !supervisor {
                return Err(AppError::Forbidden { action: "review notes".into() });
            }
            None
        }
        "case" => {
            let subject: String = r.subject.clone().unwrap_or_else(|| n.text.chars().take(60).collect());
            let c = NewCase {
                channel: Channel::Grid,
                kind: r.kind.clone().unwrap_or_else(|| "report".into()),
                subject,
                description: n.text.clone(),
                category: r.category.clone(),
                lon: n.lon,
                lat: n.lat,
                crs: None,
                address: if n.lon.is_none() { name_of(app, &n.grid_code) } else { None },
                reporter_name: None,
                reporter_phone: None,
                anonymous: false,
                public: Some(false),
                idempotency_key: Some(format!("gridwork.note:{id}")),
                fixed_on_spot: None,
                reporter_email: None,
                attributes: None,
            };
            Some(crate::cases::report(app, actor, c).await?.0.id)
        }
        other => return Err(AppError::invalid("action", format!("`{other}` is not reviewed or case"))),
    };
    let mut tx = app.db.write().await?;
    let status = if case_id.is_some() { "case" } else { "reviewed" };
    if !store::review_note(&mut tx, id, status, actor.person_id, now, &review, case_id).await? {
        return Err(AppError::Conflict { field: "action".into(), reason: "the note was reviewed meanwhile".into() });
    }
    let row = store::get_note(&mut tx, id).await?.ok_or_else(|| AppError::Internal("note vanished".into()))?;
    wuzhi_store::commit(tx).await?;
    Ok(note_view(app, row))
}

// ---------------------------------------------------------------------------------------
// Visit rules, plans and visits

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
#[schema(as = VisitRules)]
pub struct RulesView {
    /// The territory whose rules apply (none: the defaults).
    pub from_territory: Option<String>,
    pub rules: Vec<RuleView>,
}

#[derive(Debug, Serialize, Deserialize, Clone, utoipa::ToSchema)]
pub struct RuleView {
    /// A care group (none: every household).
    pub tag: Option<String>,
    pub every_days: i64,
}

/// The rules for a territory: its own, else the nearest territory's above it, else the
/// defaults.
async fn rules_for(app: &App, t: &TerritoryCode) -> Result<(Option<String>, Vec<domain::VisitRule>)> {
    let mut chain = vec![t.clone()];
    while let Some(p) = chain.last().and_then(|c| c.implied_parent()) {
        chain.push(p);
    }
    let codes: Vec<&str> = chain.iter().map(|c| c.as_str()).collect();
    let mut conn = app.db.read().await?;
    let rows = store::rules_for(&mut conn, &codes).await?;
    drop(conn);
    for c in &codes {
        let mine: Vec<domain::VisitRule> = rows
            .iter()
            .filter(|r| r.0 == *c)
            .map(|r| domain::VisitRule { tag: r.1.clone(), every_days: r.2 })
            .collect();
        if !mine.is_empty() {
            return Ok((Some((*c).to_owned()), mine));
        }
    }
    Ok((None, domain::default_rules()))
}

pub async fn rules(app: &App, actor: &Actor, code: &str) -> Result<RulesView> {
    let t = territory("territory", code)?;
    actor.can(Action::ReadGridWork, &Target::territory(&t))?;
    let (from, rules) = rules_for(app, &t).await?;
    Ok(RulesView {
        from_territory: from,
        rules: rules.into_iter().map(|r| RuleView { tag: r.tag, every_days: r.every_days }).collect(),
    })
}

/// Replaces a territory's visit rules (a community's, a street's…).
pub async fn set_rules(app: &App, actor: &Actor, code: &str, new_rules: &[RuleView]) -> Result<RulesView> {
    let t = territory("territory", code)?;
    actor.can(Action::SuperviseGridWork, &Target::territory(&t))?;
    if new_rules.is_empty() || new_rules.len() > 20 {
        return Err(AppError::invalid("rules", "give 1 to 20 rules"));
    }
    let mut parsed: Vec<(Option<String>, i64)> = Vec::new();
    for (i, r) in new_rules.iter().enumerate() {
        let v = domain::VisitRule::parse(r.tag.as_deref(), r.every_days)
            .map_err(|e| AppError::invalid(format!("rules[{i}].{}", e.field), e.reason))?;
        if parsed.iter().any(|p| p.0 == v.tag) {
            return Err(AppError::invalid(format!("rules[{i}].tag"), "has a rule already"));
        }
        parsed.push((v.tag, v.every_days));
    }
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    store::replace_rules(&mut tx, t.as_str(), &parsed, now).await?;
    record(&mut tx, now, Some(actor), "gridwork.visit_rules", "territory", t.as_str(), json!({"rules": parsed.len()}))
        .await?;
    wuzhi_store::commit(tx).await?;
    rules(app, actor, code).await
}

/// A household on the visit plan.
#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct PlannedVisit {
    pub household_key: String,
    pub grid_code: String,
    pub grid_name: Option<String>,
    /// The household as the archives show it to the caller (masked).
    pub household: crate::archives::HouseholdView,
    pub every_days: i64,
    pub last_visit_ms: Option<i64>,
    pub due_ms: i64,
    pub overdue: bool,
}

/// The visit plan of a grid or community: each household a rule applies to, when it was last
/// visited and when it is due, the most overdue first (`overdue_only` lists only those past
/// due). For those who visit or supervise and read the archives.
pub async fn visit_plan(app: &App, actor: &Actor, code: &str, overdue_only: bool) -> Result<Vec<PlannedVisit>> {
    let t = territory("territory", code)?;
    if !matches!(t.level(), Level::Grid | Level::Village) {
        return Err(AppError::invalid("territory", "give a grid or a community"));
    }
    actor.can(Action::DoGridWork, &Target::territory(&t))?;
    actor.can(Action::ReadArchives, &Target::territory(&t))?;
    let now = app.now_ms();
    let (_, rules) = rules_for(app, &t).await?;
    let mut conn = app.db.read().await?;
    let last = store::last_visits(&mut conn, t.scope_prefix(), i64::MAX).await?;
    drop(conn);
    let since = plan_since(app);
    let mut out = Vec::new();
    for g in grids_under(app, &t)? {
        for h in crate::archives::grid_households(app, actor, &g).await? {
            let Some(every) = domain::visit_every(&h.care_tags, &rules) else { continue };
            let key = crate::archives::household_key(h.house_id, h.household.as_deref());
            let last_visit = last.get(&key).copied();
            let due = domain::next_visit_due(last_visit, since, every);
            if overdue_only && due >= now {
                continue;
            }
            out.push(PlannedVisit {
                household_key: key,
                grid_name: name_of(app, &g),
                grid_code: g.clone(),
                household: h,
                every_days: every,
                last_visit_ms: last_visit,
                due_ms: due,
                overdue: due < now,
            });
        }
    }
    out.sort_by(|a, b| a.due_ms.cmp(&b.due_ms).then_with(|| a.household_key.cmp(&b.household_key)));
    Ok(out)
}

/// When visit plans began counting: the household's first visit is due one interval after.
fn plan_since(app: &App) -> i64 {
    app.settings.gridwork_since_ms
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct VisitView {
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
    pub has_photo: bool,
    pub case_id: Option<i64>,
}

fn visit_view(v: store::VisitRow) -> VisitView {
    VisitView {
        id: v.id,
        grid_code: v.grid_code,
        household_key: v.household_key,
        house_id: v.house_id,
        visitor_id: v.visitor_id,
        visitor: v.visitor,
        at_ms: v.at_ms,
        way: v.way,
        outcome: v.outcome,
        found: v.found,
        needs: v.needs,
        has_photo: v.photo.is_some(),
        case_id: v.case_id,
    }
}

#[derive(Debug, Deserialize, Clone, utoipa::ToSchema)]
pub struct PersonUpdate {
    pub archive_person_id: i64,
    pub changes: crate::archives::PersonChanges,
}

#[derive(Debug, Deserialize, Clone, utoipa::ToSchema)]
pub struct NewVisit {
    pub household_key: String,
    /// home, phone or met
    pub way: String,
    /// well, needs_help, not_home or moved
    pub outcome: String,
    #[serde(default)]
    pub found: String,
    /// Needs raised by the household: with `raise_case`, they become a case at once.
    #[serde(default)]
    pub needs: String,
    #[serde(default)]
    pub raise_case: bool,
    /// When the visit was made (the phone may have been offline); default now.
    pub at_ms: Option<i64>,
    /// What the visit learnt, written to the archives with the visit as its source.
    #[serde(default)]
    pub updates: Vec<PersonUpdate>,
    pub idempotency_key: Option<String>,
}

/// Logs a visit to a household of the caller's grid. What it learnt updates the archives in
/// the same transaction (each change names the visit as its source); needs raised with
/// `raise_case` become a case (channel `grid`, not public), named on the visit. A repeated key
/// returns the visit it logged.
pub async fn log_visit(app: &App, actor: &Actor, v: &NewVisit) -> Result<(VisitView, bool)> {
    let way = domain::visit_way(&v.way)?;
    let outcome = domain::visit_outcome(&v.outcome)?;
    let found = wuzhi_domain::text::optional("found", &v.found)?;
    let needs = wuzhi_domain::text::optional("needs", &v.needs)?;
    if v.raise_case && needs.is_empty() {
        return Err(AppError::invalid("needs", "say what the household needs to raise a case"));
    }
    let key = key(v.idempotency_key.as_deref())?;
    if let Some(k) = &key {
        let mut conn = app.db.read().await?;
        if let Some(id) = store::visit_by_key(&mut conn, k).await? {
            drop(conn);
            let seen = visit(app, actor, id).await?;
            // A replay after the case failed to open raises it now (once: the case's own key).
            if v.raise_case && seen.case_id.is_none() && !seen.needs.is_empty() {
                raise_visit_case(app, actor, &seen).await?;
                return Ok((visit(app, actor, id).await?, false));
            }
            return Ok((seen, false));
        }
    }
    let now = app.now_ms();
    let at = v.at_ms.unwrap_or(now);
    if at > now + 60_000 || at < now - 7 * domain::DAY_MS {
        return Err(AppError::invalid("at_ms", "must be within the last 7 days"));
    }
    // The household, as the archives know it, in a grid the caller works in.
    let house_id = v
        .household_key
        .split_once(':')
        .and_then(|(h, _)| h.parse::<i64>().ok())
        .ok_or_else(|| AppError::invalid("household_key", "is not a household's key"))?;
    let grid_code = crate::archives::household_grid(app, &v.household_key)
        .await?
        .ok_or_else(|| AppError::not_found("the household"))?;
    let g = territory("household_key", &grid_code)?;
    actor
        .can(Action::DoGridWork, &Target::territory(&g))
        .map_err(|_| AppError::not_found("the household in your grids"))?;
    actor
        .can(Action::ReadArchives, &Target::territory(&g))
        .map_err(|_| AppError::not_found("the household in your grids"))?;
    if v.raise_case {
        actor.can(Action::ReadCase, &Target::territory(&g))?;
    }
    if v.updates.len() > 20 {
        return Err(AppError::invalid("updates", "at most 20 people's updates"));
    }
    let mut tx = app.db.write().await?;
    let nv = store::NewVisit {
        grid_code: &grid_code,
        household_key: &v.household_key,
        house_id: (house_id != 0).then_some(house_id),
        visitor_id: actor.person_id,
        at_ms: at,
        way,
        outcome,
        found: &found,
        needs: &needs,
        photo: None,
        key: key.as_deref(),
    };
    let id = store::insert_visit(&mut tx, &nv, now).await?;
    for (i, u) in v.updates.iter().enumerate() {
        let mut c = u.changes.clone();
        c.source = Some(format!("gridwork.visit:{id}"));
        crate::archives::update_person_in(app, &mut tx, actor, u.archive_person_id, &c).await.map_err(|e| match e {
            AppError::Invalid { field, reason } => AppError::Invalid { field: format!("updates[{i}].{field}"), reason },
            other => other,
        })?;
    }
    record(&mut tx, now, Some(actor), "gridwork.visit", "gridwork_visit", &id.to_string(), json!({"grid": grid_code}))
        .await?;
    wuzhi_store::commit(tx).await?;
    if v.raise_case {
        let seen = visit(app, actor, id).await?;
        raise_visit_case(app, actor, &seen).await?;
    }
    Ok((visit(app, actor, id).await?, true))
}

/// A point inside a grid (WGS84 lon, lat), for what belongs to the grid but has no point.
pub(crate) async fn grid_point(app: &App, grid: &str) -> Result<Option<(f64, f64)>> {
    let mut conn = app.db.read().await?;
    let geometry = wuzhi_store::territory::get(&mut conn, grid, true).await?.and_then(|t| t.geometry);
    Ok(geometry.as_deref().and_then(wuzhi_geo::territory::interior_point_of_stored))
}

/// Opens the case for the needs a visit raised (channel `grid`, not public), placed inside
/// the household's grid, and names it on the visit. The case's key is the visit's, so a
/// replay opens it once.
async fn raise_visit_case(app: &App, actor: &Actor, v: &VisitView) -> Result<()> {
    let (lon, lat) = grid_point(app, &v.grid_code)
        .await?
        .ok_or_else(|| AppError::invalid("household_key", "the household's grid has no boundary to place a case in"))?;
    let c = NewCase {
        channel: Channel::Grid,
        kind: "request".into(),
        subject: format!("走访诉求:{}", v.needs.chars().take(40).collect::<String>()),
        description: v.needs.clone(),
        category: None,
        lon: Some(lon),
        lat: Some(lat),
        crs: None,
        address: None,
        reporter_name: None,
        reporter_phone: None,
        anonymous: false,
        public: Some(false),
        idempotency_key: Some(format!("gridwork.visit:{}", v.id)),
        fixed_on_spot: None,
        reporter_email: None,
        attributes: None,
    };
    let (case, _) = crate::cases::report(app, actor, c).await?;
    let mut tx = app.db.write().await?;
    store::set_visit_case(&mut tx, v.id, case.id).await?;
    wuzhi_store::commit(tx).await?;
    Ok(())
}

/// Attaches a photo (taken with the household's consent) to the caller's own visit.
pub async fn visit_photo(
    app: &App,
    actor: &Actor,
    id: i64,
    consent: bool,
    declared: Option<&str>,
    bytes: Vec<u8>,
) -> Result<VisitView> {
    if !consent {
        return Err(AppError::invalid("consent", "a photo is kept only with the household's consent"));
    }
    let v = visit(app, actor, id).await?;
    if v.visitor_id != actor.person_id {
        return Err(AppError::Forbidden { action: "add a photo to another person's visit".into() });
    }
    let (sha, kind, _) = crate::attachments::store_file(app, declared, bytes).await?;
    if !kind.starts_with("image/") {
        return Err(AppError::invalid("content_type", "a visit's photo is an image"));
    }
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    store::set_visit_photo(&mut tx, id, &sha, kind).await?;
    record(
        &mut tx,
        now,
        Some(actor),
        "gridwork.visit_photo",
        "gridwork_visit",
        &id.to_string(),
        json!({"consent": true}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    visit(app, actor, id).await
}

/// A visit's photo: for its visitor and the grid's supervisors.
pub async fn visit_photo_bytes(app: &App, actor: &Actor, id: i64) -> Result<(String, Vec<u8>)> {
    let mut conn = app.db.read().await?;
    let v = store::get_visit(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("visit {id}")))?;
    drop(conn);
    if v.visitor_id != actor.person_id {
        actor
            .can(Action::SuperviseGridWork, &Target::territory(&territory("grid_code", &v.grid_code)?))
            .map_err(|_| AppError::not_found(format!("visit {id}")))?;
    }
    let (sha, kind) = v.photo.ok_or_else(|| AppError::not_found(format!("a photo of visit {id}")))?;
    Ok((kind, crate::attachments::read_file(app, &sha).await?))
}

/// A visit: its visitor's, or for those who read the archives of its grid.
pub async fn visit(app: &App, actor: &Actor, id: i64) -> Result<VisitView> {
    let mut conn = app.db.read().await?;
    let v = store::get_visit(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("visit {id}")))?;
    if v.visitor_id != actor.person_id
        && actor.can(Action::ReadArchives, &Target::territory(&territory("grid_code", &v.grid_code)?)).is_err()
    {
        return Err(AppError::not_found(format!("visit {id}")));
    }
    Ok(visit_view(v))
}

/// A household's visits (newest first), for those who read its grid's archives.
pub async fn household_visits(app: &App, actor: &Actor, household_key: &str) -> Result<Vec<VisitView>> {
    let mut conn = app.db.read().await?;
    let rows = store::visits_of(&mut conn, household_key, 100).await?;
    drop(conn);
    let mut out = Vec::new();
    for v in rows {
        if actor.can(Action::ReadArchives, &Target::territory(&territory("grid_code", &v.grid_code)?)).is_ok() {
            out.push(visit_view(v));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// A person's own week

/// What the caller did in a week: their patrols, findings, visits and notes — their own
/// record, for them, not a score.
#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct MyWeek {
    pub from_ms: i64,
    pub to_ms: i64,
    pub grids: Vec<MemberView>,
    pub duties: Vec<DutyView>,
    pub patrols: Vec<PatrolView>,
    pub findings: i64,
    pub fixed_on_spot: i64,
    pub visits: Vec<VisitView>,
    pub notes: Vec<NoteView>,
    pub running: Option<PatrolView>,
}

pub async fn my_week(app: &App, actor: &Actor, from_ms: Option<i64>) -> Result<MyWeek> {
    let now = app.now_ms();
    // The seven days up to and including this moment, or the week from a given day.
    let from = from_ms.unwrap_or(now + 1 - 7 * domain::DAY_MS);
    let to = from + 7 * domain::DAY_MS;
    let mut conn = app.db.read().await?;
    let grids = store::grids_of(&mut conn, actor.person_id).await?;
    let mut duties = Vec::new();
    for g in &grids {
        for d in store::duties(&mut conn, &g.grid_code, from, to + 7 * domain::DAY_MS).await? {
            if d.person_id == actor.person_id {
                duties.push(d);
            }
        }
    }
    let patrols = store::patrols(&mut conn, "", Some(actor.person_id), from, to, 200).await?;
    let visits = store::visits_in(&mut conn, "", Some(actor.person_id), from, to, 200).await?;
    let notes = store::notes_in(&mut conn, None, Some(actor.person_id), false, 200).await?;
    drop(conn);
    let running = my_running(app, actor).await?;
    Ok(MyWeek {
        from_ms: from,
        to_ms: to,
        findings: patrols.iter().map(|p| p.findings).sum(),
        fixed_on_spot: patrols.iter().map(|p| p.fixed).sum(),
        grids: grids.into_iter().map(|m| member_view(app, m)).collect(),
        duties: duties.into_iter().map(|d| duty_view(app, d)).collect(),
        patrols: patrols.into_iter().map(|p| patrol_view(app, p)).collect(),
        visits: visits.into_iter().map(visit_view).collect(),
        notes: notes
            .into_iter()
            .filter(|n| n.created_at_ms >= from && n.created_at_ms < to)
            .map(|n| note_view(app, n))
            .collect(),
        running,
    })
}

// ---------------------------------------------------------------------------------------
// Keeping

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Kept {
    pub patrols_ended: u64,
    pub tracks_deleted: u64,
}

/// Ends patrols left running past their longest time, and deletes tracks past their
/// keeping time. Run hourly by each server (each step is idempotent).
pub async fn keep_once(app: &App) -> Result<Kept> {
    let now = app.now_ms();
    let mut out = Kept::default();
    let mut tx = app.db.write().await?;
    for id in store::stale_patrols(&mut tx, now - domain::PATROL_MAX_MS, 1000).await? {
        let ended =
            store::get_patrol(&mut tx, id).await?.map(|p| p.started_at_ms + domain::PATROL_MAX_MS).unwrap_or(now);
        if store::end_patrol(&mut tx, id, ended, true, "").await? {
            out.patrols_ended += 1;
        }
    }
    out.tracks_deleted = store::delete_tracks_before(&mut tx, now - domain::TRACK_KEPT_MS, now, 5000).await?;
    if out.tracks_deleted > 0 || out.patrols_ended > 0 {
        record(
            &mut tx,
            now,
            None,
            "gridwork.keep",
            "gridwork",
            "tracks",
            json!({"ended": out.patrols_ended, "deleted": out.tracks_deleted}),
        )
        .await?;
    }
    wuzhi_store::commit(tx).await?;
    Ok(out)
}
