//! `wuzhi warnings replay` and `wuzhi bench warnings`: the risk-warning detectors run over
//! historical cases as if they arrived live, on a scratch database that holds only the city's
//! territories and the shipped parameters, lexicon and categories.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;
use wuzhi_app::archives::demo::Rng;
use wuzhi_app::warnings::detector::Seen;
use wuzhi_app::warnings::replay;
use wuzhi_domain::calendar::{DAY_MS, OFFSET_MS};
use wuzhi_domain::warnings::detect::{Engine, Miss, Observation, Tracked, Tracker};

/// Where a replay's territories come from.
pub enum Territories<'a> {
    /// The demo city (all districts, or the first N).
    Demo(Option<usize>),
    /// A city's own file, as `wuzhi territory import` reads it (GeoJSON, or CSV by extension).
    File(&'a std::path::Path),
}

/// A scratch app on a temporary SQLite file with the demo city's territories (all districts,
/// or the first `districts`); the folder to remove after.
async fn scratch(districts: Option<usize>) -> Result<(Arc<wuzhi_app::App>, std::path::PathBuf), String> {
    scratch_with(Territories::Demo(districts)).await
}

async fn scratch_with(t: Territories<'_>) -> Result<(Arc<wuzhi_app::App>, std::path::PathBuf), String> {
    let dir = std::env::temp_dir().join(format!(
        "wuzhi-warnings-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let db = wuzhi_store::Db::connect(&format!("sqlite://{}", dir.join("scratch.sqlite").display()), 4)
        .await
        .map_err(|e| e.to_string())?;
    let settings = wuzhi_app::Settings { files_dir: dir.join("files"), ..Default::default() };
    let app = wuzhi_app::App::open(db, Arc::new(wuzhi_app::SystemClock), settings).await.map_err(|e| e.to_string())?;
    match t {
        Territories::Demo(districts) => {
            wuzhi_app::demo::seed(&app, districts).await.map_err(|e| e.to_string())?;
        }
        Territories::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let format = if path.extension().is_some_and(|e| e == "csv") { "csv" } else { "geojson" };
            let format = wuzhi_app::territory::Format::parse(format).map_err(crate::describe)?;
            use wuzhi_domain::work::{Caller, System};
            wuzhi_app::territory::import(
                &app,
                Caller::System(System::CommandLine),
                format,
                wuzhi_geo::Crs::Wgs84,
                &text,
                false,
            )
            .await
            .map_err(crate::describe)?;
        }
    }
    Ok((app, dir))
}

/// Replays a CSV of historical cases (the case import's columns) and writes one row per
/// warning raised.
pub async fn replay_file(
    cases: &std::path::Path,
    out: &std::path::Path,
    territories: Territories<'_>,
) -> Result<(), String> {
    let text = std::fs::read_to_string(cases).map_err(|e| format!("{}: {e}", cases.display()))?;
    let (app, dir) = scratch_with(territories).await?;
    let started = Instant::now();
    let res = replay::replay(&app, &text).await;
    let secs = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    let (csv, n, w) = res.map_err(crate::describe)?;
    std::fs::write(out, csv).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!(
        "replayed {n} cases in {secs:.2} s ({:.0} cases/s): {w} warnings → {}",
        n as f64 / secs.max(1e-9),
        out.display()
    );
    Ok(())
}

/// The kinds of incident the benchmark injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Burst,
    Neighbours,
    Caller,
    Sensitive,
    Unit,
    Storm,
}

struct Incident {
    kind: Kind,
    cases: HashSet<i64>,
    /// When its third case came (its first, for one of a single case).
    third_at: i64,
}

/// One observation of the benchmark's stream.
enum Obs {
    Report(Seen),
    Missed { case_id: i64, at_ms: i64, org: i64, district: String },
}

impl Obs {
    fn at(&self) -> i64 {
        match self {
            Obs::Report(s) => s.at_ms,
            Obs::Missed { at_ms, .. } => *at_ms,
        }
    }
}

