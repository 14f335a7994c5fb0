//! Cases as each person sees them: one with its timeline (reveals of personal data audited), lists filtered by what the person may read.

use super::*;

/// A case as the actor sees it in a list (personal data masked).
pub(crate) fn view_of(actor: &Actor, r: CaseRow) -> Result<CaseView> {
    view(Caller::Person(actor), r, false, None)
}

pub(super) fn view(
    caller: Caller<'_>,
    r: CaseRow,
    reveal: bool,
    timeline: Option<Vec<TimelineEntry>>,
) -> Result<CaseView> {
    let state = state_of(&r)?;
    // The steps of the actions form do not depend on the time (only the sweep's overdue
    // mark does, and it is not offered to people).
    let actions = allowed(caller, &r, &state, r.updated_at_ms);
    let own = caller.person_id().is_some_and(|p| r.reporter_id == Some(p));
    let hidden = r.anonymous && !own;
    let reporter = Reporter {
        name: if hidden {
            None
        } else if reveal || own {
            r.reporter_name.clone()
        } else {
            r.reporter_name.as_deref().map(mask::name)
        },
        phone: if hidden {
            None
        } else if reveal || own {
            r.reporter_phone.clone()
        } else {
            r.reporter_phone.as_deref().map(mask::phone)
        },
        email: if hidden {
            None
        } else if reveal || own {
            r.reporter_email.clone()
        } else {
            r.reporter_email.as_deref().map(mask::email)
        },
        anonymous: r.anonymous,
        revealed: (reveal || own) && !hidden,
    };
    Ok(CaseView {
        id: r.id,
        channel: r.channel,
        kind: r.kind,
        subject: r.subject,
        description: r.description,
        category_code: r.category_code,
        priority: r.priority,
        status: r.status,
        lon: r.lon,
        lat: r.lat,
        address: r.address,
        territory_code: r.territory_code,
        reporter,
        owner_org_id: r.owner_org_id,
        due_at: r.due_at_ms.map(format_local),
        due_at_ms: r.due_at_ms,
        overdue: r.overdue,
        returns: r.returns,
        reworks: r.reworks,
        extension_until_ms: r.extension_until_ms,
        satisfaction: r.satisfaction,
        merged_into: r.merged_into,
        summoned: state.summoned.clone(),
        summon_due_ms: state.summon_due_ms,
        cooperating: state.cooperating.clone(),
        created_at_ms: r.created_at_ms,
        filed_at_ms: r.filed_at_ms,
        closed_at_ms: r.closed_at_ms,
        actions,
        timeline,
    })
}

/// One case with its timeline. `reveal` shows the caller's name and phone to roles that
/// may read personal data (audited).
pub async fn get(app: &App, actor: &Actor, id: i64, reveal: bool) -> Result<CaseView> {
    let mut conn = app.db.read().await?;
    let row = wuzhi_store::cases::get(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("case {id}")))?;
    if !can_read(actor, &row)? {
        return Err(forbid("read"));
    }
    if reveal && !is_reporter(actor, &row) {
        actor.can(Action::ReadPersonalData, &Target::territory(&territory(&row)?))?;
        if row.anonymous {
            return Err(AppError::Forbidden { action: "reveal an anonymous reporter".into() });
        }
    }
    let events = wuzhi_store::cases::events(&mut conn, id).await?;
    drop(conn);
    if reveal
        && !is_reporter(actor, &row)
        && (row.reporter_name.is_some() || row.reporter_phone.is_some() || row.reporter_email.is_some())
    {
        let mut tx = app.db.write().await?;
        crate::audit::record(
            &mut tx,
            app.now_ms(),
            Some(actor),
            "read_personal_data",
            "case",
            &id.to_string(),
            json!({"fields": ["reporter_name", "reporter_phone", "reporter_email"]}),
        )
        .await?;
        wuzhi_store::commit(tx).await?;
    }
    let timeline = events.into_iter().map(timeline_entry).collect();
    view(Caller::Person(actor), row, reveal, Some(timeline))
}

