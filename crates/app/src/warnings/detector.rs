//! The detectors' live run. One app server at a time holds the detector lease (a row in the
//! database, renewed each pass) and with it the engine: warmed from the last four weeks of
//! cases, then fed the cases' events from the outbox in time order. Each pass turns the
//! engine's signals into warnings — a new one when no warning is open for its rule and key,
//! else more evidence for the open one — and moves the lease's cursor in the same
//! transaction, so a crash repeats a pass rather than losing or doubling one. Should the lease
//! lapse to another server meanwhile, the cursor's move fails and the pass is rolled back
//! (the partial unique index on open warnings makes a double raise impossible as well).

use super::*;
use std::collections::HashMap;
use wuzhi_domain::warnings::detect::{Categories, Engine, Miss, Observation, Report, Signal};
use wuzhi_domain::warnings::rules::{LexiconEntry, Params, RuleSet};
use wuzhi_text::lexicon::Matcher;

/// How long a pass's lease lasts (renewed every pass, about every second).
pub(crate) const LEASE_MS: i64 = 30_000;
/// Outbox rows commit out of time order by up to this much; each pass reads this far back
/// and skips the rows it has seen.
const LOOK_BACK_MS: i64 = 10_000;
/// The history that warms a new engine (the spikes' baseline, repeats within 30 days).
pub const WARM_DAYS: i64 = 31;
const PAGE: i64 = 500;
/// The classifier's category stands in for a case that has none when it is this sure.
const CLASSIFIER_CONFIDENCE: f32 = 0.5;

/// What the detectors are built from, as the database holds it.
pub struct Config {
    pub generation: i64,
    pub rules: RuleSet,
    pub lexicon: Vec<LexiconEntry>,
    pub categories: Categories,
}

/// The parameters, lexicon and categories in force.
pub async fn config(app: &App) -> Result<Config> {
    let mut conn = app.db.read().await?;
    let generation = wuzhi_store::warnings::generation(&mut conn).await?;
    let mut sets = Vec::new();
    for (territory, json, version) in wuzhi_store::warnings::rules(&mut conn).await? {
        let p: Params = serde_json::from_str(&json)
            .map_err(|e| AppError::Internal(format!("stored warning rules of `{territory}`: {e}")))?;
        sets.push((territory, p, version));
    }
    if !sets.iter().any(|s| s.0.is_empty()) {
        sets.insert(0, (String::new(), Params::default(), 0));
    }
    let lexicon = wuzhi_store::warnings::lexicon(&mut conn)
        .await?
        .into_iter()
        .filter(|r| r.active)
        .filter_map(|r| {
            let cats = serde_json::from_str(&r.categories).unwrap_or_default();
            LexiconEntry::new(&r.phrase, &r.class, Level::parse("level", &r.level).ok()?, cats).ok()
        })
        .collect();
    let cats = wuzhi_store::cases::categories(&mut conn).await?;
    let categories = Categories::new(cats.iter().map(|c| (c.code.as_str(), c.parent_code.as_deref())));
    Ok(Config { generation, rules: RuleSet { sets }, lexicon, categories })
}

/// The lexicon's matcher: the safety class's phrases (fire, gas, collapse, explosion) are
/// hedged — a hazard feared or reported as a risk is a case for its category, not a warning.
pub fn matcher(lexicon: &[LexiconEntry]) -> Matcher {
    let phrases: Vec<&str> = lexicon.iter().map(|e| e.phrase.as_str()).collect();
    let hedged: Vec<bool> = lexicon.iter().map(|e| e.class == "safety").collect();
    Matcher::with_hedges(&phrases, &hedged)
}

/// A case as the detectors see it, owned (the engine borrows it as a [`Report`]).
#[derive(Debug, Clone)]
pub struct Seen {
    pub case_id: i64,
    pub at_ms: i64,
    pub territory: String,
    pub category: Option<String>,
    pub device: bool,
    pub person: Option<i64>,
    pub phone: Option<u64>,
    pub building: Option<i64>,
    pub address: Option<u64>,
    pub hits: Vec<u32>,
}

