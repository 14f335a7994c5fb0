//! Case use cases: intake from every channel and every step of the closed loop. Each step
//! loads the case, checks the permission rule for that step, applies the domain state
//! machine, and commits the projection, the timeline event and an outbox row together.

use crate::{App, AppError, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;
use wuzhi_domain::calendar::{TimeLimit, format_local};
use wuzhi_domain::cases::{
    CaseState, Command as DomainCommand, Event, FixOnSpot, History, Relation, Satisfaction, Status, Step,
};
use wuzhi_domain::work::{Caller, Refusal, System};
use wuzhi_domain::{Action, Actor, Target, TerritoryCode, mask, text};
use wuzhi_geo::Crs;
use wuzhi_store::StoreError;
use wuzhi_store::cases::{CaseRow, CategoryRow};

pub const KINDS: [&str; 7] = ["request", "complaint", "report", "dispute", "emergency", "suggestion", "consultation"];

/// Where a report comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A resident through the portal or app.
    App,
    /// A hotline operator on a caller's behalf (12345).
    Hotline,
    /// A grid worker's or steward's patrol finding.
    Grid,
    /// A sensor, through the signed device webhook only.
    Sensor,
    /// An integrating system through Open311 GeoReport v2, with its API key only.
    Open311,
}

impl Channel {
    fn as_str(self) -> &'static str {
        match self {
            Channel::App => "app",
            Channel::Hotline => "hotline",
            Channel::Grid => "grid",
            Channel::Sensor => "sensor",
            Channel::Open311 => "open311",
        }
    }
}

/// A new report.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewCase {
    pub channel: Channel,
    /// request, complaint, report, dispute, emergency, suggestion or consultation
    pub kind: String,
    pub subject: String,
    pub description: String,
    /// A leaf of the taxonomy, when the reporter knows it.
    pub category: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// wgs84 (default) or gcj02
    pub crs: Option<String>,
    /// Located by name (village, township) when there is no point.
    pub address: Option<String>,
    /// The caller's name and phone (hotline).
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    #[serde(default)]
    pub anonymous: bool,
    /// The reporter's choice whether the case is public (default: public when reported
    /// through the portal, a patrol or Open311 and not anonymous; see the domain's rule).
    #[serde(default)]
    pub public: Option<bool>,
    /// A retried submission with the same key returns the same case.
    pub idempotency_key: Option<String>,
    /// A grid worker fixed it on the spot: the case opens and closes at once.
    pub fixed_on_spot: Option<String>,
    /// Open311 only: the reporter's e-mail.
    #[serde(skip)]
    pub reporter_email: Option<String>,
    /// Open311 only: JSON with the answers to the service's attributes.
    #[serde(skip)]
    pub attributes: Option<String>,
}

/// One step of the loop.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Command {
    /// 立案 with a category (a leaf of the taxonomy; default: the reporter's suggestion).
    File {
        category: Option<String>,
        priority: Option<String>,
    },
    /// 不予立案
    Reject {
        reason: String,
    },
    /// 派遣 to the unit the rules name, or to `org_id`; `assign` fixes the owner after three returns.
    Dispatch {
        org_id: Option<i64>,
        #[serde(default)]
        assign: bool,
    },
    /// 签收
    Accept,
    /// 退回
    Return {
        reason: String,
    },
    /// 处置完成
    Handle {
        result: String,
    },
    /// 核查通过 (and so 结案)
    Verify {
        #[serde(default)]
        note: String,
    },
    /// 返工
    Rework {
        reason: String,
    },
    /// 申请延期 by some working days
    RequestExtension {
        working_days: u32,
        reason: String,
    },
    /// 审批延期
    DecideExtension {
        granted: bool,
        #[serde(default)]
        note: String,
    },
    /// 挂账
    Park {
        reason: String,
    },
    /// 解除挂账
    Unpark,
    /// 升级 to the command centre one level up
    Escalate {
        reason: String,
    },
    /// 合并 into a main case
    Merge {
        into: i64,
    },
    Comment {
        text: String,
    },
    /// 重启 after a resident's complaint
    Reopen {
        reason: String,
    },
    /// 吹哨: summon departments, who must check in within `hours` (default 2)
    Summon {
        org_ids: Vec<i64>,
        hours: Option<u32>,
    },
    /// 报到 for one's own summoned unit
    CheckIn {
        org_id: i64,
    },
    /// 联合处置: a lead unit and cooperating units
    AssignJoint {
        lead: i64,
        cooperating: Vec<i64>,
    },
    /// 评价
    Rate {
        satisfaction: String,
        #[serde(default)]
        text: String,
    },
}

impl Command {
    /// The domain's step this request asks for.
    fn step(&self) -> Step {
        match self {
            Command::File { .. } => Step::File,
            Command::Reject { .. } => Step::Reject,
            Command::Dispatch { .. } => Step::Dispatch,
            Command::Accept => Step::Accept,
            Command::Return { .. } => Step::Return,
            Command::Handle { .. } => Step::Handle,
            Command::Verify { .. } => Step::Verify,
            Command::Rework { .. } => Step::Rework,
            Command::RequestExtension { .. } => Step::RequestExtension,
            Command::DecideExtension { .. } => Step::DecideExtension,
            Command::Park { .. } => Step::Park,
            Command::Unpark => Step::Unpark,
            Command::Escalate { .. } => Step::Escalate,
            Command::Merge { .. } => Step::Merge,
            Command::Comment { .. } => Step::Comment,
            Command::Reopen { .. } => Step::Reopen,
            Command::Rate { .. } => Step::Rate,
            Command::Summon { .. } => Step::Summon,
            Command::CheckIn { .. } => Step::CheckIn,
            Command::AssignJoint { .. } => Step::AssignJoint,
        }
    }

