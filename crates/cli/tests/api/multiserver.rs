//! Two app servers on one database, as a city runs them behind a load balancer (on
//! PostgreSQL in `.ci/run`'s second pass, where it matters most): the outbox is delivered
//! once however the servers race for it, a change made through one server reaches a
//! subscriber of the other, and an Open311 key's rate limit counts the posts of both. (Attachments, territory changes, search, warnings and background
//! jobs have their own two-server tests in their modules' files.)

use crate::cases::point_in;
use crate::helpers::*;
use crate::live::{at_least, subscribe};
use serde_json::json;

/// A second server on the test's database, with a data directory of its own.
async fn second_server(t: &TestApp) -> TestApp {
    let dir = std::env::temp_dir().join(format!(
        "wuzhi-second-{}-{}",
        std::process::id(),
        t.base.rsplit(':').next().unwrap()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (app, clock) = open_app_with_files(&t.db.url, dir.join("files")).await;
    serve(app, clock, TestDb { url: t.db.url.clone(), dir }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_racing_for_the_outbox_deliver_each_row_once() {
    let a = spawn_app().await;
    let b = second_server(&a).await;
    let admin = a.login("admin").await;
    let (x, y) = point_in(&a, &admin, "120101001001001").await;
    // Reports through both servers, each with its notification to the reporter.
    let mut ids = Vec::new();
    for i in 0..40 {
        let (server, who) = if i % 2 == 0 { (&a, "resident") } else { (&b, "resident2") };
        let s = server.login(who).await;
        let r = server
            .post(
                &s,
                "/api/cases",
                json!({"channel": "app", "kind": "report", "subject": format!("楼道灯不亮 {i}"), "description": "晚上看不见", "lon": x, "lat": y}),
            )
            .await;
        assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.text);
        ids.push(r.body["id"].as_i64().unwrap());
    }
    // Filed and dispatched through either server: the reporter is told of both, the unit of
    // the dispatch.
    let (da, db) = (a.login("dispatcher").await, b.login("dispatcher").await);
    for (i, id) in ids.iter().enumerate() {
        let (server, s) = if i % 3 == 0 { (&a, &da) } else { (&b, &db) };
        for action in ["file", "dispatch"] {
            let r = server
                .post(s, &format!("/api/cases/{id}/actions"), json!({"action": action, "category": "E0103"}))
                .await;
            assert_eq!(r.status, reqwest::StatusCode::OK, "{action} {id}: {}", r.text);
        }
    }
    // Both servers' outbox workers at once, until neither finds anything.
    let (mut processed, mut told) = (0, 0);
    loop {
        let (one, two) = tokio::join!(
            wuzhi_app::notify::run_once(&a.app, "server-a"),
            wuzhi_app::notify::run_once(&b.app, "server-b")
        );
        let (one, two) = (one.unwrap(), two.unwrap());
        if one.processed + two.processed == 0 {
            break;
        }
        processed += one.processed + two.processed;
        told += one.notifications + two.notifications;
    }
    let mut conn = a.app.db.read().await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox").fetch_one(&mut *conn).await.unwrap();
    let open: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE processed = 0").fetch_one(&mut *conn).await.unwrap();
    assert_eq!((processed as i64, open), (rows, 0), "every row processed once, by one of the two");
    let notes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications").fetch_one(&mut *conn).await.unwrap();
    let distinct: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT DISTINCT person_id, case_id, kind FROM notifications) AS d")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(notes, told as i64);
    assert_eq!(notes, distinct, "no notification twice");
    let reported: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT case_id) FROM notifications WHERE kind = 'filed' AND person_id IN \
         (SELECT person_id FROM accounts WHERE username IN ('resident', 'resident2'))",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(reported, ids.len() as i64, "each reporter told of each filing once");
    assert!(notes >= 2 * ids.len() as i64, "filed and dispatched told ({notes})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_one_server_reaches_a_subscriber_of_the_other() {
    let a = spawn_app().await;
    let b = second_server(&a).await;
    let admin = a.login("admin").await;
    let (x, y) = point_in(&a, &admin, "120101001001001").await;
    let dispatcher = b.login("dispatcher").await;
    let mut stream = subscribe(&b, &dispatcher).await;
    let resident = a.login("resident").await;
    let r = a
        .post(
            &resident,
            "/api/cases",
            json!({"channel": "app", "kind": "report", "subject": "井盖缺失", "description": "路口", "lon": x, "lat": y}),
        )
        .await;
    let id = r.body["id"].as_i64().unwrap();
    // The second server reads the shared outbox on its own poll.
    assert!(wuzhi_app::live::poll_once(&b.app).await.unwrap() >= 1);
    let seen = at_least(&mut stream, 1).await;
    assert!(seen.iter().any(|c| c["case_id"] == id), "{seen:?}");
}

/// An Open311 key's requests per minute are counted across the servers (each server adds its
/// uses to the shared count at most once a second, so with a second between posts the count
/// is exact): ten posts through either server, alternately, and the eleventh is refused on
/// both.
#[tokio::test]
async fn an_open311_key_is_limited_across_both_servers() {
    use crate::open311::{flooding, form, key};
    let a = spawn_app().await;
    let b = second_server(&a).await;
    let admin = a.login("admin").await;
    let (x, y) = point_in(&a, &admin, "120101001001001").await;
    let key = key(&a, 10).await;
    // Both clocks at one moment early in a minute, so every post falls in one window.
    let now = wuzhi_app::Clock::now_ms(&*a.clock);
    let start = now - now.rem_euclid(60_000) + 60_000;
    for i in 0..10 {
        for t in [&a, &b] {
            t.clock.set_ms(start + 1_100 * (i + 1));
        }
        let server = if i % 2 == 0 { &a } else { &b };
        let r = form(server, "/open311/v2/requests.json", &flooding(&key, x, y)).await;
        assert_eq!(r.status, reqwest::StatusCode::CREATED, "post {i}: {}", r.text);
    }
    for (name, server) in [("first", &a), ("second", &b)] {
        for t in [&a, &b] {
            t.clock.advance_ms(1_100);
        }
        let r = form(server, "/open311/v2/requests.json", &flooding(&key, x, y)).await;
        assert_eq!(r.status, reqwest::StatusCode::TOO_MANY_REQUESTS, "the {name} server: {}", r.text);
    }
}
