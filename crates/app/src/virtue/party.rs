//! 双报到: a party member (a person with a post in a party organisation) registers with the
//! community where they live and chooses up to three service posts; a new registration —
//! after moving house, or to change posts — ends the old one. Their service is volunteer
//! service: hours confirmed by an activity's organiser, counted for the community since they
//! registered. The community's organisers see who registered and what they did.

use crate::{App, AppError, Result};
use serde::{Deserialize, Serialize};
use wuzhi_domain::virtue::party as rules;
use wuzhi_domain::virtue::volunteer::hours_text;
use wuzhi_domain::{Action, Actor, Target, TerritoryCode};
use wuzhi_store::virtue::party::{self as store, ReportRow};

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct PartyReport {
    pub id: i64,
    pub person_id: i64,
    pub name: String,
    pub party_org_id: i64,
    pub party_org_name: String,
    pub community_code: String,
    pub community_name: Option<String>,
    /// The service posts' codes (policy, environment, civility, care, safety, mediation,
    /// culture, expertise).
    pub posts: Vec<String>,
    pub registered_at_ms: i64,
    /// Verified minutes of service for the community's activities since registering.
    pub minutes: i64,
    pub hours: String,
    pub activities: i64,
}

fn view(app: &App, r: ReportRow) -> PartyReport {
    PartyReport {
        community_name: app.locator().name_of(&r.community_code),
        posts: r.posts.split(',').filter(|p| !p.is_empty()).map(str::to_owned).collect(),
        hours: hours_text(r.minutes),
        id: r.id,
        person_id: r.person_id,
        name: r.name,
        party_org_id: r.party_org_id,
        party_org_name: r.party_org_name,
        community_code: r.community_code,
        registered_at_ms: r.registered_at_ms,
        minutes: r.minutes,
        activities: r.activities,
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PartyOrgRef {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyParty {
    /// The party organisations one holds a post in (empty: not a party member).
    pub organisations: Vec<PartyOrgRef>,
    /// The registration in force, if any.
    pub report: Option<PartyReport>,
    /// The community of one's home, where one registers.
    pub home_community: Option<String>,
}

/// One's party posts and registration.
pub async fn mine(app: &App, actor: &Actor) -> Result<MyParty> {
    let now = app.now_ms();
    let mut conn = app.db.read().await?;
    let organisations = store::party_posts(&mut conn, actor.person_id, now)
        .await?
        .into_iter()
        .map(|(id, name)| PartyOrgRef { id, name })
        .collect();
    let report = store::active(&mut conn, actor.person_id).await?.map(|r| view(app, r));
    let home = wuzhi_store::people::get_person(&mut conn, actor.person_id).await?.and_then(|p| p.home_territory);
    let home_community = home.as_deref().and_then(rules::community_of).map(str::to_owned);
    Ok(MyParty { organisations, report, home_community })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = PartyRegistration)]
pub struct Registration {
    /// One to three of the service posts' codes.
    pub posts: Vec<String>,
    /// Which of one's party organisations (when one holds posts in several).
    pub party_org_id: Option<i64>,
}

/// A party member registers with the community where they live (ending an earlier
/// registration).
pub async fn register(app: &App, actor: &Actor, r: Registration) -> Result<PartyReport> {
    let posts = rules::posts("posts", &r.posts)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let orgs = store::party_posts(&mut tx, actor.person_id, now).await?;
    let org = match r.party_org_id {
        Some(id) => orgs
            .iter()
            .find(|(o, _)| *o == id)
            .ok_or_else(|| AppError::invalid("party_org_id", format!("you hold no post in party organisation {id}")))?,
        None => orgs.first().ok_or_else(|| {
            AppError::invalid(
                "party_org_id",
                "you hold no post in a party organisation; its secretary registers you first",
            )
        })?,
    };
    let home = wuzhi_store::people::get_person(&mut tx, actor.person_id).await?.and_then(|p| p.home_territory);
    let community = home.as_deref().and_then(rules::community_of).map(str::to_owned).ok_or_else(|| {
        AppError::invalid(
            "home_territory",
            "your home is not recorded down to a community; ask the community to record it",
        )
    })?;
    // Changing posts keeps the service counted since one first registered here; moving
    // house starts again in the new community.
    let since = match store::active(&mut tx, actor.person_id).await? {
        Some(old) if old.community_code == community => old.registered_at_ms,
        _ => now,
    };
    store::end(&mut tx, actor.person_id, now).await?;
    store::insert(&mut tx, actor.person_id, org.0, &community, &posts.join(","), since).await.map_err(|e| {
        crate::error::unique_as(e, "uq_party_report_active", "party_reports.person_id", "person", "registered already")
    })?;
    let row = store::active(&mut tx, actor.person_id).await?.ok_or_else(|| AppError::not_found("registration"))?;
    wuzhi_store::commit(tx).await?;
    Ok(view(app, row))
}

/// Ends one's registration (one has left the community).
pub async fn end(app: &App, actor: &Actor) -> Result<()> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    if !store::end(&mut tx, actor.person_id, now).await? {
        return Err(AppError::not_found("your registration"));
    }
    wuzhi_store::commit(tx).await?;
    Ok(())
}

/// The party members registered with a community and what they did, for its organisers.
pub async fn of_community(app: &App, actor: &Actor, community: &str) -> Result<Vec<PartyReport>> {
    let c = TerritoryCode::parse(community).map_err(|e| AppError::invalid("community", e.reason))?;
    if c.as_str().len() != 12 {
        return Err(AppError::invalid("community", format!("{c} is not a community's 12-digit code")));
    }
    actor.can(Action::ManageVolunteering, &Target::territory(&c))?;
    let mut conn = app.db.read().await?;
    Ok(store::of_community(&mut conn, c.as_str()).await?.into_iter().map(|r| view(app, r)).collect())
}
