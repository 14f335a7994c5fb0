//! 微心愿: a community posts the small wish of a resident in need — from a household visit,
//! with the resident's consent recorded — in words that name no one; a party member, a
//! volunteer or a business (a person acting for their organisation) claims it, fulfils it
//! with evidence, and the resident (or the community, on their word) confirms. The giver is
//! thanked by name only if they asked to be; the resident is never shown to the public.

use super::{code, listed_prefix, tell};
use crate::{App, AppError, Result};
use serde::{Deserialize, Serialize};
use wuzhi_domain::{Action, Actor, Target, TerritoryCode, text};
use wuzhi_store::virtue::wishes::{self as store, WishRow};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewWish {
    /// The community (or a grid of it) the wish is posted in.
    pub territory_code: String,
    /// What the public reads: "为独居老人更换一台电饭煲" — no name, no address.
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The estimated value in yuan (1–1,000: a small wish).
    pub value_yuan: i64,
    /// The resident whose wish it is, when they have a record; shown to nobody but the
    /// community's staff, and able to confirm it themselves.
    pub beneficiary_person_id: Option<i64>,
    /// How the resident consented to the wish being posted ("入户走访时本人同意").
    pub consent: String,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct Beneficiary {
    pub person_id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
#[schema(as = SmallWish)]
pub struct WishView {
    pub id: i64,
    pub territory_code: String,
    pub community_name: Option<String>,
    pub title: String,
    pub description: String,
    pub value_yuan: i64,
    /// open, claimed, fulfilled, confirmed or withdrawn
    pub state: String,
    pub posted_at_ms: i64,
    pub claimed_at_ms: Option<i64>,
    pub fulfilled_at_ms: Option<i64>,
    pub confirmed_at_ms: Option<i64>,
    /// Who gave it, as they chose to be thanked (their organisation's name or their own);
    /// null when they chose not to be named.
    pub giver: Option<String>,
    /// The resident's words of thanks.
    pub thanks: Option<String>,
    /// The evidence of fulfilment: for the giver, the resident and the community's staff.
    pub evidence: Option<String>,
    /// For the community's staff only.
    pub beneficiary: Option<Beneficiary>,
    pub consent: Option<String>,
    /// Whether the caller claimed it.
    pub mine: bool,
    /// Whether the caller may confirm it (the resident, or the community's staff).
    pub may_confirm: bool,
    /// Whether the caller keeps the community's wishes.
    pub may_manage: bool,
}

fn manages(actor: &Actor, w: &WishRow) -> bool {
    code(&w.territory_code).is_ok_and(|t| actor.can(Action::ManageVolunteering, &Target::territory(&t)).is_ok())
}

async fn view(app: &App, conn: &mut wuzhi_store::Conn, actor: &Actor, w: WishRow) -> Result<WishView> {
    let manage = manages(actor, &w);
    let mine = w.giver_person_id == Some(actor.person_id);
    let is_beneficiary = w.beneficiary_person_id == Some(actor.person_id);
    let giver = match (w.thank_publicly || mine || manage, &w.giver_org_name, &w.giver_name) {
        (true, Some(org), _) => Some(org.clone()),
        (true, None, Some(name)) => Some(name.clone()),
        _ => None,
    };
    let beneficiary = match (manage, w.beneficiary_person_id) {
        (true, Some(p)) => {
            let name = wuzhi_store::people::get_person(conn, p).await?.map(|r| r.name).unwrap_or_default();
            Some(Beneficiary { person_id: p, name })
        }
        _ => None,
    };
    let community = w.territory_code.get(..12).unwrap_or(&w.territory_code);
    Ok(WishView {
        community_name: app.locator().name_of(community),
        evidence: if mine || manage || is_beneficiary { w.evidence.clone() } else { None },
        consent: manage.then(|| w.consent.clone()),
        may_confirm: w.state == "fulfilled" && (manage || is_beneficiary),
        may_manage: manage,
        mine,
        giver,
        beneficiary,
        id: w.id,
        territory_code: w.territory_code,
        title: w.title,
        description: w.description,
        value_yuan: w.value_yuan,
        state: w.state,
        posted_at_ms: w.posted_at_ms,
        claimed_at_ms: w.claimed_at_ms,
        fulfilled_at_ms: w.fulfilled_at_ms,
        confirmed_at_ms: w.confirmed_at_ms,
        thanks: w.thanks,
    })
}

async fn wish_or_404(conn: &mut wuzhi_store::Conn, id: i64) -> Result<WishRow> {
    store::get(conn, id).await?.ok_or_else(|| AppError::not_found(format!("wish {id}")))
}

fn moved(w: &WishRow, step: &str) -> AppError {
    AppError::conflict("wish", format!("a wish that is {} cannot be {step}", w.state))
}

/// The community's staff post a resident's wish, with the resident's consent.
pub async fn post(app: &App, actor: &Actor, n: NewWish) -> Result<WishView> {
    let t = TerritoryCode::parse(&n.territory_code).map_err(|e| AppError::invalid("territory_code", e.reason))?;
    if t.as_str().len() < 12 {
        return Err(AppError::invalid("territory_code", "a wish is posted in a community or one of its grids"));
    }
    let title = text::name("title", &n.title, 60)?;
    let description = text::optional("description", &n.description)?;
    let consent = text::name("consent", &n.consent, 100)?;
    if !(1..=1000).contains(&n.value_yuan) {
        return Err(AppError::invalid("value_yuan", format!("{} is outside 1–1000: a small wish", n.value_yuan)));
    }
    actor.can(Action::ManageVolunteering, &Target::territory(&t))?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    if let Some(p) = n.beneficiary_person_id {
        let home = wuzhi_store::people::get_person(&mut tx, p)
            .await?
            .ok_or_else(|| AppError::invalid("beneficiary_person_id", format!("person {p} does not exist")))?
            .home_territory;
        let community = code(&t.as_str()[..12])?;
        if !home.as_deref().and_then(|h| TerritoryCode::parse(h).ok()).is_some_and(|h| community.contains(&h)) {
            return Err(AppError::invalid("beneficiary_person_id", format!("person {p} does not live in {community}")));
        }
    }
    let id = store::insert(
        &mut tx,
        &store::NewWish {
            territory_code: t.as_str(),
            title: &title,
            description: &description,
            value_yuan: n.value_yuan,
            beneficiary_person_id: n.beneficiary_person_id,
            consent: &consent,
            posted_by: actor.person_id,
            posted_at_ms: now,
        },
    )
    .await?;
    let w = wish_or_404(&mut tx, id).await?;
    let v = view(app, &mut tx, actor, w).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct WishQuery {
    /// A territory's wishes; without it, those of one's home district (or the city's).
    pub territory: Option<String>,
    /// Only those one claimed.
    #[serde(default)]
    pub mine: bool,
    pub limit: Option<i64>,
}

/// The wishes to claim and those fulfilled, for every signed-in person (what the public may
/// read); the community's staff see more of their own.
pub async fn list(app: &App, actor: &Actor, q: WishQuery) -> Result<Vec<WishView>> {
    let limit = crate::page_limit(q.limit)?;
    let mut conn = app.db.read().await?;
    let rows = if q.mine {
        store::claimed_by(&mut conn, actor.person_id, limit).await?
    } else {
        let prefix = listed_prefix(&mut conn, actor, q.territory.as_deref()).await?;
        store::within(&mut conn, &prefix, limit).await?
    };
    let mut out = Vec::with_capacity(rows.len());
    for w in rows {
        out.push(view(app, &mut conn, actor, w).await?);
    }
    Ok(out)
}

pub async fn get(app: &App, actor: &Actor, id: i64) -> Result<WishView> {
    let mut conn = app.db.read().await?;
    let w = wish_or_404(&mut conn, id).await?;
    if w.state == "withdrawn" && !manages(actor, &w) && w.giver_person_id != Some(actor.person_id) {
        return Err(AppError::not_found(format!("wish {id}")));
    }
    view(app, &mut conn, actor, w).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Claim {
    /// Give on behalf of one's organisation (a business, a unit's party branch), where one
    /// holds a post.
    pub org_id: Option<i64>,
    /// Be thanked by name on the wish when it is fulfilled.
    #[serde(default)]
    pub thank_publicly: bool,
}

/// A giver claims an open wish; when two claim at once, one has it.
pub async fn claim(app: &App, actor: &Actor, id: i64, c: Claim) -> Result<WishView> {
    if let Some(org) = c.org_id
        && !actor.grants.iter().any(|g| g.org == Some(org))
    {
        return Err(AppError::invalid("org_id", format!("you hold no post in organisation {org}")));
    }
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let w = wish_or_404(&mut tx, id).await?;
    if w.beneficiary_person_id == Some(actor.person_id) {
        return Err(AppError::conflict("wish", "it is your own wish"));
    }
    if !store::claim(&mut tx, id, actor.person_id, c.org_id, c.thank_publicly, now).await? {
        return Err(if w.state == "open" {
            AppError::conflict("wish", "someone claimed it first")
        } else {
            moved(&w, "claimed")
        });
    }
    tell(&mut tx, w.posted_by, "wish.claimed", &format!("微心愿「{}」已被认领", w.title), now).await?;
    let w = wish_or_404(&mut tx, id).await?;
    let v = view(app, &mut tx, actor, w).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}

/// The giver lets their claim go; the wish is open again.
pub async fn release(app: &App, actor: &Actor, id: i64) -> Result<WishView> {
    let mut tx = app.db.write().await?;
    let w = wish_or_404(&mut tx, id).await?;
    if !store::release(&mut tx, id, actor.person_id).await? {
        return Err(if w.giver_person_id != Some(actor.person_id) {
            AppError::not_found(format!("your claim of wish {id}"))
        } else {
            moved(&w, "released")
        });
    }
    let w = wish_or_404(&mut tx, id).await?;
    let v = view(app, &mut tx, actor, w).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Fulfilment {
    /// What was given and when ("12月6日送到家中，老人已试用").
    pub evidence: String,
}

/// The giver reports the wish fulfilled, with evidence; the community and the resident are
/// told.
pub async fn fulfil(app: &App, actor: &Actor, id: i64, f: Fulfilment) -> Result<WishView> {
    let evidence = text::required("evidence", &f.evidence)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let w = wish_or_404(&mut tx, id).await?;
    if !store::fulfil(&mut tx, id, actor.person_id, &evidence, now).await? {
        return Err(if w.giver_person_id != Some(actor.person_id) {
            AppError::not_found(format!("your claim of wish {id}"))
        } else {
            moved(&w, "fulfilled")
        });
    }
    let body = format!("微心愿「{}」已由认领人送达，请确认", w.title);
    tell(&mut tx, w.posted_by, "wish.fulfilled", &body, now).await?;
    if let Some(p) = w.beneficiary_person_id {
        tell(&mut tx, p, "wish.fulfilled", &body, now).await?;
    }
    let w = wish_or_404(&mut tx, id).await?;
    let v = view(app, &mut tx, actor, w).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Confirmation {
    /// The resident's words of thanks, shown with the wish.
    pub thanks: Option<String>,
}

/// The resident confirms their wish came true (or the community's staff, on their word); the
/// giver is thanked.
pub async fn confirm(app: &App, actor: &Actor, id: i64, c: Confirmation) -> Result<WishView> {
    let thanks = c.thanks.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| text::name("thanks", s, 200));
    let thanks = thanks.transpose()?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let w = wish_or_404(&mut tx, id).await?;
    if w.beneficiary_person_id != Some(actor.person_id) {
        actor.can(Action::ManageVolunteering, &Target::territory(&code(&w.territory_code)?))?;
    }
    if !store::confirm(&mut tx, id, actor.person_id, thanks.as_deref(), now).await? {
        return Err(moved(&w, "confirmed"));
    }
    if let Some(g) = w.giver_person_id {
        tell(&mut tx, g, "wish.confirmed", &format!("您认领的微心愿「{}」已确认实现，谢谢您！", w.title), now).await?;
    }
    let w = wish_or_404(&mut tx, id).await?;
    let v = view(app, &mut tx, actor, w).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct WishWithdrawal {
    pub reason: String,
}

/// The community withdraws a wish not yet fulfilled (the resident changed their mind, it was
/// met otherwise); a giver who claimed it is told.
pub async fn withdraw(app: &App, actor: &Actor, id: i64, r: WishWithdrawal) -> Result<WishView> {
    let reason = text::required("reason", &r.reason)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let w = wish_or_404(&mut tx, id).await?;
    actor.can(Action::ManageVolunteering, &Target::territory(&code(&w.territory_code)?))?;
    if !store::withdraw(&mut tx, id, &reason).await? {
        return Err(moved(&w, "withdrawn"));
    }
    if let Some(g) = w.giver_person_id {
        tell(&mut tx, g, "wish.withdrawn", &format!("您认领的微心愿「{}」已撤回：{reason}", w.title), now).await?;
    }
    let w = wish_or_404(&mut tx, id).await?;
    let v = view(app, &mut tx, actor, w).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}
