//! Near-duplicates and hot topics. A report is compared with the recent cases of its
//! township (the only ones that can be within the distance), by the words that carry its
//! matter, the distance between the two places and the time between them. The reporter
//! sees the likely duplicates before submitting and can support one instead (附议); the
//! dispatcher sees them on the case and merges with one action. Hot topics gather the
//! cases of a territory and period into topics and rank them by how many residents raised
//! or supported them.

use crate::{App, AppError, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wuzhi_domain::permission::Action;
use wuzhi_domain::{Actor, TerritoryCode, mask};
use wuzhi_geo::Crs;
use wuzhi_store::cases::CaseRow;
use wuzhi_text::similar::{DuplicateRule, Profile, Sighting, duplicate_score, profile, topics};

/// Most recent cases of a township compared with a report.
const CANDIDATES: i64 = 3000;
/// Most cases gathered into hot topics at once.
const HOT_CASES: i64 = 20_000;

/// Profiles of cases already seen (by id and version: a changed text is profiled again).
#[derive(Default)]
pub struct Profiles {
    map: Mutex<HashMap<i64, (i64, Arc<Profile>)>>,
}

impl Profiles {
    fn of(&self, rows: &[CaseRow]) -> Vec<Arc<Profile>> {
        let known: Vec<Option<Arc<Profile>>> = {
            let m = self.map.lock().unwrap_or_else(|e| e.into_inner());
            rows.iter().map(|r| m.get(&r.id).filter(|(v, _)| *v == r.version).map(|(_, p)| p.clone())).collect()
        };
        let out: Vec<Arc<Profile>> = rows
            .iter()
            .zip(known)
            .map(|(r, k)| k.unwrap_or_else(|| Arc::new(profile(&r.subject, &r.description))))
            .collect();
        let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() > 300_000 {
            m.clear();
        }
        for (r, p) in rows.iter().zip(&out) {
            m.insert(r.id, (r.version, p.clone()));
        }
        out
    }
}

/// The profiles of these cases, computed off the async threads (segmentation is CPU work).
async fn profiles_of(app: &App, rows: Vec<CaseRow>) -> Result<(Vec<CaseRow>, Vec<Arc<Profile>>)> {
    let cache = app.profiles.clone();
    tokio::task::spawn_blocking(move || {
        let p = cache.of(&rows);
        (rows, p)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct Draft {
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub detail: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// `wgs84` (default) or `gcj02`.
    pub crs: Option<String>,
    /// Where, when there is no point: a territory code.
    pub territory: Option<String>,
}

/// A case that may be the same matter: what anyone may see of it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Candidate {
    pub id: i64,
    /// Numbers masked.
    pub subject: String,
    pub status: String,
    pub territory_code: String,
    pub created_at_ms: i64,
    /// Cosine similarity of the texts' keywords.
    pub similarity: f32,
    /// The combined score (similarity, lowered a little with distance and age).
    pub score: f32,
    pub distance_m: Option<f64>,
    pub supports: i64,
}

fn township_prefix(code: &str) -> &str {
    &code[..code.len().min(9)]
}

/// Whether the person may see the case among the candidates: one they may read, or a
/// public one (shown as the public sees it: subject masked, no reporter, no point).
fn may_see(actor: &Actor, r: &CaseRow) -> bool {
    r.public || crate::cases::can_read(actor, r).unwrap_or(false)
}

async fn candidates(
    app: &App,
    actor: &Actor,
    me: Option<i64>,
    prof: &Profile,
    point: Option<(f64, f64)>,
    territory: &str,
    at_ms: i64,
) -> Result<Vec<Candidate>> {
    let rule = DuplicateRule::default();
    let rows = {
        let mut conn = app.db.read().await?;
        let since = at_ms - rule.window_ms;
        wuzhi_store::text::reported_between(&mut conn, township_prefix(territory), since, i64::MAX, CANDIDATES).await?
    };
    let rows: Vec<CaseRow> =
        rows.into_iter().filter(|r| Some(r.id) != me && r.status != "rejected" && may_see(actor, r)).collect();
    let (rows, profiles) = profiles_of(app, rows).await?;
    let here = Sighting { profile: prof, point, at_ms };
    let mut out: Vec<(CaseRow, wuzhi_text::similar::Match)> = Vec::new();
    for (r, p) in rows.into_iter().zip(profiles) {
        let there = Sighting { profile: &p, point: r.lon.zip(r.lat), at_ms: r.created_at_ms };
        // Without points, only cases of the same village or grid are near.
        if (point.is_none() || there.point.is_none())
            && !r.territory_code.starts_with(&territory[..territory.len().min(12)])
        {
            continue;
        }
        if let Some(m) = duplicate_score(&rule, &here, &there) {
            out.push((r, m));
        }
    }
    out.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));
    out.truncate(10);
    let ids: Vec<i64> = out.iter().map(|c| c.0.id).collect();
    let supports: HashMap<i64, i64> = {
        let mut conn = app.db.read().await?;
        wuzhi_store::text::supports_of(&mut conn, &ids).await?.into_iter().collect()
    };
    Ok(out
        .into_iter()
        .map(|(r, m)| Candidate {
            id: r.id,
            subject: mask::in_text(&r.subject),
            status: r.status,
            territory_code: r.territory_code,
            created_at_ms: r.created_at_ms,
            similarity: m.similarity,
            score: m.score,
            distance_m: m.distance_m,
            supports: supports.get(&r.id).copied().unwrap_or(0),
        })
        .collect())
}

/// Cases that may already report what a draft reports (before it is submitted).
pub async fn for_draft(app: &App, actor: &Actor, d: &Draft) -> Result<Vec<Candidate>> {
    let subject = d.subject.trim();
    if subject.is_empty() && d.detail.trim().is_empty() {
        return Err(AppError::invalid("subject", "give a subject or a detail to compare"));
    }
    if subject.chars().count() > 200 || d.detail.chars().count() > 5000 {
        return Err(AppError::invalid("detail", "is too long (subject 200, detail 5,000 characters)"));
    }
    let (territory, point) = match (d.lon, d.lat) {
        (Some(x), Some(y)) => {
            let crs = d.crs.as_deref().map(Crs::parse).transpose()?.unwrap_or(Crs::Wgs84);
            let (x, y) = crate::locate::point(x, y, crs)?;
            let g = app
                .locator()
                .locate(x, y)
                .ok_or_else(|| AppError::invalid("lon", "the point is outside every grid of this city"))?;
            (g.grid.code, Some((x, y)))
        }
        (None, None) => {
            let t =
                d.territory.as_deref().ok_or_else(|| AppError::invalid("lon", "give lon and lat, or a territory"))?;
            let t = TerritoryCode::parse(t).map_err(|e| AppError::invalid("territory", e.reason))?;
            (t.as_str().to_owned(), None)
        }
        _ => return Err(AppError::invalid("lat", "give both lon and lat")),
    };
    let prof = profile(subject, &d.detail);
    candidates(app, actor, None, &prof, point, &territory, app.now_ms()).await
}

/// Cases that may be the same matter as case `id` (for its dispatcher).
pub async fn for_case(app: &App, actor: &Actor, id: i64) -> Result<Vec<Candidate>> {
    let r = {
        let mut conn = app.db.read().await?;
        wuzhi_store::cases::get(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("case {id}")))?
    };
    if !crate::cases::can_read(actor, &r)? {
        return Err(AppError::Forbidden { action: "read this case".into() });
    }
    let prof = profile(&r.subject, &r.description);
    candidates(app, actor, Some(r.id), &prof, r.lon.zip(r.lat), &r.territory_code, r.created_at_ms).await
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Supported {
    pub case_id: i64,
    pub supports: i64,
    /// False when this person had supported it already.
    pub added: bool,
}

/// A resident says "me too" (附议) to an open case instead of reporting it again.
pub async fn support(app: &App, actor: &Actor, id: i64) -> Result<Supported> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let r = wuzhi_store::cases::get(&mut tx, id).await?.ok_or_else(|| AppError::not_found(format!("case {id}")))?;
    // One supports what one may see: a public case, or one the person may read.
    if !may_see(actor, &r) {
        return Err(AppError::Forbidden { action: "support this case".into() });
    }
    if r.merged_into.is_some() || matches!(r.status.as_str(), "closed" | "rejected") {
        return Err(AppError::Conflict { field: "status".into(), reason: format!("case {id} is no longer open") });
    }
    let added = wuzhi_store::text::support(&mut tx, id, actor.person_id, now).await?;
    let supports = wuzhi_store::text::supports_of(&mut tx, &[id]).await?.first().map(|s| s.1).unwrap_or(0);
    wuzhi_store::commit(tx).await?;
    Ok(Supported { case_id: id, supports, added })
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
pub struct HotParams {
    /// Inside this territory (default: the whole of what the person may read).
    pub territory: Option<String>,
    /// The last this many days (1–90, default 7).
    pub days: Option<i64>,
    /// How many topics (1–50, default 10).
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HotCase {
    pub id: i64,
    pub subject: String,
    pub status: String,
    pub territory_code: String,
    pub created_at_ms: i64,
    pub supports: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HotTopic {
    /// The words that name it.
    pub keywords: Vec<String>,
    /// The subject of its most supported case.
    pub title: String,
    pub cases: usize,
    pub supports: i64,
    /// Cases plus supports: how many voices raised it.
    pub heat: i64,
    pub first_at_ms: i64,
    pub last_at_ms: i64,
    /// Its cases, most supported first (at most 20).
    pub members: Vec<HotCase>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HotTopics {
    pub territory_code: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Cases gathered (the newest, at most 20,000).
    pub cases: usize,
    pub topics: Vec<HotTopic>,
}

/// The topics most residents raised or supported in a territory and period.
pub async fn hot(app: &App, actor: &Actor, p: &HotParams) -> Result<HotTopics> {
    let days = p.days.unwrap_or(7);
    if !(1..=90).contains(&days) {
        return Err(AppError::invalid("days", "must be 1 to 90"));
    }
    let limit = p.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(AppError::invalid("limit", "must be 1 to 50"));
    }
    let scopes = actor.scopes_for(Action::ReadCase);
    let territory = match &p.territory {
        Some(t) => {
            let t = TerritoryCode::parse(t).map_err(|e| AppError::invalid("territory", e.reason))?;
            if !scopes.iter().any(|s| s.contains(&t)) {
                return Err(AppError::Forbidden { action: "read the cases of this territory".into() });
            }
            t
        }
        None => scopes.first().cloned().ok_or_else(|| AppError::Forbidden { action: "read cases".into() })?,
    };
    // Up to and including this millisecond.
    let to_ms = app.now_ms() + 1;
    let from_ms = to_ms - days * 86_400_000;
    let rows = {
        let mut conn = app.db.read().await?;
        wuzhi_store::text::reported_between(&mut conn, territory.scope_prefix(), from_ms, to_ms, HOT_CASES).await?
    };
    let supports: HashMap<i64, i64> = {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut conn = app.db.read().await?;
        let mut m = HashMap::new();
        for chunk in ids.chunks(900) {
            m.extend(wuzhi_store::text::supports_of(&mut conn, chunk).await?);
        }
        m
    };
    let (rows, profiles) = profiles_of(app, rows).await?;
    // Oldest first: a topic grows from its first report.
    let order: Vec<usize> = (0..rows.len()).rev().collect();
    let ordered: Vec<Arc<Profile>> = order.iter().map(|&i| profiles[i].clone()).collect();
    let found = tokio::task::spawn_blocking(move || topics::<Arc<Profile>>(&ordered, 0.3))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let sup = |r: &CaseRow| supports.get(&r.id).copied().unwrap_or(0);
    let mut out: Vec<HotTopic> = found
        .into_iter()
        // A topic is raised by several residents, or supported by some.
        .filter(|t| t.members.len() > 1 || t.members.iter().any(|&m| sup(&rows[order[m]]) > 0))
        .map(|t| {
            let mut members: Vec<&CaseRow> = t.members.iter().map(|&m| &rows[order[m]]).collect();
            members.sort_by(|a, b| sup(b).cmp(&sup(a)).then(b.created_at_ms.cmp(&a.created_at_ms)));
            let total: i64 = members.iter().map(|r| sup(r)).sum();
            HotTopic {
                keywords: t.keywords,
                title: mask::in_text(&members[0].subject),
                cases: members.len(),
                supports: total,
                heat: members.len() as i64 + total,
                first_at_ms: members.iter().map(|r| r.created_at_ms).min().unwrap_or(0),
                last_at_ms: members.iter().map(|r| r.created_at_ms).max().unwrap_or(0),
                members: members
                    .iter()
                    .take(20)
                    .map(|r| HotCase {
                        id: r.id,
                        subject: mask::in_text(&r.subject),
                        status: r.status.clone(),
                        territory_code: r.territory_code.clone(),
                        created_at_ms: r.created_at_ms,
                        supports: sup(r),
                    })
                    .collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| b.heat.cmp(&a.heat).then(b.last_at_ms.cmp(&a.last_at_ms)));
    out.truncate(limit as usize);
    Ok(HotTopics { territory_code: territory.as_str().to_owned(), from_ms, to_ms, cases: rows.len(), topics: out })
}