    fn name(&self) -> &'static str {
        self.step().as_str()
    }
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct Reporter {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub anonymous: bool,
    /// True when name and phone are shown in full.
    pub revealed: bool,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub at: String,
    pub actor_id: Option<i64>,
    pub kind: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct CaseView {
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
    pub reporter: Reporter,
    pub owner_org_id: Option<i64>,
    pub due_at_ms: Option<i64>,
    /// The due time in Asia/Shanghai.
    pub due_at: Option<String>,
    pub overdue: bool,
    pub returns: i64,
    pub reworks: i64,
    pub extension_until_ms: Option<i64>,
    pub satisfaction: Option<String>,
    pub merged_into: Option<i64>,
    /// 吹哨报到: summoned departments and their check-ins.
    #[schema(value_type = Vec<Object>)]
    pub summoned: Vec<wuzhi_domain::cases::Summons>,
    pub summon_due_ms: Option<i64>,
    /// 联合处置: units cooperating with the owner.
    pub cooperating: Vec<i64>,
    pub created_at_ms: i64,
    pub filed_at_ms: Option<i64>,
    pub closed_at_ms: Option<i64>,
    /// What the viewer may do now.
    pub actions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<TimelineEntry>>,
}

pub(crate) fn state_of(r: &CaseRow) -> Result<CaseState> {
    Ok(CaseState {
        status: Status::parse(&r.status)?,
        category: r.category_code.clone(),
        priority: r.priority.clone(),
        owner_org: r.owner_org_id,
        returns: r.returns as u32,
        dispatches: r.dispatches as u32,
        total_returns: r.total_returns as u32,
        reworks: r.reworks as u32,
        due_ms: r.due_at_ms,
        overdue: r.overdue,
        extension_until_ms: r.extension_until_ms,
        satisfaction: r.satisfaction.as_deref().map(Satisfaction::parse).transpose()?,
        merged_into: r.merged_into,
        filed_at_ms: r.filed_at_ms,
        closed_at_ms: r.closed_at_ms,
        closed_late: r.closed_late,
        filed_late: r.filed_late,
        summoned: r.summons.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default(),
        summon_due_ms: r.summon_due_ms,
        cooperating: r.cooperating.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default(),
    })
}

pub(crate) fn project(r: &mut CaseRow, s: &CaseState, now: i64) {
    r.status = s.status.as_str().into();
    r.category_code = s.category.clone();
    r.priority = s.priority.clone();
    r.owner_org_id = s.owner_org;
    r.returns = s.returns as i64;
    r.dispatches = s.dispatches as i64;
    r.total_returns = s.total_returns as i64;
    r.reworks = s.reworks as i64;
    r.due_at_ms = s.due_ms;
    r.overdue = s.overdue;
    r.extension_until_ms = s.extension_until_ms;
    r.satisfaction = s.satisfaction.map(|x| x.as_str().to_owned());
    r.merged_into = s.merged_into;
    r.filed_at_ms = s.filed_at_ms;
    r.closed_at_ms = s.closed_at_ms;
    r.closed_late = s.closed_late;
    r.filed_late = s.filed_late;
    r.summons = (!s.summoned.is_empty()).then(|| serde_json::to_string(&s.summoned).unwrap_or_default());
    r.summon_due_ms = s.summon_due_ms;
    r.cooperating = (!s.cooperating.is_empty()).then(|| serde_json::to_string(&s.cooperating).unwrap_or_default());
    r.updated_at_ms = now;
}

fn territory(r: &CaseRow) -> Result<TerritoryCode> {
    Ok(TerritoryCode::parse(&r.territory_code)?)
}

fn is_reporter(a: &Actor, r: &CaseRow) -> bool {
    r.reporter_id == Some(a.person_id)
}

/// Units working on the case besides the owner: cooperating and summoned ones.
pub(crate) fn helper_orgs(r: &CaseRow) -> Vec<i64> {
    let mut v: Vec<i64> = r.cooperating.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
    let summoned: Vec<wuzhi_domain::cases::Summons> =
        r.summons.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
    v.extend(summoned.into_iter().map(|s| s.org));
    v
}

pub(crate) fn can_read(a: &Actor, r: &CaseRow) -> Result<bool> {
    Ok(is_reporter(a, r)
        || r.owner_org_id.is_some_and(|o| a.member_of(o))
        || helper_orgs(r).into_iter().any(|o| a.member_of(o))
        || a.can(Action::ReadCase, &Target::territory(&territory(r)?)).is_ok())
}

fn forbid(action: &str) -> AppError {
    AppError::Forbidden { action: format!("{action} this case") }
}

/// Limit of a stage from the category, with the defaults for a case not yet classified.
fn limit(cat: Option<&CategoryRow>, stage: &str) -> TimeLimit {
    let text = cat.and_then(|c| match stage {
        "accept" => c.accept_limit.clone(),
        "handle" => c.handle_limit.clone(),
        _ => c.verify_limit.clone(),
    });
    let fallback = match stage {
        "accept" => TimeLimit::WorkingHours(2),
        "handle" => TimeLimit::WorkingDays(5),
        _ => TimeLimit::WorkingDays(1),
    };
    text.and_then(|t| TimeLimit::parse(stage, &t).ok()).unwrap_or(fallback)
}

async fn leaf_category(conn: &mut wuzhi_store::Conn, code: &str) -> Result<CategoryRow> {
    let cat = wuzhi_store::cases::get_category(conn, code)
        .await?
        .ok_or_else(|| AppError::invalid("category", format!("{code} is not in the taxonomy")))?;
    if cat.accept_limit.is_none() {
        return Err(AppError::invalid("category", format!("{code} ({}) is a class, not a leaf category", cat.name)));
    }
    Ok(cat)
}

/// Where a case is: the grid of its point, or the territory its address names.
fn place(app: &App, n: &NewCase) -> Result<(String, Option<(f64, f64)>)> {
    match (n.lon, n.lat) {
        (Some(lon), Some(lat)) => {
            let crs = n.crs.as_deref().map(Crs::parse).transpose()?.unwrap_or(Crs::Wgs84);
            let (x, y) = crate::locate::point(lon, lat, crs)?;
            let loc = app.locator().locate(x, y).ok_or_else(|| {
                AppError::invalid("lon", format!("({lon}, {lat}) is outside every grid of this city"))
            })?;
            Ok((loc.grid.code, Some((x, y))))
        }
        (None, None) => {
            let addr = n.address.as_deref().unwrap_or("").trim();
            if addr.is_empty() {
                return Err(AppError::invalid(
                    "address",
                    "give lon and lat, or an address naming a community, village or street",
                ));
            }
            let t = app.locator().match_address(addr).ok_or_else(|| {
                AppError::invalid("address", "names no community, village, street or district of this city")
            })?;
            Ok((t.code, None))
        }
        _ => Err(AppError::invalid(if n.lon.is_none() { "lon" } else { "lat" }, "lon and lat come together")),
    }
}

/// Intake: validates, locates, and stores a new case with its first event, or returns the
/// case an earlier submission with the same idempotency key created. Returns the case and
/// whether it is new.
pub async fn report(app: &App, actor: &Actor, n: NewCase) -> Result<(CaseView, bool)> {
    if n.channel == Channel::Sensor {
        return Err(AppError::invalid(
            "channel",
            "sensors report through /api/devices/{id}/events, signed with their key",
        ));
    }
    if n.channel == Channel::Open311 {
        return Err(AppError::invalid(
            "channel",
            "Open311 clients post to /open311/v2/requests.json with their api_key",
        ));
    }
    report_checked(app, Caller::Person(actor), n, None).await
}

/// Intake after the caller is known: a person (`actor`), or a device that proved its key
/// (`device`: its territory, which the report must lie in).
pub(crate) async fn report_checked(
    app: &App,
    caller: Caller<'_>,
    n: NewCase,
    device: Option<&TerritoryCode>,
) -> Result<(CaseView, bool)> {
    // People report on their channels; a device and an Open311 client on theirs, as themselves.
    let person = match (n.channel, caller) {
        (Channel::App | Channel::Hotline | Channel::Grid, Caller::Person(a)) => Some(a),
        (Channel::Sensor, Caller::System(System::Device))
        | (Channel::Open311, Caller::System(System::Open311Client)) => None,
        _ => return Err(AppError::Internal("a report's channel does not fit its caller".into())),
    };
    let pid = caller.person_id();
    let forbidden = |what: &str| AppError::Forbidden { action: what.into() };
    if !KINDS.contains(&n.kind.as_str()) {
        return Err(AppError::invalid("kind", format!("`{}` is not one of {}", n.kind, KINDS.join(", "))));
    }
    let subject = text::name("subject", &n.subject, 100)?;
    let description = n.description.trim().to_owned();
    if description.is_empty() || description.chars().count() > 5000 {
        return Err(AppError::invalid("description", "must be 1 to 5000 characters"));
    }
    let key = match &n.idempotency_key {
        Some(k) if k.is_empty() || k.len() > 100 => {
            return Err(AppError::invalid("idempotency_key", "must be 1 to 100 characters"));
        }
        // A system's keys are its own (`0`: no person), as they were when they were written.
        Some(k) => Some(format!("{}:{}:{k}", n.channel.as_str(), pid.unwrap_or(0))),
        None => None,
    };
    // A retry is recognised by the unique key at insert time (one query fewer on the common
    // path than looking it up first).
    let (code, point) = place(app, &n)?;
    let tcode = TerritoryCode::parse(&code)?;
    let (reporter_id, reporter_name, reporter_phone) = match n.channel {
        Channel::App => (pid, None, None),
        Channel::Hotline => {
            person.ok_or_else(|| forbidden("take calls"))?.can(Action::TakeCalls, &Target::territory(&tcode))?;
            let name = n.reporter_name.as_deref().map(|s| text::name("reporter_name", s, 50)).transpose()?;
            let phone = n.reporter_phone.as_deref().map(text::phone).transpose()?;
            (None, name, phone)
        }
        Channel::Open311 => {
            // The client's key was checked by the caller; the reporter is whoever it names.
            let name = n.reporter_name.as_deref().map(|s| text::name("first_name", s, 100)).transpose()?;
            let phone = n.reporter_phone.as_deref().map(text::phone).transpose()?;
            (None, name, phone)
        }
        Channel::Sensor => {
            let inside = device.is_some_and(|d| d.contains(&tcode));
            if !inside {
                return Err(AppError::invalid("lon", "the point is outside the device's territory"));
            }
            (None, None, None)
        }
        Channel::Grid => {
            person
                .and_then(|a| a.can(Action::ReadCase, &Target::territory(&tcode)).ok())
                .ok_or_else(|| forbidden("report a patrol finding outside one's own grid"))?;
            (pid, None, None)
        }
    };
    let now = app.now_ms();
    let cal = app.calendar();
    let mut conn = app.db.read().await?;
    let cat = match &n.category {
        Some(c) => Some(leaf_category(&mut conn, c).await?),
        None => None,
    };
    drop(conn);
    let fixed = match (&n.fixed_on_spot, n.channel) {
        (Some(_), ch) if ch != Channel::Grid => {
            return Err(AppError::invalid(
                "fixed_on_spot",
                "only a grid worker's patrol finding can be fixed on the spot",
            ));
        }
        (Some(_), _) if cat.is_none() => {
            return Err(AppError::invalid("category", "a case fixed on the spot needs its category"));
        }
        (Some(r), _) => Some(r.clone()),
        (None, _) => None,
    };
    let due = cal.due(now, limit(cat.as_ref(), "accept"));
    // 就地解决: decided before anything is written; owned by the worker's own unit of the grid.
    let fixed = match (fixed, &cat) {
        (Some(result), Some(cat)) => {
            let actor = person.ok_or_else(|| forbid("fix on the spot"))?;
            let org = actor
                .grants
                .iter()
                .find(|g| g.role.grants().contains(&Action::FixOnSpot) && g.scope.contains(&tcode))
                .and_then(|g| g.org)
                .ok_or_else(|| forbid("fix on the spot"))?;
            let fix = FixOnSpot {
                category: cat.code.clone(),
                priority: cat.priority.clone().unwrap_or_else(|| "normal".into()),
                org,
                result,
                due_ms: due,
            };
            let rel = Relation::of(Caller::Person(actor), &tcode, None, Some(actor.person_id));
            CaseState::reported(due).fix_on_spot(&rel, &fix).map_err(refusal)?
        }
        _ => Vec::new(),
    };
    let mut row = CaseRow {
        channel: n.channel.as_str().into(),
        kind: n.kind.clone(),
        subject,
        description,
        // The reporter's choice, kept as a suggestion until the case is filed.
        category_code: cat.as_ref().map(|c| c.code.clone()),
        status: Status::Reported.as_str().into(),
        lon: point.map(|p| p.0),
        lat: point.map(|p| p.1),
        address: n.address.clone().filter(|a| !a.trim().is_empty()),
        territory_code: code,
        reporter_id,
        reporter_name,
        reporter_phone,
        reporter_email: n.reporter_email.clone(),
        attributes: n.attributes.clone(),
        anonymous: n.anonymous,
        public: wuzhi_domain::cases::public::at_intake(n.channel.as_str(), n.anonymous, n.public),
        due_at_ms: Some(due),
        created_at_ms: now,
        updated_at_ms: now,
        version: 1,
        ..Default::default()
    };
    let first = Event::Reported { due_ms: due, suggested: cat.as_ref().map(|c| c.code.clone()) };
    let first_data = event_json(&first, None);
    if fixed.is_empty() {
        // The common path: through the group-commit writer.
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = crate::intake::Job {
            row: row.clone(),
            key: key.clone(),
            first_kind: first.kind(),
            first_data: first_data.clone(),
            actor: pid,
            reply,
        };
        app.intake.send(job).await.map_err(|_| AppError::Internal("the intake writer has stopped".into()))?;
        let written = answer.await.map_err(|_| AppError::Internal("the intake writer dropped a case".into()))?;
        return match written.map_err(AppError::Internal)? {
            Some(id) => {
                row.id = id;
                // The answer is built from what was just written: no second read.
                let timeline = vec![TimelineEntry {
                    seq: 1,
                    at_ms: now,
                    at: format_local(now),
                    actor_id: pid,
                    kind: first.kind().to_owned(),
                    data: serde_json::from_str(&first_data).unwrap_or(serde_json::Value::Null),
                }];
                Ok((view(caller, row, false, Some(timeline))?, true))
            }
            None => {
                let mut conn = app.db.read().await?;
                let id = wuzhi_store::cases::by_idempotency_key(&mut conn, key.as_deref().unwrap_or(""))
                    .await?
                    .ok_or(AppError::not_found("case"))?;
                drop(conn);
                Ok((get_as(app, caller, id).await?, false))
            }
        };
    }
    let mut tx = app.db.write().await?;
    let Some(id) = wuzhi_store::cases::insert_counted(&mut tx, &row, key.as_deref()).await? else {
        // A retry of a case already written: answer with it.
        drop(tx);
        let mut conn = app.db.read().await?;
        let id = wuzhi_store::cases::by_idempotency_key(&mut conn, key.as_deref().unwrap_or(""))
            .await?
            .ok_or(AppError::not_found("case"))?;
        drop(conn);
        return Ok((get_as(app, caller, id).await?, false));
    };
    row.id = id;
    wuzhi_store::cases::append_event_at(&mut tx, id, Some(1), now, pid, first.kind(), &first_data).await?;
    if !fixed.is_empty() {
        let mut state = CaseState::reported(0).apply(&first, now);
        for e in &fixed {
            if let Some((org, d, r)) = wuzhi_domain::kpi::unit_tally(&state, e) {
                wuzhi_store::cases::add_unit_tally(&mut tx, id, org, d, r).await?;
            }
            state = state.apply(e, now);
            wuzhi_store::cases::append_event(&mut tx, id, now, pid, e.kind(), &event_json(e, None)).await?;
        }
        let before = row.clone();
        project(&mut row, &state, now);
        wuzhi_store::cases::update(&mut tx, &before, &row).await?;
    }
    wuzhi_store::commit(tx).await?;
    Ok((get_as(app, caller, id).await?, true))
}

fn event_json(e: &Event, extra: Option<serde_json::Value>) -> String {
    let mut v = serde_json::to_value(e).unwrap_or_default();
    if let (Some(obj), Some(serde_json::Value::Object(x))) = (v.as_object_mut(), extra) {
        obj.extend(x);
    }
    v.to_string()
}

/// The unit a case goes to by the rules: the category's default organisation on the case's
/// territory or the nearest above it; failing that, the nearest command centre.
async fn rule_target(app: &App, conn: &mut wuzhi_store::Conn, r: &CaseRow, cat: Option<&CategoryRow>) -> Result<i64> {
    let chain = app.locator().chain(&r.territory_code);
    if let Some(spec) = cat.and_then(|c| c.default_org.clone()) {
        let (kind, name) = match spec.split_once(':') {
            Some((k, n)) => (k.to_owned(), Some(n.to_owned())),
            None => (spec.clone(), None),
        };
        if let Some(id) = wuzhi_store::cases::find_org_for(conn, &kind, name.as_deref(), &chain).await? {
            return Ok(id);
        }
    }
    wuzhi_store::cases::find_org_for(conn, "command_centre", None, &chain)
        .await?
        .ok_or_else(|| AppError::invalid("org_id", "no unit is responsible by the rules; name one"))
}

/// The command centre one level above the case's owner (or above the case's own territory
/// when it has no owner yet): where escalations go.
pub(crate) async fn command_centre_above(
    app: &App,
    conn: &mut wuzhi_store::Conn,
    row: &CaseRow,
) -> Result<Option<i64>> {
    let from = match row.owner_org_id {
        Some(o) => {
            wuzhi_store::org::get(conn, o).await?.map(|o| o.territory_code).unwrap_or(row.territory_code.clone())
        }
        None => row.territory_code.clone(),
    };
    let mut above = app.locator().chain(&from);
    above.remove(0);
    Ok(wuzhi_store::cases::find_org_for(conn, "command_centre", None, &above).await?)
}

/// One step of the loop.
pub async fn act(app: &App, actor: &Actor, id: i64, cmd: Command) -> Result<CaseView> {
    take(app, Caller::Person(actor), id, cmd, None).await?;
    get(app, actor, id, false).await
}

/// The caller's relation to the case read as `r`.
pub(crate) fn relation(caller: Caller<'_>, r: &CaseRow) -> Result<Relation> {
    Ok(Relation::of(caller, &territory(r)?, r.owner_org_id, r.reporter_id))
}

/// The domain's refusal as the caller sees it.
pub(crate) fn refusal(e: Refusal) -> AppError {
    match e {
        Refusal::Forbidden { step } => forbid(step),
        Refusal::State { .. } => AppError::Conflict { field: "action".into(), reason: e.to_string() },
        Refusal::Invalid(i) => i.into(),
    }
}

/// Takes a step as `caller`, with `note`'s fields recorded in the event. The relation is
/// checked before anything is looked up; the request is then resolved (units found, due
/// times computed on the calendar) and `decide` has the last word.
pub(crate) async fn take(
    app: &App,
    caller: Caller<'_>,
    id: i64,
    cmd: Command,
    note: Option<serde_json::Value>,
) -> Result<()> {
    let now = app.now_ms();
    let cal = app.calendar();
    let mut tx = app.db.write().await?;
    let mut row =
        wuzhi_store::cases::get(&mut tx, id).await?.ok_or_else(|| AppError::not_found(format!("case {id}")))?;
    if let Caller::Person(actor) = caller {
        if !can_read(actor, &row)? {
            return Err(forbid("read"));
        }
    }
    let state = state_of(&row)?;
    let rel = relation(caller, &row)?;
    let name = cmd.name();
    if !rel.permits(cmd.step()) {
        return Err(forbid(name));
    }
    let cat = match &row.category_code {
        Some(c) => wuzhi_store::cases::get_category(&mut tx, c).await?,
        None => None,
    };
    let mut extra = note;
    let mut also: Option<(i64, DomainCommand)> = None;
    let due = |stage: &str| cal.due(now, limit(cat.as_ref(), stage));
    let command = match cmd {
        Command::File { category, priority } => {
            let category = category
                .or_else(|| row.category_code.clone())
                .ok_or_else(|| AppError::invalid("category", "is required: the report suggested none"))?;
            let c = leaf_category(&mut tx, &category).await?;
            let priority = match priority {
                Some(p) if ["emergency", "urgent", "normal"].contains(&p.as_str()) => p,
                Some(p) => {
                    return Err(AppError::invalid("priority", format!("`{p}` is not emergency, urgent or normal")));
                }
                None => c.priority.clone().unwrap_or_else(|| "normal".into()),
            };
            DomainCommand::File { due_ms: cal.due(now, limit(Some(&c), "accept")), category: c.code, priority }
        }
        Command::Reject { reason } => DomainCommand::Reject { reason },
        Command::Dispatch { org_id, assign } => {
            let org = match org_id {
                Some(o) => {
                    wuzhi_store::org::get(&mut tx, o)
                        .await?
                        .ok_or_else(|| AppError::invalid("org_id", format!("organisation {o} does not exist")))?;
                    o
                }
                None if assign => {
                    return Err(AppError::invalid("org_id", "assigning an owner names the organisation"));
                }
                None => rule_target(app, &mut tx, &row, cat.as_ref()).await?,
            };
            DomainCommand::Dispatch { org, due_ms: due("accept"), assigned: assign }
        }
        Command::Accept => DomainCommand::Accept { due_ms: due("handle") },
        Command::Return { reason } => DomainCommand::Return { reason },
        Command::Handle { result } => DomainCommand::Handle { result },
        Command::Verify { note } => DomainCommand::Verify { note },
        Command::Rework { reason } => DomainCommand::Rework { reason, due_ms: due("handle") },
        Command::RequestExtension { working_days, reason } => {
            if !(1..=60).contains(&working_days) {
                return Err(AppError::invalid("working_days", "must be 1 to 60"));
            }
            let from = row.due_at_ms.unwrap_or(now);
            DomainCommand::RequestExtension { until_ms: cal.due(from, TimeLimit::WorkingDays(working_days)), reason }
        }
        Command::DecideExtension { granted, note } => DomainCommand::DecideExtension { granted, note },
        Command::Park { reason } => DomainCommand::Park { reason },
        Command::Unpark => DomainCommand::Unpark { due_ms: due("handle") },
        Command::Escalate { reason } => {
            let org = command_centre_above(app, &mut tx, &row).await?.ok_or_else(|| AppError::Conflict {
                field: "action".into(),
                reason: "there is no command centre above".into(),
            })?;
            DomainCommand::Escalate { org, reason, due_ms: due("accept") }
        }
        Command::Merge { into } => {
            if into == id {
                return Err(AppError::invalid("into", "a case cannot be merged into itself"));
            }
            let main = wuzhi_store::cases::get(&mut tx, into)
                .await?
                .ok_or_else(|| AppError::invalid("into", format!("case {into} does not exist")))?;
            if !relation(caller, &main)?.permits(Step::Merge) {
                return Err(forbid(name));
            }
            if !Status::parse(&main.status)?.is_open() {
                return Err(AppError::invalid(
                    "into",
                    format!("case {into} is {}; merge into an open case", main.status),
                ));
            }
            also = Some((into, DomainCommand::Comment { text: format!("合并重复案件 #{id}") }));
            DomainCommand::Merge { into }
        }
        Command::Comment { text } => DomainCommand::Comment { text },
        Command::Reopen { reason } => DomainCommand::Reopen { reason, due_ms: due("handle") },
        Command::Summon { org_ids, hours } => {
            if org_ids.len() <= 20 {
                for o in &org_ids {
                    wuzhi_store::org::get(&mut tx, *o)
                        .await?
                        .ok_or_else(|| AppError::invalid("org_ids", format!("organisation {o} does not exist")))?;
                }
            }
            let hours = hours.unwrap_or(2);
            if !(1..=72).contains(&hours) {
                return Err(AppError::invalid("hours", "must be 1 to 72"));
            }
            DomainCommand::Summon { orgs: org_ids, due_ms: now + hours as i64 * 3_600_000 }
        }
        Command::CheckIn { org_id } => DomainCommand::CheckIn { org: org_id },
        Command::AssignJoint { lead, cooperating } => {
            for o in std::iter::once(&lead).chain(&cooperating) {
                wuzhi_store::org::get(&mut tx, *o)
                    .await?
                    .ok_or_else(|| AppError::invalid("cooperating", format!("organisation {o} does not exist")))?;
            }
            DomainCommand::AssignJoint { lead, cooperating, due_ms: due("accept") }
        }
        Command::Rate { satisfaction, text } => {
            extra = Some(json!({"by": "reporter"}));
            DomainCommand::Rate { satisfaction: Satisfaction::parse(&satisfaction)?, text }
        }
    };
    step_in(&mut tx, &mut row, &state, &rel, &command, caller, extra, now).await?;
    if let Some((main, c)) = also {
        // The note on the main case is the merge's own record, taken by the same caller.
        let mut main_row =
            wuzhi_store::cases::get(&mut tx, main).await?.ok_or_else(|| AppError::not_found(format!("case {main}")))?;
        let main_state = state_of(&main_row)?;
        let main_rel = relation(caller, &main_row)?;
        step_in(&mut tx, &mut main_row, &main_state, &main_rel, &c, caller, None, now).await?;
    }
    wuzhi_store::commit(tx).await?;
    Ok(())
}

/// The kernel's step for a case inside the caller's transaction: `decide`, `apply`, the
/// projection written under the version check, the event and its outbox row appended.
/// Returns the event's seq.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn step_in(
    tx: &mut wuzhi_store::Tx,
    row: &mut CaseRow,
    state: &CaseState,
    rel: &Relation,
    command: &DomainCommand,
    caller: Caller<'_>,
    extra: Option<serde_json::Value>,
    now: i64,
) -> Result<i64> {
    let event = state.decide(rel, command, now).map_err(refusal)?;
    let mut extra = extra;
    if let Some(system) = caller.system() {
        let by = json!({"system": system.as_str()});
        extra = Some(match extra {
            Some(serde_json::Value::Object(mut m)) => {
                m.entry("system").or_insert(by["system"].clone());
                serde_json::Value::Object(m)
            }
            _ => by,
        });
    }
    if let Some((org, d, r)) = wuzhi_domain::kpi::unit_tally(state, &event) {
        wuzhi_store::cases::add_unit_tally(tx, row.id, org, d, r).await?;
    }
    let next = state.apply(&event, now);
    let before = row.clone();
    project(row, &next, now);
    wuzhi_store::cases::update(tx, &before, row).await.map_err(|e| match e {
        StoreError::NotFound => {
            AppError::Conflict { field: "version".into(), reason: "the case changed meanwhile; reload it".into() }
        }
        other => other.into(),
    })?;
    Ok(wuzhi_store::cases::append_event(tx, row.id, now, caller.person_id(), event.kind(), &event_json(&event, extra))
        .await?)
}

