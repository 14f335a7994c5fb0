//! Live updates over server-sent events: each person is told of the changes to the cases
//! they may read, and of no others.

use crate::cases::point_in;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use wuzhi_app::Clock;

/// Opens the event stream as `s`.
pub(crate) async fn subscribe(app: &TestApp, s: &Session) -> reqwest::Response {
    let r = app.client.get(format!("{}/api/events", app.base)).header("cookie", &s.cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    r
}

/// The `change` events that arrive within `wait`.
async fn changes(r: &mut reqwest::Response, wait: Duration) -> Vec<Value> {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, r.chunk()).await {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    parse_changes(&text)
}

/// The `change` events of a stream's text, in order.
fn parse_changes(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter(|block| block.lines().any(|l| l == "event: change"))
        .filter_map(|block| block.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

/// The `change` events, read until `n` have arrived (however loaded the machine, up to a
/// minute), plus whatever else came with them.
pub(crate) async fn at_least(r: &mut reqwest::Response, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    // Counted as they come (each event names itself once), parsed once at the end.
    const TOKEN: &[u8] = b"event: change";
    let (mut bytes, mut seen, mut scanned) = (Vec::new(), 0, 0);
    while seen < n {
        match tokio::time::timeout_at(deadline, r.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                bytes.extend_from_slice(&chunk);
                let mut i = scanned;
                while i + TOKEN.len() <= bytes.len() {
                    if &bytes[i..i + TOKEN.len()] == TOKEN {
                        seen += 1;
                        i += TOKEN.len();
                    } else {
                        i += 1;
                    }
                }
                // A token that began in the last bytes is finished by the next chunk: go on from there.
                scanned = i;
            }
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    // A block cut between two chunks is complete only once its blank line has come.
    parse_changes(text.rfind("\n\n").map_or("", |i| &text[..i]))
}

#[tokio::test]
async fn changes_reach_those_who_may_read_the_case_and_no_one_else() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let r = app.client.get(format!("{}/api/events", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let (resident, resident2, dispatcher) =
        (app.login("resident").await, app.login("resident2").await, app.login("dispatcher").await);
    let mut mine = subscribe(&app, &resident).await;
    let mut other = subscribe(&app, &resident2).await;
    let mut centre = subscribe(&app, &dispatcher).await;
    let r = app
        .post(&resident, "/api/cases", json!({"channel": "app", "kind": "report", "subject": "路灯不亮", "description": "小区北门路灯连续三晚不亮", "category": "C0108", "lon": x, "lat": y}))
        .await;
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(wuzhi_app::live::poll_once(&app.app).await.unwrap(), 1);
    // A second poll tells nothing twice.
    assert_eq!(wuzhi_app::live::poll_once(&app.app).await.unwrap(), 0);
    let seen = at_least(&mut centre, 1).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["case_id"], id);
    assert_eq!((seen[0]["kind"].as_str(), seen[0]["status"].as_str()), (Some("reported"), Some("reported")));
    assert_eq!(seen[0]["territory_code"], "120101001001001");
    assert_eq!(at_least(&mut mine, 1).await.len(), 1, "the reporter follows their case");
    assert!(changes(&mut other, Duration::from_millis(500)).await.is_empty(), "another resident hears nothing");

    let r = app.post(&dispatcher, &format!("/api/cases/{id}/actions"), json!({"action": "file"})).await;
    assert_eq!(r.status, StatusCode::OK);
    wuzhi_app::live::poll_once(&app.app).await.unwrap();
    let seen = at_least(&mut mine, 1).await;
    assert_eq!((seen.len(), seen[0]["kind"].as_str(), seen[0]["status"].as_str()), (1, Some("filed"), Some("filed")));
}

#[tokio::test]
async fn a_burst_of_changes_does_not_hold_up_later_ones() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let report = |subject: &'static str| {
        let (app, resident) = (&app, &resident);
        async move {
            app.post(
                resident,
                "/api/cases",
                json!({"channel": "app", "kind": "report", "subject": subject, "description": "d", "lon": x, "lat": y}),
            )
            .await
            .body["id"]
                .as_i64()
                .unwrap()
        }
    };
    let first = report("第一件").await;
    // Six thousand outbox rows in the same seconds, more than one poll takes.
    let now = app.clock.now_ms();
    let mut conn = app.app.db.read().await.unwrap();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000) \
         INSERT INTO outbox (topic, item_kind, item_id, payload, created_at_ms) SELECT 'case.commented', 'case', $1, '{}', $2 FROM n",
    )
    .bind(first)
    .bind(now)
    .execute(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    let dispatcher = app.login("dispatcher").await;
    let mut centre = subscribe(&app, &dispatcher).await;
    assert_eq!(wuzhi_app::live::poll_once(&app.app).await.unwrap(), 5000, "one poll takes the newest 5,000");
    assert_eq!(at_least(&mut centre, 5000).await.len(), 5000, "the burst is told");
    let later = report("第二件").await;
    assert_eq!(wuzhi_app::live::poll_once(&app.app).await.unwrap(), 1);
    let seen = at_least(&mut centre, 1).await;
    assert_eq!(seen.iter().map(|c| c["case_id"].as_i64().unwrap()).collect::<Vec<_>>(), [later]);
}

/// Reading found that a stream kept the person and posts of the moment it connected: after
/// signing out, or losing the post that let them read a case, they were still told.
#[tokio::test]
async fn a_stream_ends_with_its_session_and_follows_its_posts() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let report = |subject: &str| json!({"channel": "app", "kind": "report", "subject": subject, "description": "d", "lon": x, "lat": y});
    let dispatcher = app.login("dispatcher").await;
    let mut signed_out = subscribe(&app, &dispatcher).await;
    let leader = app.login("district_leader").await;
    let mut demoted = subscribe(&app, &leader).await;
    assert_eq!(app.post(&resident, "/api/cases", report("第一件")).await.status, StatusCode::CREATED);
    wuzhi_app::live::poll_once(&app.app).await.unwrap();
    assert_eq!(at_least(&mut signed_out, 1).await.len(), 1);
    assert_eq!(at_least(&mut demoted, 1).await.len(), 1);

    // The dispatcher signs out; the district leader's post ends.
    let r = app.call(Some(&dispatcher), reqwest::Method::DELETE, "/api/session", None).await;
    assert!(r.status.is_success(), "{}", r.text);
    let leader_id = app.person_id("district_leader").await;
    let security = app.login("security").await;
    let posts = app.get(&security, &format!("/api/people/{leader_id}/memberships")).await.body;
    for m in posts.as_array().unwrap() {
        let r =
            app.call(Some(&security), reqwest::Method::DELETE, &format!("/api/memberships/{}", m["id"]), None).await;
        assert!(r.status.is_success(), "{}", r.text);
    }
    assert_eq!(app.post(&resident, "/api/cases", report("第二件")).await.status, StatusCode::CREATED);
    wuzhi_app::live::poll_once(&app.app).await.unwrap();
    assert!(changes(&mut signed_out, Duration::from_millis(500)).await.is_empty(), "the session has ended");
    assert!(changes(&mut demoted, Duration::from_millis(500)).await.is_empty(), "no post reads the case any more");
    // The ended session's stream is closed by the server.
    assert!(matches!(signed_out.chunk().await, Ok(None) | Err(_)));
}
