//! Reading and verifying the audit log, and the one helper every use case appends with.

use crate::{App, AppError, Result};
use serde::Serialize;
use wuzhi_domain::audit::{Break, Verifier};
use wuzhi_domain::{Action, Actor};
use wuzhi_store::Conn;

/// Appends an audit entry in the caller's transaction.
pub(crate) async fn record(
    conn: &mut Conn,
    now_ms: i64,
    actor: Option<&Actor>,
    action: &str,
    object_type: &str,
    object_id: &str,
    detail: serde_json::Value,
) -> Result<()> {
    wuzhi_store::audit::append(
        conn,
        now_ms,
        actor.map(|a| a.person_id),
        action,
        object_type,
        object_id,
        &detail.to_string(),
    )
    .await?;
    Ok(())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Verified {
    pub entries: i64,
    pub head_hash: String,
}

/// Re-reads the whole chain and names the first broken entry.
pub async fn verify(app: &App) -> Result<Result<Verified, Break>> {
    let mut conn = app.db.read().await?;
    let head = wuzhi_store::audit::head(&mut conn).await?;
    let mut v = Verifier::default();
    let mut after = 0;
    loop {
        let page = wuzhi_store::audit::page(&mut conn, after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            if let Err(b) = v.push(e) {
                return Ok(Err(b));
            }
        }
    }
    Ok(v.finish((head.0, &head.1)).map(|n| Verified { entries: n, head_hash: head.1.clone() }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub seq: i64,
    pub at_ms: i64,
    pub actor_id: Option<i64>,
    /// The actor's name (none: the system itself, or someone who signed in as nobody yet).
    pub actor_name: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub hash: String,
}

/// The log is city-wide: only an auditor whose post covers a whole city may read it (not the
/// administrators whose acts it records: 三员分立).
fn require_auditor(actor: &Actor) -> Result<()> {
    if !actor.holds_over_city(wuzhi_domain::Role::Auditor) {
        return Err(AppError::Forbidden { action: Action::ReadAudit.as_str().into() });
    }
    Ok(())
}

/// The chain's check, for an auditor (the command line has `wuzhi audit verify`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Check {
    pub intact: bool,
    pub entries: Option<i64>,
    pub head_hash: Option<String>,
    /// The first entry that does not follow from the one before it, and why.
    pub broken_at_seq: Option<i64>,
    pub reason: Option<String>,
}

pub async fn check(app: &App, actor: &Actor) -> Result<Check> {
    require_auditor(actor)?;
    Ok(match verify(app).await? {
        Ok(v) => Check {
            intact: true,
            entries: Some(v.entries),
            head_hash: Some(v.head_hash),
            broken_at_seq: None,
            reason: None,
        },
        Err(b) => {
            let seq = match b {
                Break::Edited { seq } | Break::Relinked { seq } | Break::HeadHash { seq } => seq,
                Break::Missing { expected, .. } => expected,
                Break::Head { last, head } => last.min(head) + 1,
            };
            Check {
                intact: false,
                entries: None,
                head_hash: None,
                broken_at_seq: Some(seq),
                reason: Some(b.to_string()),
            }
        }
    })
}

/// A page of the log: after `after`, oldest first; or, with `before`, newest first.
pub async fn list(app: &App, actor: &Actor, after: i64, before: Option<i64>, limit: i64) -> Result<Vec<EntryView>> {
    require_auditor(actor)?;
    let mut conn = app.db.read().await?;
    let page = match before {
        Some(b) => wuzhi_store::audit::page_before(&mut conn, b, limit).await?,
        None => wuzhi_store::audit::page(&mut conn, after, limit).await?,
    };
    let mut ids: Vec<i64> = page.iter().filter_map(|e| e.actor_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = wuzhi_store::people::names(&mut conn, &ids).await?;
    Ok(page
        .into_iter()
        .map(|e| EntryView {
            seq: e.seq,
            at_ms: e.at_ms,
            actor_name: e.actor_id.and_then(|id| names.get(&id).cloned()),
            actor_id: e.actor_id,
            action: e.action,
            object_type: e.object_type,
            object_id: e.object_id,
            detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
            hash: e.hash,
        })
        .collect())
}