/// A step on one case by a part of the system, in a transaction of its own; returns the
/// event's seq.
pub(crate) async fn system_step(app: &App, system: System, id: i64, command: DomainCommand) -> Result<i64> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let mut row =
        wuzhi_store::cases::get(&mut tx, id).await?.ok_or_else(|| AppError::not_found(format!("case {id}")))?;
    let state = state_of(&row)?;
    let caller = Caller::System(system);
    let rel = relation(caller, &row)?;
    let seq = step_in(&mut tx, &mut row, &state, &rel, &command, caller, None, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(seq)
}

/// The steps the actor may take now: what `decide` accepts.
fn allowed(caller: Caller<'_>, r: &CaseRow, s: &CaseState, now: i64) -> Vec<String> {
    match relation(caller, r) {
        Ok(rel) => s.available(&rel, now).into_iter().map(|x| x.as_str().to_owned()).collect(),
        Err(_) => Vec::new(),
    }
}

/// A case as the actor sees it in a list (personal data masked).
pub(crate) fn view_of(actor: &Actor, r: CaseRow) -> Result<CaseView> {
    view(Caller::Person(actor), r, false, None)
}

fn view(caller: Caller<'_>, r: CaseRow, reveal: bool, timeline: Option<Vec<TimelineEntry>>) -> Result<CaseView> {
    let state = state_of(&r)?;
    // The steps of the actions form do not depend on the time (only the sweep's overdue
    // mark does, and it is not offered to people).
    let actions = allowed(caller, &r, &state, r.updated_at_ms);
    let own = caller.person_id().is_some_and(|p| r.reporter_id == Some(p));
    let hidden = r.anonymous && !own;
    let reporter = Reporter {
        name: if hidden {
            None
        } else if reveal || own {
            r.reporter_name.clone()
        } else {
            r.reporter_name.as_deref().map(mask::name)
        },
        phone: if hidden {
            None
        } else if reveal || own {
            r.reporter_phone.clone()
        } else {
            r.reporter_phone.as_deref().map(mask::phone)
        },
        email: if hidden {
            None
        } else if reveal || own {
            r.reporter_email.clone()
        } else {
            r.reporter_email.as_deref().map(mask::email)
        },
        anonymous: r.anonymous,
        revealed: (reveal || own) && !hidden,
    };
    Ok(CaseView {
        id: r.id,
        channel: r.channel,
        kind: r.kind,
        subject: r.subject,
        description: r.description,
        category_code: r.category_code,
        priority: r.priority,
        status: r.status,
        lon: r.lon,
        lat: r.lat,
        address: r.address,
        territory_code: r.territory_code,
        reporter,
        owner_org_id: r.owner_org_id,
        due_at: r.due_at_ms.map(format_local),
        due_at_ms: r.due_at_ms,
        overdue: r.overdue,
        returns: r.returns,
        reworks: r.reworks,
        extension_until_ms: r.extension_until_ms,
        satisfaction: r.satisfaction,
        merged_into: r.merged_into,
        summoned: state.summoned.clone(),
        summon_due_ms: state.summon_due_ms,
        cooperating: state.cooperating.clone(),
        created_at_ms: r.created_at_ms,
        filed_at_ms: r.filed_at_ms,
        closed_at_ms: r.closed_at_ms,
        actions,
        timeline,
    })
}

