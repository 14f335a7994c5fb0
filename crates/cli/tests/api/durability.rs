//! An acknowledged write is never lost: the server is killed (SIGKILL) in the middle of a
//! load of submissions, restarted on the same database, and every acknowledged case is
//! there with an intact timeline.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_wuzhi")).args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
}

async fn wait_healthy(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await {
            if r.status() == StatusCode::OK {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server at {base} did not become healthy");
}

#[tokio::test]
async fn acknowledged_submissions_survive_sigkill() {
    let db = fresh_db().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let listen = format!("127.0.0.1:{port}");
    let data_dir = db.dir.display().to_string();
    // Its own data directory (attachments, search index), as every server needs.
    let storage = ["--database-url", db.url.as_str(), "--data-dir", data_dir.as_str()];
    let mut args = vec!["demo", "--districts", "1", "--listen", listen.as_str()];
    args.extend(storage);
    let mut server = start(&args);
    wait_healthy(&base).await;
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{base}/api/session"))
        .json(&json!({"username": "resident", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let csrf = login.json::<serde_json::Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_owned();
    // A point in 和平区 from the server's own polygons.
    let g: serde_json::Value = client
        .get(format!("{base}/api/locate?lon=117.2&lat=39.12"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(g["grid"]["code"].is_string(), "{g}");

    let acked: Arc<Mutex<Vec<(String, i64)>>> = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (client, cookie, csrf, base, acked) =
            (client.clone(), cookie.clone(), csrf.clone(), base.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let key = format!("w{worker}-{n}");
                let body = json!({"channel": "app", "kind": "report", "subject": format!("压力测试 {key}"), "description": "楼道堆放杂物", "lon": 117.2, "lat": 39.12, "idempotency_key": key});
                let sent = client.post(format!("{base}/api/cases")).header("cookie", &cookie).header("x-csrf-token", &csrf).json(&body).send().await;
                match sent {
                    Ok(r) if r.status() == StatusCode::CREATED => {
                        let v: serde_json::Value = match r.json().await {
                            Ok(v) => v,
                            Err(_) => break,
                        };
                        acked.lock().unwrap().push((key, v["id"].as_i64().unwrap()));
                    }
                    _ => break, // the server is gone
                }
            }
        }));
    }
    // Kill it mid-load.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 200, "only {} acknowledged before the deadline", acked.len());

    let mut args = vec!["serve", "--listen", listen.as_str()];
    args.extend(storage);
    let mut server = start(&args);
    wait_healthy(&base).await;
    for (key, id) in &acked {
        let r = client.get(format!("{base}/api/cases/{id}")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "acknowledged case {id} ({key}) is missing after the kill");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["timeline"][0]["kind"], "reported", "{v}");
        assert_eq!(v["subject"], format!("压力测试 {key}"));
        // A retry of an acknowledged submission returns the same case, not a second one.
        let again = client
            .post(format!("{base}/api/cases"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .json(&json!({"channel": "app", "kind": "report", "subject": "重试", "description": "d", "lon": 117.2, "lat": 39.12, "idempotency_key": key}))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::OK);
        assert_eq!(again.json::<serde_json::Value>().await.unwrap()["id"], *id);
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_dir_all(&db.dir);
}

/// When the database is away, requests are answered at once with 503 and a stable code (a
/// bad session token too: it cannot be checked), and once the database is back everything
/// works again by itself. On PostgreSQL the database refuses connections and its sessions are
/// ended; on SQLite the server's pool is closed under it.
#[tokio::test]
async fn when_the_database_is_away_requests_get_503_and_then_recover() {
    let t = spawn_app().await;
    let s = t.login("gridworker").await;
    assert_eq!(t.get(&s, "/api/me").await.status, StatusCode::OK);
    let unavailable = |r: &Reply| {
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
        assert_eq!(r.body["error"]["code"], "database_unavailable", "{}", r.text);
        assert_eq!(r.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("5"));
        assert!(!r.text.contains("postgres") && !r.text.contains("sqlite"), "no detail leaks: {}", r.text);
    };
    let bad = Session { cookie: "wuzhi_session=not-a-token".into(), csrf: "x".into(), person_id: 0 };
    match std::env::var("WUZHI_TEST_DATABASE_URL") {
        Ok(server) if t.db.url.starts_with("postgres") => {
            use sqlx::Connection;
            let name = t.db.url.rsplit('/').next().unwrap().to_owned();
            let mut admin = sqlx::postgres::PgConnection::connect(&server).await.unwrap();
            let run = |sql: String| sqlx::raw_sql(sqlx::AssertSqlSafe(sql));
            run(format!("ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS false")).execute(&mut admin).await.unwrap();
            run(format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
                .execute(&mut admin)
                .await
                .unwrap();
            unavailable(&t.get(&s, "/api/me").await);
            unavailable(&t.get(&bad, "/api/me").await);
            run(format!("ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS true")).execute(&mut admin).await.unwrap();
            // Back by itself: the pool opens new connections as requests come.
            let mut back = false;
            for _ in 0..600 {
                if t.get(&s, "/api/me").await.status == StatusCode::OK {
                    back = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert!(back, "the server recovers once the database is back");
            assert_eq!(t.get(&bad, "/api/me").await.status, StatusCode::UNAUTHORIZED);
        }
        _ => {
            t.app.db.close().await;
            unavailable(&t.get(&s, "/api/me").await);
            unavailable(&t.get(&bad, "/api/me").await);
        }
    }
}

/// Several app servers on one database: a photo uploaded through one is read through the
/// other (on PostgreSQL the files are in the database, so the second server has a data
/// directory of its own; on SQLite one server's directory is shared, as it is deployed).
#[tokio::test]
async fn a_photo_stored_through_one_server_is_read_through_another() {
    let t = spawn_app().await;
    let postgres = t.db.url.starts_with("postgres");
    let dir = std::env::temp_dir().join(format!(
        "wuzhi-second-{}-{}",
        std::process::id(),
        t.base.rsplit(':').next().unwrap()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let files = if postgres { dir.join("files") } else { t.db.dir.join("files") };
    let (app2, clock2) = open_app_with_files(&t.db.url, files).await;
    let second = serve(app2, clock2, TestDb { url: t.db.url.clone(), dir }).await;
    let resident = t.login("resident").await;
    let admin = t.login("admin").await;
    let (x, y) = crate::cases::point_in(&t, &admin, "120101001001001").await;
    let id = t
        .post(
            &resident,
            "/api/cases",
            json!({"channel": "app", "kind": "report", "subject": "井盖破损", "description": "d", "lon": x, "lat": y}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let up = crate::cases::upload(&t, &resident, id, "p.png", "image/png", crate::cases::PNG.to_vec()).await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.text);
    let photo = up.body["id"].as_i64().unwrap();
    let on_second = second.login("resident").await;
    let r = second
        .client
        .get(format!("{}/api/attachments/{photo}", second.base))
        .header("cookie", &on_second.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), crate::cases::PNG);
    if postgres {
        assert!(!second.db.dir.join("files").exists(), "the second server needed no file of its own");
    }
}