/// Reports per hour of the day (Beijing time), relative: a hotline's day.
const HOURLY: [f64; 24] = [
    1.0, 0.5, 0.3, 0.3, 0.3, 0.5, 1.0, 3.0, 6.0, 8.0, 8.0, 7.0, 6.0, 6.0, 7.0, 7.0, 7.0, 6.0, 5.0, 5.0, 4.0, 3.0, 2.0,
    1.5,
];

fn hour_of_day(rng: &mut Rng) -> i64 {
    let total: f64 = HOURLY.iter().sum();
    let mut x = rng.unit() * total;
    for (h, w) in HOURLY.iter().enumerate() {
        if x < *w {
            return h as i64;
        }
        x -= w;
    }
    23
}

fn phone(rng: &mut Rng) -> String {
    format!("13{:09}", rng.below(1_000_000_000))
}

/// The real messages (subject, detail, first-level category code or none).
fn messages(level1: &HashMap<String, String>) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    for (data, labelled) in [(wuzhi_app::demo::LABELLED_MESSAGES, true), (wuzhi_app::demo::LIKED_MESSAGES, false)] {
        let mut rdr = csv::Reader::from_reader(data.as_bytes());
        let headers = rdr.headers().cloned().unwrap_or_default();
        let col = |n: &str| headers.iter().position(|h| h == n);
        for rec in rdr.records().filter_map(|r| r.ok()) {
            let get = |n: &str| col(n).and_then(|i| rec.get(i)).unwrap_or("").trim().to_owned();
            let detail: String = get("detail").chars().take(600).collect();
            let subject = get("subject");
            let cat = if labelled { level1.get(&get("label")).cloned() } else { None };
            out.push((subject, detail, cat));
        }
    }
    out
}

/// The evaluation: `days` of background at `per_day` reports (the real messages, placed at
/// random grids and hours) with incidents injected from day 29 on, run through the detectors
/// as a replay; prints recall, precision, the median delay and the throughput.
pub async fn bench(days: i64, per_day: usize, seed: u64, csv: Option<&std::path::Path>) -> Result<(), String> {
    let started = Instant::now();
    let (app, dir) = scratch(None).await?;
    let res = bench_on(&app, days, per_day, seed, started, csv).await;
    let _ = std::fs::remove_dir_all(&dir);
    res
}

