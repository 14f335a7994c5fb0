//! 文明评选: civilised-rating campaigns. The committee of a territory (its community's staff,
//! its street's commander, a district's leaders) opens a campaign for an honour with its
//! criteria and places; residents nominate themselves or a neighbour (who consents before
//! their name is shown), the committee nominates too, and reviews each nomination; the
//! residents of the territory vote once each; the most voted are published (公示) and any
//! resident may object, every objection answered; then the award — with the points of the
//! campaign's rule credited to the person's or the household's account — and the honours
//! board (榜样) on the portal, open to everyone.

use super::{code, lives_in, tell};
use crate::{App, AppError, Result};
use serde::{Deserialize, Serialize};
use wuzhi_domain::virtue::campaigns::{self as rules, BY, KINDS, Stage, Standing};
use wuzhi_domain::virtue::volunteer::LATEST_MS;
use wuzhi_domain::{Action, Actor, Target, TerritoryCode, text};
use wuzhi_store::virtue::campaigns::{self as store, CampaignRow, NominationRow, ObjectionRow};

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
#[schema(as = RatingObjection)]
pub struct ObjectionView {
    pub id: i64,
    pub nomination_id: i64,
    /// The objection's reason: for the committee and the objector only.
    pub reason: Option<String>,
    /// Who objected: for the committee only.
    pub objector_name: Option<String>,
    pub created_at_ms: i64,
    /// upheld or dismissed, once answered.
    pub decision: Option<String>,
    /// The committee's answer, public.
    pub answer: Option<String>,
    pub answered_at_ms: Option<i64>,
    pub mine: bool,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
#[schema(as = RatingNomination)]
pub struct NominationView {
    pub id: i64,
    pub campaign_id: i64,
    /// The person (a household as 某某家庭, a community by its name) as the board shows it.
    pub shown_name: String,
    /// self, neighbour or committee
    pub by_kind: String,
    /// Who nominated: for the committee, the nominee and the nominator.
    pub nominator_name: Option<String>,
    /// The deeds that earn it.
    pub deeds: String,
    /// awaiting_consent, submitted, accepted, rejected, declined, proposed, struck or awarded
    pub standing: String,
    /// The committee's review note: for the committee, the nominee and the nominator.
    pub review_note: Option<String>,
    /// Votes, once the vote has closed.
    pub votes: Option<i64>,
    pub created_at_ms: i64,
    /// The caller is the nominee.
    pub mine: bool,
    /// The caller put it forward.
    pub i_nominated: bool,
    /// The nominee may consent now.
    pub may_consent: bool,
    /// The caller may object now (a resident, during the publicity period).
    pub may_object: bool,
    pub objections: Vec<ObjectionView>,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
#[schema(as = RatingCampaign)]
pub struct CampaignView {
    pub id: i64,
    pub territory_code: String,
    pub territory_name: Option<String>,
    /// person, household or community
    pub kind: String,
    /// The honour awarded (文明家庭, 最美志愿者 …).
    pub honour: String,
    pub title: String,
    pub criteria: String,
    pub places: i64,
    /// nominating, voting, publicity or awarded
    pub stage: String,
    pub nominations_close_ms: i64,
    pub vote_days: i64,
    pub publicity_days: i64,
    pub vote_closes_at_ms: Option<i64>,
    pub publicity_ends_at_ms: Option<i64>,
    pub awarded_at_ms: Option<i64>,
    /// Points each winner's account is credited with (the campaign's rule), if any.
    pub points: Option<i64>,
    /// How many residents voted.
    pub voters: i64,
    pub i_voted: bool,
    /// The caller lives in the territory (may nominate, vote and object).
    pub resident: bool,
    pub may_nominate: bool,
    pub may_vote: bool,
    /// The caller runs the campaign (its committee).
    pub may_run: bool,
    /// The nominations the caller may see: the public ones, and their own; all for the
    /// committee.
    pub nominations: Vec<NominationView>,
}

async fn campaign_or_404(conn: &mut wuzhi_store::Conn, id: i64) -> Result<CampaignRow> {
    store::get_campaign(conn, id).await?.ok_or_else(|| AppError::not_found(format!("campaign {id}")))
}

async fn nomination_or_404(conn: &mut wuzhi_store::Conn, id: i64) -> Result<NominationRow> {
    store::get_nomination(conn, id).await?.ok_or_else(|| AppError::not_found(format!("nomination {id}")))
}

fn stage(c: &CampaignRow) -> Stage {
    Stage::parse(&c.stage).unwrap_or(Stage::Awarded)
}

fn standing(n: &NominationRow) -> Standing {
    Standing::parse(&n.standing).unwrap_or(Standing::Rejected)
}

fn runs(actor: &Actor, c: &CampaignRow) -> Result<bool> {
    Ok(must_run(actor, c).is_ok())
}

fn must_run(actor: &Actor, c: &CampaignRow) -> Result<()> {
    actor.can(Action::RunCampaigns, &Target::territory(&code(&c.territory_code)?))?;
    Ok(())
}

fn wrong_stage(c: &CampaignRow, wanted: Stage) -> AppError {
    AppError::conflict("stage", format!("the campaign is in its {} stage, not {}", c.stage, wanted.as_str()))
}

fn objection_view(o: ObjectionRow, actor: &Actor, committee: bool) -> ObjectionView {
    let mine = o.person_id == actor.person_id;
    ObjectionView {
        id: o.id,
        nomination_id: o.nomination_id,
        reason: (committee || mine).then_some(o.reason),
        objector_name: committee.then_some(o.person_name),
        created_at_ms: o.created_at_ms,
        decision: o.decision,
        answer: o.answer,
        answered_at_ms: o.answered_at_ms,
        mine,
    }
}

async fn view(
    app: &App,
    conn: &mut wuzhi_store::Conn,
    actor: &Actor,
    c: CampaignRow,
    now: i64,
) -> Result<CampaignView> {
    let t = code(&c.territory_code)?;
    let committee = runs(actor, &c)?;
    let resident = lives_in(conn, actor.person_id, &t).await?;
    let st = stage(&c);
    let i_voted = store::has_voted(conn, c.id, actor.person_id).await?;
    let mut objections: Vec<ObjectionRow> = if st == Stage::Nominating || st == Stage::Voting {
        Vec::new()
    } else {
        store::objections_of(conn, c.id).await?
    };
    let publicity_open = st == Stage::Publicity && c.publicity_ends_at_ms.is_some_and(|e| now < e);
    let mut nominations = Vec::new();
    for n in store::nominations_of(conn, c.id).await? {
        let mine = n.nominee_person_id == Some(actor.person_id);
        let i_nominated = n.nominated_by == actor.person_id;
        let s = standing(&n);
        if !(s.public() || committee || mine || i_nominated) {
            continue;
        }
        let involved = committee || mine || i_nominated;
        let (own, rest): (Vec<_>, Vec<_>) = objections.into_iter().partition(|o| o.nomination_id == n.id);
        objections = rest;
        let i_objected = own.iter().any(|o| o.person_id == actor.person_id);
        nominations.push(NominationView {
            id: n.id,
            campaign_id: n.campaign_id,
            shown_name: n.shown_name,
            by_kind: n.by_kind,
            nominator_name: involved.then_some(n.nominator_name),
            deeds: n.deeds,
            standing: n.standing,
            review_note: involved.then_some(n.review_note).filter(|r| !r.is_empty()),
            votes: matches!(st, Stage::Publicity | Stage::Awarded).then_some(n.votes),
            created_at_ms: n.created_at_ms,
            may_consent: mine && s == Standing::AwaitingConsent && st == Stage::Nominating,
            may_object: publicity_open && resident && !mine && !i_objected && s == Standing::Proposed,
            mine,
            i_nominated,
            objections: own.into_iter().map(|o| objection_view(o, actor, committee)).collect(),
        });
    }
    let points = match c.rule_id {
        Some(r) => wuzhi_store::virtue::get_rule(conn, r).await?.map(|r| r.points),
        None => None,
    };
    let nominating = st == Stage::Nominating && now < c.nominations_close_ms;
    Ok(CampaignView {
        territory_name: app.locator().name_of(&c.territory_code),
        voters: store::voters(conn, c.id).await?,
        i_voted,
        resident,
        may_nominate: nominating && (resident || committee),
        may_vote: st == Stage::Voting && resident && !i_voted && c.vote_closes_at_ms.is_some_and(|e| now < e),
        may_run: committee,
        nominations,
        points,
        id: c.id,
        territory_code: c.territory_code,
        kind: c.kind,
        honour: c.honour,
        title: c.title,
        criteria: c.criteria,
        places: c.places,
        stage: c.stage,
        nominations_close_ms: c.nominations_close_ms,
        vote_days: c.vote_days,
        publicity_days: c.publicity_days,
        vote_closes_at_ms: c.vote_closes_at_ms,
        publicity_ends_at_ms: c.publicity_ends_at_ms,
        awarded_at_ms: c.awarded_at_ms,
    })
}

async fn fresh(app: &App, conn: &mut wuzhi_store::Conn, actor: &Actor, id: i64, now: i64) -> Result<CampaignView> {
    let c = campaign_or_404(conn, id).await?;
    view(app, conn, actor, c, now).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = NewRatingCampaign)]
pub struct NewCampaign {
    /// The district, street or community whose residents it is for (a community campaign: a
    /// district or a street).
    pub territory_code: String,
    /// person, household or community
    pub kind: String,
    /// The honour awarded, e.g. 文明家庭.
    pub honour: String,
    pub title: String,
    /// What the nominees are judged by.
    pub criteria: String,
    /// How many are honoured (1–100).
    pub places: i64,
    /// Nominations are taken until then.
    pub nominations_close_ms: i64,
    /// Days the vote stays open (1–30; 7 by default).
    pub vote_days: Option<i64>,
    /// Days of the publicity period for objections (1–30; 7 by default).
    pub publicity_days: Option<i64>,
    /// A points rule of the territory whose points each winner's account is credited with.
    pub rule_id: Option<i64>,
}

/// The committee opens a campaign.
pub async fn create(app: &App, actor: &Actor, n: NewCampaign) -> Result<CampaignView> {
    let t = TerritoryCode::parse(&n.territory_code).map_err(|e| AppError::invalid("territory_code", e.reason))?;
    let kind = text::one_of("kind", &n.kind, KINDS)?;
    let levels: &[usize] = if kind == "community" { &[6, 9] } else { &[6, 9, 12] };
    if !levels.contains(&t.as_str().len()) {
        return Err(AppError::invalid(
            "territory_code",
            if kind == "community" {
                "a campaign among communities is a district's or a street's"
            } else {
                "a campaign is a district's, a street's or a community's"
            },
        ));
    }
    let honour = text::name("honour", &n.honour, 30)?;
    let title = text::name("title", &n.title, 80)?;
    let criteria = text::required("criteria", &n.criteria)?;
    let places = rules::places("places", n.places)?;
    let vote_days = rules::days("vote_days", n.vote_days.unwrap_or(7))?;
    let publicity_days = rules::days("publicity_days", n.publicity_days.unwrap_or(7))?;
    let now = app.now_ms();
    if n.nominations_close_ms <= now || n.nominations_close_ms > LATEST_MS {
        return Err(AppError::invalid("nominations_close_ms", "is a time after now and before 2100"));
    }
    actor.can(Action::RunCampaigns, &Target::territory(&t))?;
    let mut tx = app.db.write().await?;
    if wuzhi_store::territory::get(&mut tx, t.as_str(), false).await?.is_none() {
        return Err(AppError::invalid("territory_code", format!("{t} is not in the territory tree")));
    }
    if let Some(r) = n.rule_id {
        if kind == "community" {
            return Err(AppError::invalid("rule_id", "a community holds no points account"));
        }
        actor.can(Action::ManagePoints, &Target::territory(&t))?;
        let rule = wuzhi_store::virtue::get_rule(&mut tx, r)
            .await?
            .filter(|x| x.active)
            .ok_or_else(|| AppError::invalid("rule_id", format!("rule {r} does not exist")))?;
        if !code(&rule.territory_code)?.contains(&t) {
            return Err(AppError::invalid(
                "rule_id",
                format!("rule {r} is {}'s, not this territory's", rule.territory_code),
            ));
        }
    }
    let id = store::insert_campaign(
        &mut tx,
        &store::NewCampaign {
            territory_code: t.as_str(),
            kind,
            honour: &honour,
            title: &title,
            criteria: &criteria,
            places,
            nominations_close_ms: n.nominations_close_ms,
            vote_days,
            publicity_days,
            rule_id: n.rule_id,
            created_by: actor.person_id,
            created_at_ms: now,
        },
    )
    .await?;
    let v = fresh(app, &mut tx, actor, id, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct CampaignQuery {
    /// A territory's campaigns (its subtree and those above it); without it, one's home
    /// district's.
    pub territory: Option<String>,
    pub limit: Option<i64>,
}

/// Campaigns are open to every signed-in person.
pub async fn list(app: &App, actor: &Actor, q: CampaignQuery) -> Result<Vec<CampaignView>> {
    let limit = crate::page_limit(q.limit)?;
    let now = app.now_ms();
    let mut conn = app.db.read().await?;
    let prefix = super::listed_prefix(&mut conn, actor, q.territory.as_deref()).await?;
    let mut above = Vec::new();
    let mut at = TerritoryCode::parse(&prefix).ok().and_then(|t| t.implied_parent());
    while let Some(p) = at {
        above.push(p.to_string());
        at = p.implied_parent();
    }
    let rows = store::campaigns_for(&mut conn, &prefix, &above, limit).await?;
    let mut out = Vec::with_capacity(rows.len());
    for c in rows {
        out.push(view(app, &mut conn, actor, c, now).await?);
    }
    Ok(out)
}

pub async fn get(app: &App, actor: &Actor, id: i64) -> Result<CampaignView> {
    let now = app.now_ms();
    let mut conn = app.db.read().await?;
    fresh(app, &mut conn, actor, id, now).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = NewRatingNomination)]
pub struct NewNomination {
    /// self, neighbour or committee
    pub by: String,
    /// A neighbour is named by their name and the phone of their account, both: the answer
    /// to a phone alone would tell who lives here.
    pub nominee_phone: Option<String>,
    pub nominee_name: Option<String>,
    /// The committee names a person by their id.
    pub nominee_person_id: Option<i64>,
    /// The committee names a community (in a community campaign).
    pub nominee_territory: Option<String>,
    /// The deeds that earn the honour.
    pub deeds: String,
}

/// A nomination, while nominations are open: oneself, a neighbour (by their name and the
/// phone of their account) or, by the committee, any resident (or community) of the territory.
pub async fn nominate(app: &App, actor: &Actor, id: i64, n: NewNomination) -> Result<CampaignView> {
    let by = text::one_of("by", &n.by, BY)?;
    let deeds = text::required("deeds", &n.deeds)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let c = campaign_or_404(&mut tx, id).await?;
    if stage(&c) != Stage::Nominating || now >= c.nominations_close_ms {
        return Err(AppError::conflict("campaign", "its nominations are closed"));
    }
    let t = code(&c.territory_code)?;
    let resident = lives_in(&mut tx, actor.person_id, &t).await?;
    if by == "committee" {
        must_run(actor, &c)?;
    } else if !resident {
        return Err(AppError::Forbidden { action: "nominate".into() });
    }
    let mut nominee_person = None;
    let mut nominee_territory = None;
    let mut household_key = None;
    let shown_name;
    if c.kind == "community" {
        if by != "committee" {
            return Err(AppError::invalid("by", "communities are nominated by the committee"));
        }
        let nt = n
            .nominee_territory
            .as_deref()
            .ok_or_else(|| AppError::invalid("nominee_territory", "is required in a campaign among communities"))?;
        let nt = TerritoryCode::parse(nt).map_err(|e| AppError::invalid("nominee_territory", e.reason))?;
        if nt.as_str().len() != 12 || !t.contains(&nt) {
            return Err(AppError::invalid("nominee_territory", format!("is not a community of {}", c.territory_code)));
        }
        shown_name = app
            .locator()
            .name_of(nt.as_str())
            .ok_or_else(|| AppError::invalid("nominee_territory", format!("{nt} is not in the territory tree")))?;
        nominee_territory = Some(nt.to_string());
    } else {
        let person = match by {
            "self" => actor.person_id,
            "neighbour" => {
                let phone = n.nominee_phone.as_deref().map(str::trim).filter(|p| !p.is_empty()).ok_or_else(|| {
                    AppError::invalid(
                        "nominee_phone",
                        "is required: a neighbour is named by the phone of their account",
                    )
                })?;
                let name = n.nominee_name.as_deref().map(str::trim).filter(|p| !p.is_empty()).ok_or_else(|| {
                    AppError::invalid("nominee_name", "is required: a neighbour is named by name and phone")
                })?;
                let found = store::residents_with_phone(&mut tx, phone, name, t.as_str()).await?;
                match found.as_slice() {
                    [p] if *p != actor.person_id => *p,
                    [_] => return Err(AppError::invalid("nominee_phone", "is your own: nominate yourself instead")),
                    _ => {
                        return Err(AppError::invalid(
                            "nominee_phone",
                            "with that name belongs to no one account of a resident of this territory",
                        ));
                    }
                }
            }
            _ => {
                let p = n.nominee_person_id.ok_or_else(|| AppError::invalid("nominee_person_id", "is required"))?;
                if !lives_in(&mut tx, p, &t).await? {
                    return Err(AppError::invalid("nominee_person_id", format!("person {p} does not live in {t}")));
                }
                p
            }
        };
        let name = wuzhi_store::people::get_person(&mut tx, person)
            .await?
            .map(|p| p.name)
            .ok_or_else(|| AppError::invalid("nominee_person_id", format!("person {person} does not exist")))?;
        if c.kind == "household" {
            let h = super::household_of(&mut tx, person).await?.filter(|h| t.contains(&h.grid)).ok_or_else(|| {
                AppError::invalid(
                    "nominee",
                    "has no household of this territory in the archives (one links one's record under 我的档案)",
                )
            })?;
            household_key = Some(h.key);
        }
        shown_name = rules::shown_name(&c.kind, &name);
        nominee_person = Some(person);
    }
    let consent_needed = nominee_person.is_some_and(|p| p != actor.person_id);
    let standing = if consent_needed { Standing::AwaitingConsent } else { Standing::Submitted };
    let nid = store::insert_nomination(
        &mut tx,
        &store::NewNomination {
            campaign_id: c.id,
            nominee_person_id: nominee_person,
            nominee_territory: nominee_territory.as_deref(),
            household_key: household_key.as_deref(),
            shown_name: &shown_name,
            by_kind: by,
            nominated_by: actor.person_id,
            deeds: &deeds,
            standing: standing.as_str(),
            created_at_ms: now,
        },
    )
    .await
    .map_err(|e| {
        if e.is_unique("uq_rating_nominee", "rating_nominations.campaign_id") {
            AppError::conflict("nominee", "is nominated in this campaign already")
        } else {
            e.into()
        }
    })?;
    if let Some(p) = nominee_person.filter(|_| consent_needed) {
        let body = format!("您被推荐参加“{}”（{}），请确认是否同意公开您的推荐（推荐编号 {nid}）", c.title, c.honour);
        tell(&mut tx, p, "rating_nominated", &body, now).await?;
    }
    let v = view(app, &mut tx, actor, c, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = RatingConsent)]
pub struct Consent {
    /// Whether the nominee agrees to stand (and to their name being shown).
    pub agree: bool,
}

/// The nominee agrees to stand, or declines; while nominations are open.
pub async fn consent(app: &App, actor: &Actor, id: i64, c: Consent) -> Result<CampaignView> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let n = nomination_or_404(&mut tx, id).await?;
    if n.nominee_person_id != Some(actor.person_id) {
        return Err(AppError::not_found(format!("nomination {id}")));
    }
    let camp = campaign_or_404(&mut tx, n.campaign_id).await?;
    if stage(&camp) != Stage::Nominating {
        return Err(AppError::conflict("campaign", "its nominations are closed"));
    }
    let to = if c.agree { Standing::Submitted } else { Standing::Declined };
    if !store::set_standing(&mut tx, id, Standing::AwaitingConsent.as_str(), to.as_str(), None).await? {
        return Err(AppError::conflict("nomination", format!("it is {}, not awaiting consent", n.standing)));
    }
    let v = view(app, &mut tx, actor, camp, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = RatingReview)]
pub struct Review {
    pub accept: bool,
    /// Why (required when rejected).
    #[serde(default)]
    pub note: String,
}

/// The committee accepts a nomination into the vote or rejects it with its reason.
pub async fn review(app: &App, actor: &Actor, id: i64, r: Review) -> Result<CampaignView> {
    let note = if r.accept { text::optional("note", &r.note)? } else { text::required("note", &r.note)? };
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let n = nomination_or_404(&mut tx, id).await?;
    let c = campaign_or_404(&mut tx, n.campaign_id).await?;
    must_run(actor, &c)?;
    if n.nominee_person_id == Some(actor.person_id) {
        return Err(AppError::conflict("nomination", "one does not review one's own nomination"));
    }
    if stage(&c) != Stage::Nominating {
        return Err(wrong_stage(&c, Stage::Nominating));
    }
    let to = if r.accept { Standing::Accepted } else { Standing::Rejected };
    if !store::set_standing(&mut tx, id, Standing::Submitted.as_str(), to.as_str(), Some((actor.person_id, &note, now)))
        .await?
    {
        return Err(AppError::conflict("nomination", format!("it is {}, not waiting for review", n.standing)));
    }
    if let Some(p) = n.nominee_person_id {
        let verdict =
            if r.accept { "已通过审核，进入投票".to_owned() } else { format!("未通过审核：{note}") };
        tell(&mut tx, p, "rating_reviewed", &format!("您在“{}”中的推荐{verdict}", c.title), now).await?;
    }
    let v = view(app, &mut tx, actor, c, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}

/// The committee opens the vote once nominations have closed and every nomination is
/// reviewed; the ones still waiting for their nominee's consent lapse.
pub async fn open_vote(app: &App, actor: &Actor, id: i64) -> Result<CampaignView> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let c = campaign_or_404(&mut tx, id).await?;
    must_run(actor, &c)?;
    if stage(&c) != Stage::Nominating {
        return Err(wrong_stage(&c, Stage::Nominating));
    }
    if now < c.nominations_close_ms {
        return Err(AppError::conflict("stage", "nominations are still open"));
    }
    let all = store::nominations_of(&mut tx, id).await?;
    if all.iter().any(|n| standing(n) == Standing::Submitted) {
        return Err(AppError::conflict("nominations", "review every nomination before the vote"));
    }
    if !all.iter().any(|n| standing(n) == Standing::Accepted) {
        return Err(AppError::conflict("nominations", "no nomination was accepted"));
    }
    store::set_standings(&mut tx, id, Standing::AwaitingConsent.as_str(), Standing::Declined.as_str(), None).await?;
    if !store::move_stage(&mut tx, id, Stage::Nominating, now + c.vote_days * DAY_MS).await? {
        return Err(AppError::conflict("stage", "the campaign moved meanwhile"));
    }
    let v = fresh(app, &mut tx, actor, id, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = RatingVote)]
pub struct Vote {
    pub nomination_id: i64,
}

/// A resident of the territory votes, once in the campaign.
pub async fn vote(app: &App, actor: &Actor, id: i64, v: Vote) -> Result<CampaignView> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let c = campaign_or_404(&mut tx, id).await?;
    if !lives_in(&mut tx, actor.person_id, &code(&c.territory_code)?).await? {
        return Err(AppError::Forbidden { action: "vote".into() });
    }
    if stage(&c) != Stage::Voting || c.vote_closes_at_ms.is_none_or(|e| now >= e) {
        return Err(AppError::conflict("campaign", "its vote is not open"));
    }
    let n = store::get_nomination(&mut tx, v.nomination_id)
        .await?
        .filter(|n| n.campaign_id == id && standing(n) == Standing::Accepted)
        .ok_or_else(|| {
            AppError::invalid("nomination_id", format!("{} is not a nominee of this campaign", v.nomination_id))
        })?;
    if !store::vote(&mut tx, id, actor.person_id, n.id).await? {
        return Err(AppError::conflict("campaign", "you voted in it already"));
    }
    let view = view(app, &mut tx, actor, c, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(view)
}

/// The committee closes the vote when it is due: the most voted are proposed and published
/// for the publicity period.
pub async fn close_vote(app: &App, actor: &Actor, id: i64) -> Result<CampaignView> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let c = campaign_or_404(&mut tx, id).await?;
    must_run(actor, &c)?;
    if stage(&c) != Stage::Voting {
        return Err(wrong_stage(&c, Stage::Voting));
    }
    if c.vote_closes_at_ms.is_some_and(|e| now < e) {
        return Err(AppError::conflict("stage", "the vote is still open"));
    }
    let all = store::nominations_of(&mut tx, id).await?;
    let counts: Vec<(i64, i64)> =
        all.iter().filter(|n| standing(n) == Standing::Accepted).map(|n| (n.id, n.votes)).collect();
    let winners = rules::winners(&counts, c.places);
    store::set_standings(&mut tx, id, Standing::Accepted.as_str(), Standing::Proposed.as_str(), Some(&winners)).await?;
    let ends = now + c.publicity_days * DAY_MS;
    if !store::move_stage(&mut tx, id, Stage::Voting, ends).await? {
        return Err(AppError::conflict("stage", "the campaign moved meanwhile"));
    }
    for n in all.iter().filter(|n| winners.contains(&n.id)) {
        if let Some(p) = n.nominee_person_id {
            let body = format!("您在“{}”中拟获评“{}”，现予公示 {} 天", c.title, c.honour, c.publicity_days);
            tell(&mut tx, p, "rating_proposed", &body, now).await?;
        }
    }
    let v = fresh(app, &mut tx, actor, id, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = NewRatingObjection)]
