//! 志愿服务: a practice station, a volunteer team or a community publishes an activity;
//! volunteers sign up (a free place is taken at once, or the sign-up waits for the
//! organiser's approval); the organiser confirms at the activity who came and for how long
//! — never the volunteer themselves — and those minutes are the verified hours of the
//! volunteer's record, earning points from the activity's community fund when the activity
//! names an earning rule (whole half hours at the rule's points an hour). A record prints
//! as a certificate whose number anyone can check.

use super::{code, community_fund, community_of, listed_prefix, tell, write};
use crate::{App, AppError, Result};
use serde::{Deserialize, Serialize};
use wuzhi_domain::virtue::ledger::TransferKind;
use wuzhi_domain::virtue::volunteer::{self as rules, ActivityState, SignupState, Span};
use wuzhi_domain::{Action, Actor, OrgKind, Target, TerritoryCode, mask, text};
use wuzhi_store::virtue::NewTransfer;
use wuzhi_store::virtue::volunteers::{self as store, ActivityRow, SignupRow};

const DAY_MS: i64 = 86_400_000;

/// Who may organise: the practice centres, volunteer teams, communities and streets, and
/// party organisations (their members serve too).
const ORGANISERS: [OrgKind; 5] = [
    OrgKind::PracticeCentre,
    OrgKind::VolunteerTeam,
    OrgKind::CommunityCommittee,
    OrgKind::StreetOffice,
    OrgKind::PartyOrganisation,
];

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct VolunteerView {
    pub person_id: i64,
    pub name: String,
    pub skills: Vec<String>,
    pub team_org_id: Option<i64>,
    pub team_name: Option<String>,
    pub registered_at_ms: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = VolunteerRegistration)]
pub struct Registration {
    /// Skills as people type them: "急救，心理疏导".
    #[serde(default)]
    pub skills: String,
    /// The volunteer team one joins, if any.
    pub team_org_id: Option<i64>,
}

fn volunteer_view(v: store::VolunteerRow) -> VolunteerView {
    VolunteerView {
        person_id: v.person_id,
        name: v.name,
        skills: split(&v.skills),
        team_org_id: v.team_org_id,
        team_name: v.team_name,
        registered_at_ms: v.registered_at_ms,
    }
}

fn split(s: &str) -> Vec<String> {
    s.split('、').filter(|p| !p.is_empty()).map(str::to_owned).collect()
}

/// One registers oneself as a volunteer (注册志愿者), or changes one's skills and team.
pub async fn register(app: &App, actor: &Actor, r: Registration) -> Result<VolunteerView> {
    let skills = rules::skills("skills", &r.skills)?.join("、");
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    if let Some(team) = r.team_org_id {
        let org = wuzhi_store::org::get(&mut tx, team).await?;
        if org.as_ref().is_none_or(|o| o.kind != OrgKind::VolunteerTeam.as_str()) {
            return Err(AppError::invalid("team_org_id", format!("organisation {team} is not a volunteer team")));
        }
    }
    store::enrol(&mut tx, actor.person_id, &skills, r.team_org_id, now).await?;
    let v = store::volunteer(&mut tx, actor.person_id).await?.ok_or_else(|| AppError::not_found("volunteer"))?;
    wuzhi_store::commit(tx).await?;
    Ok(volunteer_view(v))
}

/// Registers an alley steward or a grid volunteer as a volunteer of their team when the
/// community puts them on a grid (in the caller's transaction); an earlier registration
/// stays as it was.
pub async fn enrol_grid_volunteer(
    conn: &mut wuzhi_store::Conn,
    person: i64,
    team: Option<i64>,
    now_ms: i64,
) -> Result<()> {
    Ok(store::enrol_if_new(conn, person, team, now_ms).await?)
}

