//! The deadline sweep (超期督办): warns the owning unit before a stage is due, marks overdue
//! stages on the timeline, and escalates a case overdue by more than one working day to the
//! command centre above. `run_once` does one pass; tests step it with a moved clock, and each
//! app server runs it on a timer (cases are updated under optimistic concurrency, so two
//! servers sweeping at once do each step once).

use crate::{App, AppError, Result};
use serde::Serialize;
use wuzhi_domain::calendar::TimeLimit;
use wuzhi_domain::cases::Command;
use wuzhi_domain::work::{Caller, System};

/// Warn this long before a stage is due.
pub const WARN_BEFORE_MS: i64 = 3_600_000;
const BATCH: i64 = 500;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Outcome {
    pub warned: usize,
    pub marked_overdue: usize,
    pub escalated: usize,
}

pub async fn run_once(app: &App) -> Result<Outcome> {
    let now = app.now_ms();
    let cal = app.calendar();
    let mut out = Outcome::default();
    let mut conn = app.db.read().await?;
    let soon = wuzhi_store::cases::due_soon_unwarned(&mut conn, now, now + WARN_BEFORE_MS, BATCH).await?;
    let late = wuzhi_store::cases::due_before(&mut conn, now, BATCH).await?;
    drop(conn);

    for (id, due) in soon {
        let mut tx = app.db.write().await?;
        if wuzhi_store::cases::mark_warned(&mut tx, id, due).await? {
            if let Some(row) = wuzhi_store::cases::get(&mut tx, id).await? {
                let text =
                    format!("案件 #{id}「{}」将于 {} 到期", row.subject, wuzhi_domain::calendar::format_local(due));
                crate::notify::tell_owner(&mut tx, &row, "due_soon", &text, now).await?;
            }
            out.warned += 1;
        }
        wuzhi_store::commit(tx).await?;
    }
    for (id, due) in late {
        if step(app, id, false, |_| Some(Command::MarkOverdue { stage_due_ms: due })).await? {
            out.marked_overdue += 1;
        }
    }
    // Escalation: overdue cases in a stage that can be escalated, earliest due first, page by
    // page. Whether one is late enough grows with its due time, so the first that is not ends
    // the pass (cases that can never be escalated are not in the list, so they cannot crowd
    // out those that can).
    let escalatable = wuzhi_domain::cases::Status::escalatable();
    let mut after: Option<(i64, i64)> = None;
    'pages: loop {
        let mut conn = app.db.read().await?;
        let page = wuzhi_store::cases::overdue_in(&mut conn, &escalatable, after, BATCH).await?;
        drop(conn);
        for &(id, due) in &page {
            if cal.due(due, TimeLimit::WorkingDays(1)) >= now {
                break 'pages;
            }
            let escalated = step(app, id, true, |target| {
                Some(Command::Escalate {
                    org: target?,
                    reason: "超期一个工作日未办结，自动升级".into(),
                    due_ms: cal.due(now, TimeLimit::WorkingHours(2)),
                })
            })
            .await?;
            if escalated {
                out.escalated += 1;
            }
        }
        match page.last() {
            Some(&(id, due)) if page.len() as i64 == BATCH => after = Some((due, id)),
            _ => break,
        }
    }
    Ok(out)
}

/// Takes the sweep's step on one case if `command` gives one (it gets the command centre
/// above the case when `escalating`, the only step that needs it); false when `decide` refuses it (nothing to do any more) or another
/// server got there first.
async fn step(
    app: &App,
    id: i64,
    escalating: bool,
    command: impl FnOnce(Option<i64>) -> Option<Command>,
) -> Result<bool> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let Some(mut row) = wuzhi_store::cases::get(&mut tx, id).await? else {
        return Ok(false);
    };
    let target = if escalating { crate::cases::command_centre_above(app, &mut tx, &row).await? } else { None };
    let Some(command) = command(target) else {
        return Ok(false);
    };
    let state = crate::cases::state_of(&row)?;
    let caller = Caller::System(System::Sweep);
    let rel = crate::cases::relation(caller, &row)?;
    match crate::cases::step_in(&mut tx, &mut row, &state, &rel, &command, caller, None, now).await {
        Ok(_) => {}
        Err(AppError::Conflict { .. }) => return Ok(false),
        Err(e) => return Err(e),
    }
    wuzhi_store::commit(tx).await?;
    Ok(true)
}
