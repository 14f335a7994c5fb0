//! 向群众汇报: a street's or community's leader publishes their report to the residents of
//! the territory — how it was held (a meeting or home visits), what was done — with the
//! commitments made, whose progress they then record. The residents living in that
//! territory rate the report while its rating is open, and each commitment once it is done
//! or due: once each, anonymously (the store keeps who rated apart from how many gave each
//! score), shown as aggregates with their count. The same ratings, summed over a territory,
//! stand next to the case indicators in the evaluation of its units.

use super::{code, lives_in};
use crate::{App, AppError, Result};
use serde::{Deserialize, Serialize};
use wuzhi_domain::virtue::reports::{self as rules, Aggregate, Score, WAYS};
use wuzhi_domain::virtue::volunteer::LATEST_MS;
use wuzhi_domain::{Action, Actor, Target, TerritoryCode, text};
use wuzhi_store::virtue::reports::{self as store, CommitmentRow, ReportRow};

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct Ratings {
    /// How many rated.
    pub count: i64,
    /// The mean score (1–5), shown once three or more rated.
    pub mean: Option<f64>,
    /// The share who gave 4 or 5 (满意率), shown once three or more rated.
    pub satisfied_share: Option<f64>,
}

fn ratings(a: Aggregate) -> Ratings {
    Ratings { count: a.count, mean: a.mean, satisfied_share: a.satisfied_share }
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct CommitmentView {
    pub id: i64,
    pub text: String,
    pub due_ms: i64,
    /// 0–100 per cent.
    pub progress: i64,
    pub progress_note: String,
    pub updated_at_ms: i64,
    pub ratings: Ratings,
    pub i_rated: bool,
    /// Whether the caller may rate it now (a resident of the territory; done or due).
    pub may_rate: bool,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
#[schema(as = OfficialReport)]
pub struct ReportView {
    pub id: i64,
    pub territory_code: String,
    pub territory_name: Option<String>,
    pub official_name: String,
    pub title: String,
    /// meeting or home_visits
    pub way: String,
    pub held_at_ms: i64,
    pub place: String,
    /// What was done since the last report.
    pub done: String,
    pub rating_closes_at_ms: i64,
    pub ratings: Ratings,
    pub i_rated: bool,
    pub may_rate: bool,
    /// Whether the caller reports for this territory (records progress).
    pub may_manage: bool,
    pub commitments: Vec<CommitmentView>,
}

async fn view(app: &App, conn: &mut wuzhi_store::Conn, actor: &Actor, r: ReportRow, now: i64) -> Result<ReportView> {
    let t = code(&r.territory_code)?;
    let resident = lives_in(conn, actor.person_id, &t).await? && r.official_person_id != actor.person_id;
    let manage = actor.can(Action::ReportToResidents, &Target::territory(&t)).is_ok();
    let mut commitments = Vec::new();
    for c in store::commitments_of(conn, r.id).await? {
        commitments.push(commitment_view(conn, actor, c, resident, now).await?);
    }
    let i_rated = store::has_rated(conn, "report", r.id, actor.person_id).await?;
    Ok(ReportView {
        territory_name: app.locator().name_of(&r.territory_code),
        ratings: ratings(rules::aggregate(&store::scores(conn, "report", r.id).await?)),
        may_rate: resident && !i_rated && now >= r.held_at_ms && now <= r.rating_closes_at_ms,
        i_rated,
        may_manage: manage,
        commitments,
        id: r.id,
        territory_code: r.territory_code,
        official_name: r.official_name,
        title: r.title,
        way: r.way,
        held_at_ms: r.held_at_ms,
        place: r.place,
        done: r.done,
        rating_closes_at_ms: r.rating_closes_at_ms,
    })
}

async fn commitment_view(
    conn: &mut wuzhi_store::Conn,
    actor: &Actor,
    c: CommitmentRow,
    resident: bool,
    now: i64,
) -> Result<CommitmentView> {
    let i_rated = store::has_rated(conn, "commitment", c.id, actor.person_id).await?;
    Ok(CommitmentView {
        ratings: ratings(rules::aggregate(&store::scores(conn, "commitment", c.id).await?)),
        may_rate: resident && !i_rated && rules::commitment_ratable(c.progress, c.due_ms, now),
        i_rated,
        id: c.id,
        text: c.text,
        due_ms: c.due_ms,
        progress: c.progress,
        progress_note: c.progress_note,
        updated_at_ms: c.updated_at_ms,
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewCommitment {
    pub text: String,
    pub due_ms: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewReport {
    /// The street or community reported to.
    pub territory_code: String,
    pub title: String,
    /// meeting or home_visits
    pub way: String,
    pub held_at_ms: i64,
    pub place: String,
    /// What was done.
    pub done: String,
    /// Days the residents may rate it after it was held (1–90; 30 by default).
    pub rating_days: Option<i64>,
    /// What is promised (at most 20).
    #[serde(default)]
    pub commitments: Vec<NewCommitment>,
}

/// The leader publishes their report to the residents, with its commitments.
pub async fn create(app: &App, actor: &Actor, n: NewReport) -> Result<ReportView> {
    let t = TerritoryCode::parse(&n.territory_code).map_err(|e| AppError::invalid("territory_code", e.reason))?;
    if !(9..=12).contains(&t.as_str().len()) {
        return Err(AppError::invalid("territory_code", "a report goes to the residents of a street or a community"));
    }
    let title = text::name("title", &n.title, 60)?;
    let way = text::one_of("way", &n.way, WAYS)?;
    let place = text::name("place", &n.place, 100)?;
    let done = text::required("done", &n.done)?;
    if !(0..=LATEST_MS).contains(&n.held_at_ms) {
        return Err(AppError::invalid("held_at_ms", format!("{} is not a time between 1970 and 2100", n.held_at_ms)));
    }
    let days = n.rating_days.unwrap_or(30);
    if !(1..=90).contains(&days) {
        return Err(AppError::invalid("rating_days", format!("{days} is outside 1–90")));
    }
    if n.commitments.len() > 20 {
        return Err(AppError::invalid("commitments", format!("{} commitments; at most 20", n.commitments.len())));
    }
    let mut promised = Vec::with_capacity(n.commitments.len());
    for (i, c) in n.commitments.iter().enumerate() {
        let text = text::name(&format!("commitments[{i}].text"), &c.text, 200)?;
        if c.due_ms > LATEST_MS {
            return Err(AppError::invalid(format!("commitments[{i}].due_ms"), "is not a time before 2100"));
        }
        if c.due_ms <= n.held_at_ms {
            return Err(AppError::invalid(format!("commitments[{i}].due_ms"), "is due after the report is held"));
        }
        promised.push((text, c.due_ms));
    }
    actor.can(Action::ReportToResidents, &Target::territory(&t))?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let id = store::insert_report(
        &mut tx,
        &store::NewReport {
            territory_code: t.as_str(),
            official_person_id: actor.person_id,
            title: &title,
            way,
            held_at_ms: n.held_at_ms,
            place: &place,
            done: &done,
            rating_closes_at_ms: n.held_at_ms + days * DAY_MS,
            created_at_ms: now,
        },
    )
    .await?;
    for (text, due) in &promised {
        store::insert_commitment(&mut tx, id, text, *due, now).await?;
    }
    let r = store::get_report(&mut tx, id).await?.ok_or_else(|| AppError::not_found("report"))?;
    let v = view(app, &mut tx, actor, r, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ReportQuery {
    /// A territory's reports (its subtree); without it, the reports to one's own street and
    /// community.
    pub territory: Option<String>,
    pub limit: Option<i64>,
}

/// Reports are public to the signed-in: by default those made to one's own street and
/// community.
pub async fn list(app: &App, actor: &Actor, q: ReportQuery) -> Result<Vec<ReportView>> {
    let limit = crate::page_limit(q.limit)?;
    let now = app.now_ms();
    let mut conn = app.db.read().await?;
    let rows = match q.territory.as_deref() {
        Some(t) => {
            let t = TerritoryCode::parse(t).map_err(|e| AppError::invalid("territory", e.reason))?;
            store::reports_within(&mut conn, t.as_str(), limit).await?
        }
        None => {
            let home =
                wuzhi_store::people::get_person(&mut conn, actor.person_id).await?.and_then(|p| p.home_territory);
            let codes: Vec<String> = match home {
                Some(h) => [9, 12].iter().filter(|n| h.len() >= **n).map(|n| h[..*n].to_owned()).collect(),
                None => Vec::new(),
            };
            store::reports_of(&mut conn, &codes, limit).await?
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(view(app, &mut conn, actor, r, now).await?);
    }
    Ok(out)
}

pub async fn get(app: &App, actor: &Actor, id: i64) -> Result<ReportView> {
    let now = app.now_ms();
    let mut conn = app.db.read().await?;
    let r = store::get_report(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("report {id}")))?;
    view(app, &mut conn, actor, r, now).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Rating {
    /// 1 (不满意) to 5 (非常满意).
    pub score: i64,
}

fn not_a_resident() -> AppError {
    AppError::Forbidden { action: "rate_report".into() }
}

/// A resident of the territory rates the report, once, while its rating is open.
pub async fn rate_report(app: &App, actor: &Actor, id: i64, r: Rating) -> Result<ReportView> {
    let score = Score::parse("score", r.score)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let rep = store::get_report(&mut tx, id).await?.ok_or_else(|| AppError::not_found(format!("report {id}")))?;
    if rep.official_person_id == actor.person_id
        || !lives_in(&mut tx, actor.person_id, &code(&rep.territory_code)?).await?
    {
        return Err(not_a_resident());
    }
    if now < rep.held_at_ms || now > rep.rating_closes_at_ms {
        return Err(AppError::conflict("report", "its rating is not open"));
    }
    if !store::rate(&mut tx, "report", id, actor.person_id, score.get()).await? {
        return Err(AppError::conflict("report", "you rated it already"));
    }
    let v = view(app, &mut tx, actor, rep, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}

/// A resident of the territory rates a commitment, once, when it is done or due.
pub async fn rate_commitment(app: &App, actor: &Actor, id: i64, r: Rating) -> Result<CommitmentView> {
    let score = Score::parse("score", r.score)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let c = store::get_commitment(&mut tx, id).await?.ok_or_else(|| AppError::not_found(format!("commitment {id}")))?;
    let rep = store::get_report(&mut tx, c.report_id).await?.ok_or_else(|| AppError::not_found("report"))?;
    if rep.official_person_id == actor.person_id
        || !lives_in(&mut tx, actor.person_id, &code(&rep.territory_code)?).await?
    {
        return Err(not_a_resident());
    }
    if !rules::commitment_ratable(c.progress, c.due_ms, now) {
        return Err(AppError::conflict("commitment", "it is rated once it is done or due"));
    }
    if !store::rate(&mut tx, "commitment", id, actor.person_id, score.get()).await? {
        return Err(AppError::conflict("commitment", "you rated it already"));
    }
    let v = commitment_view(&mut tx, actor, c, true, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Progress {
    /// 0–100 per cent.
    pub progress: i64,
    #[serde(default)]
    pub note: String,
}

/// Who reports for the territory records a commitment's progress.
pub async fn set_progress(app: &App, actor: &Actor, id: i64, p: Progress) -> Result<CommitmentView> {
    let progress = rules::progress("progress", p.progress)?;
    let note = text::optional("note", &p.note)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let c = store::get_commitment(&mut tx, id).await?.ok_or_else(|| AppError::not_found(format!("commitment {id}")))?;
    let rep = store::get_report(&mut tx, c.report_id).await?.ok_or_else(|| AppError::not_found("report"))?;
    actor.can(Action::ReportToResidents, &Target::territory(&code(&rep.territory_code)?))?;
    store::set_progress(&mut tx, id, progress, &note, now).await?;
    let c = store::get_commitment(&mut tx, id).await?.ok_or_else(|| AppError::not_found("commitment"))?;
    let v = commitment_view(&mut tx, actor, c, false, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(v)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Satisfaction {
    pub territory_code: String,
    /// The residents' ratings of the territory's reports.
    pub reports: Ratings,
    /// Their ratings of its commitments.
    pub commitments: Ratings,
}

/// The residents' ratings summed over a territory's reports and commitments: the part of a
/// unit's evaluation that residents give, beside the case indicators.
pub async fn satisfaction(app: &App, actor: &Actor, territory: &str) -> Result<Satisfaction> {
    let t = TerritoryCode::parse(territory).map_err(|e| AppError::invalid("territory", e.reason))?;
    actor.can(Action::ReadCase, &Target::territory(&t))?;
    let mut conn = app.db.read().await?;
    Ok(Satisfaction {
        reports: ratings(rules::aggregate(&store::scores_within(&mut conn, t.as_str(), "report").await?)),
        commitments: ratings(rules::aggregate(&store::scores_within(&mut conn, t.as_str(), "commitment").await?)),
        territory_code: t.to_string(),
    })
}
