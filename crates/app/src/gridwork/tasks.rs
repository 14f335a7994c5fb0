//! Key tasks to the last mile (重点工作): a city, district or street sends a task with a
//! checklist and a deadline to every community or grid below it, in one transaction (a share
//! per territory, each a work item of kind `gridwork.task` owned by its community's
//! committee); each share is filled in item by item and reported done; progress is summed
//! live at every level from the shares themselves; the one sweep reminds before the deadline
//! and marks shares overdue after it.

use super::{name_of, territory};
use crate::audit::record;
use crate::cases::{Channel, NewCase};
use crate::work::{Due, Item, step, store_head};
use crate::{App, AppError, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;
use wuzhi_domain::gridwork::task::{
    ItemProgress, ItemState, TaskCommand, TaskEvent, TaskFlow, TaskRelation, TaskState, TaskStatus, TaskStep, on_time,
};
use wuzhi_domain::work::{Caller, System, Workflow};
use wuzhi_domain::{Action, Actor, Level, Target, TerritoryCode};
use wuzhi_store::gridwork::{self as store, KIND, ShareRow, TaskRow};
use wuzhi_store::work::{NewEvent, NewItem};

#[derive(Debug, Deserialize, Clone, utoipa::ToSchema)]
pub struct NewTask {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub checklist: Vec<String>,
    /// The subtree the task goes to (a city, district or street).
    pub territory_code: String,
    /// Who gets a share: `village` (every community) or `grid` (every grid).
    pub level: String,
    pub deadline_ms: i64,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct TaskView {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub checklist: Vec<String>,
    pub territory_code: String,
    pub territory_name: Option<String>,
    pub level: String,
    pub deadline_ms: i64,
    pub created_at_ms: i64,
    pub shares: i64,
    /// The caller may send shares back.
    pub sender: bool,
}

fn checklist_of(t: &TaskRow) -> Vec<String> {
    serde_json::from_str(&t.checklist).unwrap_or_default()
}

fn task_view(app: &App, actor: &Actor, t: &TaskRow) -> TaskView {
    let sender = TerritoryCode::parse(&t.territory_code)
        .is_ok_and(|c| actor.can(Action::ManageKeyTasks, &Target::territory(&c)).is_ok());
    TaskView {
        id: t.id,
        title: t.title.clone(),
        description: t.description.clone(),
        checklist: checklist_of(t),
        territory_name: name_of(app, &t.territory_code),
        territory_code: t.territory_code.clone(),
        level: t.level.clone(),
        deadline_ms: t.deadline_ms,
        created_at_ms: t.created_at_ms,
        shares: t.shares,
        sender,
    }
}

/// The territories of `level` under `t`: grids from the grid index, communities as the
/// grids' parents (a community without grids has no grid work to do).
fn targets(app: &App, t: &TerritoryCode, level: Level) -> Result<Vec<String>> {
    let grids = super::grids_under(app, t)?;
    Ok(match level {
        Level::Grid => grids,
        _ => {
            let mut v: Vec<String> = grids.iter().filter_map(|g| g.get(..12).map(str::to_owned)).collect();
            v.dedup();
            v
        }
    })
}

/// Sends a task down: one share for every community or grid under the territory, all in one
/// transaction (all or none), each owned by its community's committee.
pub async fn create(app: &App, actor: &Actor, n: &NewTask) -> Result<TaskView> {
    let t = territory("territory_code", &n.territory_code)?;
    actor.can(Action::ManageKeyTasks, &Target::territory(&t))?;
    let title = wuzhi_domain::text::name("title", &n.title, 100)?;
    let description = wuzhi_domain::text::optional("description", &n.description)?;
    let checklist = wuzhi_domain::gridwork::checklist(&n.checklist)?;
    let level = match n.level.as_str() {
        "village" => Level::Village,
        "grid" => Level::Grid,
        other => return Err(AppError::invalid("level", format!("`{other}` is not village or grid"))),
    };
    if matches!(t.level(), Level::Grid) || (level == Level::Village && t.level() == Level::Village) {
        return Err(AppError::invalid("level", "must lie below the task's territory"));
    }
    let now = app.now_ms();
    if n.deadline_ms <= now {
        return Err(AppError::invalid("deadline_ms", "must be in the future"));
    }
    let codes = targets(app, &t, level)?;
    if codes.is_empty() {
        return Err(AppError::invalid("territory_code", "has no grids to send the task to"));
    }
    let org = actor.orgs().into_iter().next();
    let items = serde_json::to_string(&TaskState::assigned(checklist.len(), n.deadline_ms, None).items)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut tx = app.db.write().await?;
    let owners =
        store::orgs_of_kind(&mut tx, t.scope_prefix(), wuzhi_domain::OrgKind::CommunityCommittee.as_str()).await?;
    let checklist_json = serde_json::to_string(&checklist).map_err(|e| AppError::Internal(e.to_string()))?;
    let id = store::insert_task(
        &mut tx,
        &title,
        &description,
        &checklist_json,
        t.as_str(),
        level.as_str(),
        n.deadline_ms,
        org,
        actor.person_id,
        now,
    )
    .await?;
    let rows: Vec<(String, String)> = codes.iter().map(|c| (c.clone(), items.clone())).collect();
    let shares = store::insert_shares(&mut tx, id, &rows).await?;
    let assigned = TaskEvent::Assigned { due_ms: n.deadline_ms };
    let data = crate::work::event_data(&assigned, Some(json!({"task": id})), None);
    let owner_of = |code: &str| owners.get(code.get(..12).unwrap_or(code)).copied();
    let states: Vec<(i64, String, TaskState)> = shares
        .iter()
        .map(|(code, sid)| (*sid, code.clone(), TaskState::assigned(checklist.len(), n.deadline_ms, owner_of(code))))
        .collect();
    let heads: Vec<_> = states.iter().map(|(_, code, s)| (TaskFlow::head(s), code.as_str())).collect();
    let new_items: Vec<NewItem> = states
        .iter()
        .zip(&heads)
        .map(|((sid, _, _), (head, code))| NewItem {
            id: *sid,
            version: 1,
            head: store_head(head, code),
            events: vec![NewEvent {
                at_ms: now,
                written_ms: now,
                actor: Some(actor.person_id),
                name: TaskFlow::event_kind(&assigned),
                data: &data,
            }],
        })
        .collect();
    wuzhi_store::work::create_many(&mut tx, &KIND, &new_items, now).await?;
    store::set_task_shares(&mut tx, id, shares.len() as i64).await?;
    record(
        &mut tx,
        now,
        Some(actor),
        "gridwork.task",
        "gridwork_task",
        &id.to_string(),
        json!({"territory": t.as_str(), "level": level.as_str(), "shares": shares.len()}),
    )
    .await?;
    let row = store::get_task(&mut tx, id).await?.ok_or_else(|| AppError::Internal("task vanished".into()))?;
    wuzhi_store::commit(tx).await?;
    Ok(task_view(app, actor, &row))
}

/// Whether the caller reads the task: its whole territory, or the part of it their posts
/// cover. Returns the prefix they see it under.
fn reading_scope(actor: &Actor, t: &TaskRow) -> Result<TerritoryCode> {
    let code = territory("territory_code", &t.territory_code)?;
    if actor.can(Action::ReadGridWork, &Target::territory(&code)).is_ok() {
        return Ok(code);
    }
    actor
        .scopes_for(Action::ReadGridWork)
        .into_iter()
        .find(|s| code.contains(s))
        .ok_or_else(|| AppError::not_found(format!("key task {}", t.id)))
}

pub async fn get(app: &App, actor: &Actor, id: i64) -> Result<TaskView> {
    let mut conn = app.db.read().await?;
    let t = store::get_task(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("key task {id}")))?;
    drop(conn);
    reading_scope(actor, &t)?;
    Ok(task_view(app, actor, &t))
}

/// The tasks that reach the caller's territories, newest first.
pub async fn list(app: &App, actor: &Actor) -> Result<Vec<TaskView>> {
    let scopes = actor.scopes_for(Action::ReadGridWork);
    let prefixes: Vec<&str> = scopes.iter().map(|s| s.scope_prefix()).collect();
    if prefixes.is_empty() {
        return Ok(vec![]);
    }
    let mut conn = app.db.read().await?;
    let rows = store::tasks_reaching(&mut conn, &prefixes, 200).await?;
    drop(conn);
    Ok(rows.iter().map(|t| task_view(app, actor, t)).collect())
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct RollupLine {
    pub territory_code: String,
    pub territory_name: Option<String>,
    pub shares: i64,
    pub done: i64,
    pub done_on_time: i64,
    pub overdue: i64,
    /// Checklist items answered, of shares × items.
    pub items_done: i64,
    pub items_total: i64,
    pub found: i64,
    pub cases: i64,
    pub completion: Option<f64>,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct RollupView {
    pub task_id: i64,
    pub total: RollupLine,
    /// One line per territory of the level below.
    pub children: Vec<RollupLine>,
}

fn line(app: &App, r: store::Rollup, items: i64) -> RollupLine {
    RollupLine {
        territory_name: name_of(app, &r.code),
        territory_code: r.code,
        shares: r.shares,
        done: r.done,
        done_on_time: r.done_on_time,
        overdue: r.overdue,
        items_done: r.items_done,
        items_total: r.shares * items,
        found: r.found,
        cases: r.cases,
        completion: wuzhi_domain::gridwork::indicators::rate(r.done, r.shares),
    }
}

/// A task's progress under a territory (default: all the caller sees of it), summed for the
/// territory and for each territory one level below.
pub async fn rollup(app: &App, actor: &Actor, id: i64, under: Option<&str>) -> Result<RollupView> {
    let mut conn = app.db.read().await?;
    let t = store::get_task(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("key task {id}")))?;
    let seen = reading_scope(actor, &t)?;
    let at = match under {
        Some(c) => {
            let c = territory("under", c)?;
            if !seen.contains(&c) && !c.contains(&seen) {
                return Err(AppError::not_found(format!("key task {id} under {}", c.as_str())));
            }
            if c.contains(&seen) { seen } else { c }
        }
        None => seen,
    };
    let child_len = match at.level() {
        Level::City => 6,
        Level::District => 9,
        Level::Township => 12,
        Level::Village | Level::Grid => 15,
    };
    let child_len = if t.level == "village" { child_len.min(12) } else { child_len };
    let (total, children) = store::rollup(&mut conn, id, at.scope_prefix(), child_len).await?;
    drop(conn);
    let items = checklist_of(&t).len() as i64;
    let mut total = line(app, total, items);
    total.territory_code = at.as_str().to_owned();
    total.territory_name = name_of(app, at.as_str());
    Ok(RollupView { task_id: id, total, children: children.into_iter().map(|r| line(app, r, items)).collect() })
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct ItemView {
    pub index: usize,
    pub name: String,
    pub state: String,
    pub found: i64,
    pub note: String,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct ShareEventView {
    pub at_ms: i64,
    pub by: Option<String>,
    pub kind: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct ShareView {
    pub id: i64,
    pub task_id: i64,
    pub task_title: String,
    pub territory_code: String,
    pub territory_name: Option<String>,
    pub status: String,
    pub deadline_ms: i64,
    pub overdue: bool,
    pub done_at_ms: Option<i64>,
    pub items: Vec<ItemView>,
    pub items_done: i64,
    pub found: i64,
    pub cases: Vec<i64>,
    pub version: i64,
    pub actions: Vec<&'static str>,
    pub timeline: Vec<ShareEventView>,
}

fn state_of(s: &ShareRow, t: &TaskRow) -> Result<TaskState> {
    let items: Vec<ItemProgress> =
        serde_json::from_str(&s.items).map_err(|e| AppError::Internal(format!("share {}: {e}", s.id)))?;
    Ok(TaskState {
        status: TaskStatus::parse(&s.status)?,
        items,
        due_ms: t.deadline_ms,
        overdue: s.overdue,
        owner_org: s.owner_org_id,
        done_at_ms: s.done_at_ms,
    })
}

fn relation(caller: Caller<'_>, s: &ShareRow, t: &TaskRow) -> TaskRelation {
    let on = |action: Action, code: &str| {
        caller
            .person()
            .is_some_and(|a| TerritoryCode::parse(code).is_ok_and(|c| a.can(action, &Target::territory(&c)).is_ok()))
    };
    TaskRelation {
        doer: on(Action::DoGridWork, &s.territory_code),
        sender: on(Action::ManageKeyTasks, &t.territory_code),
        system: caller.system(),
    }
}

fn step_name(s: TaskStep) -> &'static str {
    match s {
        TaskStep::Progress => "progress",
        TaskStep::Complete => "complete",
        TaskStep::Return => "return",
        TaskStep::MarkOverdue => "mark_overdue",
    }
}

async fn load(app: &App, id: i64) -> Result<(ShareRow, TaskRow)> {
    let mut conn = app.db.read().await?;
    let s = store::get_share(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("share {id}")))?;
    let t = store::get_task(&mut conn, s.task_id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("key task {}", s.task_id)))?;
    Ok((s, t))
}

fn may_read(actor: &Actor, s: &ShareRow, t: &TaskRow) -> bool {
    let on = |code: &str| {
        TerritoryCode::parse(code).is_ok_and(|c| actor.can(Action::ReadGridWork, &Target::territory(&c)).is_ok())
    };
    on(&s.territory_code) || on(&t.territory_code)
}

async fn share_view(app: &App, actor: &Actor, s: ShareRow, t: &TaskRow) -> Result<ShareView> {
    let state = state_of(&s, t)?;
    let rel = relation(Caller::Person(actor), &s, t);
    let names = checklist_of(t);
    let mut conn = app.db.read().await?;
    let timeline = store::share_events(&mut conn, s.id)
        .await?
        .into_iter()
        .map(|(at_ms, by, kind, data)| ShareEventView {
            at_ms,
            by,
            kind,
            data: serde_json::from_str(&data).unwrap_or_default(),
        })
        .collect();
    let cases = store::share_cases(&mut conn, s.id).await?.into_iter().map(|c| c.0).collect();
    drop(conn);
    Ok(ShareView {
        id: s.id,
        task_id: t.id,
        task_title: t.title.clone(),
        territory_name: name_of(app, &s.territory_code),
        territory_code: s.territory_code.clone(),
        status: s.status.clone(),
        deadline_ms: t.deadline_ms,
        overdue: s.overdue,
        done_at_ms: s.done_at_ms,
        items: state
            .items
            .iter()
            .enumerate()
            .map(|(i, p)| ItemView {
                index: i,
                name: names.get(i).cloned().unwrap_or_default(),
                state: p.state.as_str().into(),
                found: p.found,
                note: p.note.clone(),
            })
            .collect(),
        items_done: s.items_done,
        found: s.found,
        cases,
        version: s.version,
        actions: TaskFlow::available(&state, &rel, app.now_ms()).into_iter().map(step_name).collect(),
        timeline,
    })
}

pub async fn share(app: &App, actor: &Actor, id: i64) -> Result<ShareView> {
    let (s, t) = load(app, id).await?;
    if !may_read(actor, &s, &t) {
        return Err(AppError::not_found(format!("share {id}")));
    }
    share_view(app, actor, s, &t).await
}

/// A task's shares under a territory the caller sees (overdue and open first, at most 500).
pub async fn shares(app: &App, actor: &Actor, id: i64, under: Option<&str>) -> Result<Vec<ShareView>> {
    let mut conn = app.db.read().await?;
    let t = store::get_task(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("key task {id}")))?;
    let seen = reading_scope(actor, &t)?;
    let at = match under {
        Some(c) => {
            let c = territory("under", c)?;
            if !seen.contains(&c) {
                return Err(AppError::not_found(format!("key task {id} under {}", c.as_str())));
            }
            c
        }
        None => seen,
    };
    let rows = store::shares_of(&mut conn, id, at.scope_prefix(), 500).await?;
    drop(conn);
    let mut out = Vec::new();
    for s in rows {
        out.push(share_view(app, actor, s, &t).await?);
    }
    Ok(out)
}

/// The open shares the caller has to do (in the territories they work in), due first.
pub async fn my_shares(app: &App, actor: &Actor) -> Result<Vec<ShareView>> {
    let scopes = actor.scopes_for(Action::DoGridWork);
    let prefixes: Vec<&str> = scopes.iter().map(|s| s.scope_prefix()).collect();
    if prefixes.is_empty() {
        return Ok(vec![]);
    }
    let mut conn = app.db.read().await?;
    let rows = store::open_shares_in(&mut conn, &prefixes, 200).await?;
    // Each task read once for all its shares.
    let mut tasks: std::collections::HashMap<i64, TaskRow> = std::collections::HashMap::new();
    for s in &rows {
        if !tasks.contains_key(&s.task_id) {
            if let Some(t) = store::get_task(&mut conn, s.task_id).await? {
                tasks.insert(t.id, t);
            }
        }
    }
    drop(conn);
    let mut out = Vec::new();
    for s in rows {
        if let Some(t) = tasks.get(&s.task_id) {
            out.push(share_view(app, actor, s, t).await?);
        }
    }
    Ok(out)
}

#[derive(Debug, Deserialize, Clone, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ShareCommand {
    /// One checklist item: `checked` (with problems found) or `not_applicable` (with a note).
    Progress {
        item: usize,
        state: String,
        #[serde(default)]
        found: i64,
        #[serde(default)]
        note: String,
    },
    Complete,
    Return {
        reason: String,
    },
}

