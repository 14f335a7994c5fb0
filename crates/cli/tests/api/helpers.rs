//! `spawn_app()`: a wuzhi server on a free port with its own fresh database (a SQLite file in
//! a temporary directory, or a new PostgreSQL database when `WUZHI_TEST_DATABASE_URL` names
//! a server), seeded with the demo city, started through the same `Application` calls as
//! `wuzhi serve`.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use wuzhi_app::{App, Clock, ManualClock, Settings};

pub const PASSWORD: &str = wuzhi_app::demo::DEMO_PASSWORD;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub struct TestDb {
    pub url: String,
    pub dir: PathBuf,
}

/// A fresh, empty database for one test.
pub async fn fresh_db() -> TestDb {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let tag = format!(
        "{}_{}_{}",
        std::process::id(),
        n,
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() % 1_000_000
    );
    let dir = std::env::temp_dir().join(format!("wuzhi-test-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let url = match std::env::var("WUZHI_TEST_DATABASE_URL") {
        Ok(base) if base.starts_with("postgres") => {
            wuzhi_store::create_postgres_database(&base, &format!("wuzhi_t_{tag}"))
                .await
                .expect("create a test database")
        }
        _ => format!("sqlite://{}", dir.join("wuzhi.sqlite").display()),
    };
    TestDb { url, dir }
}

pub struct TestApp {
    pub base: String,
    pub app: Arc<App>,
    pub clock: Arc<ManualClock>,
    pub db: TestDb,
    pub client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = std::fs::remove_dir_all(&self.db.dir);
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.drop_postgres();
    }
}

impl TestDb {
    /// Drops the test's own PostgreSQL database (its server's connections are ended with it),
    /// so a run leaves no database behind.
    pub fn drop_postgres(&self) {
        let (Ok(base), Some(name)) = (std::env::var("WUZHI_TEST_DATABASE_URL"), self.url.rsplit('/').next()) else {
            return;
        };
        if !self.url.starts_with("postgres") || !name.starts_with("wuzhi_t_") {
            return;
        }
        let name = name.to_owned();
        // Drop runs inside the test's runtime: do the work on a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                use sqlx::Connection;
                let mut c = sqlx::postgres::PgConnection::connect(&base).await.ok()?;
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await.ok()
            })
        })
        .join();
    }
}

/// The demo city's first district (和平区), with every demo account.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Some(1)).await
}

/// A test app whose clock starts at `start_ms` (before the demo is seeded, so every post
/// is held from then on).
pub async fn spawn_app_at(start_ms: i64) -> TestApp {
    spawn(Some(1), Some(start_ms)).await
}

/// Like [`spawn_app_at`], with settings that `adjust` changes.
pub async fn spawn_app_at_with(start_ms: i64, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("warn").try_init();
    let db = fresh_db().await;
    let clock = Arc::new(ManualClock::new(start_ms));
    let store = wuzhi_store::Db::connect(&db.url, 8).await.expect("connect");
    let mut settings = test_settings(db.dir.join("files"));
    adjust(&mut settings);
    let app = App::open(store, clock.clone(), settings).await.expect("open app");
    wuzhi_app::demo::seed(&app, Some(1)).await.expect("seed demo city");
    serve(app, clock, db).await
}

pub async fn spawn_app_with(districts: Option<usize>) -> TestApp {
    spawn(districts, None).await
}

/// The demo's first district on a server whose settings `adjust` changes.
pub async fn spawn_app_with_settings(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_at_with(wuzhi_app::SystemClock.now_ms(), adjust).await
}

async fn spawn(districts: Option<usize>, start_ms: Option<i64>) -> TestApp {
    // Errors the server logs show up beside a failing test's output.
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("warn").try_init();
    let db = fresh_db().await;
    let (app, clock) = open_app_with_files(&db.url, db.dir.join("files")).await;
    if let Some(t) = start_ms {
        clock.set_ms(t);
    }
    wuzhi_app::demo::seed(&app, districts).await.expect("seed demo city");
    serve(app, clock, db).await
}

/// The settings of a test server: the defaults, but webhooks may reach this machine, where
/// the tests run their receivers (`hardening::webhooks_do_not_reach_the_internal_network`
/// checks the default), and no role must have a second factor: the tests sign the same
/// administrator in many times within one 30-second step of a manual clock, and a code is
/// accepted once. The second factor's own tests (`second_factor::…`) use the default.
fn test_settings(files_dir: PathBuf) -> Settings {
    Settings { files_dir, allow_private_webhooks: true, two_factor_roles: vec![], ..Settings::default() }
}