async fn bench_on(
    app: &wuzhi_app::App,
    days: i64,
    per_day: usize,
    seed: u64,
    started: Instant,
    csv_out: Option<&std::path::Path>,
) -> Result<(), String> {
    let e = |x: wuzhi_app::AppError| x.to_string();
    println!("warnings_setup_seconds: {:.1} s", started.elapsed().as_secs_f64());
    let cats = {
        let mut conn = app.db.read().await.map_err(|x| x.to_string())?;
        wuzhi_store::cases::categories(&mut conn).await.map_err(|x| x.to_string())?
    };
    let level1: HashMap<String, String> = cats
        .iter()
        .filter(|c| c.parent_code.as_deref() == Some("H"))
        .map(|c| (c.name.clone(), c.code.clone()))
        .collect();
    let msgs = messages(&level1);
    let by_cat: HashMap<&str, Vec<usize>> = msgs.iter().enumerate().fold(HashMap::new(), |mut m, (i, x)| {
        if let Some(c) = &x.2 {
            m.entry(c.as_str()).or_default().push(i);
        }
        m
    });
    let cat_codes: Vec<&str> = {
        let mut v: Vec<&str> = by_cat.keys().copied().collect();
        v.sort();
        v
    };
    let loc = app.locator();
    let grids: Vec<String> = loc.grid_codes().map(str::to_owned).collect();
    let mut villages: HashMap<&str, Vec<&str>> = HashMap::new();
    for g in &grids {
        villages.entry(&g[..12]).or_default().push(g);
    }
    let mut village_codes: Vec<&str> = villages.iter().filter(|(_, v)| v.len() >= 3).map(|(k, _)| *k).collect();
    village_codes.sort();
    let districts: Vec<String> = {
        let mut d: Vec<String> = grids.iter().map(|g| g[..6].to_owned()).collect();
        d.sort();
        d.dedup();
        d
    };
    let (_, feeder) = replay::engine(app).await.map_err(e)?;
    let mut rng = Rng::new(seed);
    // 2026-09-01 00:00 Beijing time.
    let t0 = wuzhi_domain::calendar::days_from_civil(2026, 9, 1) * DAY_MS - OFFSET_MS;
    let mut obs: Vec<Obs> = Vec::new();
    let mut next_id = 0i64;
    let mut id = || {
        next_id += 1;
        next_id
    };
    let see = |case: i64, at: i64, grid: &str, m: usize, channel: &str, ph: Option<&str>, extra: &str| {
        let (s, d, c) = &msgs[m];
        let detail = format!("{d}{extra}");
        feeder.see(case, at, grid, c.as_deref(), s.as_bytes(), detail.as_bytes(), channel, None, ph, None, None)
    };
    // The background: every day `per_day` real messages at random grids and hours (fewer at
    // weekends), 3 % of them overdue at their district's unit three days later, 1 % from sensors.
    let feed_started = Instant::now();
    let mut background = 0usize;
    for day in 0..days {
        let weekday = wuzhi_domain::calendar::Calendar::weekday((t0 + OFFSET_MS) / DAY_MS + day);
        let n = if weekday >= 5 { per_day * 8 / 10 } else { per_day };
        for _ in 0..n {
            let at = t0 + day * DAY_MS + hour_of_day(&mut rng) * 3_600_000 + rng.below(3_600_000) as i64;
            let grid = &grids[rng.below(grids.len() as u64) as usize];
            let m = rng.below(msgs.len() as u64) as usize;
            let device = rng.chance(0.01);
            let ph = phone(&mut rng);
            let case = id();
            let s = see(case, at, grid, m, if device { "sensor" } else { "hotline" }, Some(&ph), "");
            obs.push(Obs::Report(s));
            background += 1;
            if rng.chance(0.03) {
                let d = &grid[..6];
                let unit = districts.iter().position(|x| x == d).unwrap_or(0) as i64 * 100 + rng.below(17) as i64;
                obs.push(Obs::Missed { case_id: case, at_ms: at + 3 * DAY_MS, org: unit, district: d.to_owned() });
            }
        }
    }
    let feed_secs = feed_started.elapsed().as_secs_f64();
    // The incidents, at known places and times from day 29 on.
    let mut incidents: Vec<Incident> = Vec::new();
    let span_days = (days - 29).max(1);
    let when = |rng: &mut Rng| {
        t0 + (29 + rng.below(span_days as u64) as i64) * DAY_MS + (8 + rng.below(10) as i64) * 3_600_000
    };
    let sentences = [
        "，再不解决我就从楼上跳下去，不想活了",
        "，楼道里一股燃气泄漏的味道，很危险",
        "，工人们说明天要集体上访讨薪",
        "，楼下配电箱着火冒烟了",
        "，邻居家暴，孩子在哭喊",
        "，已经有人拉横幅堵路了",
    ];
    for k in 0..60 {
        let kind = [Kind::Burst, Kind::Neighbours, Kind::Caller, Kind::Sensitive, Kind::Unit, Kind::Storm][k % 6];
        let start = when(&mut rng);
        let mut cases = Vec::new();
        match kind {
            Kind::Burst => {
                let grid = grids[rng.below(grids.len() as u64) as usize].clone();
                let cat = cat_codes[rng.below(cat_codes.len() as u64) as usize];
                for i in 0..8 {
                    let at = start + i * 6 * 60_000;
                    let m = by_cat[cat][rng.below(by_cat[cat].len() as u64) as usize];
                    let ph = phone(&mut rng);
                    let c = id();
                    obs.push(Obs::Report(see(c, at, &grid, m, "hotline", Some(&ph), "")));
                    cases.push((c, at));
                }
            }
            Kind::Neighbours => {
                let v = village_codes[rng.below(village_codes.len() as u64) as usize];
                let cat = cat_codes[rng.below(cat_codes.len() as u64) as usize];
                for i in 0..6 {
                    let grid = villages[v][i as usize % 3];
                    let at = start + i * 8 * 60_000;
                    let m = by_cat[cat][rng.below(by_cat[cat].len() as u64) as usize];
                    let ph = phone(&mut rng);
                    let c = id();
                    obs.push(Obs::Report(see(c, at, grid, m, "hotline", Some(&ph), "")));
                    cases.push((c, at));
                }
            }
            Kind::Caller => {
                let grid = grids[rng.below(grids.len() as u64) as usize].clone();
                let cat = cat_codes[rng.below(cat_codes.len() as u64) as usize];
                let ph = phone(&mut rng);
                for i in 0..5 {
                    let at = start + i * 2 * DAY_MS + rng.below(3_600_000) as i64;
                    let m = by_cat[cat][rng.below(by_cat[cat].len() as u64) as usize];
                    let c = id();
                    obs.push(Obs::Report(see(c, at, &grid, m, "hotline", Some(&ph), "")));
                    cases.push((c, at));
                }
            }
            Kind::Sensitive => {
                let grid = grids[rng.below(grids.len() as u64) as usize].clone();
                let m = rng.below(msgs.len() as u64) as usize;
                let ph = phone(&mut rng);
                let c = id();
                let s = sentences[rng.below(sentences.len() as u64) as usize];
                obs.push(Obs::Report(see(c, start, &grid, m, "hotline", Some(&ph), s)));
                cases.push((c, start));
            }
            Kind::Unit => {
                // A unit that stops handling: fifteen of its cases overdue within a day.
                let d = &districts[rng.below(districts.len() as u64) as usize];
                let unit = districts.iter().position(|x| x == d).unwrap_or(0) as i64 * 100 + rng.below(17) as i64;
                for i in 0..15 {
                    let at = start + i * 50 * 60_000;
                    let c = id();
                    obs.push(Obs::Missed { case_id: c, at_ms: at, org: unit, district: d.clone() });
                    cases.push((c, at));
                }
            }
            Kind::Storm => {
                let v = village_codes[rng.below(village_codes.len() as u64) as usize];
                for i in 0..10 {
                    let grid = villages[v][i as usize % villages[v].len()];
                    let at = start + i * 2 * 60_000;
                    let m = rng.below(msgs.len() as u64) as usize;
                    let c = id();
                    obs.push(Obs::Report(see(c, at, grid, m, "sensor", None, "")));
                    cases.push((c, at));
                }
            }
        }
        let third_at = cases.get(2).or(cases.first()).map(|c| c.1).unwrap_or(start);
        incidents.push(Incident { kind, cases: cases.iter().map(|c| c.0).collect(), third_at });
    }
    obs.sort_by_key(|o| o.at());

    // The detectors over the stream, as a replay does.
    let c = wuzhi_app::warnings::detector::config(app).await.map_err(e)?;
    let mut engine = Engine::new(c.rules, c.categories, c.lexicon, (*app.calendar()).clone());
    let mut tracker = Tracker::default();
    let detect_started = Instant::now();
    for o in &obs {
        let signals = match o {
            Obs::Report(s) => engine.observe(&Observation::Reported(s.report())),
            Obs::Missed { case_id, at_ms, org, district } => engine.observe(&Observation::Missed {
                case_id: *case_id,
                at_ms: *at_ms,
                org: *org,
                unit_territory: district,
                miss: Miss::Overdue,
            }),
        };
        for s in &signals {
            tracker.add(s);
        }
    }
    let detect_secs = detect_started.elapsed().as_secs_f64();
    let warnings: Vec<Tracked> = tracker.finish();

    // Scoring: a warning is true when its evidence holds a case of an injected incident; a
    // sensitive-word warning on background messages is the lexicon doing its job (real
    // messages that name fires, unpaid wages, …), counted apart.
    let of_case: HashMap<i64, usize> =
        incidents.iter().enumerate().flat_map(|(i, inc)| inc.cases.iter().map(move |c| (*c, i))).collect();
    let mut found: HashMap<usize, i64> = HashMap::new();
    let (mut tp, mut fp, mut lexicon_flags) = (0usize, 0usize, 0usize);
    let mut fp_rules: HashMap<&'static str, usize> = HashMap::new();
    let mut fp_examples: Vec<String> = Vec::new();
    for w in &warnings {
        let hit: Vec<usize> = w.cases.iter().filter_map(|c| of_case.get(c).copied()).collect();
        if hit.is_empty() {
            if w.rule.as_str() == "sensitive" {
                lexicon_flags += 1;
            } else {
                fp += 1;
                *fp_rules.entry(w.rule.as_str()).or_default() += 1;
                if fp_examples.len() < 12 {
                    fp_examples.push(format!("{} {} ({} cases)", w.rule.as_str(), w.key, w.cases.len()));
                }
            }
            continue;
        }
        tp += 1;
        for i in hit {
            let e = found.entry(i).or_insert(w.raised_at_ms);
            *e = (*e).min(w.raised_at_ms);
        }
    }
    let recall = found.len() as f64 / incidents.len() as f64;
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let mut delays: Vec<f64> =
        found.iter().map(|(i, at)| ((at - incidents[*i].third_at).max(0)) as f64 / 60_000.0).collect();
    delays.sort_by(f64::total_cmp);
    let median = crate::bench::percentile(&delays, 0.5);
    let mut missed: HashMap<String, usize> = HashMap::new();
    for (i, inc) in incidents.iter().enumerate() {
        if !found.contains_key(&i) {
            *missed.entry(format!("{:?}", inc.kind)).or_default() += 1;
        }
    }

    // The CSV replay end to end: the background and injected reports as the import's CSV,
    // parsed, located by territory, matched against the lexicon and run.
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "external_id",
        "subject",
        "description",
        "category",
        "territory",
        "created_at",
        "reporter_phone",
        "channel",
    ]);
    for o in &obs {
        if let Obs::Report(s) = o {
            let m = &msgs[(s.case_id as usize) % msgs.len()];
            let local = s.at_ms + OFFSET_MS;
            let secs = local.rem_euclid(DAY_MS) / 1000;
            let _ = w.write_record([
                s.case_id.to_string(),
                m.0.clone(),
                m.1.clone(),
                s.category.clone().unwrap_or_default(),
                s.territory.clone(),
                format!(
                    "{} {:02}:{:02}:{:02}",
                    wuzhi_domain::calendar::format_day(local.div_euclid(DAY_MS)),
                    secs / 3600,
                    secs / 60 % 60,
                    secs % 60
                ),
                format!("13{:09}", s.case_id),
                if s.device { "sensor".into() } else { "hotline".into() },
            ]);
        }
    }
    let csv_text = String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default();
    if let Some(p) = csv_out {
        std::fs::write(p, &csv_text).map_err(|x| format!("{}: {x}", p.display()))?;
    }
    let replay_started = Instant::now();
    let (_, replayed, _) = replay::replay(app, &csv_text).await.map_err(e)?;
    let replay_secs = replay_started.elapsed().as_secs_f64();

    println!("warnings_background_cases: {background}");
    println!("warnings_incidents: {}", incidents.len());
    println!("warnings_raised: {}", warnings.len());
    println!("warnings_recall: {recall:.3}");
    println!("warnings_precision: {precision:.3}");
    println!(
        "warnings_precision_counting_lexicon_flags_as_false: {:.3}",
        tp as f64 / (tp + fp + lexicon_flags).max(1) as f64
    );
    println!("warnings_background_lexicon_flags: {lexicon_flags}");
    println!("warnings_false_by_rule: {:?}", {
        let mut v: Vec<_> = fp_rules.into_iter().collect();
        v.sort();
        v
    });
    println!("warnings_false_examples: {fp_examples:?}");
    // Which phrases the background's real messages hold, as the lexicon reads them.
    let mut phrases: HashMap<u32, usize> = HashMap::new();
    for (subject, detail, _) in &msgs {
        for h in feeder.matcher.hits(&[subject, detail]) {
            *phrases.entry(h).or_default() += 1;
        }
    }
    let mut top: Vec<(usize, &str)> =
        phrases.iter().map(|(i, n)| (*n, engine.lexicon()[*i as usize].phrase.as_str())).collect();
    top.sort_by(|a, b| b.cmp(a));
    println!(
        "warnings_messages_with_phrases: {} of {} real messages; top {:?}",
        phrases.values().sum::<usize>(),
        msgs.len(),
        &top[..top.len().min(12)]
    );
    println!("warnings_missed_by_kind: {:?}", {
        let mut v: Vec<_> = missed.into_iter().collect();
        v.sort();
        v
    });
    println!("warnings_median_delay_minutes: {median:.1} min");
    println!("warnings_detect_cases_per_second: {:.0} cases/s", obs.len() as f64 / detect_secs);
    println!("warnings_feed_cases_per_second: {:.0} cases/s", background as f64 / feed_secs);
    println!(
        "warnings_replay_cases_per_second: {:.0} cases/s ({replayed} cases from CSV: parse, locate, lexicon, detect)",
        replayed as f64 / replay_secs
    );
    println!("warnings_engine_counters: {}", engine.counters());
    live(app, &msgs).await
}