/// One step on a share, under its version.
pub async fn act(app: &App, actor: &Actor, id: i64, version: i64, c: &ShareCommand) -> Result<ShareView> {
    let command = match c {
        ShareCommand::Progress { item, state, found, note } => {
            TaskCommand::Progress { item: *item, state: ItemState::parse(state)?, found: *found, note: note.clone() }
        }
        ShareCommand::Complete => TaskCommand::Complete,
        ShareCommand::Return { reason } => TaskCommand::Return { reason: reason.clone() },
    };
    let (s, t) = load(app, id).await?;
    if !may_read(actor, &s, &t) {
        return Err(AppError::not_found(format!("share {id}")));
    }
    if s.version != version {
        return Err(AppError::Conflict {
            field: "version".into(),
            reason: "the share changed meanwhile; reload it".into(),
        });
    }
    let state = state_of(&s, &t)?;
    let rel = relation(Caller::Person(actor), &s, &t);
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    take_step(&mut tx, &s, &t, &state, &rel, &command, Caller::Person(actor), now).await?;
    wuzhi_store::commit(tx).await?;
    share(app, actor, id).await
}

#[allow(clippy::too_many_arguments)]
async fn take_step(
    tx: &mut wuzhi_store::Tx,
    s: &ShareRow,
    t: &TaskRow,
    state: &TaskState,
    rel: &TaskRelation,
    command: &TaskCommand,
    caller: Caller<'_>,
    now: i64,
) -> Result<()> {
    let item = Item { kind: &KIND, id: s.id, version: s.version, territory: &s.territory_code };
    let stepped = step::<TaskFlow>(tx, item, state, rel, command, caller, Some(json!({"task": t.id})), now).await?;
    let n = &stepped.next;
    let items = serde_json::to_string(&n.items).map_err(|e| AppError::Internal(e.to_string()))?;
    store::update_share(tx, s.id, &items, n.items_done(), n.found(), n.done_at_ms, on_time(n)).await?;
    Ok(())
}