pub async fn open_app(url: &str) -> (Arc<App>, Arc<ManualClock>) {
    open_app_with_files(url, std::env::temp_dir().join(format!("wuzhi-files-{}", std::process::id()))).await
}

pub async fn open_app_with_files(url: &str, files_dir: PathBuf) -> (Arc<App>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(wuzhi_app::SystemClock.now_ms()));
    let store = wuzhi_store::Db::connect(url, 8).await.expect("connect");
    let app = App::open(store, clock.clone(), test_settings(files_dir)).await.expect("open app");
    (app, clock)
}

/// Another app on the same database with the given archive keys (as a restarted server).
pub async fn open_app_with(url: &str, vault: Arc<wuzhi_app::vault::Vault>) -> (Arc<App>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(wuzhi_app::SystemClock.now_ms()));
    let store = wuzhi_store::Db::connect(url, 4).await.expect("connect");
    let settings = Settings { vault, ..test_settings(std::env::temp_dir().join("wuzhi-files-keys")) };
    (App::open(store, clock.clone(), settings).await.expect("open app"), clock)
}

/// A point inside `grid` (WGS84 lon, lat), from its stored polygon.
pub async fn point_in(app: &App, grid: &str) -> (f64, f64) {
    let mut conn = app.db.read().await.unwrap();
    let g = wuzhi_store::territory::grids_with_geometry(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .find(|g| g.0 == grid)
        .expect("grid");
    let (x0, y0, x1, y1) = wuzhi_geo::territory::bbox_of_stored(&g.2).unwrap();
    let loc = app.locator();
    for i in 1..40 {
        for j in 1..40 {
            let (x, y) = (x0 + (x1 - x0) * i as f64 / 40.0, y0 + (y1 - y0) * j as f64 / 40.0);
            if loc.locate(x, y).is_some_and(|l| l.grid.code == grid) {
                return (x, y);
            }
        }
    }
    panic!("no point found in {grid}")
}

pub async fn serve(app: Arc<App>, clock: Arc<ManualClock>, db: TestDb) -> TestApp {
    serve_with(app, clock, db, false).await
}

/// The demo's first district served with its background workers running (outbox, live
/// updates, webhooks, sweeps), as `wuzhi serve` runs them.
pub async fn spawn_app_with_workers() -> TestApp {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("warn").try_init();
    let db = fresh_db().await;
    let (app, clock) = open_app_with_files(&db.url, db.dir.join("files")).await;
    wuzhi_app::demo::seed(&app, Some(1)).await.expect("seed demo city");
    serve_with(app, clock, db, true).await
}

async fn serve_with(app: Arc<App>, clock: Arc<ManualClock>, db: TestDb, workers: bool) -> TestApp {
    let mut server = wuzhi_web::Application::build(app.clone(), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    if !workers {
        server = server.without_background_workers();
    }
    let base = format!("http://{}", server.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until_stopped(async move {
        let _ = rx.await;
    }));
    TestApp { base, app, clock, db, client: reqwest::Client::new(), stop: Some(tx) }
}

/// A signed-in browser session: the cookie and the CSRF token.
#[derive(Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
    pub person_id: i64,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

impl TestApp {
    pub async fn try_login(&self, username: &str, password: &str) -> Reply {
        self.call(
            None,
            Method::POST,
            "/api/session",
            Some(serde_json::json!({"username": username, "password": password})),
        )
        .await
    }

    pub async fn login(&self, username: &str) -> Session {
        self.login_with(username, PASSWORD).await
    }

    pub async fn login_with(&self, username: &str, password: &str) -> Session {
        let r = self.try_login(username, password).await;
        assert_eq!(r.status, StatusCode::OK, "login {username}: {}", r.text);
        let set = r.headers.get("set-cookie").expect("cookie").to_str().unwrap().to_owned();
        let cookie = set.split(';').next().unwrap().to_owned();
        Session {
            cookie,
            csrf: r.body["csrf_token"].as_str().unwrap().to_owned(),
            person_id: r.body["person_id"].as_i64().unwrap(),
        }
    }

    /// A request with the session's cookie and CSRF token.
    pub async fn call(&self, s: Option<&Session>, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(s) = s {
            req = req.header("cookie", &s.cookie).header("x-csrf-token", &s.csrf);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        into_reply(req.send().await.expect("request")).await
    }

    pub async fn get(&self, s: &Session, path: &str) -> Reply {
        self.call(Some(s), Method::GET, path, None).await
    }

    pub async fn post(&self, s: &Session, path: &str, body: Value) -> Reply {
        self.call(Some(s), Method::POST, path, Some(body)).await
    }

    pub async fn post_text(&self, s: &Session, path: &str, body: &str) -> Reply {
        self.send_text(s, Method::POST, path, body).await
    }

    pub async fn send_text(&self, s: &Session, method: Method, path: &str, body: &str) -> Reply {
        let req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("cookie", &s.cookie)
            .header("x-csrf-token", &s.csrf)
            .header("content-type", "text/plain")
            .body(body.to_owned());
        into_reply(req.send().await.unwrap()).await
    }

    /// The id of a demo person by username.
    pub async fn person_id(&self, username: &str) -> i64 {
        let mut conn = self.app.db.read().await.unwrap();
        wuzhi_store::people::account_by_username(&mut conn, username).await.unwrap().expect("demo account").person_id
    }

    pub async fn org_id(&self, territory: &str, name: &str) -> i64 {
        let mut conn = self.app.db.read().await.unwrap();
        wuzhi_store::org::find(&mut conn, territory, name).await.unwrap().expect("demo organisation")
    }
}

pub async fn into_reply(r: reqwest::Response) -> Reply {
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply { status, body, text, headers }
}

/// Runs the built `wuzhi` binary with arguments and standard input.
pub fn wuzhi(args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wuzhi"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// The kernel's invariant, checked on every case of the test's database: the projection in
/// the `cases` row equals the replay of its timeline through the domain's `apply`.
pub async fn assert_projections_replay(app: &TestApp) {
    use wuzhi_domain::cases::{CaseState, Event};
    let mut conn = app.app.db.read().await.unwrap();
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM cases ORDER BY id").fetch_all(&mut *conn).await.unwrap();
    let rows = wuzhi_store::cases::by_ids(&mut conn, &ids).await.unwrap();
    assert!(!rows.is_empty(), "no case to check");
    for r in rows {
        let events = wuzhi_store::cases::events(&mut conn, r.id).await.unwrap();
        let parsed: Vec<(Event, i64)> = events
            .iter()
            .map(|e| {
                (serde_json::from_str(&e.data).unwrap_or_else(|x| panic!("case {} {}: {x}", r.id, e.kind)), e.at_ms)
            })
            .collect();
        let s = CaseState::replay(parsed.iter().map(|(e, t)| (e, *t))).expect("a timeline that starts right");
        let stored = (
            r.status.as_str(),
            r.category_code.as_deref(),
            r.owner_org_id,
            r.due_at_ms,
            r.overdue,
            r.returns,
            r.total_returns,
            r.dispatches,
            r.reworks,
        );
        let stored_rest = (
            r.extension_until_ms,
            r.satisfaction.as_deref(),
            r.merged_into,
            r.closed_at_ms,
            r.closed_late,
            r.filed_late,
        );
        let replayed = (
            s.status.as_str(),
            s.category.as_deref(),
            s.owner_org,
            s.due_ms,
            s.overdue,
            s.returns as i64,
            s.total_returns as i64,
            s.dispatches as i64,
            s.reworks as i64,
        );
        let replayed_rest = (
            s.extension_until_ms,
            s.satisfaction.map(|x| x.as_str()),
            s.merged_into,
            s.closed_at_ms,
            s.closed_late,
            s.filed_late,
        );
        assert_eq!(stored, replayed, "case {}: the row is not the replay of its timeline", r.id);
        assert_eq!(stored_rest, replayed_rest, "case {}: the row is not the replay of its timeline", r.id);
        // The kernel's head is the domain's head of the replay, at the row's version, and it
        // knows the timeline's last seq.
        use wuzhi_domain::work::Workflow;
        let h = wuzhi_domain::cases::CaseFlow::head(&s);
        let head = sqlx::query(
            "SELECT territory_code, status, open, owner_org_id, due_at_ms, overdue, escalatable, version, last_seq \
             FROM work_heads WHERE kind = 'case' AND item_id = $1",
        )
        .bind(r.id)
        .fetch_optional(&mut *conn)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("case {} has no head", r.id));
        use sqlx::Row;
        let got = (
            head.get::<String, _>(0),
            head.get::<String, _>(1),
            head.get::<i64, _>(2) != 0,
            head.get::<Option<i64>, _>(3),
            head.get::<Option<i64>, _>(4),
            head.get::<i64, _>(5) != 0,
            head.get::<i64, _>(6) != 0,
            head.get::<i64, _>(7),
            head.get::<i64, _>(8),
        );
        let want = (
            r.territory_code.clone(),
            h.status.to_owned(),
            h.open,
            h.owner_org,
            h.due_ms,
            h.overdue,
            h.escalatable,
            r.version,
            events.last().map(|e| e.seq).unwrap_or(0),
        );
        assert_eq!(got, want, "case {}: the head is not the replay's", r.id);
    }
}
