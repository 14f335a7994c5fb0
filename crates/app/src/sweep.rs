//! The deadline sweep (超期督办): warns the owning unit before a stage is due, marks overdue
//! stages on the timeline, and escalates a case overdue by more than one working day to the
//! command centre above. `run_once` does one pass; tests step it with a moved clock, and each
//! app server runs it on a timer (cases are updated under optimistic concurrency, so two
//! servers sweeping at once do each step once).

use crate::{App, Result};
use serde::Serialize;
use wuzhi_domain::calendar::TimeLimit;
use wuzhi_domain::case::{CaseState, Event};
use wuzhi_store::StoreError;

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
    let late = wuzhi_store::cases::due_before(&mut conn, now, false, BATCH).await?;
    let overdue = wuzhi_store::cases::due_before(&mut conn, now, true, BATCH).await?;
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
    for id in late {
        if step(app, id, |row, _| row.due_at_ms.map(|d| Event::MarkedOverdue { stage_due_ms: d })).await? {
            out.marked_overdue += 1;
        }
    }
    for id in overdue {
        let escalated = step(app, id, |row, target| {
            let due = row.due_at_ms?;
            let escalatable = matches!(row.status.as_str(), "filed" | "dispatched" | "handling");
            let org = target?;
            (escalatable && cal.due(due, TimeLimit::WorkingDays(1)) < now).then(|| Event::Escalated {
                org,
                reason: "超期一个工作日未办结，自动升级".into(),
                due_ms: cal.due(now, TimeLimit::WorkingHours(2)),
            })
        })
        .await?;
        if escalated {
            out.escalated += 1;
        }
    }
    Ok(out)
}

/// Applies the system's event to one case if `decide` returns one; false when there was
/// nothing to do or another server got there first.
async fn step(
    app: &App,
    id: i64,
    decide: impl FnOnce(&wuzhi_store::cases::CaseRow, Option<i64>) -> Option<Event>,
) -> Result<bool> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let Some(mut row) = wuzhi_store::cases::get(&mut tx, id).await? else {
        return Ok(false);
    };
    let target = crate::cases::command_centre_above(app, &mut tx, &row).await?;
    let Some(event) = decide(&row, target) else {
        return Ok(false);
    };
    let state: CaseState = crate::cases::state_of(&row)?;
    let Ok(next) = state.apply(&event, now) else {
        return Ok(false);
    };
    let before = row.clone();
    crate::cases::project(&mut row, &next, now);
    match wuzhi_store::cases::update(&mut tx, &before, &row).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    wuzhi_store::cases::append_event(
        &mut tx,
        id,
        now,
        None,
        event.kind(),
        &serde_json::to_string(&event).unwrap_or_default(),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    Ok(true)
}