/// One case with its timeline. `reveal` shows the caller's name and phone to roles that
/// may read personal data (audited).
pub async fn get(app: &App, actor: &Actor, id: i64, reveal: bool) -> Result<CaseView> {
    let mut conn = app.db.read().await?;
    let row = wuzhi_store::cases::get(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("case {id}")))?;
    if !can_read(actor, &row)? {
        return Err(forbid("read"));
    }
    if reveal && !is_reporter(actor, &row) {
        actor.can(Action::ReadPersonalData, &Target::territory(&territory(&row)?))?;
        if row.anonymous {
            return Err(AppError::Forbidden { action: "reveal an anonymous reporter".into() });
        }
    }
    let events = wuzhi_store::cases::events(&mut conn, id).await?;
    drop(conn);
    if reveal
        && !is_reporter(actor, &row)
        && (row.reporter_name.is_some() || row.reporter_phone.is_some() || row.reporter_email.is_some())
    {
        let mut tx = app.db.write().await?;
        crate::audit::record(
            &mut tx,
            app.now_ms(),
            Some(actor),
            "read_personal_data",
            "case",
            &id.to_string(),
            json!({"fields": ["reporter_name", "reporter_phone", "reporter_email"]}),
        )
        .await?;
        wuzhi_store::commit(tx).await?;
    }
    let timeline = events.into_iter().map(timeline_entry).collect();
    view(Caller::Person(actor), row, reveal, Some(timeline))
}

