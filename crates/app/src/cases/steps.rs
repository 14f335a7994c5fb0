//! Every step of the loop through one path: the caller's relation checked first, the request resolved into the domain's command, then `decide`, `apply`, the projection under the version check, the unit tally and the event with its outbox row in one transaction (`step_in`).

use super::*;
use crate::work::{Due, Item};
use wuzhi_domain::cases::CaseFlow;
use wuzhi_store::cases::KIND;

/// The unit a case goes to by the rules: the category's default organisation on the case's
/// territory or the nearest above it; failing that, the nearest command centre.
pub(super) async fn rule_target(
    app: &App,
    conn: &mut wuzhi_store::Conn,
    r: &CaseRow,
    cat: Option<&CategoryRow>,
) -> Result<i64> {
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
                // What the intake's fast track flagged stays, unless the category asks more.
                None => {
                    let rank = |p: Option<&str>| ["normal", "urgent", "emergency"].iter().position(|x| Some(*x) == p);
                    let (flagged, own) = (row.priority.as_deref(), c.priority.as_deref());
                    if rank(flagged) > rank(own) { flagged } else { own }.unwrap_or("normal").to_owned()
                }
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

/// The kernel's step on a case inside the caller's transaction (`crate::work::step`: decide,
/// apply, head, event and outbox row), then the case's own projection: its row, with the
/// head's new version, and the units' tally. Returns the event's seq.
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
    let item =
        Item { kind: &wuzhi_store::cases::KIND, id: row.id, version: row.version, territory: &row.territory_code };
    let taken = crate::work::step::<CaseFlow>(tx, item, state, rel, command, caller, extra, now).await?;
    if let Some((org, d, r)) = wuzhi_domain::kpi::unit_tally(state, &taken.event) {
        wuzhi_store::cases::add_unit_tally(tx, row.id, org, d, r).await?;
    }
    let before = row.clone();
    project(row, &taken.next, now);
    row.version = taken.appended.version;
    wuzhi_store::cases::update(tx, &before, row).await?;
    Ok(taken.appended.seq)
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

/// The sweep's question on one case (see `crate::work::on_due`).
pub(crate) async fn on_due(app: &App, id: i64, due: Due) -> Result<bool> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let Some(mut row) = wuzhi_store::cases::get(&mut tx, id).await? else {
        return Ok(false);
    };
    let command = match due {
        Due::Warn(due_ms) => {
            if !wuzhi_store::work::mark_warned(&mut tx, KIND.name, id, due_ms).await? {
                return Ok(false);
            }
            let text = format!("案件 #{id}「{}」将于 {} 到期", row.subject, format_local(due_ms));
            crate::notify::tell_owner(&mut tx, &row, "due_soon", &text, now).await?;
            wuzhi_store::commit(tx).await?;
            return Ok(true);
        }
        Due::MarkOverdue(stage_due_ms) => DomainCommand::MarkOverdue { stage_due_ms },
        Due::Escalate => {
            // The command centre above is looked up only here, for the one step that needs it.
            let Some(org) = command_centre_above(app, &mut tx, &row).await? else {
                return Ok(false);
            };
            let cal = app.calendar();
            DomainCommand::Escalate {
                org,
                reason: "超期一个工作日未办结，自动升级".into(),
                due_ms: cal.due(now, TimeLimit::WorkingHours(2)),
            }
        }
    };
    let state = state_of(&row)?;
    let caller = Caller::System(System::Sweep);
    let rel = relation(caller, &row)?;
    match step_in(&mut tx, &mut row, &state, &rel, &command, caller, None, now).await {
        Ok(_) => {}
        // Nothing to do any more (decide refuses), or another server got there first.
        Err(AppError::Conflict { .. }) => return Ok(false),
        Err(e) => return Err(e),
    }
    wuzhi_store::commit(tx).await?;
    Ok(true)
}

/// The steps the actor may take now: what `decide` accepts.
pub(super) fn allowed(caller: Caller<'_>, r: &CaseRow, s: &CaseState, now: i64) -> Vec<String> {
    match relation(caller, r) {
        Ok(rel) => s.available(&rel, now).into_iter().map(|x| x.as_str().to_owned()).collect(),
        Err(_) => Vec::new(),
    }
}