/// One case with its timeline as `caller` sees it: a person through [`get`]; a part of the
/// system (a device, an Open311 client) answered about the case it just reported, which its
/// key already entitled it to.
pub(super) async fn get_as(app: &App, caller: Caller<'_>, id: i64) -> Result<CaseView> {
    let Caller::Person(actor) = caller else {
        let mut conn = app.db.read().await?;
        let row =
            wuzhi_store::cases::get(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("case {id}")))?;
        let events = wuzhi_store::cases::events(&mut conn, id).await?;
        return view(caller, row, false, Some(events.into_iter().map(timeline_entry).collect()));
    };
    get(app, actor, id, false).await
}

pub(super) fn timeline_entry(e: wuzhi_store::cases::EventRow) -> TimelineEntry {
    TimelineEntry {
        seq: e.seq,
        at: format_local(e.at_ms),
        at_ms: e.at_ms,
        actor_id: e.actor_id,
        kind: e.kind,
        data: serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null),
    }
}

#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    pub status: Option<String>,
    pub category: Option<String>,
    pub overdue: Option<bool>,
    pub before: Option<i64>,
    pub limit: Option<i64>,
    /// Only inside this territory.
    pub territory: Option<String>,
    pub channel: Option<String>,
    /// Reported on or after this day (YYYY-MM-DD, Asia/Shanghai).
    pub from: Option<String>,
    /// Reported on or before this day.
    pub to: Option<String>,
}

/// The list's filters, checked: each bad one is named.
pub(crate) struct CheckedFilter {
    pub territory: Option<TerritoryCode>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

pub(crate) fn checked_filter(q: &ListQuery) -> Result<CheckedFilter> {
    if let Some(s) = &q.status {
        Status::parse(s)?;
    }
    if let Some(c) = &q.category {
        if c.is_empty() || !c.chars().all(|ch| ch.is_ascii_alphanumeric()) {
            return Err(AppError::invalid("category", "must be a category code (letters and digits)"));
        }
    }
    let territory = q
        .territory
        .as_deref()
        .map(TerritoryCode::parse)
        .transpose()
        .map_err(|e| AppError::invalid("territory", e.reason))?;
    if let Some(c) = &q.channel {
        if !["app", "hotline", "grid", "sensor", "open311"].contains(&c.as_str()) {
            return Err(AppError::invalid("channel", format!("`{c}` is not app, hotline, grid, sensor or open311")));
        }
    }
    let day = |field: &str, s: &Option<String>| -> Result<Option<i64>> {
        Ok(s.as_deref().map(|d| wuzhi_domain::calendar::parse_day(field, d)).transpose()?)
    };
    let offset = wuzhi_domain::calendar::OFFSET_MS;
    let from_ms = day("from", &q.from)?.map(|d| d * 86_400_000 - offset);
    let to_ms = day("to", &q.to)?.map(|d| (d + 1) * 86_400_000 - offset);
    Ok(CheckedFilter { territory, from_ms, to_ms })
}

/// Cases the actor may see: in their territories, owned by their units, or reported by them;
/// newest first.
pub async fn list(app: &App, actor: &Actor, q: &ListQuery) -> Result<Vec<CaseView>> {
    let limit = crate::page_limit(q.limit)?;
    let CheckedFilter { territory, from_ms, to_ms } = checked_filter(q)?;
    let scopes = actor.scopes_for(Action::ReadCase);
    let prefixes: Vec<&str> = scopes.iter().map(|s| s.scope_prefix()).collect();
    let filter = wuzhi_store::cases::Filter {
        territory_prefix: territory.as_ref().map(|t| t.scope_prefix()),
        channel: q.channel.as_deref(),
        created_from_ms: from_ms,
        created_to_ms: to_ms,
        scopes: prefixes,
        owner_orgs: actor.orgs(),
        reporter: Some(actor.person_id),
        status: q.status.as_deref(),
        category_prefix: q.category.as_deref(),
        overdue: q.overdue,
        before_id: q.before,
        limit,
    };
    let mut conn = app.db.read().await?;
    let rows = wuzhi_store::cases::list(&mut conn, &filter).await?;
    rows.into_iter().map(|r| view(Caller::Person(actor), r, false, None)).collect()
}