impl Seen {
    pub fn report(&self) -> Report<'_> {
        Report {
            case_id: self.case_id,
            at_ms: self.at_ms,
            territory: &self.territory,
            category: self.category.as_deref(),
            device: self.device,
            person: self.person,
            phone: self.phone,
            building: self.building,
            address: self.address,
            hits: &self.hits,
        }
    }
}

/// Turns cases into what the detectors see: the lexicon's hits in their text, a category
/// (theirs, or the classifier's when it is sure), and opaque tokens for the phone and the
/// address (keyed hashes: the engine and the warnings hold no personal value).
pub struct Feeder {
    pub matcher: Matcher,
    model: Option<Arc<wuzhi_text::Model>>,
    vault: Arc<crate::vault::Vault>,
}

fn token(hex: &str) -> u64 {
    u64::from_str_radix(hex.get(..16).unwrap_or("0"), 16).unwrap_or(0)
}

/// The address as people write it, without spaces and punctuation, for the repeat key.
fn normal_address(a: &str) -> String {
    a.chars().filter(|c| c.is_alphanumeric()).collect()
}

impl Feeder {
    pub fn new(
        lexicon: &[LexiconEntry],
        model: Option<Arc<wuzhi_text::Model>>,
        vault: Arc<crate::vault::Vault>,
    ) -> Self {
        Feeder { matcher: matcher(lexicon), model, vault }
    }

    /// One case; `building` from the archives' links where it has one. The texts as UTF-8
    /// bytes: the lexicon matches bytes, and only the classifier (for a case without a
    /// category) reads them as text.
    #[allow(clippy::too_many_arguments)]
    pub fn see(
        &self,
        case_id: i64,
        at_ms: i64,
        territory: &str,
        category: Option<&str>,
        subject: &[u8],
        description: &[u8],
        channel: &str,
        person: Option<i64>,
        phone: Option<&str>,
        address: Option<&str>,
        building: Option<i64>,
    ) -> Seen {
        let category = category.map(str::to_owned).or_else(|| {
            let m = self.model.as_ref()?;
            let (subject, description) = (String::from_utf8_lossy(subject), String::from_utf8_lossy(description));
            let (code, p) = m.scores(&format!("{subject} {subject} {description}")).into_iter().next()?;
            (p >= CLASSIFIER_CONFIDENCE).then_some(code)
        });
        let phone = phone.map(|p| p.chars().filter(char::is_ascii_digit).collect::<String>()).filter(|p| p.len() >= 7);
        let address = address.map(normal_address).filter(|a| a.chars().count() >= 6);
        Seen {
            case_id,
            at_ms,
            territory: territory.to_owned(),
            category,
            device: channel == "sensor",
            person,
            phone: phone.map(|p| token(&self.vault.blind("warnings.phone", &p))),
            building,
            address: address.map(|a| token(&self.vault.blind("warnings.address", &a))),
            hits: self.matcher.hits_in(&[subject, description]),
        }
    }
}

impl Feeder {
    /// A stored case (`building` from the archives' links where it has one).
    pub fn see_case(&self, c: &wuzhi_store::cases::CaseRow, building: Option<i64>) -> Seen {
        self.see(
            c.id,
            c.created_at_ms,
            &c.territory_code,
            c.category_code.as_deref(),
            c.subject.as_bytes(),
            c.description.as_bytes(),
            &c.channel,
            c.reporter_id,
            c.reporter_phone.as_deref(),
            c.address.as_deref(),
            building,
        )
    }
}

/// The engine the lease holder runs, with where it is.
struct Live {
    generation: i64,
    engine: Engine,
    feeder: Feeder,
    cursor: (i64, i64),
    /// Outbox rows read within the look-back (id → time).
    seen: HashMap<i64, i64>,
}