/// Turns a problem found on a checklist item into a case (channel `grid`), counted on the
/// share. A repeated key returns the case it made.
pub async fn share_case(
    app: &App,
    actor: &Actor,
    id: i64,
    item: usize,
    mut n: NewCase,
) -> Result<crate::cases::CaseView> {
    let (s, t) = load(app, id).await?;
    if !may_read(actor, &s, &t) {
        return Err(AppError::not_found(format!("share {id}")));
    }
    if !relation(Caller::Person(actor), &s, &t).doer {
        return Err(AppError::Forbidden { action: "report for this share".into() });
    }
    if item >= checklist_of(&t).len() {
        return Err(AppError::invalid("item", "is not an item of the checklist"));
    }
    n.channel = Channel::Grid;
    let (case, _) = crate::cases::report(app, actor, n).await?;
    let mut tx = app.db.write().await?;
    store::add_share_case(&mut tx, id, case.id, item as i64).await?;
    wuzhi_store::commit(tx).await?;
    Ok(case)
}

/// The sweep's question for a share: remind its unit's staff before the deadline (once), and
/// mark it overdue after.
pub(crate) async fn on_due(app: &App, id: i64, due: Due) -> Result<bool> {
    let now = app.now_ms();
    let (s, t) = load(app, id).await?;
    match due {
        Due::Warn(d) => {
            let mut tx = app.db.write().await?;
            if !wuzhi_store::work::mark_warned(&mut tx, KIND.name, id, d).await? {
                return Ok(false);
            }
            if let Some(org) = s.owner_org_id {
                let body = format!(
                    "重点工作「{}」({})将于一小时内到期",
                    t.title,
                    name_of(app, &s.territory_code).unwrap_or_default()
                );
                for p in store::staff_for(&mut tx, org, &s.territory_code, now).await? {
                    wuzhi_store::notifications::insert_notification(&mut tx, p, None, "gridwork.task_due", &body, now)
                        .await?;
                }
            }
            wuzhi_store::commit(tx).await?;
            Ok(true)
        }
        Due::MarkOverdue(d) => {
            let state = state_of(&s, &t)?;
            let rel = TaskRelation { system: Some(System::Sweep), ..Default::default() };
            let command = TaskCommand::MarkOverdue { due_ms: d };
            if TaskFlow::decide(&state, &rel, &command, now).is_err() {
                return Ok(false);
            }
            let mut tx = app.db.write().await?;
            take_step(&mut tx, &s, &t, &state, &rel, &command, Caller::System(System::Sweep), now).await?;
            wuzhi_store::commit(tx).await?;
            Ok(true)
        }
        Due::Escalate => Ok(false),
    }
}