/// A grid's community as a caller names it: district, street and community.
fn address(loc: &wuzhi_app::locate::Locator, grid: &str) -> String {
    [6, 9, 12].iter().filter_map(|n| loc.name_of(&grid[..*n])).collect::<Vec<_>>().join("")
}

/// The live detectors' cost per case on the outbox pass: cases reported through the intake,
/// then one detector pass over them.
async fn live(app: &wuzhi_app::App, msgs: &[(String, String, Option<String>)]) -> Result<(), String> {
    let e = |x: wuzhi_app::AppError| x.to_string();
    let worker = "bench";
    wuzhi_app::warnings::run_once(app, worker).await.map_err(e)?;
    let actor = {
        let mut conn = app.db.read().await.map_err(|x| x.to_string())?;
        let a = wuzhi_store::people::account_by_username(&mut conn, "dispatcher").await.map_err(|x| x.to_string())?;
        drop(conn);
        app.actor(a.ok_or("no dispatcher")?.person_id).await.map_err(e)?
    };
    let loc = app.locator();
    let grids: Vec<String> = loc.grid_codes().take(2000).map(str::to_owned).collect();
    let n = 2000;
    for i in 0..n {
        // The real messages, as the hotline takes them down.
        let (subject, detail, _) = &msgs[i % msgs.len()];
        // A message without a subject is named by its first words, as the demo history does.
        let subject: String =
            if subject.is_empty() { detail.chars().take(30).collect() } else { subject.chars().take(40).collect() };
        let description: String = if detail.is_empty() { subject.clone() } else { detail.chars().take(300).collect() };
        let grid = &grids[i % grids.len()];
        let body = serde_json::json!({"channel": "hotline", "kind": "complaint", "subject": subject, "description": description,
            "address": address(&loc, grid), "reporter_name": "来电人", "reporter_phone": format!("139{:08}", i % 1500)});
        let nc: wuzhi_app::cases::NewCase = serde_json::from_value(body).map_err(|x| x.to_string())?;
        if let Err(x) = wuzhi_app::cases::report(app, &actor, nc).await {
            return Err(format!("report {i}: {x}"));
        }
    }
    let started = Instant::now();
    let pass = wuzhi_app::warnings::run_once(app, worker).await.map_err(e)?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    println!("warnings_live_pass_cases: {}", pass.observed);
    println!("warnings_live_raised: {}", pass.raised + pass.grown);
    println!("warnings_live_ms_per_case: {:.3} ms", ms / pass.observed.max(1) as f64);
    Ok(())
}
