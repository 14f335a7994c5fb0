//! `wuzhi bench NAME`: benchmarks that print each figure on its own line as
//! `name: value unit`.

use std::time::Instant;
use wuzhi_domain::Level;
use wuzhi_geo::GridIndex;

/// A small deterministic generator (PCG-style LCG), so every run uses the same points.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed)
    }
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Points located per second against the demo city's grids, on one core.
pub fn locate(points: usize) {
    let t = Instant::now();
    let batch = wuzhi_geo::demo::tianjin(None);
    println!("locate_demo_city_build_ms: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let grids: Vec<_> =
        batch.records.iter().filter(|r| r.level() == Level::Grid).filter_map(|r| r.geometry.clone()).collect();
    let city = batch.records.iter().find(|r| r.level() == Level::City).and_then(|r| r.geometry.clone()).expect("city");
    println!("locate_grids: {} grids", grids.len());
    let t = Instant::now();
    let index = GridIndex::build(&grids);
    println!("locate_index_build_ms: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let (nx, ny) = index.raster_size();
    println!("locate_index_raster: {} cells", nx * ny);
    println!("locate_index_memory_mb: {:.1} MB", index.memory_bytes() as f64 / 1e6);
    use geo::BoundingRect;
    let bb = city.bounding_rect().expect("city has a box");
    let mut rng = Lcg::new(20261127);
    let pts: Vec<(f64, f64)> = (0..points)
        .map(|_| (bb.min().x + rng.next_f64() * bb.width(), bb.min().y + rng.next_f64() * bb.height()))
        .collect();
    // Warm up, then measure over the whole set.
    for p in pts.iter().take(10_000) {
        std::hint::black_box(index.locate(p.0, p.1));
    }
    let t = Instant::now();
    let mut hits = 0usize;
    for p in &pts {
        hits += std::hint::black_box(index.locate(p.0, p.1)).is_some() as usize;
    }
    let secs = t.elapsed().as_secs_f64();
    println!("locate_points_per_second: {:.0} points/s", pts.len() as f64 / secs);
    println!("locate_hit_ratio: {:.1} %", hits as f64 * 100.0 / pts.len() as f64);
    let inside: Vec<(f64, f64)> = pts.iter().copied().filter(|p| index.locate(p.0, p.1).is_some()).collect();
    let t = Instant::now();
    let mut found = 0usize;
    for p in &inside {
        found += std::hint::black_box(index.locate(p.0, p.1)).is_some() as usize;
    }
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(found, inside.len());
    println!("locate_inside_points_per_second: {:.0} points/s", inside.len() as f64 / secs);
    println!("locate_ns_per_point: {:.1} ns", secs * 1e9 / inside.len().max(1) as f64);
}

/// Real Chinese messages (subject, text) replayed as case text.
const MESSAGES: &str = include_str!("../../../data/complaints/messages_sample.csv");

fn messages() -> Vec<(String, String)> {
    let mut rdr = csv::Reader::from_reader(MESSAGES.as_bytes());
    rdr.records()
        .filter_map(|r| r.ok())
        .map(|r| (r.get(1).unwrap_or("").chars().take(100).collect(), r.get(2).unwrap_or("").to_owned()))
        .collect()
}

struct Target {
    label: &'static str,
    url: String,
    cleanup: Option<(String, String)>,
    dir: Option<std::path::PathBuf>,
}

impl Target {
    /// Drops the benchmark's PostgreSQL database or removes its SQLite folder.
    async fn clean_up(&self) {
        if let Some((server, name)) = &self.cleanup {
            let _ = wuzhi_store::drop_postgres_database(server, name).await;
        }
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// The databases a benchmark runs on: a SQLite file in a fresh temporary folder (unless
/// `skip_sqlite`), and a fresh database on the PostgreSQL server when one is given. Returns
/// them with the folder.
async fn targets(
    what: &str,
    postgres: Option<String>,
    skip_sqlite: bool,
) -> Result<(Vec<Target>, std::path::PathBuf), String> {
    let tag = format!(
        "{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    );
    let dir = std::env::temp_dir().join(format!("wuzhi-bench-{what}-{tag}"));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut targets = Vec::new();
    if !skip_sqlite {
        targets.push(Target {
            label: "sqlite",
            url: format!("sqlite://{}", dir.join(format!("{what}.sqlite")).display()),
            cleanup: None,
            dir: Some(dir.clone()),
        });
    }
    if let Some(server) = postgres {
        let name = format!("wuzhi_bench_{what}_{tag}");
        let url = wuzhi_store::create_postgres_database(&server, &name).await.map_err(|e| e.to_string())?;
        targets.push(Target { label: "postgres", url, cleanup: Some((server, name)), dir: None });
    }
    Ok((targets, dir))
}

/// Serves `app` (with its background workers) on a free port: its base URL, the sender
/// that stops it, and the task to await after.
async fn serve(
    app: &std::sync::Arc<wuzhi_app::App>,
) -> Result<(String, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>), String> {
    let server = wuzhi_web::Application::build(app.clone(), "127.0.0.1:0".parse().expect("addr"), false)
        .await
        .map_err(|e| e.to_string())?;
    let base = format!("http://{}", server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(server.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    Ok((base, stop, handle))
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Sustained intake over HTTP through the whole pipeline (validate, locate, persist durably
/// with its timeline event and outbox row, answer), with the outbox worker running: first
/// as fast as `concurrency` clients can go, then paced at `rate` per second.
pub async fn intake(
    cases: usize,
    concurrency: usize,
    rate: usize,
    seconds: u64,
    postgres: Option<String>,
) -> Result<(), String> {
    let (targets, _) = targets("intake", postgres, false).await?;
    let msgs = messages();
    for t in targets {
        let res = intake_one(&t, &msgs, cases, concurrency, rate, seconds).await;
        t.clean_up().await;
        res?;
    }
    Ok(())
}

async fn intake_one(
    t: &Target,
    msgs: &[(String, String)],
    cases: usize,
    concurrency: usize,
    rate: usize,
    seconds: u64,
) -> Result<(), String> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let db = wuzhi_store::Db::connect(&t.url, 16).await.map_err(|e| e.to_string())?;
    let settings = wuzhi_app::Settings {
        files_dir: std::env::temp_dir().join(format!("wuzhi-bench-files-{}", std::process::id())),
        ..Default::default()
    };
    let app = wuzhi_app::App::open(db, Arc::new(wuzhi_app::SystemClock), settings).await.map_err(|e| e.to_string())?;
    wuzhi_app::demo::seed(&app, None).await.map_err(|e| e.to_string())?;
    let (base, stop, handle) = serve(&app).await?;
    let client =
        reqwest::Client::builder().pool_max_idle_per_host(concurrency * 2).build().map_err(|e| e.to_string())?;
    let (cookie, csrf) = sign_in(&client, &base, "resident").await?;
    // Points inside the city's grids, deterministic.
    let loc = app.locator();
    let mut rng = Lcg::new(7);
    let mut points = Vec::new();
    while points.len() < 5000 {
        let (x, y) = (116.7 + rng.next_f64() * 1.4, 38.55 + rng.next_f64() * 1.65);
        if loc.locate(x, y).is_some() {
            points.push((x, y));
        }
    }
    let bodies: Arc<Vec<String>> = Arc::new(
        (0..cases.max(rate * seconds as usize))
            .map(|i| {
                let (s, d) = &msgs[i % msgs.len()];
                let (x, y) = points[i % points.len()];
                serde_json::json!({"channel": "app", "kind": "request", "subject": s, "description": d, "lon": x, "lat": y,
                    "idempotency_key": format!("bench-{i}")})
                .to_string()
            })
            .collect(),
    );
    let send = {
        let (client, base, cookie, csrf) = (client.clone(), base.clone(), cookie.clone(), csrf.clone());
        move |body: String| {
            let req = client
                .post(format!("{base}/api/cases"))
                .header("cookie", &cookie)
                .header("x-csrf-token", &csrf)
                .header("content-type", "application/json")
                .body(body);
            async move {
                let t0 = Instant::now();
                let ok = matches!(req.send().await, Ok(r) if r.status().as_u16() == 201);
                (ok, t0.elapsed().as_secs_f64() * 1e3)
            }
        }
    };
    // Phase 1: throughput.
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (next, bodies, send) = (next.clone(), bodies.clone(), send.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut failed = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= cases {
                    break;
                }
                let (ok, ms) = send(bodies[i].clone()).await;
                if ok { lat.push(ms) } else { failed += 1 }
            }
            (lat, failed)
        }));
    }
    let mut lat = Vec::new();
    let mut failed = 0;
    for w in workers {
        let (l, f) = w.await.map_err(|e| e.to_string())?;
        lat.extend(l);
        failed += f;
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let l = t.label;
    println!("intake_cases_per_second.{l}: {:.0} cases/s", lat.len() as f64 / secs);
    println!("intake_p50_ms.{l}: {:.2} ms", percentile(&lat, 0.50));
    println!("intake_p99_ms.{l}: {:.2} ms", percentile(&lat, 0.99));
    println!("intake_failed.{l}: {failed} requests");
    // Phase 2: open-loop at a fixed rate; latency includes any queueing.
    let total = rate * seconds as usize;
    let interval = std::time::Duration::from_secs_f64(1.0 / rate as f64);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut pending = Vec::with_capacity(total);
    for i in 0..total {
        tick.tick().await;
        // Fresh keys, so every paced request creates a case.
        let body = bodies[i].replace("\"bench-", "\"paced-");
        pending.push(tokio::spawn(send(body)));
    }
    let mut paced = Vec::new();
    let mut paced_failed = 0;
    for p in pending {
        let (ok, ms) = p.await.map_err(|e| e.to_string())?;
        if ok { paced.push(ms) } else { paced_failed += 1 }
    }
    paced.sort_by(f64::total_cmp);
    println!("intake_paced_rate.{l}: {rate} cases/s");
    println!("intake_paced_p50_ms.{l}: {:.2} ms", percentile(&paced, 0.50));
    println!("intake_paced_p99_ms.{l}: {:.2} ms", percentile(&paced, 0.99));
    println!("intake_paced_failed.{l}: {paced_failed} requests");
    let _ = stop.send(());
    let _ = handle.await;
    app.db.close().await;
    Ok(())
}

/// The whole demo city on `url` with `cases` generated cases spread over the last year
/// (inserted a million at a time); returns the app and how many were made.
async fn city_with_cases(
    url: &str,
    connections: u32,
    settings: wuzhi_app::Settings,
    cases: i64,
) -> Result<(std::sync::Arc<wuzhi_app::App>, i64), String> {
    let db = wuzhi_store::Db::connect(url, connections).await.map_err(|e| e.to_string())?;
    let app = wuzhi_app::App::open(db, std::sync::Arc::new(wuzhi_app::SystemClock), settings)
        .await
        .map_err(|e| e.to_string())?;
    wuzhi_app::demo::seed(&app, None).await.map_err(|e| e.to_string())?;
    let now = app.now_ms();
    let mut done = 0;
    while done < cases {
        let n = 1_000_000i64.min(cases - done);
        let mut tx = app.db.write().await.map_err(|e| e.to_string())?;
        wuzhi_store::kpi::generate_cases(&mut tx, n, now, 365, done + 1).await.map_err(|e| e.to_string())?;
        wuzhi_store::commit(tx).await.map_err(|e| e.to_string())?;
        done += n;
    }
    Ok((app, done))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// With `cases` generated cases over the demo city (spread over a year), times the
/// city-wide indicator query for the last 30 days and the per-grid open-case counts for the
/// map, as a city leader would ask them (median of five runs each).
pub async fn kpi(cases: i64, postgres: Option<String>, skip_sqlite: bool) -> Result<(), String> {
    let (targets, dir) = targets("kpi", postgres, skip_sqlite).await?;
    for t in targets {
        let result: Result<(), String> = async {
            let settings =
                wuzhi_app::Settings { files_dir: std::env::temp_dir().join("wuzhi-bench-files"), ..Default::default() };
            let started = Instant::now();
            let (app, done) = city_with_cases(&t.url, 4, settings, cases).await?;
            let mut tx = app.db.write().await.map_err(|e| e.to_string())?;
            wuzhi_store::rollup::rebuild(&mut tx).await.map_err(|e| e.to_string())?;
            wuzhi_store::commit(tx).await.map_err(|e| e.to_string())?;
            let l = t.label;
            println!("kpi_generated_cases.{l}: {done} cases");
            println!("kpi_generate_seconds.{l}: {:.1} s", started.elapsed().as_secs_f64());
            let leader = app.actor(app_person(&app, "city_leader").await?).await.map_err(|e| e.to_string())?;
            let t0 = Instant::now();
            let v = wuzhi_app::kpi::evaluate(&app, &leader, &wuzhi_app::kpi::Query::default())
                .await
                .map_err(|e| e.to_string())?;
            std::hint::black_box(v);
            println!("kpi_city_indicators_first_after_load_ms.{l}: {:.1} ms", t0.elapsed().as_secs_f64() * 1e3);
            let t0 = Instant::now();
            app.db.vacuum_analyze().await.map_err(|e| e.to_string())?;
            println!("kpi_vacuum_analyze_seconds.{l}: {:.1} s", t0.elapsed().as_secs_f64());
            let q = wuzhi_app::kpi::Query::default();
            let mut city = Vec::new();
            let mut filed = 0;
            for _ in 0..5 {
                let t0 = Instant::now();
                let v = wuzhi_app::kpi::evaluate(&app, &leader, &q).await.map_err(|e| e.to_string())?;
                city.push(t0.elapsed().as_secs_f64() * 1e3);
                filed = v.indicators.counts.filed;
            }
            println!("kpi_city_30_days_cases.{l}: {filed} cases");
            println!("kpi_city_indicators_ms.{l}: {:.1} ms", median(city));
            let mut grid = Vec::new();
            let mut grids = 0;
            for _ in 0..5 {
                let t0 = Instant::now();
                let v = wuzhi_app::kpi::open_per_grid(&app, &leader).await.map_err(|e| e.to_string())?;
                grid.push(t0.elapsed().as_secs_f64() * 1e3);
                grids = v.len();
            }
            println!("kpi_map_grids_with_open_cases.{l}: {grids} grids");
            println!("kpi_map_open_per_grid_ms.{l}: {:.1} ms", median(grid));
            app.db.close().await;
            Ok(())
        }
        .await;
        t.clean_up().await;
        result?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn app_person(app: &wuzhi_app::App, username: &str) -> Result<i64, String> {
    let mut conn = app.db.read().await.map_err(|e| e.to_string())?;
    wuzhi_store::people::account_by_username(&mut conn, username)
        .await
        .map_err(|e| e.to_string())?
        .map(|a| a.person_id)
        .ok_or_else(|| format!("no account {username}"))
}

/// Replays the 9,999 real MyLA311 requests through Open311 over HTTP into a fresh LA
/// deployment on SQLite (and PostgreSQL), then reads every one back and compares.
pub async fn la311(data: std::path::PathBuf, concurrency: usize, postgres: Option<String>) -> Result<(), String> {
    let councils = std::fs::read_to_string(data.join("nc_boundaries.geojson")).map_err(|e| e.to_string())?;
    let requests = data.join("requests_2017_sample.csv");
    let (targets, dir) = targets("la311", postgres, false).await?;
    for t in targets {
        let result: Result<(), String> = async {
            let db = wuzhi_store::Db::connect(&t.url, 16).await.map_err(|e| e.to_string())?;
            let settings = wuzhi_app::Settings { files_dir: dir.join("files"), ..Default::default() };
            let app = wuzhi_app::App::open(db, std::sync::Arc::new(wuzhi_app::SystemClock), settings)
                .await
                .map_err(|e| e.to_string())?;
            let key = wuzhi_app::demo::la_city(&app, &councils).await.map_err(|e| e.to_string())?;
            let (base, stop, handle) = serve(&app).await?;
            let report = crate::replay::la311(&base, &key, &requests, concurrency, true).await;
            let _ = stop.send(());
            let _ = handle.await;
            app.db.close().await;
            report?.print(t.label);
            Ok(())
        }
        .await;
        t.clean_up().await;
        result?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A real message shipped with the demo.
struct Message {
    id: String,
    subject: String,
    detail: String,
    /// The start of its day (messages without a time: none).
    day_ms: Option<i64>,
}

/// The real messages shipped with the demo, in file order.
fn real_messages() -> Vec<Message> {
    let mut out = Vec::new();
    for data in [wuzhi_app::demo::LIKED_MESSAGES, wuzhi_app::demo::LABELLED_MESSAGES] {
        let mut rdr = csv::Reader::from_reader(data.as_bytes());
        let headers = rdr.headers().cloned().unwrap_or_default();
        let col = |n: &str| headers.iter().position(|h| h == n);
        for r in rdr.records().filter_map(|r| r.ok()) {
            let get = |n: &str| col(n).and_then(|i| r.get(i)).unwrap_or("").trim().to_owned();
            let detail = get("detail");
            let subject = match get("subject") {
                s if s.is_empty() => detail.chars().take(30).collect(),
                s => s.chars().take(100).collect(),
            };
            let day_ms = get("time")
                .get(..10)
                .and_then(|d| wuzhi_domain::calendar::parse_day("time", d).ok())
                .map(|d| d * 86_400_000);
            out.push(Message { id: get("id"), subject, detail, day_ms });
        }
    }
    out
}

/// What people search for: words and phrases of the real messages' matters.
const QUERIES: &[&str] = &[
    "噪音扰民",
    "搅拌站",
    "物业 停车费",
    "拆迁补偿",
    "地铁",
    "公交车",
    "路灯",
    "学位",
    "社保",
    "违建",
    "油烟",
    "丽发新城",
    "伊景园滨河苑",
    "教师 待遇",
    "医保 报销",
    "出租车",
    "夜间施工",
    "垃圾站",
    "房产证",
    "捆绑销售车位",
    "幼儿园",
    "公积金贷款",
    "渣土车",
    "停水",
    "高压线",
    "拖欠工资",
    "养老保险",
    "小区 电梯",
    "占道经营",
    "农村 道路硬化",
    "落户",
    "人才补贴",
    "P2P",
    "违规收费",
    "环境污染",
    "学区房",
    "广场舞",
    "交通拥堵",
    "红绿灯",
    "退休 待遇",
];

/// Search over `cases` generated cases carrying the real messages' texts: the index rebuild
/// from the database (cases per second, size), then the latency of searches through the
/// whole path (index, read-back and permission check of the hits) for a city leader (the
/// whole city) and a grid worker (one grid).
pub async fn search(cases: i64, postgres: Option<String>, skip_sqlite: bool, rounds: usize) -> Result<(), String> {
    let (targets, dir) = targets("search", postgres, skip_sqlite).await?;
    let texts: Vec<(String, String)> = real_messages().into_iter().map(|m| (m.subject, m.detail)).collect();
    for t in targets {
        let l = t.label;
        let index_dir = dir.join(format!("index-{l}"));
        let result: Result<(), String> = async {
            let settings = wuzhi_app::Settings {
                files_dir: dir.join("files"),
                search_dir: Some(index_dir.clone()),
                ..Default::default()
            };
            let started = Instant::now();
            let (app, _) = city_with_cases(&t.url, 8, settings, cases).await?;
            let mut tx = app.db.write().await.map_err(|e| e.to_string())?;
            let filled = wuzhi_store::text::fill_generated_texts(&mut tx, &texts).await.map_err(|e| e.to_string())?;
            wuzhi_store::commit(tx).await.map_err(|e| e.to_string())?;
            println!("search_cases.{l}: {filled} cases ({} distinct real texts)", texts.len());
            println!("search_generate_seconds.{l}: {:.1} s", started.elapsed().as_secs_f64());
            let t0 = Instant::now();
            let r = wuzhi_app::text::search::index_once(&app).await.map_err(|e| e.to_string())?;
            let secs = t0.elapsed().as_secs_f64();
            println!("search_rebuild_seconds.{l}: {secs:.1} s");
            println!("search_index_cases_per_second.{l}: {:.0} cases/s", r.cases as f64 / secs);
            let size: u64 = std::fs::read_dir(&index_dir)
                .map(|d| d.filter_map(|e| e.ok()).filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
                .unwrap_or(0);
            println!("search_index_size_mb.{l}: {:.0} MB", size as f64 / 1e6);
            for who in ["city_leader", "gridworker"] {
                let actor = app.actor(app_person(&app, who).await?).await.map_err(|e| e.to_string())?;
                let mut ms = Vec::new();
                let mut totals = 0usize;
                for round in 0..=rounds {
                    for q in QUERIES {
                        let p = wuzhi_app::text::search::SearchParams {
                            q: Some((*q).into()),
                            limit: Some(20),
                            ..Default::default()
                        };
                        let t0 = Instant::now();
                        let r = wuzhi_app::text::search::search(&app, &actor, &p).await.map_err(|e| e.to_string())?;
                        // The first round warms the caches and is not counted.
                        if round > 0 {
                            ms.push(t0.elapsed().as_secs_f64() * 1e3);
                            totals += r.total;
                        }
                    }
                }
                ms.sort_by(f64::total_cmp);
                println!("search_queries.{l}.{who}: {} searches", ms.len());
                println!("search_mean_matches.{l}.{who}: {:.0} cases", totals as f64 / ms.len().max(1) as f64);
                println!("search_p50_ms.{l}.{who}: {:.1} ms", percentile(&ms, 0.50));
                println!("search_p95_ms.{l}.{who}: {:.1} ms", percentile(&ms, 0.95));
                println!("search_p99_ms.{l}.{who}: {:.1} ms", percentile(&ms, 0.99));
            }
            app.db.close().await;
            Ok(())
        }
        .await;
        t.clean_up().await;
        let _ = std::fs::remove_dir_all(&index_dir);
        result?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Near-duplicate detection on the labelled pairs of `data/complaints/duplicate_pairs.csv`
/// (real messages of `hot_messages.csv`; see data/README.md for how the set was built):
/// precision, recall and F1 of the shipped rule, and across thresholds; and how fast
/// messages are profiled.
pub fn duplicates(pairs: &std::path::Path) -> Result<(), String> {
    use wuzhi_text::similar::{DuplicateRule, Sighting, duplicate_score, profile};
    let msgs = real_messages();
    let by_id: std::collections::HashMap<&str, &Message> = msgs.iter().map(|m| (m.id.as_str(), m)).collect();
    let mut rdr = csv::Reader::from_path(pairs).map_err(|e| format!("{}: {e}", pairs.display()))?;
    let mut labelled = Vec::new();
    for r in rdr.records() {
        let r = r.map_err(|e| format!("{}: {e}", pairs.display()))?;
        let (a, b) = (r.get(0).unwrap_or(""), r.get(1).unwrap_or(""));
        let same = r.get(3) == Some("1");
        let (Some(ma), Some(mb)) = (by_id.get(a), by_id.get(b)) else {
            return Err(format!("{}: message {a} or {b} is not in hot_messages.csv", pairs.display()));
        };
        labelled.push((ma, mb, ma.day_ms.unwrap_or(0), mb.day_ms.unwrap_or(0), same));
    }
    // Load the dictionaries first: they are loaded once per process.
    std::hint::black_box(profile("路灯", "路灯不亮"));
    let t0 = Instant::now();
    let profiles: Vec<_> =
        labelled.iter().map(|(a, b, ..)| (profile(&a.subject, &a.detail), profile(&b.subject, &b.detail))).collect();
    let per_text = t0.elapsed().as_secs_f64() / (2 * labelled.len()).max(1) as f64;
    let positives = labelled.iter().filter(|l| l.4).count();
    println!("duplicates_pairs: {} pairs ({positives} the same matter)", labelled.len());
    let rule = DuplicateRule::default();
    let eval = |min: f32| {
        let rule = DuplicateRule { min_similarity: min, ..rule };
        let (mut tp, mut fp, mut fneg) = (0, 0, 0);
        for (l, (pa, pb)) in labelled.iter().zip(&profiles) {
            let a = Sighting { profile: pa, point: None, at_ms: l.2 };
            let b = Sighting { profile: pb, point: None, at_ms: l.3 };
            let said = duplicate_score(&rule, &a, &b).is_some();
            match (said, l.4) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fneg += 1,
                _ => {}
            }
        }
        let p = if tp + fp > 0 { tp as f64 / (tp + fp) as f64 } else { 1.0 };
        let r = tp as f64 / (tp + fneg).max(1) as f64;
        let f1 = if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 };
        (p, r, f1)
    };
    for t in [0.2f32, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6] {
        let (p, r, f1) = eval(t);
        println!("  at similarity {t:.2}: precision {p:.3}, recall {r:.3}, F1 {f1:.3}");
    }
    let (p, r, f1) = eval(rule.min_similarity);
    println!("duplicates_threshold: {:.2}", rule.min_similarity);
    println!("duplicates_precision: {p:.3}");
    println!("duplicates_recall: {r:.3}");
    println!("duplicates_f1: {f1:.3}");
    println!("duplicates_profiles_per_second: {:.0} texts/s", 1.0 / per_text);
    Ok(())
}

/// The base archives at a city's scale: `people` synthetic people over the demo city's grids
/// (with their buildings and houses), imported through the real import (parsing, check digits,
/// sealing three fields and two blind indexes per person) in files of 200,000 rows; then
/// look-ups by identity number and a grid's households with their care tags, as a grid worker
/// or a dispatcher asks them, and the database's size per person.
pub async fn archives(people: usize, postgres: Option<String>, skip_sqlite: bool) -> Result<(), String> {
    use wuzhi_app::archives::{demo, import};
    let (targets, dir) = targets("archives", postgres, skip_sqlite).await?;
    for t in targets {
        let result: Result<(), String> = async {
            let e = |e: wuzhi_app::AppError| e.to_string();
            let settings =
                wuzhi_app::Settings { files_dir: std::env::temp_dir().join("wuzhi-bench-files"), ..Default::default() };
            let db = wuzhi_store::Db::connect(&t.url, 8).await.map_err(|e| e.to_string())?;
            let app =
                wuzhi_app::App::open(db, std::sync::Arc::new(wuzhi_app::SystemClock), settings).await.map_err(e)?;
            wuzhi_app::demo::seed(&app, None).await.map_err(e)?;
            let l = t.label;
            let mut conn = app.db.read().await.map_err(|e| e.to_string())?;
            let grids: Vec<String> = wuzhi_store::territory::grids_with_geometry(&mut conn)
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|g| g.0)
                .collect();
            drop(conn);
            // About 2.2 people per house (8 % vacant, 2.4 a household): houses per grid.
            let houses_per_grid = ((people as f64 / 2.2) / grids.len() as f64).ceil().max(1.0) as usize;
            let houses = 12usize.min(houses_per_grid);
            let buildings = houses_per_grid.div_ceil(houses);
            println!("archives_grids.{l}: {} grids, {buildings} buildings of {houses} houses each", grids.len());
            let caller = wuzhi_domain::work::Caller::System(wuzhi_domain::work::System::CommandLine);
            let mut imported = 0usize;
            let mut import_secs = 0f64;
            let mut sample_ids: Vec<String> = Vec::new();
            // Grids in slices, so no file is larger than a city's export would be.
            let per_slice = (200_000.0 / (buildings * houses) as f64 / 2.2).ceil().max(1.0) as usize;
            for (n, slice) in grids.chunks(per_slice).enumerate() {
                if imported >= people {
                    break;
                }
                let pop = demo::generate(1 + n as u64, slice, buildings, houses, 2026, |_, _| None, None);
                import::import(&app, caller, "buildings", &pop.buildings, false).await.map_err(e)?;
                import::import(&app, caller, "houses", &pop.houses, false).await.map_err(e)?;
                let mut people_table = pop.people;
                people_table.rows.truncate(people - imported);
                // Identity numbers are unique within a slice; across slices the seed differs,
                // and a repeat would be merged, not counted twice.
                for (i, (_, r)) in people_table.rows.iter().enumerate() {
                    if i % 997 == 0 {
                        sample_ids.push(r[5].clone());
                    }
                }
                let t0 = Instant::now();
                let r = import::import(&app, caller, "people", &people_table, false).await.map_err(e)?;
                import_secs += t0.elapsed().as_secs_f64();
                imported += r.created;
            }
            println!("archives_people.{l}: {imported} people");
            println!("archives_import_people_per_second.{l}: {:.0} people/s", imported as f64 / import_secs);
            app.db.vacuum_analyze().await.map_err(|e| e.to_string())?;
            let dispatcher = app.actor(app_person(&app, "dispatcher").await?).await.map_err(e)?;
            let mut lookups = Vec::new();
            let mut rng = Lcg::new(7);
            for _ in 0..2_000 {
                let id = &sample_ids[(rng.next_f64() * sample_ids.len() as f64) as usize % sample_ids.len()];
                let t0 = Instant::now();
                let p = wuzhi_app::archives::lookup(&app, &dispatcher, id, None).await;
                lookups.push(t0.elapsed().as_secs_f64() * 1e3);
                if let Err(wuzhi_app::AppError::NotFound { .. }) = p {
                    // A repeat across slices was merged into the first: still a found person.
                } else {
                    std::hint::black_box(p.map_err(e)?);
                }
            }
            lookups.sort_by(f64::total_cmp);
            println!("archives_lookup_p50_ms.{l}: {:.3} ms", percentile(&lookups, 0.5));
            println!("archives_lookup_p99_ms.{l}: {:.3} ms", percentile(&lookups, 0.99));
            let leader = app.actor(app_person(&app, "city_leader").await?).await.map_err(e)?;
            let mut times = Vec::new();
            let mut members = 0usize;
            let populated = (imported / (buildings * houses * 2).max(1)).clamp(1, grids.len());
            for _ in 0..300 {
                let g = &grids[(rng.next_f64() * populated as f64) as usize % populated];
                let t0 = Instant::now();
                let h = wuzhi_app::archives::grid_households(&app, &leader, g).await.map_err(e)?;
                times.push(t0.elapsed().as_secs_f64() * 1e3);
                members += h.iter().map(|h| h.members.len()).sum::<usize>();
            }
            times.sort_by(f64::total_cmp);
            println!("archives_grid_households_people_mean.{l}: {:.0} people", members as f64 / 300.0);
            println!("archives_grid_households_p50_ms.{l}: {:.2} ms", percentile(&times, 0.5));
            println!("archives_grid_households_p99_ms.{l}: {:.2} ms", percentile(&times, 0.99));
            let bytes = app.db.size_bytes().await.map_err(|e| e.to_string())?;
            println!(
                "archives_bytes_per_person.{l}: {:.0} bytes (database {:.1} MB, houses and buildings included)",
                bytes as f64 / imported.max(1) as f64,
                bytes as f64 / 1e6
            );
            app.db.close().await;
            Ok(())
        }
        .await;
        t.clean_up().await;
        result?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Grid work at city scale: one city task fanned out to every grid (`gridwork_fanout_seconds`),
/// every grid reporting on it and the live roll-up asked at every level
/// (`gridwork_rollup_p99_ms`), and a day of the city's patrols — one per grid, `hours` long, a
/// point every `every_s` seconds, uploaded `per_upload` points at a time by `concurrency`
/// phones at once — through the track upload's use case (`gridwork_track_points_per_second`),
/// with the database's growth per point (`gridwork_track_bytes_per_point`).
pub async fn gridwork(
    grids_wanted: Option<usize>,
    hours: i64,
    every_s: i64,
    per_upload: usize,
    concurrency: usize,
    postgres: Option<String>,
    skip_sqlite: bool,
) -> Result<(), String> {
    use std::sync::Arc;
    use wuzhi_app::gridwork::{self as gw, tasks};
    use wuzhi_domain::{Grant, Role, TerritoryCode};
    let (targets, dir) = targets("gridwork", postgres, skip_sqlite).await?;
    for t in targets {
        let result: Result<(), String> = async {
            let e = |e: wuzhi_app::AppError| e.to_string();
            let s = |e: wuzhi_store::StoreError| e.to_string();
            let settings =
                wuzhi_app::Settings { files_dir: std::env::temp_dir().join("wuzhi-bench-files"), ..Default::default() };
            let db = wuzhi_store::Db::connect(&t.url, 8).await.map_err(|e| e.to_string())?;
            let app = Arc::new(
                wuzhi_app::App::open(db, Arc::new(wuzhi_app::SystemClock), settings).await.map_err(e)?,
            );
            wuzhi_app::demo::seed(&app, None).await.map_err(e)?;
            let l = t.label;
            let mut conn = app.db.read().await.map_err(s)?;
            let mut grids: Vec<(String, (f64, f64))> = wuzhi_store::territory::grids_with_geometry(&mut conn)
                .await
                .map_err(s)?
                .into_iter()
                .filter_map(|g| Some((g.0, wuzhi_geo::territory::interior_point_of_stored(&g.2)?)))
                .collect();
            drop(conn);
            if let Some(n) = grids_wanted {
                grids.truncate(n);
            }
            println!("gridwork_grids.{l}: {} grids", grids.len());
            let leader = app.actor(app_person(&app, "city_leader").await?).await.map_err(e)?;

            // Fan-out of one city task to every grid, in one transaction.
            let now = app.now_ms();
            let task = tasks::NewTask {
                title: "燃气安全入户排查".into(),
                description: "全市燃气安全隐患入户排查".into(),
                checklist: vec!["燃气表具".into(), "软管老化".into(), "报警器".into(), "通风条件".into()],
                territory_code: "120000".into(),
                level: "grid".into(),
                deadline_ms: now + 7 * 86_400_000,
            };
            let t0 = Instant::now();
            let created = tasks::create(&app, &leader, &task).await.map_err(e)?;
            println!("gridwork_fanout_seconds.{l}: {:.2} s ({} shares)", t0.elapsed().as_secs_f64(), created.shares);

            // Every grid reports its first item (one in ten answers them all and completes),
            // each as the grid's worker would, under the share's version.
            let mut conn = app.db.read().await.map_err(s)?;
            let shares: Vec<(i64, String)> = wuzhi_store::gridwork::shares_of(&mut conn, created.id, "12", 1_000_000)
                .await
                .map_err(s)?
                .into_iter()
                .map(|r| (r.id, r.territory_code))
                .collect();
            drop(conn);
            let walker = app_person(&app, "gridworker").await?;
            let t0 = Instant::now();
            let steps = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let mut handles = Vec::new();
            for (w, part) in shares.chunks(shares.len().div_ceil(concurrency.max(1))).enumerate() {
                let (app, part, steps) = (app.clone(), part.to_vec(), steps.clone());
                handles.push(tokio::spawn(async move {
                    let mut rng = Lcg::new(w as u64 + 1);
                    for (i, (id, code)) in part.iter().enumerate() {
                        let actor = wuzhi_domain::Actor {
                            person_id: walker,
                            grants: vec![Grant { role: Role::GridWorker, scope: TerritoryCode::parse(code).map_err(|e| e.reason)?, org: None }],
                        };
                        let items = if i % 10 == 0 { 4 } else { 1 };
                        let mut version = 1;
                        for item in 0..items {
                            let c = tasks::ShareCommand::Progress {
                                item,
                                state: "checked".into(),
                                found: (rng.next_f64() * 3.0) as i64,
                                note: String::new(),
                            };
                            version = tasks::act(&app, &actor, *id, version, &c).await.map_err(|e| e.to_string())?.version;
                            steps.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        if items == 4 {
                            tasks::act(&app, &actor, *id, version, &tasks::ShareCommand::Complete)
                                .await
                                .map_err(|e| e.to_string())?;
                            steps.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                    Ok::<(), String>(())
                }));
            }
            for h in handles {
                h.await.map_err(|e| e.to_string())??;
            }
            let n = steps.load(std::sync::atomic::Ordering::Relaxed);
            let secs = t0.elapsed().as_secs_f64();
            println!("gridwork_share_steps_per_second.{l}: {:.0} steps/s ({n} steps)", n as f64 / secs);

            // The roll-up as leaders ask it: the city by district, each district by street,
            // streets by community, communities by grid.
            let mut unders: Vec<Option<String>> = vec![None];
            let mut seen = std::collections::BTreeSet::new();
            for (g, _) in &grids {
                for len in [6usize, 9, 12] {
                    if seen.insert(g[..len].to_owned()) {
                        unders.push(Some(g[..len].to_owned()));
                    }
                }
            }
            let mut rng = Lcg::new(11);
            let mut times = Vec::new();
            for round in 0..600 {
                let u = if round % 4 == 0 {
                    &unders[0]
                } else {
                    &unders[(rng.next_f64() * unders.len() as f64) as usize % unders.len()]
                };
                let t0 = Instant::now();
                std::hint::black_box(tasks::rollup(&app, &leader, created.id, u.as_deref()).await.map_err(e)?);
                times.push(t0.elapsed().as_secs_f64() * 1e3);
            }
            times.sort_by(f64::total_cmp);
            println!("gridwork_rollup_p50_ms.{l}: {:.2} ms", percentile(&times, 0.5));
            println!("gridwork_rollup_p99_ms.{l}: {:.2} ms", percentile(&times, 0.99));
            let t0 = Instant::now();
            let city = tasks::rollup(&app, &leader, created.id, None).await.map_err(e)?;
            println!(
                "gridwork_rollup_city_ms.{l}: {:.2} ms ({} districts, {} shares, {} done)",
                t0.elapsed().as_secs_f64() * 1e3,
                city.children.len(),
                city.total.shares,
                city.total.done
            );

            // A day of patrols: one walker per grid, each with their own patrol.
            let mut tx = app.db.write().await.map_err(s)?;
            let mut walkers = Vec::with_capacity(grids.len());
            for (g, _) in &grids {
                walkers.push(wuzhi_store::people::insert_person(&mut tx, "巡查员", None, Some(g), now).await.map_err(s)?);
            }
            wuzhi_store::commit(tx).await.map_err(s)?;
            let start = app.now_ms() - hours * 3_600_000;
            let per_patrol = (hours * 3600 / every_s) as usize;
            let before = app.db.size_bytes().await.map_err(s)?;
            let mut patrols = Vec::with_capacity(grids.len());
            for ((g, p), w) in grids.iter().zip(&walkers) {
                let actor = wuzhi_domain::Actor {
                    person_id: *w,
                    grants: vec![Grant { role: Role::Steward, scope: TerritoryCode::parse(g).map_err(|e| e.reason)?, org: None }],
                };
                let start = gw::StartPatrol {
                    grid_code: g.clone(),
                    plan_id: None,
                    started_at_ms: Some(start),
                    idempotency_key: None,
                };
                let (v, _) = gw::start_patrol(&app, &actor, &start).await.map_err(e)?;
                patrols.push((actor, v.id, *p));
            }
            let t0 = Instant::now();
            let uploads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let mut handles = Vec::new();
            // Each phone-worker walks its own share of the patrols, as the key-task steps above.
            for (w, part) in patrols.chunks(patrols.len().div_ceil(concurrency.max(1)).max(1)).enumerate() {
                let (app, part, uploads) = (app.clone(), part.to_vec(), uploads.clone());
                handles.push(tokio::spawn(async move {
                    let mut rng = Lcg::new(100 + w as u64);
                    for (actor, id, (x, y)) in &part {
                        let (mut lon, mut lat) = (*x, *y);
                        let mut points = Vec::with_capacity(per_patrol);
                        for i in 0..per_patrol {
                            // About a metre a second, wandering.
                            lon += (rng.next_f64() - 0.5) * 0.0006;
                            lat += (rng.next_f64() - 0.5) * 0.0005;
                            points.push(gw::TrackPoint { at_ms: start + i as i64 * every_s * 1000, lat, lon });
                        }
                        for (seq, chunk) in points.chunks(per_upload.max(1)).enumerate() {
                            let up = gw::TrackUpload { seq: seq as i64, points: chunk.to_vec() };
                            gw::add_track(&app, actor, *id, &up).await.map_err(|e| e.to_string())?;
                            uploads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                    Ok::<(), String>(())
                }));
            }
            for h in handles {
                h.await.map_err(|e| e.to_string())??;
            }
            let secs = t0.elapsed().as_secs_f64();
            let total = patrols.len() * per_patrol;
            println!(
                "gridwork_track_points_per_second.{l}: {:.0} points/s ({total} points in {} uploads of {per_upload}, {:.1} s, {concurrency} at once)",
                total as f64 / secs,
                uploads.load(std::sync::atomic::Ordering::Relaxed),
                secs
            );
            let after = app.db.size_bytes().await.map_err(s)?;
            let mut conn = app.db.read().await.map_err(s)?;
            let (blob, _) = wuzhi_store::gridwork::track_size(&mut conn).await.map_err(s)?;
            drop(conn);
            println!(
                "gridwork_track_bytes_per_point.{l}: {:.1} bytes on disk ({:.2} bytes encoded; database grew {:.1} MB)",
                (after - before) as f64 / total as f64,
                blob as f64 / total as f64,
                (after - before) as f64 / 1e6
            );
            app.db.close().await;
            Ok(())
        }
        .await;
        t.clean_up().await;
        result?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Signs a demo account in over HTTP: its session cookie and CSRF token.
async fn sign_in(client: &reqwest::Client, base: &str, username: &str) -> Result<(String, String), String> {
    let r = client
        .post(format!("{base}/api/session"))
        .json(&serde_json::json!({"username": username, "password": wuzhi_app::demo::DEMO_PASSWORD}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .to_owned();
    let csrf =
        r.json::<serde_json::Value>().await.map_err(|e| e.to_string())?["csrf_token"].as_str().unwrap_or("").to_owned();
    Ok((cookie, csrf))
}

/// The server's resident memory (kB) from `/proc/PID/status`.
/// A process's resident memory in kB: (all, anonymous, file-backed) — `VmRSS`, `RssAnon`,
/// `RssFile` of `/proc/PID/status`.
fn rss_kb(pid: u32) -> Option<(u64, u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some((field("VmRSS:")?, field("RssAnon:")?, field("RssFile:")?))
}

/// How long a soak runs and what it allows.
pub struct SoakPlan {
    /// Run for this long (a benchmark: how much work is done depends on the machine) …
    pub minutes: f64,
    /// … or serve exactly this many requests, and compare memory by the work done, not by
    /// the time (a gate: the same on a slow machine as on a fast one).
    pub requests: Option<usize>,
    pub concurrency: usize,
    pub max_growth_mb: f64,
    /// The server's SQLite page cache per connection (`WUZHI_SQLITE_CACHE_MB`); small, the
    /// caches are full within the first third, so what grows after is not a cache.
    pub sqlite_cache_mb: Option<u32>,
}

/// A soak: a `wuzhi demo` server (its own process, SQLite, one district, its workers on)
/// under a steady mixed load — reports with real message text, the workbench, a case,
/// search, the dashboard, a refused body, live streams opened and dropped — while its
/// resident memory is read. Memory must level off: the highest reading of the last third
/// (of the time, or of the requests) may exceed that of the middle third by at most
/// `max_growth_mb`, or the soak fails. Prints the requests served and the readings.
pub async fn soak(plan: SoakPlan) -> Result<(), String> {
    let SoakPlan { minutes, requests, concurrency, max_growth_mb, sqlite_cache_mb } = plan;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = std::env::temp_dir().join(format!("wuzhi-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let base = format!("http://127.0.0.1:{port}");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = std::process::Command::new(exe)
        .args(["demo", "--districts", "1", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(&dir)
        .env("WUZHI_TWO_FACTOR_ROLES", "none")
        .envs(sqlite_cache_mb.map(|mb| ("WUZHI_SQLITE_CACHE_MB", mb.to_string())))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = child.id();
    let client =
        reqwest::Client::builder().pool_max_idle_per_host(concurrency * 2).build().map_err(|e| e.to_string())?;
    let ready = std::time::Instant::now();
    while client.get(format!("{base}/healthz")).send().await.map(|r| r.status().is_success()).ok() != Some(true) {
        if ready.elapsed().as_secs() > 600 {
            let _ = child.kill();
            return Err("the soak's server did not start".into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let resident = sign_in(&client, &base, "resident").await?;
    let dispatcher = sign_in(&client, &base, "dispatcher").await?;
    let outline: serde_json::Value = client
        .get(format!("{base}/api/map/outline/120101001001001"))
        .header("cookie", &dispatcher.0)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let ring = outline["geometry"]["coordinates"][0][0].as_array().cloned().unwrap_or_default();
    let n = ring.len().saturating_sub(1).max(1) as f64;
    let (x, y) = ring
        .iter()
        .take(ring.len().saturating_sub(1))
        .fold((0.0, 0.0), |(a, b), p| (a + p[0].as_f64().unwrap_or(0.0) / n, b + p[1].as_f64().unwrap_or(0.0) / n));
    let msgs = Arc::new(messages());
    let served = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    // A run by requests ends when they are served (the clock bounds it only as a safeguard).
    let deadline = std::time::Instant::now()
        + std::time::Duration::from_secs_f64(if requests.is_some() { 3600.0 } else { minutes * 60.0 });
    let budget = Arc::new(AtomicUsize::new(requests.unwrap_or(usize::MAX)));
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (client, base, msgs, served, failed) =
            (client.clone(), base.clone(), msgs.clone(), served.clone(), failed.clone());
        let (resident, dispatcher, budget) = (resident.clone(), dispatcher.clone(), budget.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            let mut last_case = 0i64;
            while std::time::Instant::now() < deadline
                && budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1)).is_ok()
            {
                let (s, d) = &msgs[i % msgs.len()];
                let req = match i % 8 {
                    0 | 1 => client
                        .post(format!("{base}/api/cases"))
                        .header("cookie", &resident.0)
                        .header("x-csrf-token", &resident.1)
                        .json(&serde_json::json!({"channel": "app", "kind": "request", "subject": s, "description": d, "lon": x, "lat": y})),
                    2 => client.get(format!("{base}/api/cases?limit=50")).header("cookie", &dispatcher.0),
                    3 => client.get(format!("{base}/api/cases/{last_case}")).header("cookie", &dispatcher.0),
                    4 => client.get(format!("{base}/api/search?q={}", s.chars().take(4).collect::<String>())).header("cookie", &dispatcher.0),
                    5 => client.get(format!("{base}/api/kpi?territory=120101")).header("cookie", &dispatcher.0),
                    6 => client
                        .post(format!("{base}/api/cases"))
                        .header("cookie", &resident.0)
                        .header("x-csrf-token", &resident.1)
                        .header("content-type", "application/json")
                        .body("{\"subject\": 12"),
                    _ => client.get(format!("{base}/api/events")).header("cookie", &dispatcher.0),
                };
                match req.send().await {
                    Ok(r) => {
                        let status = r.status();
                        if i % 8 == 7 {
                            // A live stream opened and dropped at once.
                            drop(r);
                        } else if let Ok(body) = r.json::<serde_json::Value>().await {
                            if let Some(id) = body["id"].as_i64().filter(|_| i % 8 < 2) {
                                last_case = id;
                            }
                        }
                        if status.is_server_error() {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                        served.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                i += concurrency;
            }
        }));
    }
    // Each reading: (seconds, requests served, kB); every five seconds for a run by time,
    // every second for a run by requests.
    let mut readings: Vec<(f64, usize, (u64, u64, u64))> = Vec::new();
    let started = std::time::Instant::now();
    let every = std::time::Duration::from_secs(if requests.is_some() { 1 } else { 5 });
    while std::time::Instant::now() < deadline && !tasks.iter().all(|t| t.is_finished()) {
        if let Some(kb) = rss_kb(pid) {
            readings.push((started.elapsed().as_secs_f64(), served.load(Ordering::Relaxed), kb));
        }
        tokio::time::sleep(every).await;
    }
    if let Some(kb) = rss_kb(pid) {
        readings.push((started.elapsed().as_secs_f64(), served.load(Ordering::Relaxed), kb));
    }
    for t in tasks {
        let _ = t.await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    // Thirds of the time, or of the requests served.
    let total = served.load(Ordering::Relaxed).max(1);
    let part = |r: &(f64, usize, (u64, u64, u64))| match requests {
        Some(_) => (r.1 * 3 / total).min(2),
        None => (r.0 * 3.0 / started.elapsed().as_secs_f64()).min(2.0) as usize,
    };
    let peak = |k: usize, of: fn(&(u64, u64, u64)) -> u64| {
        readings.iter().filter(|r| part(r) == k).map(|r| of(&r.2)).max().map(|kb| kb as f64 / 1024.0)
    };
    let all = |m: &(u64, u64, u64)| m.0;
    // The gate weighs anonymous memory, which is what a leak grows. File-backed pages (the
    // search index's segments, mapped) grow with the index on disk and are the kernel's to
    // drop; they are printed beside it.
    let anon = |m: &(u64, u64, u64)| m.1;
    let (Some(first), Some(middle), Some(last)) = (peak(0, anon), peak(1, anon), peak(2, anon)) else {
        return Err("the soak was too short to read its memory in each third".into());
    };
    let (rss_first, rss_middle, rss_last) =
        (peak(0, all).unwrap_or(0.0), peak(1, all).unwrap_or(0.0), peak(2, all).unwrap_or(0.0));
    let secs = started.elapsed().as_secs_f64();
    match requests {
        Some(n) => println!("soak_requests_planned: {n} (thirds by requests served)"),
        None => println!("soak_minutes: {minutes}"),
    }
    if let Some(mb) = sqlite_cache_mb {
        println!("soak_sqlite_cache_mb_per_connection: {mb}");
    }
    println!(
        "soak_requests: {} ({:.0}/s), failed or 5xx: {}",
        served.load(Ordering::Relaxed),
        served.load(Ordering::Relaxed) as f64 / secs,
        failed.load(Ordering::Relaxed)
    );
    println!("soak_rss_peak_mb: first third {rss_first:.1}, middle third {rss_middle:.1}, last third {rss_last:.1}");
    println!("soak_anon_peak_mb: first third {first:.1}, middle third {middle:.1}, last third {last:.1}");
    let series = |of: fn(&(u64, u64, u64)) -> u64| {
        readings.iter().map(|r| format!("{:.0}", of(&r.2) as f64 / 1024.0)).collect::<Vec<_>>().join(" ")
    };
    println!("soak_rss_readings_mb: {}", series(all));
    println!("soak_anon_readings_mb: {}", series(anon));
    println!("soak_file_readings_mb: {}", series(|m| m.2));
    if failed.load(Ordering::Relaxed) > 0 {
        return Err(format!("{} requests failed or answered 5xx", failed.load(Ordering::Relaxed)));
    }
    if last > middle + max_growth_mb {
        return Err(format!(
            "anonymous memory kept growing: the last third peaked at {last:.1} MB against {middle:.1} MB (allowed +{max_growth_mb} MB)"
        ));
    }
    println!("soak: anonymous memory levelled off (last third within {max_growth_mb} MB of the middle third)");
    Ok(())
}

/// The points ledger (issue 19): awards through the use case, each its own transaction with
/// every invariant enforced (the transfer's shape, the overdraft check, the seal, the source
/// counted once), from `concurrency` tasks; the balance and a statement page of an account
/// with `transfers` entries; 100 concurrent redemptions against a balance that pays for ten;
/// the whole ledger's check. On SQLite and, with `postgres`, PostgreSQL.
pub async fn ledger(transfers: usize, concurrency: usize, postgres: Option<String>) -> Result<(), String> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (targets, _) = targets("ledger", postgres, false).await?;
    for t in targets {
        let res = async {
            let db = wuzhi_store::Db::connect(&t.url, 16).await.map_err(|e| e.to_string())?;
            let settings = wuzhi_app::Settings {
                files_dir: std::env::temp_dir().join(format!("wuzhi-bench-files-{}", std::process::id())),
                ..Default::default()
            };
            let app = Arc::new(
                wuzhi_app::App::open(db, Arc::new(wuzhi_app::SystemClock), settings).await.map_err(|e| e.to_string())?,
            );
            wuzhi_app::demo::seed(&app, Some(1)).await.map_err(|e| e.to_string())?;
            let id_of = |username: &'static str| {
                let app = app.clone();
                async move {
                    let mut conn = app.db.read().await.map_err(|e| e.to_string())?;
                    wuzhi_store::people::account_by_username(&mut conn, username)
                        .await
                        .map_err(|e| e.to_string())?
                        .map(|a| a.person_id)
                        .ok_or_else(|| format!("no demo account {username}"))
                }
            };
            let staff = app.actor(id_of("community").await?).await.map_err(|e| e.to_string())?;
            let (resident, resident2) = (id_of("resident").await?, id_of("resident2").await?);
            let rule = wuzhi_app::virtue::create_rule(
                &app,
                &staff,
                wuzhi_app::virtue::NewRule {
                    territory_code: "120101001001".into(),
                    code: "volunteer_hour".into(),
                    name: "志愿服务每小时".into(),
                    points: 1,
                    publicity_days: 0,
                    valid_days: None,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
            // In batches of 1,000 (a month's hours for a community), first: run right after the
            // single awards, which leave ten thousand dead versions of the fund's and the
            // account's rows until autovacuum's next pass, PostgreSQL took 200–250 ms for each
            // of the batch's statements instead of 22–30 (every transfer's foreign keys lead
            // to those two rows) — a measure of the leftovers, not of the batch path.
            let started = std::time::Instant::now();
            for b in 0..transfers.div_ceil(1000) {
                let awards = (b * 1000..((b + 1) * 1000).min(transfers))
                    .map(|i| wuzhi_app::virtue::BatchAward { person_id: resident, source: format!("batch:{i}") })
                    .collect();
                let batch = wuzhi_app::virtue::AwardBatch { rule_id: rule.id, reason: "志愿服务时长".into(), awards };
                wuzhi_app::virtue::award_batch(&app, &staff, batch).await.map_err(|e| e.to_string())?;
            }
            println!(
                "ledger_batch_transfers_per_second.{}: {:.0} transfers/s ({transfers} awards in batches of 1,000, one task)",
                t.label,
                transfers as f64 / started.elapsed().as_secs_f64()
            );
            let next = Arc::new(AtomicUsize::new(0));
            let started = std::time::Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..concurrency {
                let (app, staff, next) = (app.clone(), staff.clone(), next.clone());
                tasks.push(tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= transfers {
                            return Ok::<(), String>(());
                        }
                        let award = wuzhi_app::virtue::Award {
                            person_id: resident,
                            rule_id: rule.id,
                            reason: "志愿服务1小时".into(),
                            source: Some(format!("bench:{i}")),
                        };
                        wuzhi_app::virtue::award(&app, &staff, award).await.map_err(|e| e.to_string())?;
                    }
                }));
            }
            for task in tasks {
                task.await.map_err(|e| e.to_string())??;
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "ledger_transfers_per_second.{}: {:.0} transfers/s ({transfers} awards one per transaction, {concurrency} tasks)",
                t.label,
                transfers as f64 / secs
            );
            let transfers = transfers * 2;
            // The balance and the newest page of the statement of the account that has them all.
            let me = app.actor(resident).await.map_err(|e| e.to_string())?;
            let account = wuzhi_app::virtue::mine(&app, &me).await.map_err(|e| e.to_string())?.ok_or("no account")?;
            // Read at once after the load (the planner's statistics still those of an empty
            // table, as until autovacuum's next pass), then after they are refreshed (the
            // state a ledger that grew over months is in).
            for (name, refresh) in [("ledger_balance_and_statement_ms_just_loaded", false), ("ledger_balance_and_statement_ms", true)] {
                if refresh {
                    app.db.vacuum_analyze().await.map_err(|e| e.to_string())?;
                }
                let mut times = Vec::new();
                for _ in 0..200 {
                    let t0 = std::time::Instant::now();
                    let a = wuzhi_app::virtue::account(&app, &me, account.id).await.map_err(|e| e.to_string())?;
                    let page = wuzhi_app::virtue::statement(&app, &me, account.id, None, Some(100))
                        .await
                        .map_err(|e| e.to_string())?;
                    times.push(t0.elapsed().as_secs_f64() * 1000.0);
                    if a.balance != transfers as i64 || page.len() != 100.min(transfers) {
                        return Err(format!("the account shows {} points and {} entries", a.balance, page.len()));
                    }
                }
                times.sort_by(f64::total_cmp);
                println!(
                    "{name}.{}: p50 {:.2} ms, p95 {:.2} ms (an account of {transfers} entries, a page of 100)",
                    t.label,
                    times[times.len() / 2],
                    times[times.len() * 95 / 100]
                );
            }
            // 100 redemptions at once against a balance of ten.
            let ten = wuzhi_app::virtue::create_rule(
                &app,
                &staff,
                wuzhi_app::virtue::NewRule {
                    territory_code: "120101001001".into(),
                    code: "ten".into(),
                    name: "十分".into(),
                    points: 10,
                    publicity_days: 0,
                    valid_days: None,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
            let award = wuzhi_app::virtue::Award { person_id: resident2, rule_id: ten.id, reason: "十分".into(), source: None };
            wuzhi_app::virtue::award(&app, &staff, award).await.map_err(|e| e.to_string())?;
            let item = wuzhi_app::virtue::create_item(
                &app,
                &staff,
                wuzhi_app::virtue::NewItem { territory_code: "120101001001".into(), name: "鸡蛋".into(), price: 1, stock: 1000 },
            )
            .await
            .map_err(|e| e.to_string())?;
            let buyer = app.actor(resident2).await.map_err(|e| e.to_string())?;
            let mut tasks = Vec::new();
            for i in 0..100 {
                let (app, buyer) = (app.clone(), buyer.clone());
                tasks.push(tokio::spawn(async move {
                    wuzhi_app::virtue::redeem(&app, &buyer, item.id, &format!("k{i}")).await.is_ok()
                }));
            }
            let mut ok = 0;
            for task in tasks {
                ok += usize::from(task.await.map_err(|e| e.to_string())?);
            }
            let left = wuzhi_app::virtue::mine(&app, &buyer).await.map_err(|e| e.to_string())?.ok_or("no account")?;
            println!(
                "ledger_overspent.{}: {} ({ok} of 100 concurrent redemptions succeeded against 10 points; {} left)",
                t.label,
                ok.saturating_sub(10) as i64 + (-left.available).max(0),
                left.available
            );
            let t0 = std::time::Instant::now();
            let v = wuzhi_app::virtue::verify(&app).await.map_err(|e| e.to_string())?;
            println!(
                "ledger_verify.{}: {} transfers and {} accounts checked in {:.0} ms, {}",
                t.label,
                v.transfers,
                v.accounts,
                t0.elapsed().as_secs_f64() * 1000.0,
                v.broken.as_deref().unwrap_or("intact")
            );
            Ok::<(), String>(())
        }
        .await;
        t.clean_up().await;
        res?;
    }
    Ok(())
}