/// One case with its timeline as `caller` sees it: a person through [`get`]; a part of the
/// system (a device, an Open311 client) answered about the case it just reported, which its
/// key already entitled it to.
async fn get_as(app: &App, caller: Caller<'_>, id: i64) -> Result<CaseView> {
    let Caller::Person(actor) = caller else {
        let mut conn = app.db.read().await?;
        let row =
            wuzhi_store::cases::get(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("case {id}")))?;
        let events = wuzhi_store::cases::events(&mut conn, id).await?;
        return view(caller, row, false, Some(events.into_iter().map(timeline_entry).collect()));
    };
    get(app, actor, id, false).await
}

fn timeline_entry(e: wuzhi_store::cases::EventRow) -> TimelineEntry {
    TimelineEntry {
        seq: e.seq,
        at: format_local(e.at_ms),
        at_ms: e.at_ms,
        actor_id: e.actor_id,
        kind: e.kind,
        data: serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null),
    }
}

#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    pub status: Option<String>,
    pub category: Option<String>,
    pub overdue: Option<bool>,
    pub before: Option<i64>,
    pub limit: Option<i64>,
    /// Only inside this territory.
    pub territory: Option<String>,
    pub channel: Option<String>,
    /// Reported on or after this day (YYYY-MM-DD, Asia/Shanghai).
    pub from: Option<String>,
    /// Reported on or before this day.
    pub to: Option<String>,
}

