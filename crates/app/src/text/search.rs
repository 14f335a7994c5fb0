//! Case search. Each app server keeps its own index (tantivy, on its local disk or in
//! memory) and keeps it current by reading the outbox, which every server's changes write
//! in the same transaction as the case: so a case changed through any server is found
//! through every server within a second or two. The index stores its place in the outbox
//! with each commit; a restart goes on from there. `wuzhi search rebuild` raises a
//! generation number in the database, and every server rebuilds its index from the cases.
//!
//! The index narrows; the database decides: hits are read back from the cases and checked
//! with the same rule as every other read, so a hit the index still holds from before a
//! change of owner is never shown to someone who may no longer read it.

use crate::cases::{CaseView, can_read};
use crate::{App, AppError, Result};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use wuzhi_domain::permission::Action;
use wuzhi_domain::work::Caller;
use wuzhi_domain::{Actor, TerritoryCode};
use wuzhi_store::cases::CaseRow;
use wuzhi_text::search::{Doc, SearchIndex, SearchQuery, highlight};

/// How far back each poll looks again (a transaction may commit a little after its rows' time).
const LOOK_BACK_MS: i64 = 10_000;
const PAGE: i64 = 5_000;
const GENERATION: &str = "search_generation";

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
struct Cursor {
    /// The rebuild generation this index was built for.
    generation: i64,
    /// The newest outbox row's time and id taken in.
    ms: i64,
    id: i64,
}

pub struct Search {
    /// Shared with the blocking threads that run its searches and commits.
    index: std::sync::Arc<SearchIndex>,
    /// Outbox rows of the look-back window already taken in: id → time.
    seen: Mutex<HashMap<i64, i64>>,
    /// One indexing pass at a time.
    pass: tokio::sync::Mutex<()>,
}

impl Search {
    pub fn open(dir: Option<&std::path::Path>) -> Result<Search> {
        let index = SearchIndex::open(dir).map_err(|e| AppError::Internal(format!("search index: {e}")))?;
        Ok(Search {
            index: std::sync::Arc::new(index),
            seen: Mutex::new(HashMap::new()),
            pass: tokio::sync::Mutex::new(()),
        })
    }

    fn cursor(&self) -> Option<Cursor> {
        self.index.cursor().and_then(|p| serde_json::from_str(&p).ok())
    }
}

fn ix_err(e: wuzhi_text::search::Error) -> AppError {
    AppError::Internal(format!("search index: {e}"))
}

/// Runs index work (tantivy's searches, writes and commits, highlighting) on the blocking
/// threads, never on the threads that serve requests.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| AppError::Internal(format!("search task: {e}")))?
}

impl Search {
    async fn add(&self, docs: Vec<Doc>) -> Result<()> {
        let ix = self.index.clone();
        blocking(move || ix.add_uncommitted(&docs).map_err(ix_err)).await
    }

    async fn finish(&self, payload: String) -> Result<()> {
        let ix = self.index.clone();
        blocking(move || ix.finish(&payload).map_err(ix_err)).await
    }
}

/// The text of a case's timeline worth finding: results, replies, comments, reasons.
fn timeline_text(events: &[wuzhi_store::cases::EventRow]) -> String {
    let mut out = String::new();
    for e in events {
        if let Ok(serde_json::Value::Object(o)) = serde_json::from_str::<serde_json::Value>(&e.data) {
            for k in ["result", "text", "reason", "note"] {
                if let Some(serde_json::Value::String(s)) = o.get(k) {
                    if !s.is_empty() {
                        out.push('\n');
                        out.push_str(s);
                    }
                }
            }
        }
    }
    out
}

fn doc_of(r: &CaseRow, events: &[wuzhi_store::cases::EventRow]) -> Doc {
    let mut units = crate::cases::helper_orgs(r);
    units.extend(r.owner_org_id);
    let mut body = r.description.clone();
    if let Some(a) = &r.address {
        body.push('\n');
        body.push_str(a);
    }
    body.push_str(&timeline_text(events));
    Doc {
        id: r.id,
        subject: r.subject.clone(),
        body,
        territory_code: r.territory_code.clone(),
        category_code: r.category_code.clone(),
        status: r.status.clone(),
        channel: r.channel.clone(),
        units,
        reporter_id: r.reporter_id,
        created_at_ms: r.created_at_ms,
    }
}