/// This server's detectors: none while another server holds the lease.
#[derive(Default)]
pub struct Detectors {
    live: tokio::sync::Mutex<Option<Live>>,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Pass {
    /// Whether this server holds the detectors.
    pub held: bool,
    /// Whether it (re)built the engine this pass.
    pub warmed: bool,
    pub observed: usize,
    pub raised: usize,
    pub grown: usize,
}

async fn build(app: &App, generation: i64, cursor: (i64, i64)) -> Result<Live> {
    let c = config(app).await?;
    let model = crate::text::classifier(app).await?.map(|(_, m)| m);
    let feeder = Feeder::new(&c.lexicon, model, app.settings.vault.clone());
    let mut engine = Engine::new(c.rules, c.categories, c.lexicon, (*app.calendar()).clone());
    // Warm up on the cases before the cursor; what they would have raised is not raised now.
    let since = cursor.0 - WARM_DAYS * wuzhi_domain::calendar::DAY_MS;
    let mut after = (since - 1, 0);
    loop {
        let rows = {
            let mut conn = app.db.read().await?;
            wuzhi_store::cases::created_between(&mut conn, since, after, 2000).await?
        };
        let Some(last) = rows.last() else { break };
        after = (last.created_at_ms, last.id);
        let done = rows.len() < 2000;
        for r in rows.iter().filter(|r| (r.created_at_ms, r.id) < cursor) {
            let s = feeder.see_case(r, None);
            engine.observe(&Observation::Reported(s.report()));
        }
        if done || after >= cursor {
            break;
        }
    }
    tracing::info!(cases = engine.observed(), counters = engine.counters(), generation, "warning detectors warmed up");
    Ok(Live { generation, engine, feeder, cursor, seen: HashMap::new() })
}

/// One pass of the detectors as `holder` (an app server's name): takes or renews the lease,
/// and if it holds it, feeds the new case events to the engine and records what fired.
pub async fn run_once(app: &App, holder: &str) -> Result<Pass> {
    let mut guard = app.detectors.live.lock().await;
    let now = app.now_ms();
    let lease = {
        let mut tx = app.db.write().await?;
        let l = wuzhi_store::warnings::take_lease(&mut tx, holder, now, now + LEASE_MS).await?;
        wuzhi_store::commit(tx).await?;
        l
    };
    let Some(lease) = lease else {
        *guard = None;
        return Ok(Pass::default());
    };
    let mut out = Pass { held: true, ..Default::default() };
    // A fresh detector starts an hour back, so that what was reported just before its first
    // pass is seen live.
    let cursor = match (lease.cursor_ms, lease.cursor_id) {
        (0, 0) => (now - 3_600_000, 0),
        c => c,
    };
    if guard.as_ref().is_none_or(|l| l.generation != lease.generation || l.cursor != cursor) {
        *guard = Some(build(app, lease.generation, cursor).await?);
        out.warmed = true;
    }
    let live = guard.as_mut().expect("built above");
    let result = feed(app, holder, live, &mut out, (lease.cursor_ms, lease.cursor_id)).await;
    if result.is_err() {
        // The engine took in what was rolled back: start again from the stored cursor.
        *guard = None;
    }
    result.map(|_| out)
}

/// The case events that feed the detectors.
const TOPICS: &[&str] = &["reported", "reopened", "marked_overdue", "returned"];

async fn feed(app: &App, holder: &str, live: &mut Live, out: &mut Pass, stored: (i64, i64)) -> Result<()> {
    let since = live.cursor.0 - LOOK_BACK_MS;
    let mut after = (since - 1, 0);
    let mut written = live.cursor;
    // A fresh detector's first cursor is not stored yet.
    let moved_before = stored == live.cursor;
    loop {
        let rows = {
            let mut conn = app.db.read().await?;
            wuzhi_store::warnings::case_feed(&mut conn, since, after, PAGE).await?
        };
        let full = rows.len() as i64 == PAGE;
        if let Some(last) = rows.last() {
            after = (last.4, last.0);
        }
        let fresh: Vec<_> = rows.into_iter().filter(|r| !live.seen.contains_key(&r.0)).collect();
        let wanted: Vec<_> = fresh.iter().filter(|r| TOPICS.contains(&r.2.as_str())).collect();
        let mut signals: Vec<Signal> = Vec::new();
        if !wanted.is_empty() {
            let ids: Vec<i64> = wanted.iter().map(|r| r.1).collect();
            let mut conn = app.db.read().await?;
            let cases: HashMap<i64, wuzhi_store::cases::CaseRow> =
                wuzhi_store::cases::by_ids(&mut conn, &ids).await?.into_iter().map(|c| (c.id, c)).collect();
            let buildings: HashMap<i64, i64> =
                wuzhi_store::warnings::buildings_of(&mut conn, &ids).await?.into_iter().collect();
            for (_, case_id, event, seq, at) in wanted {
                let Some(c) = cases.get(case_id) else { continue };
                match event.as_str() {
                    "reported" => {
                        let s = live.feeder.see_case(c, buildings.get(case_id).copied());
                        signals.extend(live.engine.observe(&Observation::Reported(s.report())));
                    }
                    "reopened" => {
                        let times = wuzhi_store::warnings::reopenings(&mut conn, *case_id, *seq).await?;
                        signals.extend(live.engine.observe(&Observation::Reopened {
                            case_id: *case_id,
                            at_ms: *at,
                            territory: &c.territory_code,
                            category: c.category_code.as_deref(),
                            times: times.clamp(0, u32::MAX as i64) as u32,
                        }));
                    }
                    kind => {
                        let (miss, orgs) = if kind == "returned" {
                            (Miss::Returned, wuzhi_store::warnings::actor_units(&mut conn, *case_id, *seq).await?)
                        } else {
                            (Miss::Overdue, c.owner_org_id.into_iter().collect())
                        };
                        for org in orgs {
                            let Some(o) = wuzhi_store::org::get(&mut conn, org).await? else { continue };
                            signals.extend(live.engine.observe(&Observation::Missed {
                                case_id: *case_id,
                                at_ms: *at,
                                org,
                                unit_territory: &o.territory_code,
                                miss,
                            }));
                        }
                    }
                }
                out.observed += 1;
            }
        }
        let newest = fresh.iter().map(|r| (r.4, r.0)).max().map_or(live.cursor, |n| n.max(live.cursor));
        // A write only where something fired (and once at the end of the pass for the
        // cursor): the detectors share SQLite's one writer with the intake.
        if !signals.is_empty() {
            let now = app.now_ms();
            let mut tx = app.db.write().await?;
            for s in &signals {
                match record(&mut tx, s, now).await? {
                    Recorded::Raised => out.raised += 1,
                    Recorded::Grown => out.grown += 1,
                }
            }
            advance(&mut tx, holder, newest).await?;
            wuzhi_store::commit(tx).await?;
            written = newest;
        }
        live.cursor = newest;
        live.seen.extend(fresh.iter().map(|r| (r.0, r.4)));
        let keep_from = live.cursor.0 - LOOK_BACK_MS;
        live.seen.retain(|_, at| *at >= keep_from);
        if !full {
            break;
        }
    }
    if written != live.cursor || !moved_before {
        let mut tx = app.db.write().await?;
        advance(&mut tx, holder, live.cursor).await?;
        wuzhi_store::commit(tx).await?;
    }
    Ok(())
}

/// Moves the stored cursor, or fails the pass when the lease went to another server.
async fn advance(tx: &mut wuzhi_store::Tx, holder: &str, to: (i64, i64)) -> Result<()> {
    if !wuzhi_store::warnings::advance(tx, holder, to).await? {
        return Err(AppError::Conflict {
            field: "lease".into(),
            reason: "another server took the warning detectors over".into(),
        });
    }
    Ok(())
}

enum Recorded {
    Raised,
    Grown,
}

/// A signal as a warning: a new one, or more evidence (and perhaps a higher level) for the
/// one open on its rule and key.
async fn record(tx: &mut wuzhi_store::Tx, s: &Signal, now: i64) -> Result<Recorded> {
    let first = s.cases.iter().map(|c| c.1).min().unwrap_or(s.at_ms);
    let (rule, key) = (s.rule.as_str(), s.key.as_str());
    if let Some(w) = wuzhi_store::warnings::open_by_key(tx, rule, key).await? {
        grow(tx, &w, s, first, now).await?;
        return Ok(Recorded::Grown);
    }
    let new = wuzhi_store::warnings::NewWarning {
        rule,
        key,
        level: s.level.as_str(),
        territory: &s.territory,
        category: s.category.as_deref(),
        detail: &s.detail,
        status: WarningStatus::New.as_str(),
        observed: s.observed as i64,
        expected: s.expected,
        window_ms: s.window_ms,
        p: s.p,
        rule_version: s.rule_version,
        first_case_at_ms: first,
        now_ms: now,
    };
    let Some(id) = wuzhi_store::warnings::insert(tx, &new).await? else {
        // Opened meanwhile (by a server whose lease lapsed): it grows instead.
        let w = wuzhi_store::warnings::open_by_key(tx, rule, key)
            .await?
            .ok_or_else(|| AppError::Internal("an open warning vanished".into()))?;
        grow(tx, &w, s, first, now).await?;
        return Ok(Recorded::Grown);
    };
    let event = WarningEvent::Raised { rule: s.rule, key: s.key.clone(), level: s.level };
    let extra = json!({"observed": s.observed, "expected": s.expected, "territory": s.territory, "case": s.case_id});
    let data = crate::work::event_data(&event, Some(extra), Some(System::Detector));
    let state = WarningState::raised(s.level);
    let head = crate::work::head_of::<WarningFlow>(&state, &s.territory);
    let ev = wuzhi_store::work::NewEvent {
        at_ms: now,
        written_ms: now,
        actor: None,
        name: WarningFlow::event_kind(&event),
        data: &data,
    };
    wuzhi_store::work::create(tx, &wuzhi_store::warnings::KIND, id, 1, &head, &[ev], now).await?;
    wuzhi_store::warnings::add_cases(tx, id, &s.cases).await?;
    wuzhi_store::warnings::update_evidence(tx, id, s.observed as i64, s.expected, s.p, first, s.at_ms).await?;
    Ok(Recorded::Raised)
}

async fn grow(tx: &mut wuzhi_store::Tx, w: &WarningRow, s: &Signal, first: i64, now: i64) -> Result<()> {
    wuzhi_store::warnings::add_cases(tx, w.id, &s.cases).await?;
    let observed = (s.observed as i64).max(w.observed);
    wuzhi_store::warnings::update_evidence(tx, w.id, observed, s.expected, s.p, first, s.at_ms).await?;
    let state = state_of(w)?;
    if s.level > state.level {
        let rel = WarningRelation { system: Some(System::Detector), ..Default::default() };
        let item = crate::work::Item {
            kind: &wuzhi_store::warnings::KIND,
            id: w.id,
            version: w.version,
            territory: &w.territory_code,
        };
        let stepped = crate::work::step::<WarningFlow>(
            tx,
            item,
            &state,
            &rel,
            &WarningCommand::RaiseLevel { level: s.level },
            Caller::System(System::Detector),
            Some(json!({"observed": observed, "case": s.case_id})),
            now,
        )
        .await?;
        project(tx, w.id, &stepped.next, now).await?;
    }
    Ok(())
}