pub struct NewObjection {
    pub reason: String,
}

/// A resident of the territory objects to a proposed winner during the publicity period.
pub async fn object(app: &App, actor: &Actor, id: i64, o: NewObjection) -> Result<CampaignView> {
    let reason = text::required("reason", &o.reason)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let n = nomination_or_404(&mut tx, id).await?;
    let c = campaign_or_404(&mut tx, n.campaign_id).await?;
    if !lives_in(&mut tx, actor.person_id, &code(&c.territory_code)?).await? {
        return Err(AppError::Forbidden { action: "object".into() });
    }
    if n.nominee_person_id == Some(actor.person_id) {
        return Err(AppError::conflict("nomination", "one does not object to one's own nomination"));
    }
    if stage(&c) != Stage::Publicity || c.publicity_ends_at_ms.is_none_or(|e| now >= e) {
        return Err(AppError::conflict("campaign", "its publicity period is not open"));
    }
    if standing(&n) != Standing::Proposed {
        return Err(AppError::conflict("nomination", format!("it is {}, not proposed", n.standing)));
    }
    store::insert_objection(&mut tx, id, actor.person_id, &reason, now).await.map_err(|e| {
        if e.is_unique("uq_rating_objection", "rating_objections.nomination_id") {
            AppError::conflict("nomination", "you objected to it already")
        } else {
            e.into()
        }
    })?;
    let v = view(app, &mut tx, actor, c, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = RatingObjectionAnswer)]
