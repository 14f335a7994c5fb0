//! Organisation use cases.

use crate::audit::record;
use crate::error::unique_as;
use crate::{App, AppError, Result};
use serde::Serialize;
use serde_json::json;
use wuzhi_domain::work::Caller;
use wuzhi_domain::{Action, Actor, OrgKind, Target, TerritoryCode, text};
use wuzhi_store::org::OrgRow;

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct OrgView {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub territory_code: String,
    pub parent_id: Option<i64>,
}

fn view(r: OrgRow) -> OrgView {
    OrgView { id: r.id, name: r.name, kind: r.kind, territory_code: r.territory_code, parent_id: r.parent_id }
}

pub struct NewOrg<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub territory_code: &'a str,
    pub parent_id: Option<i64>,
}

pub async fn create(app: &App, caller: Caller<'_>, n: NewOrg<'_>) -> Result<OrgView> {
    let actor = caller.person();
    let name = text::name("name", n.name, 100)?;
    let kind = OrgKind::parse(n.kind)?;
    let territory =
        TerritoryCode::parse(n.territory_code).map_err(|e| AppError::invalid("territory_code", e.reason))?;
    if let Some(a) = actor {
        a.can(Action::ManageOrganisation, &Target::territory(&territory))?;
    }
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    if wuzhi_store::territory::get(&mut tx, territory.as_str(), false).await?.is_none() {
        return Err(AppError::invalid("territory_code", format!("{territory} is not in the territory tree")));
    }
    if let Some(p) = n.parent_id {
        let parent = wuzhi_store::org::get(&mut tx, p)
            .await?
            .ok_or_else(|| AppError::invalid("parent_id", format!("organisation {p} does not exist")))?;
        let pt = TerritoryCode::parse(&parent.territory_code)?;
        if !pt.contains(&territory) {
            return Err(AppError::invalid(
                "parent_id",
                format!("organisation {p} is on {pt}, which does not contain {territory}"),
            ));
        }
    }
    let id = wuzhi_store::org::insert(&mut tx, &name, kind.as_str(), territory.as_str(), n.parent_id, now)
        .await
        .map_err(|e| {
            unique_as(
                e,
                "uq_organisation_name_territory",
                "organisations.territory_code",
                "name",
                "an organisation of that name already exists on this territory",
            )
        })?;
    record(
        &mut tx,
        now,
        actor,
        "create_organisation",
        "organisation",
        &id.to_string(),
        json!({"name": name, "kind": kind.as_str(), "territory": territory.as_str()}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    Ok(OrgView { id, name, kind: kind.as_str().into(), territory_code: territory.to_string(), parent_id: n.parent_id })
}

pub async fn get(app: &App, actor: &Actor, id: i64) -> Result<OrgView> {
    let mut conn = app.db.read().await?;
    let row =
        wuzhi_store::org::get(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("organisation {id}")))?;
    let t = TerritoryCode::parse(&row.territory_code)?;
    actor.can(Action::ReadOrganisation, &Target::territory(&t))?;
    Ok(view(row))
}

pub async fn list(
    app: &App,
    actor: &Actor,
    kind: Option<&str>,
    after: i64,
    limit: Option<i64>,
) -> Result<Vec<OrgView>> {
    let limit = crate::page_limit(limit)?;
    let kind = kind.map(OrgKind::parse).transpose()?;
    let scopes = actor.scopes_for(Action::ReadOrganisation);
    if scopes.is_empty() {
        return Err(AppError::Forbidden { action: Action::ReadOrganisation.as_str().into() });
    }
    let prefixes: Vec<&str> = scopes.iter().map(|s| s.scope_prefix()).collect();
    let mut conn = app.db.read().await?;
    let rows = wuzhi_store::org::list(&mut conn, &prefixes, kind.map(|k| k.as_str()), after, limit).await?;
    Ok(rows.into_iter().map(view).collect())
}
