//! The deadline sweep (超期督办), one for every kind of work item: it reads the heads, never a
//! kind's own table, and puts each due question to the item's kind (`super::on_due`). It
//! warns the owning unit before a stage is due, marks overdue stages on the timeline, and
//! escalates an item overdue by more than one working day in a stage that may be escalated.
//! `run_once` does one pass; tests step it with a moved clock, and each app server runs it on
//! a timer (steps are written under the head's version check, so two servers sweeping at
//! once take each step once).

use super::Due;
use crate::{App, Result};
use serde::Serialize;
use wuzhi_domain::calendar::TimeLimit;

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
    let soon = wuzhi_store::work::due_soon_unwarned(&mut conn, now, now + WARN_BEFORE_MS, BATCH).await?;
    let late = wuzhi_store::work::due_before(&mut conn, now, BATCH).await?;
    drop(conn);

    for d in soon {
        if super::on_due(app, &d.kind, d.id, Due::Warn(d.due_ms)).await? {
            out.warned += 1;
        }
    }
    for d in late {
        if super::on_due(app, &d.kind, d.id, Due::MarkOverdue(d.due_ms)).await? {
            out.marked_overdue += 1;
        }
    }
    // Escalation: overdue items in a stage that may be escalated, earliest due first, page by
    // page. Whether one is late enough grows with its due time, so the first that is not ends
    // the pass (items that can never be escalated are not in the list, so they cannot crowd
    // out those that can).
    let mut after = None;
    'pages: loop {
        let mut conn = app.db.read().await?;
        let page = wuzhi_store::work::overdue_escalatable(&mut conn, after.as_ref(), BATCH).await?;
        drop(conn);
        for d in &page {
            if cal.due(d.due_ms, TimeLimit::WorkingDays(1)) >= now {
                break 'pages;
            }
            if super::on_due(app, &d.kind, d.id, Due::Escalate).await? {
                out.escalated += 1;
            }
        }
        if page.len() as i64 == BATCH {
            after = page.last().cloned();
        } else {
            break;
        }
    }
    Ok(out)
}