/// The documents of these cases, their timelines read in one query.
async fn docs_of_rows(conn: &mut wuzhi_store::Conn, rows: &[CaseRow]) -> Result<Vec<Doc>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut events: HashMap<i64, Vec<wuzhi_store::cases::EventRow>> = HashMap::new();
    for (c, e) in wuzhi_store::cases::events_of(conn, &ids).await? {
        events.entry(c).or_default().push(e);
    }
    Ok(rows.iter().map(|r| doc_of(r, events.get(&r.id).map(Vec::as_slice).unwrap_or(&[]))).collect())
}

async fn docs_for(app: &App, ids: &[i64]) -> Result<Vec<Doc>> {
    let mut conn = app.db.read().await?;
    let rows = wuzhi_store::cases::by_ids(&mut conn, ids).await?;
    docs_of_rows(&mut conn, &rows).await
}

async fn generation(app: &App) -> Result<i64> {
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::text::setting(&mut conn, GENERATION).await?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Indexed {
    pub rebuilt: bool,
    pub cases: usize,
}

/// One indexing pass: rebuilds when the index is new or a rebuild was asked for, else takes
/// in the cases changed since the last pass. Returns what it did.
pub async fn index_once(app: &App) -> Result<Indexed> {
    let s = &app.search;
    let _one = s.pass.lock().await;
    let generation = generation(app).await?;
    // An index older than the outbox's retention may have missed changes: rebuild it.
    let kept_from = app.now_ms() - crate::retention::OUTBOX_DAYS * 86_400_000;
    let cursor = match s.cursor() {
        Some(c) if c.generation == generation && c.ms >= kept_from => c,
        _ => {
            let n = rebuild_locked(app, generation).await?;
            return Ok(Indexed { rebuilt: true, cases: n });
        }
    };
    let since = cursor.ms - LOOK_BACK_MS;
    let mut after = (since - 1, 0);
    let mut newest = (cursor.ms, cursor.id);
    let mut fresh: Vec<(i64, i64)> = Vec::new();
    let mut cases: HashSet<i64> = HashSet::new();
    loop {
        let rows = {
            let mut conn = app.db.read().await?;
            wuzhi_store::text::outbox_feed(&mut conn, since, after, PAGE).await?
        };
        let n = rows.len() as i64;
        {
            let seen = s.seen.lock().unwrap_or_else(|e| e.into_inner());
            for (id, case, at) in &rows {
                after = (*at, *id);
                if (*at, *id) > newest {
                    newest = (*at, *id);
                }
                if !seen.contains_key(id) {
                    fresh.push((*id, *at));
                    cases.extend(*case);
                }
            }
        }
        if n < PAGE {
            break;
        }
    }
    let ids: Vec<i64> = cases.into_iter().collect();
    let c = Cursor { generation, ms: newest.0, id: newest.1 };
    let payload = serde_json::to_string(&c).unwrap_or_default();
    for chunk in ids.chunks(1000) {
        let docs = docs_for(app, chunk).await?;
        s.add(docs).await?;
    }
    if !fresh.is_empty() {
        s.finish(payload).await?;
    }
    let mut seen = s.seen.lock().unwrap_or_else(|e| e.into_inner());
    seen.extend(fresh);
    seen.retain(|_, at| *at >= c.ms - LOOK_BACK_MS);
    Ok(Indexed { rebuilt: false, cases: ids.len() })
}

async fn rebuild_locked(app: &App, generation: i64) -> Result<usize> {
    let s = &app.search;
    // Changes from here on are taken in by the next passes.
    let start = app.now_ms() - LOOK_BACK_MS;
    let ix = s.index.clone();
    blocking(move || ix.clear().map_err(ix_err)).await?;
    let mut after = 0;
    let mut n = 0;
    loop {
        let docs = {
            let mut conn = app.db.read().await?;
            let rows = wuzhi_store::text::cases_after(&mut conn, after, 2000).await?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            docs_of_rows(&mut conn, &rows).await?
        };
        n += docs.len();
        s.add(docs).await?;
    }
    let c = Cursor { generation, ms: start, id: 0 };
    s.finish(serde_json::to_string(&c).unwrap_or_default()).await?;
    s.seen.lock().unwrap_or_else(|e| e.into_inner()).clear();
    tracing::info!(cases = n, generation, "search index rebuilt");
    Ok(n)
}

/// Asks every server to rebuild its index (the next pass of each does); returns the new
/// generation. Only a city administrator may.
pub async fn request_rebuild(app: &App, caller: Caller<'_>) -> Result<i64> {
    let actor = caller.person();
    crate::require_city_admin(caller, "rebuild the search index")?;
    let mut tx = app.db.write().await?;
    let g = wuzhi_store::text::setting(&mut tx, GENERATION).await?.and_then(|v| v.parse::<i64>().ok()).unwrap_or(0) + 1;
    wuzhi_store::text::set_setting(&mut tx, GENERATION, Some(&g.to_string())).await?;
    crate::audit::record(
        &mut tx,
        app.now_ms(),
        actor,
        "rebuild_search",
        "search",
        "*",
        serde_json::json!({"generation": g}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    Ok(g)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct SearchParams {
    /// Words to find (Chinese is segmented into words; every word must occur).
    pub q: Option<String>,
    pub territory: Option<String>,
    pub category: Option<String>,
    pub status: Option<String>,
    pub channel: Option<String>,
    /// Reported on or after this day (YYYY-MM-DD).
    pub from: Option<String>,
    /// Reported on or before this day.
    pub to: Option<String>,
    /// `relevance` (default) or `newest`.
    pub sort: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    pub case: CaseView,
    pub score: f32,
    /// HTML-escaped subject with the matched words in `<mark>`.
    pub subject_html: String,
    /// A passage of the text, escaped, with the matched words in `<mark>`; numbers masked.
    pub snippet_html: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    /// Matches among the cases the person may read.
    pub total: usize,
    pub words: Vec<String>,
    pub hits: Vec<SearchHit>,
}

/// Searches the cases the actor may read.
pub async fn search(app: &App, actor: &Actor, p: &SearchParams) -> Result<SearchResults> {
    let text = p.q.clone().unwrap_or_default();
    if text.chars().count() > 200 {
        return Err(AppError::invalid("q", "is longer than 200 characters"));
    }
    let limit = crate::page_limit(p.limit.or(Some(20)))?.min(100) as usize;
    let offset = p.offset.unwrap_or(0);
    if !(0..=10_000).contains(&offset) {
        return Err(AppError::invalid("offset", "must be 0 to 10000"));
    }
    let newest = match p.sort.as_deref() {
        None | Some("relevance") => false,
        Some("newest") => true,
        Some(o) => return Err(AppError::invalid("sort", format!("`{o}` is not relevance or newest"))),
    };
    // The same checks and meanings as the case list.
    let lq = crate::cases::ListQuery {
        status: p.status.clone(),
        category: p.category.clone(),
        territory: p.territory.clone(),
        channel: p.channel.clone(),
        from: p.from.clone(),
        to: p.to.clone(),
        ..Default::default()
    };
    let f = crate::cases::checked_filter(&lq)?;
    let scopes = actor.scopes_for(Action::ReadCase);
    let q = SearchQuery {
        text,
        scopes: scopes.iter().map(|s| s.scope_prefix().to_owned()).collect(),
        units: actor.orgs(),
        reporter: Some(actor.person_id),
        territory_prefix: f.territory.as_ref().map(|t: &TerritoryCode| t.scope_prefix().to_owned()),
        category_prefix: p.category.clone(),
        status: p.status.clone(),
        channel: p.channel.clone(),
        from_ms: f.from_ms,
        to_ms: f.to_ms,
        newest,
        limit,
        offset: offset as usize,
        now_ms: app.now_ms(),
    };
    let ix = app.search.index.clone();
    let found = blocking(move || ix.search(&q).map_err(ix_err)).await?;
    let ids: Vec<i64> = found.hits.iter().map(|h| h.id).collect();
    let mut conn = app.db.read().await?;
    let found_rows = wuzhi_store::cases::by_ids(&mut conn, &ids).await?;
    let bodies: HashMap<i64, String> =
        docs_of_rows(&mut conn, &found_rows).await?.into_iter().map(|d| (d.id, d.body)).collect();
    drop(conn);
    let rows: HashMap<i64, CaseRow> = found_rows.into_iter().map(|r| (r.id, r)).collect();
    let mut readable = Vec::new();
    let mut refused = 0;
    for h in found.hits {
        let Some(r) = rows.get(&h.id) else { continue };
        if !can_read(actor, r)? {
            refused += 1;
            continue;
        }
        let body = bodies.get(&r.id).cloned().unwrap_or_default();
        readable.push((crate::cases::view_of(actor, r.clone())?, h.score, r.subject.clone(), body));
    }
    // Passages from the case as it is now, personal numbers masked before marking.
    let needles = found.needles;
    let hits = blocking(move || {
        let mask = wuzhi_domain::mask::in_text;
        Ok(readable
            .into_iter()
            .map(|(case, score, subject, body)| SearchHit {
                case,
                score,
                subject_html: highlight(&mask(&subject), &needles, None),
                snippet_html: highlight(&mask(&body), &needles, Some(120)),
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(SearchResults { total: found.total.saturating_sub(refused), words: found.words, hits })
}
