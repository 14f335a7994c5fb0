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
        if let Some((server, name)) = &t.cleanup {
            let _ = wuzhi_store::drop_postgres_database(server, name).await;
        }
        if let Some(d) = &t.dir {
            let _ = std::fs::remove_dir_all(d);
        }
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
    let login = client
        .post(format!("{base}/api/session"))
        .json(&serde_json::json!({"username": "resident", "password": wuzhi_app::demo::DEMO_PASSWORD}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .to_owned();
    let csrf = login.json::<serde_json::Value>().await.map_err(|e| e.to_string())?["csrf_token"]
        .as_str()
        .unwrap_or("")
        .to_owned();
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// With `cases` generated cases over the demo city (spread over a year), times the
/// city-wide indicator query for the last 30 days and the per-grid open-case counts for the
/// map, as a city leader would ask them (median of five runs each).
pub async fn kpi(cases: i64, postgres: Option<String>, skip_sqlite: bool) -> Result<(), String> {
    use std::sync::Arc;
    let (targets, dir) = targets("kpi", postgres, skip_sqlite).await?;
    for t in targets {
        let result: Result<(), String> = async {
            let db = wuzhi_store::Db::connect(&t.url, 4).await.map_err(|e| e.to_string())?;
            let settings =
                wuzhi_app::Settings { files_dir: std::env::temp_dir().join("wuzhi-bench-files"), ..Default::default() };
            let app = wuzhi_app::App::open(db, Arc::new(wuzhi_app::SystemClock), settings)
                .await
                .map_err(|e| e.to_string())?;
            wuzhi_app::demo::seed(&app, None).await.map_err(|e| e.to_string())?;
            let now = app.now_ms();
            let started = Instant::now();
            let step = 1_000_000i64;
            let mut done = 0;
            while done < cases {
                let n = step.min(cases - done);
                let mut tx = app.db.write().await.map_err(|e| e.to_string())?;
                wuzhi_store::kpi::generate_cases(&mut tx, n, now, 365, done + 1).await.map_err(|e| e.to_string())?;
                wuzhi_store::commit(tx).await.map_err(|e| e.to_string())?;
                done += n;
            }
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
        if let Some((server, name)) = &t.cleanup {
            let _ = wuzhi_store::drop_postgres_database(server, name).await;
        }
        if let Some(d) = &t.dir {
            let _ = std::fs::remove_dir_all(d);
        }
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
        if let Some((server, name)) = &t.cleanup {
            let _ = wuzhi_store::drop_postgres_database(server, name).await;
        }
        result?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
