//! Notifications: the outbox worker turns each case change into in-app messages for the
//! people concerned (the owning unit's staff, the reporter). Rows are claimed with a lease,
//! so several app servers sharing one database process each row once.

use crate::{App, Result};
use serde::Serialize;
use wuzhi_store::Conn;
use wuzhi_store::cases::CaseRow;

/// Messages every member of the owning unit.
pub(crate) async fn tell_owner(conn: &mut Conn, row: &CaseRow, kind: &str, text: &str, now: i64) -> Result<usize> {
    let Some(org) = row.owner_org_id else {
        return Ok(0);
    };
    let members = wuzhi_store::notifications::org_members(conn, org, now).await?;
    for p in &members {
        wuzhi_store::notifications::insert_notification(conn, *p, Some(row.id), kind, text, now).await?;
    }
    Ok(members.len())
}

fn reporter_text(kind: &str, id: i64, subject: &str) -> Option<String> {
    let what = match kind {
        "filed" => "已立案",
        "rejected" => "不予立案",
        "dispatched" => "已派遣至承办单位",
        "handled" => "已处置，等待核查",
        "verified" => "已办结，请评价",
        "reopened" => "已重新办理",
        _ => return None,
    };
    Some(format!("您反映的案件 #{id}「{subject}」{what}"))
}

fn owner_text(kind: &str, id: i64, subject: &str) -> Option<String> {
    let what = match kind {
        "dispatched" => "派遣至本单位，请签收",
        "escalated" => "已升级至本单位督办",
        "reworked" => "核查未通过，请返工",
        "reopened" => "被重新启动，请办理",
        "extension_decided" => "的延期申请已审批",
        "marked_overdue" => "已超期",
        "commented" => "有新的留言",
        _ => return None,
    };
    Some(format!("案件 #{id}「{subject}」{what}"))
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Outcome {
    pub processed: usize,
    pub notifications: usize,
    /// New cases the classifier filed and dispatched.
    pub auto_dispatched: usize,
}

/// Processes up to one batch of outbox rows as `worker`, in one transaction: the claim,
/// the messages and the marks commit together, so a crash leaves the rows for the next pass
/// and a second server skips rows this one holds.
pub async fn run_once(app: &App, worker: &str) -> Result<Outcome> {
    // Short transactions (50 rows each) so that intake, which shares SQLite's one writer,
    // never waits long behind a pass.
    let mut out = Outcome::default();
    loop {
        let (batch, claimed, reported) = pass(app, worker, 50).await?;
        out.processed += batch.processed;
        out.notifications += batch.notifications;
        // After the pass committed: a crash in between leaves these cases to the dispatchers.
        out.auto_dispatched += crate::text::classify::auto_dispatch(app, &reported).await?;
        if claimed < 50 {
            return Ok(out);
        }
    }
}

async fn pass(app: &App, worker: &str, limit: i64) -> Result<(Outcome, i64, Vec<i64>)> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let rows = wuzhi_store::work::claim_outbox(&mut tx, worker, now, now + 60_000, limit).await?;
    let claimed = rows.len() as i64;
    let mut out = Outcome::default();
    let mut reported = Vec::new();
    // The pass's cases and the subscriptions, read once for all its rows.
    let case = wuzhi_store::cases::KIND.name;
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.item_of(case)).collect();
    let cases: std::collections::HashMap<i64, CaseRow> =
        wuzhi_store::cases::by_ids(&mut tx, &ids).await?.into_iter().map(|c| (c.id, c)).collect();
    let hooks = if rows.is_empty() { Vec::new() } else { wuzhi_store::webhooks::list(&mut tx).await? };
    for r in rows {
        // Subscribed by topic: a case's events tell its reporter and its units; every topic
        // goes to the webhooks that match it.
        let kind = r.event().to_owned();
        if let Some(case_id) = r.item_of(case) {
            if kind == "reported" {
                reported.push(case_id);
            }
            if let Some(row) = cases.get(&case_id) {
                if let (Some(p), Some(text)) = (row.reporter_id, reporter_text(&kind, row.id, &row.subject)) {
                    wuzhi_store::notifications::insert_notification(&mut tx, p, Some(row.id), &kind, &text, now)
                        .await?;
                    out.notifications += 1;
                }
                if let Some(text) = owner_text(&kind, row.id, &row.subject) {
                    out.notifications += tell_owner(&mut tx, row, &kind, &text, now).await?;
                }
            }
        }
        if let Some(id) = r.item_of(wuzhi_store::warnings::KIND.name) {
            out.notifications += crate::warnings::tell(&mut tx, id, &kind, now).await?;
        }
        crate::webhooks::enqueue(&mut tx, &hooks, &r.topic, &r.payload, now).await?;
        if wuzhi_store::work::finish_outbox(&mut tx, r.id, worker).await? {
            out.processed += 1;
        }
    }
    wuzhi_store::commit(tx).await?;
    Ok((out, claimed, reported))
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct NotificationView {
    pub id: i64,
    pub case_id: Option<i64>,
    pub kind: String,
    pub body: String,
    pub created_at_ms: i64,
    pub read: bool,
}

pub async fn inbox(app: &App, person: i64, unread_only: bool, limit: i64) -> Result<Vec<NotificationView>> {
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::notifications::notifications(&mut conn, person, unread_only, limit)
        .await?
        .into_iter()
        .map(|n| NotificationView {
            id: n.id,
            case_id: n.case_id,
            kind: n.kind,
            body: n.body,
            created_at_ms: n.created_at_ms,
            read: n.read_at_ms.is_some(),
        })
        .collect())
}

pub async fn mark_read(app: &App, person: i64, id: i64) -> Result<()> {
    let mut tx = app.db.write().await?;
    if !wuzhi_store::notifications::mark_read(&mut tx, person, id, app.now_ms()).await? {
        return Err(crate::AppError::not_found(format!("unread notification {id}")));
    }
    wuzhi_store::commit(tx).await?;
    Ok(())
}