/// The list's filters, checked: each bad one is named.
pub(crate) struct CheckedFilter {
    pub territory: Option<TerritoryCode>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

pub(crate) fn checked_filter(q: &ListQuery) -> Result<CheckedFilter> {
    if let Some(s) = &q.status {
        Status::parse(s)?;
    }
    if let Some(c) = &q.category {
        if c.is_empty() || !c.chars().all(|ch| ch.is_ascii_alphanumeric()) {
            return Err(AppError::invalid("category", "must be a category code (letters and digits)"));
        }
    }
    let territory = q
        .territory
        .as_deref()
        .map(TerritoryCode::parse)
        .transpose()
        .map_err(|e| AppError::invalid("territory", e.reason))?;
    if let Some(c) = &q.channel {
        if !["app", "hotline", "grid", "sensor", "open311"].contains(&c.as_str()) {
            return Err(AppError::invalid("channel", format!("`{c}` is not app, hotline, grid, sensor or open311")));
        }
    }
    let day = |field: &str, s: &Option<String>| -> Result<Option<i64>> {
        Ok(s.as_deref().map(|d| wuzhi_domain::calendar::parse_day(field, d)).transpose()?)
    };
    let offset = wuzhi_domain::calendar::OFFSET_MS;
    let from_ms = day("from", &q.from)?.map(|d| d * 86_400_000 - offset);
    let to_ms = day("to", &q.to)?.map(|d| (d + 1) * 86_400_000 - offset);
    Ok(CheckedFilter { territory, from_ms, to_ms })
}

/// Cases the actor may see: in their territories, owned by their units, or reported by them;
/// newest first.
pub async fn list(app: &App, actor: &Actor, q: &ListQuery) -> Result<Vec<CaseView>> {
    let limit = crate::page_limit(q.limit)?;
    let CheckedFilter { territory, from_ms, to_ms } = checked_filter(q)?;
    let scopes = actor.scopes_for(Action::ReadCase);
    let prefixes: Vec<&str> = scopes.iter().map(|s| s.scope_prefix()).collect();
    let filter = wuzhi_store::cases::Filter {
        territory_prefix: territory.as_ref().map(|t| t.scope_prefix()),
        channel: q.channel.as_deref(),
        created_from_ms: from_ms,
        created_to_ms: to_ms,
        scopes: prefixes,
        owner_orgs: actor.orgs(),
        reporter: Some(actor.person_id),
        status: q.status.as_deref(),
        category_prefix: q.category.as_deref(),
        overdue: q.overdue,
        before_id: q.before,
        limit,
    };
    let mut conn = app.db.read().await?;
    let rows = wuzhi_store::cases::list(&mut conn, &filter).await?;
    rows.into_iter().map(|r| view(Caller::Person(actor), r, false, None)).collect()
}

/// The columns of a case export (no personal data).
const EXPORT_COLUMNS: [&str; 17] = [
    "id",
    "channel",
    "kind",
    "subject",
    "category_code",
    "priority",
    "status",
    "territory_code",
    "lon",
    "lat",
    "owner_org_id",
    "created_at",
    "filed_at",
    "closed_at",
    "due_at",
    "overdue",
    "satisfaction",
];

fn export_cells(c: &CaseView) -> Vec<String> {
    let opt = |v: Option<String>| v.unwrap_or_default();
    vec![
        c.id.to_string(),
        c.channel.clone(),
        c.kind.clone(),
        c.subject.clone(),
        opt(c.category_code.clone()),
        opt(c.priority.clone()),
        c.status.clone(),
        c.territory_code.clone(),
        opt(c.lon.map(|v| format!("{v:.6}"))),
        opt(c.lat.map(|v| format!("{v:.6}"))),
        opt(c.owner_org_id.map(|v| v.to_string())),
        format_local(c.created_at_ms),
        opt(c.filed_at_ms.map(format_local)),
        opt(c.closed_at_ms.map(format_local)),
        opt(c.due_at.clone()),
        c.overdue.to_string(),
        opt(c.satisfaction.clone()),
    ]
}

/// A cell as a spreadsheet will not run it: text that begins like a formula (`=`, `+`, `-`,
/// `@`, or a tab or carriage return before one) gets a leading apostrophe, which spreadsheets
/// show as text. Numbers (a negative longitude) are left as they are.
pub(crate) fn csv_cell(v: &str) -> String {
    let risky = v.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && v.parse::<f64>().is_err() { format!("'{v}") } else { v.to_owned() }
}

/// Every case the actor may see that matches the filter (in pages, newest first), as CSV,
/// Excel or GeoJSON. Reporters' names and phones are never exported.
pub async fn export(app: &App, actor: &Actor, q: &ListQuery, format: &str) -> Result<(String, Vec<u8>)> {
    if !["csv", "xlsx", "geojson"].contains(&format) {
        return Err(AppError::invalid("format", format!("`{format}` is not csv, xlsx or geojson")));
    }
    let mut rows: Vec<CaseView> = Vec::new();
    let mut before = q.before;
    loop {
        let page = list(app, actor, &ListQuery { before, limit: Some(1000), ..q.clone() }).await?;
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        rows.extend(page);
        if rows.len() >= 100_000 {
            return Err(AppError::invalid("limit", "more than 100000 cases match; narrow the filter"));
        }
    }
    // Encoding up to 100,000 rows takes a while: on the blocking threads, not the request path.
    let format = format.to_owned();
    tokio::task::spawn_blocking(move || encode(&format, &rows))
        .await
        .map_err(|e| AppError::Internal(format!("export task: {e}")))?
}

/// The rows as CSV, Excel or GeoJSON.
fn encode(format: &str, rows: &[CaseView]) -> Result<(String, Vec<u8>)> {
    let err = |e: String| AppError::Internal(e);
    match format {
        "csv" => {
            let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
            w.write_record(EXPORT_COLUMNS).map_err(|e| err(e.to_string()))?;
            for c in rows {
                w.write_record(export_cells(c).iter().map(|v| csv_cell(v))).map_err(|e| err(e.to_string()))?;
            }
            Ok(("text/csv; charset=utf-8".into(), w.into_inner().map_err(|e| err(e.to_string()))?))
        }
        "xlsx" => {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            let x = |e: rust_xlsxwriter::XlsxError| err(e.to_string());
            sheet.set_name("案件").map_err(x)?;
            for (i, h) in EXPORT_COLUMNS.iter().enumerate() {
                sheet.write_string(0, i as u16, *h).map_err(x)?;
            }
            for (r, c) in rows.iter().enumerate() {
                for (i, v) in export_cells(c).into_iter().enumerate() {
                    sheet.write_string(r as u32 + 1, i as u16, v).map_err(x)?;
                }
            }
            Ok((
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into(),
                book.save_to_buffer().map_err(x)?,
            ))
        }
        _ => {
            let features: Vec<serde_json::Value> = rows
                .iter()
                .filter_map(|c| {
                    let (lon, lat) = (c.lon?, c.lat?);
                    let props: serde_json::Map<String, serde_json::Value> = EXPORT_COLUMNS
                        .iter()
                        .zip(export_cells(c))
                        .filter(|(k, _)| !matches!(**k, "lon" | "lat"))
                        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v)))
                        .collect();
                    Some(json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}))
                })
                .collect();
            let fc = json!({"type": "FeatureCollection", "features": features});
            Ok(("application/geo+json".into(), fc.to_string().into_bytes()))
        }
    }
}

