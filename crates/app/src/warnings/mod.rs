//! Risk early warning (the `warnings` module): the detectors' live run over the case stream
//! (`detector`), the replay of historical cases through the same engine (`replay`), and here
//! the warnings' use cases — lists, pages with their evidence, steps of their lifecycle, the
//! map layer and the digest, the parameters and the lexicon — and the intake's fast track.
//! The detectors themselves are pure, in `wuzhi_domain::warnings`.

pub mod detector;
pub mod replay;

pub use detector::{Detectors, Pass, run_once};

use crate::{App, AppError, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::{Arc, RwLock};
use wuzhi_domain::permission::{Action, Target};
use wuzhi_domain::warnings::Level;
use wuzhi_domain::warnings::flow::{
    WarningCommand, WarningEvent, WarningFlow, WarningRelation, WarningState, WarningStatus,
};
use wuzhi_domain::warnings::rules::{DEFAULT_LEXICON, Params};
use wuzhi_domain::work::{Caller, System, Workflow};
use wuzhi_domain::{Actor, TerritoryCode};
use wuzhi_store::warnings::{KIND, WarningRow};

/// The state a warning's row holds.
pub(crate) fn state_of(w: &WarningRow) -> Result<WarningState> {
    Ok(WarningState {
        status: WarningStatus::parse(&w.status)?,
        level: Level::parse("level", &w.level)?,
        unit: w.unit_org_id,
        due_ms: w.due_at_ms,
        overdue: w.overdue,
    })
}

/// The warning's own row after a step.
pub(crate) async fn project(tx: &mut wuzhi_store::Tx, id: i64, s: &WarningState, now: i64) -> Result<()> {
    wuzhi_store::warnings::set_projection(tx, id, s.status.as_str(), s.status.open(), s.level.as_str(), s.unit, now)
        .await?;
    Ok(())
}

/// Seeds the shipped lexicon into a database that has none.
pub(crate) async fn seed_defaults(app: &App) -> Result<()> {
    let mut conn = app.db.read().await?;
    let empty = wuzhi_store::warnings::lexicon(&mut conn).await?.is_empty();
    drop(conn);
    if !empty {
        return Ok(());
    }
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    for (phrase, class, level) in DEFAULT_LEXICON {
        wuzhi_store::warnings::put_lexicon(&mut tx, phrase, class, level.as_str(), "[]", true, None, now).await?;
    }
    wuzhi_store::commit(tx).await?;
    Ok(())
}

// ---- views ----

/// A warning as a list or its page shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WarningView {
    pub id: i64,
    /// spike, repeat, unsolved, sensitive, failing_unit, sensor_storm
    pub rule: String,
    pub key: String,
    /// blue, yellow, orange, red
    pub level: String,
    pub territory_code: String,
    /// The place by its names: 和平区 劝业场街道 花园路社区 第1网格.
    pub territory_name: String,
    pub category_code: Option<String>,
    pub category_name: Option<String>,
    /// What matched, for the reader (a phrase, `phone`, `overdue`, …).
    pub detail: String,
    /// Why it was raised, in a sentence.
    pub reason: String,
    pub status: String,
    pub open: bool,
    pub unit_org_id: Option<i64>,
    pub unit_name: Option<String>,
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
    /// The steps the caller may take now.
    pub actions: Vec<&'static str>,
}

fn window_text(ms: i64) -> String {
    match ms {
        m if m >= 86_400_000 && m % 86_400_000 == 0 => format!("{}天", m / 86_400_000),
        m if m >= 3_600_000 && m % 3_600_000 == 0 => format!("{}小时", m / 3_600_000),
        m => format!("{}分钟", (m / 60_000).max(1)),
    }
}

/// The sentence that says why the warning was raised.
pub fn reason(w: &WarningRow, place: &str, category: Option<&str>) -> String {
    let cat = category.map(|c| format!("「{c}」")).unwrap_or_default();
    let win = window_text(w.window_ms);
    match w.rule.as_str() {
        "spike" => format!(
            "{place}{win}内{cat}诉求 {} 件，按历史同期（星期、时段、节假日）预计 {:.1} 件{}",
            w.observed,
            w.expected,
            w.p.map(|p| format!("，偶然出现的概率约 {p:.1e}")).unwrap_or_default()
        ),
        "repeat" => {
            let by = match w.dedup_key.split(':').next() {
                Some("person") => "同一人",
                Some("phone") => "同一电话",
                Some("building") => "同一楼栋",
                _ => "同一地址",
            };
            format!("{by}{win}内就{cat}事项第 {} 次反映", w.observed)
        }
        "unsolved" => format!("一件{cat}诉求已被重新启动 {} 次，问题仍未解决", w.observed),
        "sensitive" => format!("{place}出现敏感词「{}」，{win}内 {} 件", w.detail, w.observed),
        "failing_unit" => format!(
            "承办单位{win}内{} {} 件，通常约 {:.1} 件",
            if w.detail.contains("returned") { "退回" } else { "超期" },
            w.observed,
            w.expected
        ),
        "sensor_storm" => format!("{place}{win}内传感器告警 {} 次", w.observed),
        other => format!("{other}: {}", w.observed),
    }
}

