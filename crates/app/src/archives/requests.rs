//! People's requests to correct or delete what the archives hold about them (PIPL arts.
//! 46–47), as work items of kind `archives.request`: submitted from the portal by the person
//! whose record it is, due in 15 working days, answered or refused by staff who handle data
//! requests over the person's territory, marked overdue by the one sweep. Answering a
//! deletion erases (anonymises) the record in the same transaction.

use super::store;
use crate::audit::record;
use crate::work::{Due, Item, step, store_head};
use crate::{App, AppError, Result};
use serde::Serialize;
use serde_json::json;
use wuzhi_domain::archives::request::{
    RequestCommand, RequestEvent, RequestFlow, RequestKind, RequestRelation, RequestState, RequestStatus,
};
use wuzhi_domain::calendar::TimeLimit;
use wuzhi_domain::work::{Caller, System, Workflow};
use wuzhi_domain::{Action, Actor, Target, TerritoryCode};
use wuzhi_store::archives::requests::{self as rows, KIND, RequestRow};
use wuzhi_store::work::NewEvent;

/// How long staff have to answer: 15 working days.
pub const ANSWER_WITHIN: TimeLimit = TimeLimit::WorkingDays(15);

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct RequestView {
    pub id: i64,
    pub archive_person_id: i64,
    pub kind: String,
    pub field: Option<String>,
    pub detail: String,
    pub grid_code: String,
    pub status: String,
    pub created_at_ms: i64,
    pub due_at_ms: Option<i64>,
    pub overdue: bool,
    pub version: i64,
    /// What the caller may do now.
    pub actions: Vec<&'static str>,
    pub timeline: Vec<RequestEventView>,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct RequestEventView {
    pub at_ms: i64,
    pub by: Option<String>,
    pub kind: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

fn state_of(r: &RequestRow) -> Result<RequestState> {
    Ok(RequestState {
        kind: RequestKind::parse(&r.kind)?,
        status: match r.status.as_str() {
            "open" => RequestStatus::Open,
            "done" => RequestStatus::Done,
            _ => RequestStatus::Refused,
        },
        due_ms: r.due_at_ms.unwrap_or(0),
        overdue: r.overdue,
        owner_org: None,
    })
}

fn relation(caller: Caller<'_>, r: &RequestRow) -> RequestRelation {
    let handler = caller.person().is_some_and(|a| {
        TerritoryCode::parse(&r.grid_code)
            .is_ok_and(|t| a.can(Action::HandleDataRequests, &Target::territory(&t)).is_ok())
    });
    RequestRelation { handler, system: caller.system() }
}

fn step_name(s: wuzhi_domain::archives::request::RequestStep) -> &'static str {
    use wuzhi_domain::archives::request::RequestStep::*;
    match s {
        Answer => "answer",
        Refuse => "refuse",
        MarkOverdue => "mark_overdue",
    }
}

async fn view(app: &App, actor: &Actor, r: RequestRow) -> Result<RequestView> {
    let state = state_of(&r)?;
    let rel = relation(Caller::Person(actor), &r);
    if !rel.handler && r.requester_id != actor.person_id {
        return Err(AppError::not_found(format!("request {}", r.id)));
    }
    let mut conn = app.db.read().await?;
    let timeline = rows::events(&mut conn, r.id)
        .await?
        .into_iter()
        .map(|(at_ms, by, kind, data)| RequestEventView {
            at_ms,
            by,
            kind,
            data: serde_json::from_str(&data).unwrap_or_default(),
        })
        .collect();
    let actions = RequestFlow::available(&state, &rel, app.now_ms()).into_iter().map(step_name).collect();
    Ok(RequestView {
        id: r.id,
        archive_person_id: r.archive_person_id,
        kind: r.kind,
        field: r.field,
        detail: r.detail,
        grid_code: r.grid_code,
        status: r.status,
        created_at_ms: r.created_at_ms,
        due_at_ms: r.due_at_ms,
        overdue: r.overdue,
        version: r.version,
        actions,
        timeline,
    })
}

/// A person asks that their record be corrected (naming the field and what it should say) or
/// deleted. Only the person linked to the record may ask.
pub async fn submit(
    app: &App,
    actor: &Actor,
    archive_person: i64,
    kind: &str,
    field: Option<&str>,
    detail: &str,
) -> Result<RequestView> {
    let kind = RequestKind::parse(kind)?;
    let detail = wuzhi_domain::text::required("detail", detail)?;
    let field = match (kind, field.map(str::trim).filter(|f| !f.is_empty())) {
        (RequestKind::Correction, None) => return Err(AppError::invalid("field", "name the field to correct")),
        (_, Some(f)) => Some(
            wuzhi_domain::archives::fields::field("person", f)
                .ok_or_else(|| AppError::invalid("field", format!("`{f}` is not a field of a person's record")))?
                .name,
        ),
        (RequestKind::Deletion, None) => None,
    };
    let mut conn = app.db.read().await?;
    let person = store::get_person(&mut conn, archive_person).await?;
    drop(conn);
    let person = person
        .filter(|p| p.person_id == Some(actor.person_id))
        .ok_or_else(|| AppError::not_found(format!("your record {archive_person}")))?;
    let now = app.now_ms();
    let due = app.calendar().due(now, ANSWER_WITHIN);
    let mut tx = app.db.write().await?;
    let id = rows::insert(&mut tx, person.id, actor.person_id, kind.as_str(), field, &detail, &person.grid_code, now)
        .await?;
    let state = RequestState { kind, status: RequestStatus::Open, due_ms: due, overdue: false, owner_org: None };
    let submitted = RequestEvent::Submitted { kind, due_ms: due };
    let data = crate::work::event_data(&submitted, Some(json!({"field": field})), None);
    let first = NewEvent {
        at_ms: now,
        written_ms: now,
        actor: Some(actor.person_id),
        name: RequestFlow::event_kind(&submitted),
        data: &data,
    };
    let head = store_head(&RequestFlow::head(&state), &person.grid_code);
    wuzhi_store::work::create(&mut tx, &KIND, id, 1, &head, &[first], now).await?;
    record(
        &mut tx,
        now,
        Some(actor),
        "archives.request",
        "archive_request",
        &id.to_string(),
        json!({"kind": kind.as_str()}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    get(app, actor, id).await
}

pub async fn get(app: &App, actor: &Actor, id: i64) -> Result<RequestView> {
    let mut conn = app.db.read().await?;
    let r = rows::get(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("request {id}")))?;
    drop(conn);
    view(app, actor, r).await
}

/// The caller's own requests and, for staff who handle them, those in their territory
/// (open first, earliest due first).
pub async fn list(app: &App, actor: &Actor, open_only: bool) -> Result<Vec<RequestView>> {
    let scopes = actor.scopes_for(Action::HandleDataRequests);
    let prefixes: Vec<&str> = scopes.iter().map(|s| s.scope_prefix()).collect();
    let mut conn = app.db.read().await?;
    let mut found = rows::of_requester(&mut conn, actor.person_id).await?;
    if !prefixes.is_empty() {
        for r in rows::in_scopes(&mut conn, &prefixes, open_only, 200).await? {
            if !found.iter().any(|f| f.id == r.id) {
                found.push(r);
            }
        }
    }
    drop(conn);
    let mut out = Vec::new();
    for r in found {
        out.push(view(app, actor, r).await?);
    }
    Ok(out)
}

/// Answers (`answer` done, with what was done) or refuses a request. Answering a deletion
/// erases the record at once.
pub async fn decide(app: &App, actor: &Actor, id: i64, version: i64, action: &str, text: &str) -> Result<RequestView> {
    let command = match action {
        "answer" => RequestCommand::Answer { answer: text.into() },
        "refuse" => RequestCommand::Refuse { reason: text.into() },
        other => return Err(AppError::invalid("action", format!("`{other}` is not answer or refuse"))),
    };
    let mut conn = app.db.read().await?;
    let r = rows::get(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("request {id}")))?;
    drop(conn);
    if r.version != version {
        return Err(AppError::Conflict {
            field: "version".into(),
            reason: "the request changed meanwhile; reload it".into(),
        });
    }
    let state = state_of(&r)?;
    let rel = relation(Caller::Person(actor), &r);
    if !rel.handler && r.requester_id != actor.person_id {
        return Err(AppError::not_found(format!("request {id}")));
    }
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let item = Item { kind: &KIND, id, version: r.version, territory: &r.grid_code };
    let stepped = step::<RequestFlow>(&mut tx, item, &state, &rel, &command, Caller::Person(actor), None, now).await?;
    if matches!(stepped.event, RequestEvent::Answered { .. }) && state.kind == RequestKind::Deletion {
        store::anonymise(&mut tx, r.archive_person_id, now).await?;
        record(
            &mut tx,
            now,
            Some(actor),
            "archives.anonymise",
            "archive_person",
            &r.archive_person_id.to_string(),
            json!({"request": id}),
        )
        .await?;
    }
    wuzhi_store::commit(tx).await?;
    get(app, actor, id).await
}

/// The sweep's question for a request: mark it overdue (requests have no warning or
/// escalation of their own; the overdue mark shows on the handlers' lists).
pub(crate) async fn on_due(app: &App, id: i64, due: Due) -> Result<bool> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let Some(r) = rows::get(&mut tx, id).await? else { return Ok(false) };
    let due_ms = match due {
        Due::MarkOverdue(d) => d,
        // Warned once per due time: the data-protection officers over the person's grid.
        Due::Warn(d) => {
            if !wuzhi_store::work::mark_warned(&mut tx, KIND.name, id, d).await? {
                return Ok(false);
            }
            let body = format!("个人信息更正/删除申请 #{id} 将于一小时内到期");
            for o in super::officers_over(&mut tx, &r.grid_code, now).await? {
                wuzhi_store::notifications::insert_notification(&mut tx, o, None, "archives.request_due", &body, now)
                    .await?;
            }
            wuzhi_store::commit(tx).await?;
            return Ok(true);
        }
        Due::Escalate => return Ok(false),
    };
    let state = state_of(&r)?;
    let rel = RequestRelation { handler: false, system: Some(System::Sweep) };
    let command = RequestCommand::MarkOverdue { due_ms };
    if RequestFlow::decide(&state, &rel, &command, now).is_err() {
        return Ok(false);
    }
    let item = Item { kind: &KIND, id, version: r.version, territory: &r.grid_code };
    step::<RequestFlow>(&mut tx, item, &state, &rel, &command, Caller::System(System::Sweep), None, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(true)
}