// ---------------------------------------------------------------------------------------
// Activities

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewActivity {
    /// The practice station, volunteer team, community, street or party organisation that
    /// organises it.
    pub organiser_org_id: i64,
    /// Where it serves; the organiser's territory when absent.
    pub territory_code: Option<String>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub place: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub capacity: i64,
    /// Skills wanted, as people type them.
    #[serde(default)]
    pub skills: String,
    /// Sign-ups wait for the organiser's approval; otherwise a free place is taken at once.
    #[serde(default)]
    pub approval: bool,
    /// An earning rule of the territory whose points each verified hour earns.
    pub rule_id: Option<i64>,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct ActivityView {
    pub id: i64,
    pub organiser_org_id: i64,
    pub organiser_name: String,
    pub territory_code: String,
    pub title: String,
    pub description: String,
    pub place: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub capacity: i64,
    pub places_left: i64,
    pub skills: Vec<String>,
    pub approval: bool,
    pub rule_id: Option<i64>,
    /// open, completed or cancelled
    pub state: String,
    /// Whether sign-ups are still taken (open and not started).
    pub signup_open: bool,
    /// Whether it has started (by the server's clock): attendance may be confirmed.
    pub started: bool,
    /// The caller's own sign-up, if any.
    pub my_signup: Option<SignupView>,
    /// Whether the caller organises it (may decide sign-ups and confirm attendance).
    pub may_manage: bool,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct SignupView {
    pub id: i64,
    pub activity_id: i64,
    pub person_id: i64,
    pub name: String,
    /// applied, accepted, declined or withdrawn
    pub state: String,
    pub note: String,
    pub applied_at_ms: i64,
    pub reason: Option<String>,
    /// Verified minutes of service (confirmed by the organiser).
    pub minutes: Option<i64>,
    pub confirmed_at_ms: Option<i64>,
    /// The points transfer the service earned.
    pub transfer_id: Option<i64>,
}

fn signup_view(s: SignupRow) -> SignupView {
    SignupView {
        id: s.id,
        activity_id: s.activity_id,
        person_id: s.person_id,
        name: s.name,
        state: s.state,
        note: s.note,
        applied_at_ms: s.applied_at_ms,
        reason: s.reason,
        minutes: s.minutes,
        confirmed_at_ms: s.confirmed_at_ms,
        transfer_id: s.transfer_id,
    }
}

fn span(a: &ActivityRow) -> Span {
    Span { starts_at_ms: a.starts_at_ms, ends_at_ms: a.ends_at_ms }
}

fn may_manage(actor: &Actor, a: &ActivityRow) -> bool {
    code(&a.territory_code).is_ok_and(|t| actor.can(Action::ManageVolunteering, &Target::territory(&t)).is_ok())
}

fn activity_view(actor: &Actor, a: ActivityRow, mine: Option<SignupRow>, now: i64) -> ActivityView {
    let manage = may_manage(actor, &a);
    ActivityView {
        signup_open: a.state == ActivityState::Open.as_str() && span(&a).open_for_signup(now),
        started: now >= a.starts_at_ms,
        places_left: a.capacity - a.taken,
        skills: split(&a.skills),
        my_signup: mine.map(signup_view),
        may_manage: manage,
        id: a.id,
        organiser_org_id: a.organiser_org_id,
        organiser_name: a.organiser_name,
        territory_code: a.territory_code,
        title: a.title,
        description: a.description,
        place: a.place,
        starts_at_ms: a.starts_at_ms,
        ends_at_ms: a.ends_at_ms,
        capacity: a.capacity,
        approval: a.approval,
        rule_id: a.rule_id,
        state: a.state,
    }
}

async fn activity_or_404(conn: &mut wuzhi_store::Conn, id: i64) -> Result<ActivityRow> {
    store::get_activity(conn, id).await?.ok_or_else(|| AppError::not_found(format!("activity {id}")))
}

/// The organiser publishes an activity of their territory.
pub async fn create_activity(app: &App, actor: &Actor, n: NewActivity) -> Result<ActivityView> {
    let title = text::name("title", &n.title, 60)?;
    let description = text::optional("description", &n.description)?;
    let place = text::name("place", &n.place, 100)?;
    let s = Span::parse(n.starts_at_ms, n.ends_at_ms)?;
    if !(1..=10_000).contains(&n.capacity) {
        return Err(AppError::invalid("capacity", format!("{} is outside 1–10000", n.capacity)));
    }
    let skills = rules::skills("skills", &n.skills)?.join("、");
    let now = app.now_ms();
    if s.starts_at_ms <= now {
        return Err(AppError::invalid("starts_at_ms", "an activity is published before it starts"));
    }
    let mut tx = app.db.write().await?;
    let org = wuzhi_store::org::get(&mut tx, n.organiser_org_id).await?.ok_or_else(|| {
        AppError::invalid("organiser_org_id", format!("organisation {} does not exist", n.organiser_org_id))
    })?;
    if !ORGANISERS.iter().any(|k| k.as_str() == org.kind) {
        return Err(AppError::invalid(
            "organiser_org_id",
            format!("a {} does not organise volunteer service", org.kind),
        ));
    }
    let org_t = code(&org.territory_code)?;
    let t = match n.territory_code.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(c) => TerritoryCode::parse(c).map_err(|e| AppError::invalid("territory_code", e.reason))?,
        None => org_t.clone(),
    };
    if !org_t.contains(&t) {
        return Err(AppError::invalid("territory_code", format!("{t} lies outside the organiser's {org_t}")));
    }
    actor.can(Action::ManageVolunteering, &Target::territory(&t))?;
    if let Some(rule_id) = n.rule_id {
        // A rule commits the community's fund: only who keeps its points attaches one.
        actor.can(Action::ManagePoints, &Target::territory(&t))?;
        let rule = wuzhi_store::virtue::get_rule(&mut tx, rule_id).await?.filter(|r| r.active);
        let rule = rule.ok_or_else(|| AppError::invalid("rule_id", format!("rule {rule_id} does not exist")))?;
        if !code(&rule.territory_code)?.contains(&t) {
            return Err(AppError::invalid(
                "rule_id",
                format!("rule {rule_id} is {}'s, not {t}'s", rule.territory_code),
            ));
        }
    }
    let id = store::insert_activity(
        &mut tx,
        &store::NewActivity {
            organiser_org_id: org.id,
            territory_code: t.as_str(),
            title: &title,
            description: &description,
            place: &place,
            starts_at_ms: s.starts_at_ms,
            ends_at_ms: s.ends_at_ms,
            capacity: n.capacity,
            skills: &skills,
            approval: n.approval,
            rule_id: n.rule_id,
            created_by: actor.person_id,
            created_at_ms: now,
        },
    )
    .await?;
    let a = activity_or_404(&mut tx, id).await?;
    wuzhi_store::commit(tx).await?;
    Ok(activity_view(actor, a, None, now))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ActivityQuery {
    /// A territory's activities; without it, those of one's home district (or the city's).
    pub territory: Option<String>,
    /// open, completed or cancelled
    pub state: Option<String>,
    /// Also those that ended up to 90 days ago.
    #[serde(default)]
    pub past: bool,
    pub limit: Option<i64>,
}

/// Activities for volunteers to join: published recruitment is open to every signed-in
/// person; by default those of one's home district.
pub async fn activities(app: &App, actor: &Actor, q: ActivityQuery) -> Result<Vec<ActivityView>> {
    let limit = crate::page_limit(q.limit)?;
    if let Some(s) = q.state.as_deref() {
        ActivityState::parse(s)?;
    }
    let now = app.now_ms();
    let mut conn = app.db.read().await?;
    let prefix = listed_prefix(&mut conn, actor, q.territory.as_deref()).await?;
    let from = if q.past { now - 90 * DAY_MS } else { now };
    let rows = store::activities(&mut conn, &[prefix.as_str()], from, q.state.as_deref(), limit).await?;
    let mut out = Vec::with_capacity(rows.len());
    for a in rows {
        let mine = store::signup_of(&mut conn, a.id, actor.person_id).await?;
        out.push(activity_view(actor, a, mine, now));
    }
    Ok(out)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActivityDetail {
    pub activity: ActivityView,
    /// Every sign-up, for the organiser; empty for others.
    pub signups: Vec<SignupView>,
}

pub async fn activity(app: &App, actor: &Actor, id: i64) -> Result<ActivityDetail> {
    let now = app.now_ms();
    let mut conn = app.db.read().await?;
    let a = activity_or_404(&mut conn, id).await?;
    let signups = if may_manage(actor, &a) {
        store::signups_of(&mut conn, id).await?.into_iter().map(signup_view).collect()
    } else {
        Vec::new()
    };
    let mine = store::signup_of(&mut conn, id, actor.person_id).await?;
    Ok(ActivityDetail { activity: activity_view(actor, a, mine, now), signups })
}

fn full() -> AppError {
    AppError::conflict("activity", "every place is taken")
}

/// A volunteer signs up (registering as a volunteer if they were not one): a free place is
/// theirs at once, or the sign-up waits for the organiser when the activity approves its
/// volunteers. Signing up again after withdrawing is allowed; after a refusal it is not.
pub async fn sign_up(app: &App, actor: &Actor, id: i64, note: &str) -> Result<SignupView> {
    let note = text::optional("note", note)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let a = activity_or_404(&mut tx, id).await?;
    if a.state != ActivityState::Open.as_str() || !span(&a).open_for_signup(now) {
        return Err(AppError::conflict("activity", "sign-ups are closed"));
    }
    store::enrol_if_new(&mut tx, actor.person_id, None, now).await?;
    let to = if a.approval { SignupState::Applied } else { SignupState::Accepted };
    if to.holds_a_place() && !store::take_place(&mut tx, id).await? {
        return Err(full());
    }
    let signup_id = match store::signup_of(&mut tx, id, actor.person_id).await? {
        None => store::insert_signup(&mut tx, id, actor.person_id, to.as_str(), &note, now).await.map_err(|e| {
            crate::error::unique_as(
                e,
                "uq_volunteer_signup",
                "volunteer_signups.activity_id, volunteer_signups.person_id",
                "activity",
                "already signed up",
            )
        })?,
        Some(s) if s.state == SignupState::Withdrawn.as_str() => {
            if !store::move_signup(
                &mut tx,
                s.id,
                SignupState::Withdrawn.as_str(),
                to.as_str(),
                actor.person_id,
                None,
                now,
            )
            .await?
            {
                return Err(AppError::conflict("activity", "already signed up"));
            }
            s.id
        }
        Some(s) if s.state == SignupState::Declined.as_str() => {
            return Err(AppError::conflict("activity", "the organiser declined this sign-up"));
        }
        Some(_) => return Err(AppError::conflict("activity", "already signed up")),
    };
    let s = store::get_signup(&mut tx, signup_id).await?.ok_or_else(|| AppError::not_found("sign-up"))?;
    wuzhi_store::commit(tx).await?;
    Ok(signup_view(s))
}

/// The volunteer withdraws before the activity starts; an accepted place is freed.
pub async fn withdraw(app: &App, actor: &Actor, id: i64) -> Result<SignupView> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let a = activity_or_404(&mut tx, id).await?;
    let s = store::signup_of(&mut tx, id, actor.person_id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("your sign-up for activity {id}")))?;
    if !span(&a).open_for_signup(now) {
        return Err(AppError::conflict("activity", "it has started; ask the organiser"));
    }
    let from = SignupState::parse(&s.state)?;
    if !matches!(from, SignupState::Applied | SignupState::Accepted)
        || !store::move_signup(
            &mut tx,
            s.id,
            from.as_str(),
            SignupState::Withdrawn.as_str(),
            actor.person_id,
            None,
            now,
        )
        .await?
    {
        return Err(AppError::conflict("signup", format!("a sign-up that is {} cannot be withdrawn", s.state)));
    }
    if from.holds_a_place() {
        store::free_place(&mut tx, id).await?;
    }
    let s = store::get_signup(&mut tx, s.id).await?.ok_or_else(|| AppError::not_found("sign-up"))?;
    wuzhi_store::commit(tx).await?;
    Ok(signup_view(s))
}

async fn managed(tx: &mut wuzhi_store::Conn, actor: &Actor, id: i64) -> Result<ActivityRow> {
    let a = activity_or_404(tx, id).await?;
    actor.can(Action::ManageVolunteering, &Target::territory(&code(&a.territory_code)?))?;
    Ok(a)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignupDecision {
    pub accept: bool,
    /// Required when declining.
    pub reason: Option<String>,
}

/// The organiser accepts a waiting sign-up (if a place is free) or declines it with a reason;
/// the volunteer is told.
pub async fn decide(app: &App, actor: &Actor, signup: i64, d: SignupDecision) -> Result<SignupView> {
    let reason = match (d.accept, d.reason.as_deref().map(str::trim).filter(|r| !r.is_empty())) {
        (false, None) => return Err(AppError::invalid("reason", "say why the sign-up is declined")),
        (_, r) => r.map(|r| text::required("reason", r)).transpose()?,
    };
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let s =
        store::get_signup(&mut tx, signup).await?.ok_or_else(|| AppError::not_found(format!("sign-up {signup}")))?;
    let a = managed(&mut tx, actor, s.activity_id).await?;
    if a.state != ActivityState::Open.as_str() {
        return Err(AppError::conflict("activity", format!("the activity is {}", a.state)));
    }
    let to = if d.accept { SignupState::Accepted } else { SignupState::Declined };
    if !store::move_signup(
        &mut tx,
        s.id,
        SignupState::Applied.as_str(),
        to.as_str(),
        actor.person_id,
        reason.as_deref(),
        now,
    )
    .await?
    {
        return Err(AppError::conflict(
            "signup",
            format!("only a waiting sign-up is decided; this one is {}", s.state),
        ));
    }
    if d.accept && !store::take_place(&mut tx, a.id).await? {
        return Err(full());
    }
    let body = if d.accept {
        format!("您报名的志愿活动「{}」已通过，请按时参加：{}", a.title, a.place)
    } else {
        format!("您报名的志愿活动「{}」未通过：{}", a.title, reason.as_deref().unwrap_or(""))
    };
    tell(&mut tx, s.person_id, "volunteer.signup_decided", &body, now).await?;
    let s = store::get_signup(&mut tx, s.id).await?.ok_or_else(|| AppError::not_found("sign-up"))?;
    wuzhi_store::commit(tx).await?;
    Ok(signup_view(s))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Attendance {
    /// Who served and for how long, as the organiser saw it at the activity.
    pub served: Vec<Served>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Served {
    pub signup_id: i64,
    /// Minutes of service; at most the activity's length.
    pub minutes: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttendanceRecorded {
    pub signups: Vec<SignupView>,
    /// Points earned in all (held through the rule's publicity period, if it has one).
    pub points: i64,
}

/// The organiser confirms at the activity who served and for how long — all or nothing,
/// each refusal naming its line (`served[2].minutes`). The minutes become verified hours;
/// with the activity's earning rule, points move from its community's fund to each
/// volunteer in the same transaction, once per sign-up.
pub async fn confirm_attendance(app: &App, actor: &Actor, id: i64, att: Attendance) -> Result<AttendanceRecorded> {
    if att.served.is_empty() || att.served.len() > 1000 {
        return Err(AppError::invalid("served", format!("{} lines; give 1 to 1000", att.served.len())));
    }
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let a = managed(&mut tx, actor, id).await?;
    if a.state != ActivityState::Open.as_str() {
        return Err(AppError::conflict("activity", format!("the activity is {}", a.state)));
    }
    let s = span(&a);
    s.attendance(now)?;
    let rule = match a.rule_id {
        Some(r) => wuzhi_store::virtue::get_rule(&mut tx, r).await?.filter(|r| r.active),
        None => None,
    };
    let community = community_of(&code(&a.territory_code)?);
    let fund = match rule {
        Some(_) => Some(community_fund(&mut tx, &community, now).await?),
        None => None,
    };
    let mut seen = std::collections::HashSet::new();
    let (mut out, mut points) = (Vec::with_capacity(att.served.len()), 0);
    for (i, line) in att.served.iter().enumerate() {
        let field = |f: &str| format!("served[{i}].{f}");
        if !seen.insert(line.signup_id) {
            return Err(AppError::invalid(field("signup_id"), "appears twice"));
        }
        let minutes = s.served(line.minutes).map_err(|e| AppError::invalid(field("minutes"), e.reason))?;
        let su =
            store::get_signup(&mut tx, line.signup_id).await?.filter(|su| su.activity_id == a.id).ok_or_else(|| {
                AppError::invalid(field("signup_id"), format!("no sign-up {} for this activity", line.signup_id))
            })?;
        if su.person_id == actor.person_id {
            return Err(AppError::invalid(
                field("signup_id"),
                "a volunteer's own attendance is confirmed by someone else",
            ));
        }
        if !store::confirm(&mut tx, su.id, minutes, actor.person_id, now).await? {
            let why = if su.minutes.is_some() {
                "was confirmed already".to_owned()
            } else {
                format!("is {}, not accepted", su.state)
            };
            return Err(AppError::conflict(field("signup_id"), format!("sign-up {} {why}", su.id)));
        }
        let earned = rule.as_ref().map_or(0, |r| rules::points_for(r.points, minutes));
        if let (Some(rule), Some(fund), true) = (&rule, &fund, earned > 0) {
            let home = wuzhi_store::people::get_person(&mut tx, su.person_id).await?.and_then(|p| p.home_territory);
            let account_at = home.unwrap_or_else(|| community.to_string());
            let account =
                wuzhi_store::virtue::person_account(&mut tx, su.person_id, &account_at, &su.name, now).await?;
            let source = format!("volunteer:{}", su.id);
            let reason = format!("志愿服务：{}（{} 小时）", a.title, rules::hours_text(minutes));
            let pending = rule.publicity_days > 0;
            let t = NewTransfer {
                debit: fund.id,
                credit: account.id,
                amount: earned,
                kind: TransferKind::Earn.as_str(),
                pending,
                rule_id: Some(rule.id),
                source: Some(&source),
                reason: &reason,
                reverses: None,
                created_by: Some(actor.person_id),
                created_at_ms: now,
                posts_at_ms: pending.then_some(now + rule.publicity_days * DAY_MS),
                expires_at_ms: rule.valid_days.map(|d| now + d * DAY_MS),
            };
            let transfer = write(app, &mut tx, &t).await?;
            store::set_transfer(&mut tx, su.id, transfer).await?;
            points += earned;
        }
        let body = match earned {
            0 => format!("您参加志愿活动「{}」的服务时长 {} 小时已核实", a.title, rules::hours_text(minutes)),
            p => format!(
                "您参加志愿活动「{}」的服务时长 {} 小时已核实，获得积分 {p}",
                a.title,
                rules::hours_text(minutes)
            ),
        };
        tell(&mut tx, su.person_id, "volunteer.hours_verified", &body, now).await?;
        out.push(signup_view(store::get_signup(&mut tx, su.id).await?.ok_or_else(|| AppError::not_found("sign-up"))?));
    }
    wuzhi_store::commit(tx).await?;
    Ok(AttendanceRecorded { signups: out, points })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Closing {
    /// true: completed (attendance is final); false: cancelled (with a reason; only before
    /// any attendance was confirmed).
    pub completed: bool,
    pub reason: Option<String>,
}

/// The organiser completes an activity (its attendance is final) or cancels it (every
/// volunteer who signed up is told).
pub async fn close(app: &App, actor: &Actor, id: i64, c: Closing) -> Result<ActivityView> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let a = managed(&mut tx, actor, id).await?;
    let signups = store::signups_of(&mut tx, id).await?;
    let state = if c.completed {
        if now < a.starts_at_ms {
            return Err(AppError::conflict("activity", "it has not taken place yet"));
        }
        ActivityState::Completed
    } else {
        let reason = c.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
        let reason = text::required("reason", reason.unwrap_or(""))?;
        if signups.iter().any(|s| s.minutes.is_some()) {
            return Err(AppError::conflict("activity", "service was confirmed already; complete it instead"));
        }
        for s in signups.iter().filter(|s| matches!(s.state.as_str(), "applied" | "accepted")) {
            let body = format!("志愿活动「{}」已取消：{reason}", a.title);
            tell(&mut tx, s.person_id, "volunteer.activity_cancelled", &body, now).await?;
        }
        ActivityState::Cancelled
    };
    if !store::close_activity(&mut tx, id, state.as_str(), now).await? {
        return Err(AppError::conflict("activity", format!("the activity is {} already", a.state)));
    }
    let a = activity_or_404(&mut tx, id).await?;
    wuzhi_store::commit(tx).await?;
    Ok(activity_view(actor, a, None, now))
}

// ---------------------------------------------------------------------------------------
// A volunteer's record and certificate

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServiceEntry {
    pub activity_id: i64,
    pub title: String,
    pub organiser_name: String,
    pub territory_code: String,
    pub place: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub activity_state: String,
    pub signup: SignupView,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VolunteerRecord {
    /// Null when the person has not registered as a volunteer.
    pub volunteer: Option<VolunteerView>,
    /// Verified minutes of service in all.
    pub minutes: i64,
    /// The same as hours, as people write them ("12.5").
    pub hours: String,
    /// Activities with verified service.
    pub activities: i64,
    /// Sign-ups newest first, verified or not.
    pub services: Vec<ServiceEntry>,
    /// The number a printed certificate carries; anyone checks it at
    /// `/api/volunteer-certificates/{number}`. Null before the first verified hour.
    pub certificate: Option<String>,
}

fn certificate_no(app: &App, person: i64, minutes: i64, n: i64, last: i64) -> String {
    let seal = app.settings.vault.blind("volunteer.certificate", &rules::certificate_text(person, minutes, n, last));
    format!("ZY-{person}-{last}-{}", &seal[..12.min(seal.len())])
}

/// A volunteer's record: their own, or a volunteer of the territory for its organisers.
pub async fn record(app: &App, actor: &Actor, person: i64) -> Result<VolunteerRecord> {
    let mut conn = app.db.read().await?;
    if person != actor.person_id {
        let home = wuzhi_store::people::get_person(&mut conn, person).await?.and_then(|p| p.home_territory);
        let home = home.as_deref().map(code).transpose()?;
        let allowed = home.is_some_and(|h| actor.can(Action::ManageVolunteering, &Target::territory(&h)).is_ok());
        if !allowed {
            return Err(AppError::not_found(format!("volunteer {person}")));
        }
    }
    let volunteer = store::volunteer(&mut conn, person).await?.map(volunteer_view);
    let (minutes, activities, last) = store::totals(&mut conn, person, i64::MAX).await?;
    let services = store::services_of(&mut conn, person, 200)
        .await?
        .into_iter()
        .map(|r| ServiceEntry {
            activity_id: r.signup.activity_id,
            title: r.title,
            organiser_name: r.organiser_name,
            territory_code: r.territory_code,
            place: r.place,
            starts_at_ms: r.starts_at_ms,
            ends_at_ms: r.ends_at_ms,
            activity_state: r.activity_state,
            signup: signup_view(r.signup),
        })
        .collect();
    Ok(VolunteerRecord {
        volunteer,
        minutes,
        hours: rules::hours_text(minutes),
        activities,
        services,
        certificate: (activities > 0).then(|| certificate_no(app, person, minutes, activities, last)),
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CertificateCheck {
    pub number: String,
    /// The volunteer's name, masked (张*).
    pub name: String,
    pub minutes: i64,
    pub hours: String,
    pub activities: i64,
    /// When the last service it counts was confirmed.
    pub up_to_ms: i64,
}

/// Anyone checks a printed certificate by its number: the verified service it states, up to
/// the confirmation it names, with the name masked. A number that does not match is not
/// found.
pub async fn check_certificate(app: &App, number: &str) -> Result<CertificateCheck> {
    let bad = || AppError::not_found(format!("certificate {}", number.chars().take(40).collect::<String>()));
    let mut parts = number.trim().splitn(4, '-');
    let (Some("ZY"), Some(p), Some(l), Some(_)) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let (Ok(person), Ok(last)) = (p.parse::<i64>(), l.parse::<i64>()) else { return Err(bad()) };
    let mut conn = app.db.read().await?;
    let (minutes, activities, last_seen) = store::totals(&mut conn, person, last).await?;
    if activities == 0 || last_seen != last || certificate_no(app, person, minutes, activities, last) != number.trim() {
        return Err(bad());
    }
    let name = wuzhi_store::people::get_person(&mut conn, person).await?.map(|p| p.name).unwrap_or_default();
    let up_to = store::get_signup(&mut conn, last).await?.and_then(|s| s.confirmed_at_ms).unwrap_or(0);
    Ok(CertificateCheck {
        number: number.trim().to_owned(),
        name: mask::name(&name),
        minutes,
        hours: rules::hours_text(minutes),
        activities,
        up_to_ms: up_to,
    })
}