/// The place by its names, district first (the city left out).
pub(crate) fn place_name(app: &App, code: &str) -> String {
    let loc = app.locator();
    let mut chain = loc.chain(code);
    chain.reverse();
    let names: Vec<String> =
        chain.iter().filter(|c| !(c.len() == 6 && c.ends_with("0000"))).filter_map(|c| loc.name_of(c)).collect();
    if names.is_empty() { code.to_owned() } else { names.join(" ") }
}

fn relation(actor: &Actor, w: &WarningRow) -> WarningRelation {
    let handler = TerritoryCode::parse(&w.territory_code)
        .is_ok_and(|t| actor.can(Action::HandleWarnings, &Target::territory(&t)).is_ok());
    let assigned_unit = w.unit_org_id.is_some_and(|u| actor.orgs().contains(&u));
    WarningRelation { handler, assigned_unit, system: None }
}

/// Whether the caller reads it: warnings of their territory, or assigned to their unit.
fn may_read(actor: &Actor, w: &WarningRow) -> bool {
    TerritoryCode::parse(&w.territory_code)
        .is_ok_and(|t| actor.can(Action::ReadWarnings, &Target::territory(&t)).is_ok())
        || w.unit_org_id.is_some_and(|u| actor.orgs().contains(&u))
}

fn actions(actor: &Actor, w: &WarningRow, now: i64) -> Vec<&'static str> {
    let Ok(state) = state_of(w) else { return vec![] };
    let rel = relation(actor, w);
    let probe = [
        ("acknowledge", WarningCommand::Acknowledge { note: None }),
        ("assign", WarningCommand::Assign { unit: 0, due_ms: now + 1, note: None }),
        ("resolve", WarningCommand::Resolve { reason: "x".into() }),
        ("dismiss", WarningCommand::Dismiss { reason: "x".into() }),
    ];
    probe.into_iter().filter(|(_, c)| WarningFlow::decide(&state, &rel, c, now).is_ok()).map(|(n, _)| n).collect()
}

struct Names {
    categories: std::collections::HashMap<String, String>,
    orgs: std::collections::HashMap<i64, String>,
}

async fn names(app: &App, rows: &[WarningRow]) -> Result<Names> {
    let mut conn = app.db.read().await?;
    let categories = wuzhi_store::cases::categories(&mut conn).await?.into_iter().map(|c| (c.code, c.name)).collect();
    let mut orgs = std::collections::HashMap::new();
    for u in rows.iter().filter_map(|w| w.unit_org_id) {
        if let std::collections::hash_map::Entry::Vacant(e) = orgs.entry(u)
            && let Some(o) = wuzhi_store::org::get(&mut conn, u).await?
        {
            e.insert(o.name);
        }
    }
    Ok(Names { categories, orgs })
}

fn view(app: &App, actor: &Actor, w: &WarningRow, n: &Names) -> WarningView {
    let place = place_name(app, &w.territory_code);
    let category_name = w.category_code.as_ref().and_then(|c| n.categories.get(c).cloned());
    WarningView {
        id: w.id,
        rule: w.rule.clone(),
        key: w.dedup_key.clone(),
        level: w.level.clone(),
        territory_code: w.territory_code.clone(),
        reason: reason(w, &place, category_name.as_deref()),
        territory_name: place,
        category_code: w.category_code.clone(),
        category_name,
        detail: w.detail.clone(),
        status: w.status.clone(),
        open: w.open,
        unit_org_id: w.unit_org_id,
        unit_name: w.unit_org_id.and_then(|u| n.orgs.get(&u).cloned()),
        observed: w.observed,
        expected: w.expected,
        window_ms: w.window_ms,
        p: w.p,
        rule_version: w.rule_version,
        cases: w.cases,
        first_case_at_ms: w.first_case_at_ms,
        raised_at_ms: w.raised_at_ms,
        updated_at_ms: w.updated_at_ms,
        due_at_ms: w.due_at_ms,
        overdue: w.overdue,
        version: w.version,
        actions: actions(actor, w, app.now_ms()),
    }
}

