//! Case use cases: intake from every channel (`intake`), every step of the closed loop
//! through one path (`steps`), what each person sees (`views`), exports and historical
//! import. This file holds the request and view types and the helpers they share.

use crate::{App, AppError, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;
use wuzhi_domain::calendar::{TimeLimit, format_local};
use wuzhi_domain::cases::{
    CaseState, Command as DomainCommand, Event, FixOnSpot, History, Relation, Satisfaction, Status, Step,
};
use wuzhi_domain::work::{Caller, System};
use wuzhi_domain::{Action, Actor, Target, TerritoryCode, mask, text};
use wuzhi_geo::Crs;
use wuzhi_store::cases::{CaseRow, CategoryRow};

pub mod categories;
pub mod devices;
mod export;
mod import;
mod intake;
mod steps;
mod views;
pub(crate) mod writer;

pub use export::*;
pub use import::*;
pub use intake::*;
pub use steps::*;
pub use views::*;

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