/// Parses `YYYY-MM-DD HH:MM[:SS]` (or with `T`) in Asia/Shanghai time.
pub(crate) fn parse_local(field: &str, s: &str) -> Result<i64> {
    let s = s.trim();
    let bad = || AppError::invalid(field, format!("`{s}` is not a time YYYY-MM-DD HH:MM[:SS]"));
    let (d, t) = s.split_once([' ', 'T']).ok_or_else(bad)?;
    let day = wuzhi_domain::calendar::parse_day(field, d).map_err(|_| bad())?;
    let parts: Vec<i64> = t.split(':').map(|p| p.parse::<i64>()).collect::<Result<_, _>>().map_err(|_| bad())?;
    let (h, m, sec) = match parts.as_slice() {
        [h, m] => (*h, *m, 0),
        [h, m, s] => (*h, *m, *s),
        _ => return Err(bad()),
    };
    if !(0..24).contains(&h) || !(0..60).contains(&m) || !(0..60).contains(&sec) {
        return Err(bad());
    }
    Ok(day * wuzhi_domain::calendar::DAY_MS + (h * 3600 + m * 60 + sec) * 1000 - wuzhi_domain::calendar::OFFSET_MS)
}

/// Imports historical cases from CSV (`external_id,kind,subject,description,category,lon,lat,
/// address,created_at,status,closed_at,satisfaction`; status `open` or `closed`), all or
/// nothing: every bad row is reported by line. A row whose `external_id` was imported before
/// is skipped. City administrators only. Returns (imported, skipped).
pub async fn import_csv(app: &App, caller: Caller<'_>, text: &str) -> Result<(usize, usize)> {
    let actor = caller.person();
    crate::require_city_admin(caller, "import cases")?;
    use wuzhi_geo::ImportError;
    let mut conn = app.db.read().await?;
    let cats: std::collections::HashMap<String, CategoryRow> =
        wuzhi_store::cases::categories(&mut conn).await?.into_iter().map(|c| (c.code.clone(), c)).collect();
    drop(conn);
    let cal = app.calendar();
    let loc = app.locator();
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| AppError::invalid("header", e.to_string()))?.clone();
    let col = |n: &str| headers.iter().position(|h| h.trim() == n);
    for required in ["external_id", "subject", "created_at"] {
        if col(required).is_none() {
            return Err(AppError::invalid("header", format!("needs a {required} column")));
        }
    }
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(ImportError {
                    location: format!("line {line}"),
                    field: "row".into(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |n: &str| col(n).and_then(|c| rec.get(c)).map(str::trim).filter(|s| !s.is_empty());
        let one = || -> Result<(CaseRow, String, i64)> {
            let ext = get("external_id").ok_or_else(|| AppError::invalid("external_id", "is empty"))?;
            let kind = get("kind").unwrap_or("request");
            if !KINDS.contains(&kind) {
                return Err(AppError::invalid("kind", format!("`{kind}` is not one of {}", KINDS.join(", "))));
            }
            let subject = text::name("subject", get("subject").unwrap_or(""), 100)?;
            let description = get("description").unwrap_or(&subject).chars().take(5000).collect::<String>();
            let closed_row = get("status") == Some("closed");
            let cat = match get("category") {
                // A closed historical case may carry a coarser class than today's leaves.
                Some(c) => Some(
                    cats.get(c)
                        .filter(|c| closed_row || c.accept_limit.is_some())
                        .ok_or_else(|| AppError::invalid("category", format!("{c} is not a leaf of the taxonomy")))?,
                ),
                None => None,
            };
            let supports = match get("supports") {
                Some(n) => n
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| AppError::invalid("supports", format!("`{n}` is not a count")))?,
                None => 0,
            };
            let (territory, point) = match (get("lon"), get("lat")) {
                (Some(x), Some(y)) => {
                    let (x, y): (f64, f64) = (
                        x.parse().map_err(|_| AppError::invalid("lon", "is not a number"))?,
                        y.parse().map_err(|_| AppError::invalid("lat", "is not a number"))?,
                    );
                    let (x, y) = crate::locate::point(x, y, Crs::Wgs84)?;
                    let g =
                        loc.locate(x, y).ok_or_else(|| AppError::invalid("lon", "the point is outside every grid"))?;
                    (g.grid.code, Some((x, y)))
                }
                _ if get("territory").is_some() => {
                    let t = get("territory").unwrap_or_default();
                    if loc.name_of(t).is_none() {
                        return Err(AppError::invalid("territory", format!("{t} is not a territory of this city")));
                    }
                    (t.to_owned(), None)
                }
                _ => {
                    let a = get("address")
                        .ok_or_else(|| AppError::invalid("address", "give lon and lat, a territory, or an address"))?;
                    (
                        loc.match_address(a)
                            .ok_or_else(|| AppError::invalid("address", "names no territory of this city"))?
                            .code,
                        None,
                    )
                }
            };
            let created = parse_local("created_at", get("created_at").unwrap_or(""))?;
            let closed = match get("status").unwrap_or("open") {
                "open" => None,
                "closed" => {
                    let c = parse_local(
                        "closed_at",
                        get("closed_at").ok_or_else(|| AppError::invalid("closed_at", "a closed case needs it"))?,
                    )?;
                    if c < created {
                        return Err(AppError::invalid("closed_at", "is before created_at"));
                    }
                    Some(c)
                }
                s => return Err(AppError::invalid("status", format!("`{s}` is not open or closed"))),
            };
            let satisfaction = get("satisfaction").map(Satisfaction::parse).transpose()?;
            if satisfaction.is_some() && closed.is_none() {
                return Err(AppError::invalid("satisfaction", "only a closed case is rated"));
            }
            let handle_due = cal.due(created, limit(cat, "handle"));
            let row = CaseRow {
                channel: "import".into(),
                kind: kind.into(),
                subject,
                description,
                category_code: cat.map(|c| c.code.clone()),
                priority: cat.and_then(|c| c.priority.clone()),
                status: if closed.is_some() { "closed" } else { "filed" }.into(),
                lon: point.map(|p| p.0),
                lat: point.map(|p| p.1),
                address: get("address").map(str::to_owned),
                territory_code: territory,
                filed_at_ms: Some(created),
                closed_at_ms: closed,
                closed_late: closed.is_some_and(|c| c > handle_due),
                due_at_ms: if closed.is_some() { None } else { Some(handle_due) },
                satisfaction: satisfaction.map(|s| s.as_str().to_owned()),
                created_at_ms: created,
                updated_at_ms: created,
                version: 1,
                ..Default::default()
            };
            Ok((row, ext.to_owned(), supports))
        };
        match one() {
            Ok(r) => rows.push(r),
            Err(AppError::Invalid { field, reason }) => {
                errors.push(ImportError { location: format!("line {line}"), field, reason })
            }
            Err(e) => return Err(e),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Import(errors));
    }
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let (mut imported, mut skipped) = (0, 0);
    for (mut row, ext, supports) in rows {
        let Some(id) = wuzhi_store::cases::insert_counted(&mut tx, &row, Some(&format!("import:{ext}"))).await? else {
            skipped += 1;
            continue;
        };
        row.id = id;
        if supports > 0 {
            wuzhi_store::text::add_supports(&mut tx, id, supports).await?;
        }
        // The insert counted the row as a whole; this writes the fields it does not take.
        wuzhi_store::cases::update(&mut tx, &row, &row).await?;
        // The timeline starts with the history as the other system recorded it: a real event,
        // so replaying it gives the row just written.
        let history = History {
            external_id: ext,
            category: row.category_code.clone(),
            priority: row.priority.clone(),
            filed_at_ms: row.filed_at_ms.unwrap_or(row.created_at_ms),
            closed_at_ms: row.closed_at_ms,
            closed_late: row.closed_late,
            due_ms: row.due_at_ms,
            satisfaction: row.satisfaction.as_deref().map(Satisfaction::parse).transpose()?,
        };
        debug_assert_eq!(history.state().status.as_str(), row.status);
        let e = Event::Imported { history };
        wuzhi_store::cases::append_event_written(
            &mut tx,
            id,
            Some(1),
            row.created_at_ms,
            now,
            None,
            e.kind(),
            &event_json(&e, Some(json!({"system": System::CommandLine.as_str()}))),
        )
        .await?;
        imported += 1;
    }
    crate::audit::record(
        &mut tx,
        now,
        actor,
        "import_cases",
        "case",
        "*",
        json!({"imported": imported, "skipped": skipped}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    Ok((imported, skipped))
}