/// What a list asks for (query parameters).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// Only open warnings (default true).
    pub open: Option<bool>,
    /// Comma-separated statuses.
    pub status: Option<String>,
    /// Comma-separated levels.
    pub level: Option<String>,
    pub rule: Option<String>,
    /// Inside this territory.
    pub territory: Option<String>,
    /// Raised from this time on (ms).
    pub from_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Assigned to this unit.
    pub unit: Option<i64>,
    pub limit: Option<i64>,
}

fn list_of<'a>(field: &str, s: &'a Option<String>, allowed: &[&str]) -> Result<Vec<&'a str>> {
    let items: Vec<&str> = s.as_deref().unwrap_or("").split(',').map(str::trim).filter(|x| !x.is_empty()).collect();
    for x in &items {
        if !allowed.contains(x) {
            return Err(AppError::invalid(field, format!("`{x}` is not one of {}", allowed.join(", "))));
        }
    }
    Ok(items)
}

const STATUSES: &[&str] = &["new", "acknowledged", "assigned", "resolved", "false_alarm"];
const LEVELS: &[&str] = &["blue", "yellow", "orange", "red"];
const RULES: &[&str] = &["spike", "repeat", "unsolved", "sensitive", "failing_unit", "sensor_storm"];

/// The warnings the caller reads, newest first.
pub async fn list(app: &App, actor: &Actor, p: &ListParams) -> Result<Vec<WarningView>> {
    let statuses = list_of("status", &p.status, STATUSES)?;
    let levels = list_of("level", &p.level, LEVELS)?;
    let rule = match p.rule.as_deref() {
        Some(r) if !RULES.contains(&r) => {
            return Err(AppError::invalid("rule", format!("`{r}` is not one of {}", RULES.join(", "))));
        }
        r => r,
    };
    let within = p.territory.as_deref().map(TerritoryCode::parse).transpose()?;
    let scopes = actor.scopes_for(Action::ReadWarnings);
    let prefixes: Vec<&str> = scopes.iter().map(|s| s.scope_prefix()).collect();
    let units = actor.orgs();
    if prefixes.is_empty() && units.is_empty() {
        return Err(AppError::Forbidden { action: "read warnings".into() });
    }
    let f = wuzhi_store::warnings::Filter {
        open_only: p.open.unwrap_or(statuses.is_empty()),
        statuses: &statuses,
        levels: &levels,
        rule,
        within: within.as_ref().map(|t| t.scope_prefix()),
        raised_from_ms: p.from_ms,
        raised_until_ms: p.until_ms,
        unit: p.unit,
        limit: crate::page_limit(p.limit)?,
    };
    let mut conn = app.db.read().await?;
    let rows = wuzhi_store::warnings::list(&mut conn, &prefixes, &units, &f).await?;
    drop(conn);
    let n = names(app, &rows).await?;
    Ok(rows.iter().map(|w| view(app, actor, w, &n)).collect())
}

/// An evidence case, briefly.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EvidenceCase {
    pub id: i64,
    pub subject: String,
    pub status: String,
    pub territory_name: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChartPoint {
    pub at_ms: i64,
    pub observed: i64,
    pub expected: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = WarningTimelineEntry)]
pub struct TimelineEntry {
    pub at_ms: i64,
    /// Who took the step (none: the system).
    pub actor_name: Option<String>,
    pub kind: String,
    pub data: serde_json::Value,
}

/// A warning's page: why, the evidence, the chart, the timeline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WarningPage {
    pub warning: WarningView,
    pub evidence: Vec<EvidenceCase>,
    pub points: Vec<ChartPoint>,
    pub timeline: Vec<TimelineEntry>,
}

async fn load(app: &App, actor: &Actor, id: i64) -> Result<WarningRow> {
    let mut conn = app.db.read().await?;
    let w = wuzhi_store::warnings::get(&mut conn, id).await?.filter(|w| may_read(actor, w));
    w.ok_or_else(|| AppError::not_found(format!("warning {id}")))
}

