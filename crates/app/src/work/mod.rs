//! The work-item kernel's use cases: one step function generic over the workflow (`step`:
//! the domain's `decide` and `apply`, then the store's one append of head, event and outbox
//! row), and one deadline sweep over the heads of every kind (`sweep`). A kind adds its own
//! projection to the step (a case also writes its row and its units' tally) and answers the
//! sweep's three questions in [`on_due`].

pub mod sweep;

use crate::{App, AppError, Result};
use serde::Serialize;
use wuzhi_domain::work::{Caller, Head, Refusal, System, Workflow};
use wuzhi_store::work::{Appended, Kind, NewEvent};

/// The item a step is taken on, as it was read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item<'a> {
    pub kind: &'static Kind,
    pub id: i64,
    /// The head's version when the item was read: the step is written only if it is still so.
    pub version: i64,
    pub territory: &'a str,
}

/// A step taken: the event, the state after it, and what the store wrote.
pub(crate) struct Stepped<W: Workflow> {
    pub event: W::Event,
    pub next: W::State,
    pub appended: Appended,
}

/// The domain's refusal of a step on an item of `kind` as the caller sees it.
pub(crate) fn refusal(kind: &str, e: Refusal) -> AppError {
    match e {
        Refusal::Forbidden { step } => AppError::Forbidden { action: format!("{step} this {kind}") },
        Refusal::State { .. } => AppError::Conflict { field: "action".into(), reason: e.to_string() },
        Refusal::Invalid(i) => i.into(),
    }
}

/// The event as its timeline stores it: its fields, `extra`'s (a note of the caller's), and
/// for a step the system took, which part of it (the timeline records no person then).
pub(crate) fn event_data<E: Serialize>(e: &E, extra: Option<serde_json::Value>, system: Option<System>) -> String {
    let mut v = serde_json::to_value(e).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        if let Some(serde_json::Value::Object(x)) = extra {
            obj.extend(x);
        }
        if let Some(system) = system {
            obj.entry("system").or_insert_with(|| system.as_str().into());
        }
    }
    v.to_string()
}

/// The head the store keeps for an item of kind `W` in `state`.
pub(crate) fn head_of<'a, W: Workflow>(state: &W::State, territory: &'a str) -> wuzhi_store::work::Head<'a> {
    store_head(&W::head(state), territory)
}

/// The domain's head as the store keeps it, on `territory`.
pub(crate) fn store_head<'a>(h: &Head, territory: &'a str) -> wuzhi_store::work::Head<'a> {
    wuzhi_store::work::Head {
        territory_code: territory,
        status: h.status,
        open: h.open,
        owner_org_id: h.owner_org,
        due_at_ms: h.due_ms,
        overdue: h.overdue,
        escalatable: h.escalatable,
    }
}

/// One step of any workflow, inside the caller's transaction: `decide` has the last word on
/// whether `caller` may take `command` now, `apply` gives the next state, and the head, the
/// event and its outbox row are written at once, under the head's version check. The kind
/// writes its own projection after (with `appended.version`).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn step<W: Workflow>(
    tx: &mut wuzhi_store::Tx,
    item: Item<'_>,
    state: &W::State,
    rel: &W::Relation,
    command: &W::Command,
    caller: Caller<'_>,
    extra: Option<serde_json::Value>,
    now: i64,
) -> Result<Stepped<W>> {
    let event = W::decide(state, rel, command, now).map_err(|e| refusal(item.kind.name, e))?;
    let next = W::apply(state, &event, now);
    let data = event_data(&event, extra, caller.system());
    let new =
        NewEvent { at_ms: now, written_ms: now, actor: caller.person_id(), name: W::event_kind(&event), data: &data };
    let appended =
        wuzhi_store::work::append(tx, item.kind, item.id, item.version, &head_of::<W>(&next, item.territory), &new)
            .await
            .map_err(|e| match e {
                wuzhi_store::StoreError::NotFound => AppError::Conflict {
                    field: "version".into(),
                    reason: format!("the {} changed meanwhile; reload it", item.kind.name),
                },
                other => other.into(),
            })?;
    Ok(Stepped { event, next, appended })
}

/// Every kind of work item, by name (`Workflow::KIND`): the first part of their topics.
pub const KINDS: &[&str] = &[
    wuzhi_domain::cases::CaseFlow::KIND,
    wuzhi_domain::archives::request::RequestFlow::KIND,
    wuzhi_domain::gridwork::task::TaskFlow::KIND,
    wuzhi_domain::warnings::flow::WarningFlow::KIND,
];

/// Whether `topic` names events of a known kind: `<kind>.<event>` (a kind's name may hold
/// dots itself: `archives.request.answered`).
pub fn is_topic(topic: &str) -> bool {
    topic.len() < 64
        && topic.rsplit_once('.').is_some_and(|(kind, event)| {
            KINDS.contains(&kind) && !event.is_empty() && event.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        })
}

/// What the deadline sweep asks of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// Warn its owner that the stage falls due at this time (once per due time).
    Warn(i64),
    /// Mark the stage due at this time overdue.
    MarkOverdue(i64),
    /// Escalate it: overdue by more than a working day.
    Escalate,
}

/// The sweep's question put to the item's kind; true when the kind took the step (false when
/// there was nothing to do any more, or another server did it). Each kind that has deadlines
/// answers here.
pub(crate) async fn on_due(app: &App, kind: &str, id: i64, due: Due) -> Result<bool> {
    match kind {
        k if k == wuzhi_domain::cases::CaseFlow::KIND => crate::cases::on_due(app, id, due).await,
        k if k == wuzhi_domain::archives::request::RequestFlow::KIND => crate::archives::on_due(app, id, due).await,
        k if k == wuzhi_domain::gridwork::task::TaskFlow::KIND => crate::gridwork::tasks::on_due(app, id, due).await,
        k if k == wuzhi_domain::warnings::flow::WarningFlow::KIND => crate::warnings::on_due(app, id, due).await,
        other => {
            tracing::warn!(kind = other, id, "the sweep found an item of a kind nothing answers for");
            Ok(false)
        }
    }
}