pub struct Answer {
    /// Whether the objection holds: an upheld one strikes the nominee.
    pub upheld: bool,
    pub answer: String,
}

/// The committee answers an objection (before the award).
pub async fn answer(app: &App, actor: &Actor, id: i64, a: Answer) -> Result<CampaignView> {
    let answer = text::required("answer", &a.answer)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let o = store::get_objection(&mut tx, id).await?.ok_or_else(|| AppError::not_found(format!("objection {id}")))?;
    let n = nomination_or_404(&mut tx, o.nomination_id).await?;
    let c = campaign_or_404(&mut tx, n.campaign_id).await?;
    must_run(actor, &c)?;
    if stage(&c) != Stage::Publicity {
        return Err(wrong_stage(&c, Stage::Publicity));
    }
    let decision = if a.upheld { "upheld" } else { "dismissed" };
    if !store::answer_objection(&mut tx, id, decision, &answer, actor.person_id, now).await? {
        return Err(AppError::conflict("objection", "it is answered already"));
    }
    if a.upheld {
        store::set_standing(&mut tx, n.id, Standing::Proposed.as_str(), Standing::Struck.as_str(), None).await?;
    }
    let verdict = if a.upheld { "经核实成立" } else { "经核实不成立" };
    let body = format!("您对“{}”拟获评对象的异议{verdict}：{answer}", c.title);
    tell(&mut tx, o.person_id, "rating_objection_answered", &body, now).await?;
    let v = view(app, &mut tx, actor, c, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}

/// The committee gives the award when the publicity period is over and every objection is
/// answered: each proposed nominee is honoured, and the campaign's points are credited to the
/// person's or the household's account.
pub async fn award(app: &App, actor: &Actor, id: i64) -> Result<CampaignView> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let c = campaign_or_404(&mut tx, id).await?;
    must_run(actor, &c)?;
    if stage(&c) != Stage::Publicity {
        return Err(wrong_stage(&c, Stage::Publicity));
    }
    if c.publicity_ends_at_ms.is_some_and(|e| now < e) {
        return Err(AppError::conflict("stage", "the publicity period is not over"));
    }
    if store::objections_of(&mut tx, id).await?.iter().any(|o| o.decision.is_none()) {
        return Err(AppError::conflict("objections", "answer every objection before the award"));
    }
    let winners: Vec<NominationRow> =
        store::nominations_of(&mut tx, id).await?.into_iter().filter(|n| standing(n) == Standing::Proposed).collect();
    store::set_standings(&mut tx, id, Standing::Proposed.as_str(), Standing::Awarded.as_str(), None).await?;
    if !store::move_stage(&mut tx, id, Stage::Publicity, now).await? {
        return Err(AppError::conflict("stage", "the campaign moved meanwhile"));
    }
    let rule = match c.rule_id {
        Some(r) => wuzhi_store::virtue::get_rule(&mut tx, r).await?.filter(|r| r.active),
        None => None,
    };
    for n in &winners {
        let Some(person) = n.nominee_person_id else { continue };
        if let Some(rule) = &rule {
            let reason = format!("{}：{}", c.title, c.honour);
            let source = format!("campaign:{}:{}", c.id, n.id);
            let (account, home) = match &n.household_key {
                Some(key) => {
                    let grid = super::household_of(&mut tx, person)
                        .await?
                        .filter(|h| &h.key == key)
                        .map(|h| h.grid)
                        .unwrap_or(code(&c.territory_code)?);
                    let acc =
                        wuzhi_store::virtue::household_account(&mut tx, key, grid.as_str(), &n.shown_name, now).await?;
                    (acc, grid)
                }
                None => {
                    let (home, name) = super::person_home(&mut tx, person).await?;
                    (wuzhi_store::virtue::person_account(&mut tx, person, home.as_str(), &name, now).await?, home)
                }
            };
            super::earn(app, &mut tx, rule, &account, &home, Some(&source), &reason, actor.person_id, now).await?;
        }
        tell(&mut tx, person, "rating_awarded", &format!("恭喜！您在“{}”中获评“{}”", c.title, c.honour), now).await?;
    }
    let v = fresh(app, &mut tx, actor, id, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Honour {
    pub nomination_id: i64,
    pub campaign_id: i64,
    /// The honour (文明家庭 …).
    pub honour: String,
    pub campaign_title: String,
    /// person, household or community
    pub kind: String,
    /// The person, household (某某家庭) or community honoured.
    pub name: String,
    /// Their deeds, as nominated.
    pub deeds: String,
    /// Where: the campaign's territory (a community's own name for a community).
    pub territory_name: Option<String>,
    pub awarded_at_ms: i64,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct HonourQuery {
    /// A territory's honours (its subtree); the whole city's without it.
    pub territory: Option<String>,
    pub limit: Option<i64>,
}

/// The honours board (榜样), public: who was honoured, for what, and where.
pub async fn honours(app: &App, q: HonourQuery) -> Result<Vec<Honour>> {
    let limit = crate::page_limit(q.limit)?;
    let prefix = match q.territory.as_deref() {
        Some(t) => TerritoryCode::parse(t).map_err(|e| AppError::invalid("territory", e.reason))?.to_string(),
        None => "12".to_owned(),
    };
    let mut conn = app.db.read().await?;
    let rows = store::honours_within(&mut conn, &prefix, limit).await?;
    Ok(rows
        .into_iter()
        .map(|h| Honour {
            territory_name: app.locator().name_of(h.nominee_territory.as_deref().unwrap_or(&h.territory_code)),
            nomination_id: h.nomination_id,
            campaign_id: h.campaign_id,
            honour: h.honour,
            campaign_title: h.title,
            kind: h.kind,
            name: h.shown_name,
            deeds: h.deeds,
            awarded_at_ms: h.awarded_at_ms,
        })
        .collect())
}