pub async fn get(app: &App, actor: &Actor, id: i64) -> Result<WarningPage> {
    let w = load(app, actor, id).await?;
    let mut conn = app.db.read().await?;
    let cases = wuzhi_store::warnings::cases(&mut conn, id, 200).await?;
    let ids: Vec<i64> = cases.iter().map(|c| c.0).collect();
    let rows: std::collections::HashMap<i64, wuzhi_store::cases::CaseRow> =
        wuzhi_store::cases::by_ids(&mut conn, &ids).await?.into_iter().map(|c| (c.id, c)).collect();
    let points = wuzhi_store::warnings::points(&mut conn, id).await?;
    let events = wuzhi_store::warnings::events(&mut conn, id).await?;
    drop(conn);
    let n = names(app, std::slice::from_ref(&w)).await?;
    let loc = app.locator();
    let evidence = ids
        .iter()
        .filter_map(|i| rows.get(i))
        .map(|c| EvidenceCase {
            id: c.id,
            subject: c.subject.clone(),
            status: c.status.clone(),
            territory_name: loc.name_of(&c.territory_code).unwrap_or_else(|| c.territory_code.clone()),
            created_at_ms: c.created_at_ms,
        })
        .collect();
    Ok(WarningPage {
        warning: view(app, actor, &w, &n),
        evidence,
        points: points
            .into_iter()
            .map(|(at_ms, observed, expected)| ChartPoint { at_ms, observed, expected })
            .collect(),
        timeline: events
            .into_iter()
            .map(|(at_ms, actor_name, kind, data)| TimelineEntry {
                at_ms,
                actor_name,
                kind,
                data: serde_json::from_str(&data).unwrap_or_default(),
            })
            .collect(),
    })
}

/// The warnings a case is evidence of (its page shows them).
pub async fn of_case(app: &App, actor: &Actor, case_id: i64) -> Result<Vec<WarningView>> {
    // Only of a case the caller reads.
    crate::cases::get(app, actor, case_id, false).await?;
    let mut conn = app.db.read().await?;
    let mut rows = Vec::new();
    for id in wuzhi_store::warnings::of_case(&mut conn, case_id).await? {
        if let Some(w) = wuzhi_store::warnings::get(&mut conn, id).await?.filter(|w| may_read(actor, w)) {
            rows.push(w);
        }
    }
    drop(conn);
    let n = names(app, &rows).await?;
    Ok(rows.iter().map(|w| view(app, actor, w, &n)).collect())
}

/// A unit a warning may be assigned to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Unit {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub territory_code: String,
}

fn unit_fits(w: &WarningRow, org_territory: &str) -> bool {
    let city = format!("{}0000", w.territory_code.get(..2).unwrap_or("12"));
    w.territory_code.starts_with(org_territory) || org_territory == city
}

/// The units a handler may assign the warning to: those of its territory and every level
/// above it up to the city (the grid's community, the street office, the district's
/// departments, the city's), nearest first.
pub async fn units(app: &App, actor: &Actor, id: i64) -> Result<Vec<Unit>> {
    let w = load(app, actor, id).await?;
    if !relation(actor, &w).handler {
        return Err(AppError::Forbidden { action: "assign this warning".into() });
    }
    let city = format!("{}0000", w.territory_code.get(..2).unwrap_or("12"));
    let district = w.territory_code.get(..6).unwrap_or(&w.territory_code).to_owned();
    let mut conn = app.db.read().await?;
    let rows = wuzhi_store::org::list(&mut conn, &[city.as_str(), district.as_str()], None, 0, 1000).await?;
    drop(conn);
    let mut out: Vec<Unit> = rows
        .into_iter()
        .filter(|o| unit_fits(&w, &o.territory_code))
        .map(|o| Unit { id: o.id, name: o.name, kind: o.kind, territory_code: o.territory_code })
        .collect();
    out.sort_by(|a, b| b.territory_code.len().cmp(&a.territory_code.len()).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// A step on a warning.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Step {
    /// 签收: someone has seen it and looks into it.
    Acknowledge { note: Option<String> },
    /// 交办 to a unit, with a deadline.
    Assign { org_id: i64, due_ms: i64, note: Option<String> },
    /// 处置完毕, with what was done.
    Resolve { reason: String },
    /// 误报, with why.
    Dismiss { reason: String },
}

/// Takes a step under the version the caller read.
pub async fn act(app: &App, actor: &Actor, id: i64, version: i64, step: &Step) -> Result<WarningPage> {
    let w = load(app, actor, id).await?;
    if w.version != version {
        return Err(AppError::Conflict {
            field: "version".into(),
            reason: "the warning changed meanwhile; reload it".into(),
        });
    }
    let command = match step {
        Step::Acknowledge { note } => WarningCommand::Acknowledge { note: note.clone() },
        Step::Assign { org_id, due_ms, note } => {
            let mut conn = app.db.read().await?;
            let o = wuzhi_store::org::get(&mut conn, *org_id)
                .await?
                .ok_or_else(|| AppError::invalid("org_id", format!("organisation {org_id} does not exist")))?;
            if !unit_fits(&w, &o.territory_code) {
                return Err(AppError::invalid(
                    "org_id",
                    format!("{} is not a unit of the warning's territory or above it", o.name),
                ));
            }
            WarningCommand::Assign { unit: *org_id, due_ms: *due_ms, note: note.clone() }
        }
        Step::Resolve { reason } => WarningCommand::Resolve { reason: reason.clone() },
        Step::Dismiss { reason } => WarningCommand::Dismiss { reason: reason.clone() },
    };
    let state = state_of(&w)?;
    let rel = relation(actor, &w);
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let item = crate::work::Item { kind: &KIND, id, version: w.version, territory: &w.territory_code };
    let stepped =
        crate::work::step::<WarningFlow>(&mut tx, item, &state, &rel, &command, Caller::Person(actor), None, now)
            .await?;
    project(&mut tx, id, &stepped.next, now).await?;
    crate::audit::record(
        &mut tx,
        now,
        Some(actor),
        &format!("warnings.{}", WarningFlow::event_kind(&stepped.event)),
        "warning",
        &id.to_string(),
        json!({"rule": w.rule, "level": stepped.next.level.as_str()}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    get(app, actor, id).await
}

/// The sweep's question for a warning: mark an assigned one overdue after its deadline.
pub(crate) async fn on_due(app: &App, id: i64, due: crate::work::Due) -> Result<bool> {
    let crate::work::Due::MarkOverdue(d) = due else { return Ok(false) };
    let now = app.now_ms();
    let mut conn = app.db.read().await?;
    let Some(w) = wuzhi_store::warnings::get(&mut conn, id).await? else { return Ok(false) };
    drop(conn);
    let state = state_of(&w)?;
    let rel = WarningRelation { system: Some(System::Sweep), ..Default::default() };
    let command = WarningCommand::MarkOverdue { due_ms: d };
    if WarningFlow::decide(&state, &rel, &command, now).is_err() {
        return Ok(false);
    }
    let mut tx = app.db.write().await?;
    let item = crate::work::Item { kind: &KIND, id, version: w.version, territory: &w.territory_code };
    let stepped = crate::work::step::<WarningFlow>(
        &mut tx,
        item,
        &state,
        &rel,
        &command,
        Caller::System(System::Sweep),
        None,
        now,
    )
    .await?;
    project(&mut tx, id, &stepped.next, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(true)
}

// ---- the map layer and the digest ----

/// One territory on the warnings layer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LayerCell {
    pub code: String,
    /// The highest level of its open warnings.
    pub level: String,
    pub open: i64,
    pub red: i64,
    pub orange: i64,
}

/// Open warnings per child of `under` (the caller's top territory by default): the layer
/// colours each by its highest level.
pub async fn layer(app: &App, actor: &Actor, under: Option<&str>) -> Result<Vec<LayerCell>> {
    let scopes = actor.scopes_for(Action::ReadWarnings);
    let top = match under {
        Some(u) => TerritoryCode::parse(u)?,
        None => scopes.first().cloned().ok_or(AppError::Forbidden { action: "read warnings".into() })?,
    };
    actor.can(Action::ReadWarnings, &Target::territory(&top)).or_else(|_| {
        // Someone whose posts lie inside `under` sees their part of it.
        if scopes.iter().any(|s| top.contains(s)) {
            Ok(())
        } else {
            Err(AppError::Forbidden { action: "read warnings".into() })
        }
    })?;
    let prefixes: Vec<&str> = scopes.iter().map(|s| s.scope_prefix()).collect();
    let mut conn = app.db.read().await?;
    let rows = wuzhi_store::warnings::open_levels(&mut conn, &prefixes, top.scope_prefix()).await?;
    drop(conn);
    // The children's codes: districts under the city, then three digits more a level.
    let city = top.as_str().len() == 6 && top.as_str().ends_with("0000");
    let child_len = if city {
        6
    } else if top.as_str().len() == 6 {
        9
    } else {
        top.as_str().len() + 3
    };
    let rank = |l: &str| LEVELS.iter().position(|x| *x == l).unwrap_or(0);
    let mut cells: std::collections::BTreeMap<String, LayerCell> = Default::default();
    for (territory, level) in &rows {
        let code = territory.get(..child_len).unwrap_or(territory).to_owned();
        let c =
            cells.entry(code.clone()).or_insert(LayerCell { code, level: "blue".into(), open: 0, red: 0, orange: 0 });
        c.open += 1;
        c.red += (level == "red") as i64;
        c.orange += (level == "orange") as i64;
        if rank(level) > rank(&c.level) {
            c.level = level.clone();
        }
    }
    Ok(cells.into_values().collect())
}

/// The digest: what was raised in a day, by level and rule, and what is still open.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Digest {
    pub from_ms: i64,
    pub until_ms: i64,
    pub raised: i64,
    pub by_level: std::collections::BTreeMap<String, i64>,
    pub by_rule: std::collections::BTreeMap<String, i64>,
    pub still_open: i64,
    pub warnings: Vec<WarningView>,
}

/// The 24 hours before `until_ms` (now by default) in the caller's territories.
pub async fn digest(app: &App, actor: &Actor, until_ms: Option<i64>) -> Result<Digest> {
    let until = until_ms.unwrap_or_else(|| app.now_ms());
    let from = until - wuzhi_domain::calendar::DAY_MS;
    let p = ListParams {
        open: Some(false),
        from_ms: Some(from),
        until_ms: Some(until + 1),
        limit: Some(1000),
        ..Default::default()
    };
    let warnings = list(app, actor, &p).await?;
    let mut by_level = std::collections::BTreeMap::new();
    let mut by_rule = std::collections::BTreeMap::new();
    for w in &warnings {
        *by_level.entry(w.level.clone()).or_insert(0) += 1;
        *by_rule.entry(w.rule.clone()).or_insert(0) += 1;
    }
    Ok(Digest {
        from_ms: from,
        until_ms: until,
        raised: warnings.len() as i64,
        still_open: warnings.iter().filter(|w| w.open).count() as i64,
        by_level,
        by_rule,
        warnings,
    })
}

// ---- notifications ----

/// Who hears of a warning at once: the leaders of its territory and the levels above — the
/// community's staff, the street's commander, the district's and (for red) the city's
/// leaders and command centre.
const LEADERS: &[&str] = &["community_staff", "street_commander", "dispatcher", "district_leader", "city_leader"];

fn ancestors(code: &str, up_to_city: bool) -> Vec<String> {
    let mut out: Vec<String> =
        [6, 9, 12, 15].iter().filter(|n| **n <= code.len()).map(|n| code[..*n].to_owned()).collect();
    if up_to_city {
        out.push(format!("{}0000", code.get(..2).unwrap_or("12")));
    }
    out.sort();
    out.dedup();
    out
}

/// The outbox pass's part for a warning's events: red and orange warnings (raised, or raised
/// to that level) tell the leaders at once (red up to the city, orange up to the district);
/// an assignment tells the unit. Returns how many were told.
pub(crate) async fn tell(tx: &mut wuzhi_store::Tx, id: i64, event: &str, now: i64) -> Result<usize> {
    let Some(w) = wuzhi_store::warnings::get(tx, id).await? else { return Ok(0) };
    let level = Level::parse("level", &w.level).unwrap_or(Level::Blue);
    let people: Vec<i64> = match event {
        "raised" | "level_raised" if level.urgent() => {
            let codes = ancestors(&w.territory_code, level == Level::Red);
            wuzhi_store::warnings::posts_over(tx, LEADERS, &codes, now).await?.into_iter().map(|p| p.0).collect()
        }
        "assigned" => match w.unit_org_id {
            Some(u) => wuzhi_store::notifications::org_members(tx, u, now).await?,
            None => vec![],
        },
        _ => return Ok(0),
    };
    let mut people = people;
    people.sort_unstable();
    people.dedup();
    let what = if event == "assigned" { "已交办本单位处置" } else { "" };
    let level_name = match level {
        Level::Red => "红色",
        Level::Orange => "橙色",
        Level::Yellow => "黄色",
        Level::Blue => "蓝色",
    };
    let body = format!("{level_name}预警 #{}：{}{what}", w.id, w.detail);
    for p in &people {
        wuzhi_store::notifications::insert_notification(tx, *p, None, &format!("warnings.{event}"), &body, now).await?;
    }
    Ok(people.len())
}

/// The daily digest at 08:00 Beijing time, once per day for the whole city (one server claims
/// it): each leader hears how many yellow and blue warnings were raised in their territory in
/// the 24 hours before. Returns how many were told.
pub async fn digest_once(app: &App) -> Result<usize> {
    use wuzhi_domain::calendar::{DAY_MS, OFFSET_MS};
    let now = app.now_ms();
    let local = now + OFFSET_MS;
    let day = local.div_euclid(DAY_MS);
    if local.rem_euclid(DAY_MS) < 8 * 3_600_000 {
        return Ok(0);
    }
    let mut tx = app.db.write().await?;
    if !wuzhi_store::warnings::claim_digest(&mut tx, day).await? {
        return Ok(0);
    }
    let levels = ["yellow", "blue"];
    let f = wuzhi_store::warnings::Filter {
        levels: &levels,
        raised_from_ms: Some(now - DAY_MS),
        raised_until_ms: Some(now),
        limit: 100_000,
        ..Default::default()
    };
    let rows = wuzhi_store::warnings::list(&mut tx, &[""], &[], &f).await?;
    let mut codes: Vec<String> = rows.iter().flat_map(|w| ancestors(&w.territory_code, true)).collect();
    codes.sort();
    codes.dedup();
    let posts = wuzhi_store::warnings::posts_over(&mut tx, LEADERS, &codes, now).await?;
    let mut per: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
    let mut told: std::collections::BTreeSet<(i64, i64)> = Default::default();
    for (person, _, scope) in &posts {
        for w in rows.iter().filter(|w| w.territory_code.starts_with(scope.trim_end_matches("0000"))) {
            if told.insert((*person, w.id)) {
                let e = per.entry(*person).or_default();
                if w.level == "yellow" { e.0 += 1 } else { e.1 += 1 }
            }
        }
    }
    for (person, (yellow, blue)) in &per {
        let body = format!("预警日报：过去24小时本辖区新增黄色预警 {yellow} 条、蓝色预警 {blue} 条，请在预警页面查看");
        wuzhi_store::notifications::insert_notification(&mut tx, *person, None, "warnings.digest", &body, now).await?;
    }
    wuzhi_store::commit(tx).await?;
    Ok(per.len())
}

// ---- parameters and lexicon ----

/// One territory's parameters.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = WarningRules)]
pub struct RulesView {
    /// "" for the city's own set.
    pub territory_code: String,
    pub version: i64,
    #[schema(value_type = Object)]
    pub params: Params,
}

fn require_rules(actor: &Actor, territory: &str) -> Result<()> {
    let code = if territory.is_empty() { TerritoryCode::parse("120000")? } else { TerritoryCode::parse(territory)? };
    let scope = if territory.is_empty() {
        actor
            .scopes_for(Action::ManageWarningRules)
            .into_iter()
            .find(|s| s.as_str().ends_with("0000") && s.as_str().len() == 6)
    } else {
        None
    };
    if territory.is_empty() && scope.is_none() {
        return Err(AppError::Forbidden { action: "manage the city's warning rules".into() });
    }
    actor.can(Action::ManageWarningRules, &Target::territory(&code)).map_err(AppError::from)
}

/// Every territory's parameters (the city's first; its defaults when none were saved).
pub async fn rules(app: &App, actor: &Actor) -> Result<Vec<RulesView>> {
    if actor.scopes_for(Action::ManageWarningRules).is_empty() && actor.scopes_for(Action::ReadWarnings).is_empty() {
        return Err(AppError::Forbidden { action: "read warning rules".into() });
    }
    let c = detector::config(app).await?;
    Ok(c.rules
        .sets
        .into_iter()
        .map(|(territory_code, params, version)| RulesView { territory_code, version, params })
        .collect())
}

/// Saves a territory's parameters ("" for the city's); every detector reloads.
pub async fn set_rules(app: &App, actor: &Actor, territory: &str, params: &Params) -> Result<RulesView> {
    require_rules(actor, territory)?;
    params.check()?;
    let now = app.now_ms();
    let json = serde_json::to_string(params).map_err(|e| AppError::Internal(e.to_string()))?;
    let mut tx = app.db.write().await?;
    let version = wuzhi_store::warnings::set_rules(&mut tx, territory, &json, Some(actor.person_id), now).await?;
    wuzhi_store::warnings::bump_generation(&mut tx).await?;
    crate::audit::record(
        &mut tx,
        now,
        Some(actor),
        "warnings.rules",
        "warning_rules",
        territory,
        json!({"version": version}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    Ok(RulesView { territory_code: territory.to_owned(), version, params: *params })
}

/// A territory's own parameters go (its parent's apply again).
pub async fn delete_rules(app: &App, actor: &Actor, territory: &str) -> Result<()> {
    require_rules(actor, territory)?;
    if territory.is_empty() {
        return Err(AppError::invalid("territory", "the city's set can be changed, not removed"));
    }
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    if !wuzhi_store::warnings::delete_rules(&mut tx, territory).await? {
        return Err(AppError::not_found(format!("warning rules of {territory}")));
    }
    wuzhi_store::warnings::bump_generation(&mut tx).await?;
    crate::audit::record(&mut tx, now, Some(actor), "warnings.rules_deleted", "warning_rules", territory, json!({}))
        .await?;
    wuzhi_store::commit(tx).await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LexiconItem {
    pub phrase: String,
    /// life, group, safety, or a class of one's own (lower-case letters and _).
    pub class: String,
    /// blue, yellow, orange, red
    pub level: String,
    /// Category codes it counts in; empty: all.
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

pub async fn lexicon(app: &App, actor: &Actor) -> Result<Vec<LexiconItem>> {
    if actor.scopes_for(Action::ManageWarningRules).is_empty() && actor.scopes_for(Action::ReadWarnings).is_empty() {
        return Err(AppError::Forbidden { action: "read the lexicon".into() });
    }
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::warnings::lexicon(&mut conn)
        .await?
        .into_iter()
        .map(|r| LexiconItem {
            phrase: r.phrase,
            class: r.class,
            level: r.level,
            categories: serde_json::from_str(&r.categories).unwrap_or_default(),
            active: r.active,
        })
        .collect())
}

/// Adds or changes an entry (by its phrase); every detector and the intake's fast track reload.
pub async fn put_lexicon(app: &App, actor: &Actor, item: &LexiconItem) -> Result<LexiconItem> {
    require_rules(actor, "")?;
    let level = Level::parse("level", &item.level)?;
    let e =
        wuzhi_domain::warnings::rules::LexiconEntry::new(&item.phrase, &item.class, level, item.categories.clone())?;
    let mut conn = app.db.read().await?;
    let cats = wuzhi_store::cases::categories(&mut conn).await?;
    drop(conn);
    for c in &e.categories {
        if !cats.iter().any(|x| &x.code == c) {
            return Err(AppError::invalid("categories", format!("{c} is not a category")));
        }
    }
    let now = app.now_ms();
    let json = serde_json::to_string(&e.categories).map_err(|x| AppError::Internal(x.to_string()))?;
    let mut tx = app.db.write().await?;
    wuzhi_store::warnings::put_lexicon(
        &mut tx,
        &e.phrase,
        &e.class,
        level.as_str(),
        &json,
        item.active,
        Some(actor.person_id),
        now,
    )
    .await?;
    wuzhi_store::warnings::bump_generation(&mut tx).await?;
    crate::audit::record(
        &mut tx,
        now,
        Some(actor),
        "warnings.lexicon",
        "warning_lexicon",
        &e.phrase,
        json!({"active": item.active}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    Ok(LexiconItem {
        phrase: e.phrase,
        class: e.class,
        level: level.as_str().into(),
        categories: e.categories,
        active: item.active,
    })
}

// ---- the intake's fast track ----

struct FastTrack {
    generation: i64,
    read_at_ms: i64,
    matcher: wuzhi_text::lexicon::Matcher,
    levels: Vec<Level>,
}

/// This server's copy of the lexicon for the intake (reloaded when the generation moved,
/// looked at most every five seconds).
#[derive(Default)]
pub struct Lexicon {
    fast: RwLock<Option<Arc<FastTrack>>>,
}

/// The priority a report's words call for: `emergency` for a red phrase (danger to life, gas,
/// fire), `urgent` for an orange one; none otherwise. The case is flagged at intake, before
/// anyone reads it.
pub async fn fast_track(app: &App, subject: &str, description: &str) -> Result<Option<&'static str>> {
    let now = app.now_ms();
    let cached = app.lexicon.fast.read().unwrap_or_else(|e| e.into_inner()).clone();
    let ft = match cached {
        Some(f) if now - f.read_at_ms < 5_000 => f,
        old => {
            let mut conn = app.db.read().await?;
            let generation = wuzhi_store::warnings::generation(&mut conn).await?;
            drop(conn);
            let f = match old {
                Some(f) if f.generation == generation => Arc::new(FastTrack {
                    generation,
                    read_at_ms: now,
                    matcher: f.matcher.clone(),
                    levels: f.levels.clone(),
                }),
                _ => {
                    let c = detector::config(app).await?;
                    Arc::new(FastTrack {
                        generation,
                        read_at_ms: now,
                        matcher: detector::matcher(&c.lexicon),
                        levels: c.lexicon.iter().map(|e| e.level).collect(),
                    })
                }
            };
            *app.lexicon.fast.write().unwrap_or_else(|e| e.into_inner()) = Some(f.clone());
            f
        }
    };
    let top = ft.matcher.hits(&[subject, description]).iter().filter_map(|i| ft.levels.get(*i as usize)).max().copied();
    Ok(match top {
        Some(Level::Red) => Some("emergency"),
        Some(Level::Orange) => Some("urgent"),
        _ => None,
    })
}
