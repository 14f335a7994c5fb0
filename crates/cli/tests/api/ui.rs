//! The web pages in headless Chromium (Debian's `chromium` with `playwright-core` and
//! `axe-core` from `ui/node_modules`; `.ci/run` installs them): `ui/tests/browser.mjs`
//! drives a live server. Screenshots land in `target/ui-screenshots/`.

use crate::helpers::*;

#[tokio::test]
async fn a_configured_tile_source_reaches_the_pages() {
    let plain = spawn_app().await;
    let page = plain.client.get(format!("{}/", plain.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<div id=\"app\"></div>"), "no tile source by default");
    let app =
        spawn_app_with_settings(|s| s.map_tiles = Some("https://tiles.example/{z}/{x}/{y}.png?k=1&s=\"x\"".into()))
            .await;
    let page = app.client.get(format!("{}/", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains(
            "<div id=\"app\" data-tiles=\"https://tiles.example/{z}/{x}/{y}.png?k=1&amp;s=&quot;x&quot;\"></div>"
        ),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_work_in_a_browser() {
    // With its workers, as served: the pages' live updates come from the outbox poll.
    let app = spawn_app_with_workers().await;
    let r = app.client.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    assert!(r.text().await.unwrap().contains("<script type=\"module\" src=\"/ui/app.js\">"));
    let js = app.client.get(format!("{}/ui/app.js", app.base)).send().await.unwrap();
    assert_eq!(js.headers()["content-type"], "text/javascript; charset=utf-8");
    let plain = js.bytes().await.unwrap().len();
    let gz = app.client.get(format!("{}/ui/app.js", app.base)).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let packed = gz.bytes().await.unwrap().len();
    assert!(packed * 3 < plain, "the script is served compressed ({plain} → {packed} bytes)");
    assert_eq!(app.client.get(format!("{}/ui/nope.js", app.base)).send().await.unwrap().status(), 404);

    node(&app, "browser.mjs").await;
    // Text intelligence learns from history: the real messages as closed cases first.
    let admin = app.login("admin").await;
    assert_eq!(crate::text::import_history(&app, &admin).await, 300);
    node(&app, "text.mjs").await;
    // Risk warnings, raised live by the server's own detectors.
    node(&app, "warnings.mjs").await;
    // The points ledger: the community keeps it, the resident spends on a phone.
    node(&app, "points.mjs").await;
    // The archives of the demo's first community, as `wuzhi demo` seeds them.
    assert!(wuzhi_app::archives::demo::seed(&app.app, "120101001001", 2, 6).await.unwrap() > 0);
    node(&app, "archives.mjs").await;
    // Grid work on the phone, offline and back, over the same community's households: the
    // phone stamps its writes with its own clock, so the server's clock follows the real one.
    let clock = app.clock.clone();
    let follow = tokio::spawn(async move {
        loop {
            clock.set_ms(wuzhi_app::Clock::now_ms(&wuzhi_app::SystemClock));
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    node(&app, "gridwork.mjs").await;
    follow.abort();
    // Volunteer service: published for tomorrow and applied for, then — the server's clock
    // moved half an hour into the activity — attendance, hours, points and the certificate.
    node(&app, "volunteer.mjs").await;
    let starts: i64 = {
        let mut conn = app.app.db.read().await.unwrap();
        sqlx::query_scalar("SELECT starts_at_ms FROM volunteer_activities WHERE title = '关爱独居老人上门服务'")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    };
    app.clock.set_ms(starts + 30 * 60_000);
    // The resident is a member of the district's party committee, so may register (双报到).
    let security = app.login("security").await;
    let committee = app.org_id("120101", "中共天津市和平区委员会").await;
    let resident = app.person_id("resident").await;
    let m = app
        .post(
            &security,
            "/api/memberships",
            serde_json::json!({"person_id": resident, "organisation_id": committee,
            "role": "resident", "scope_code": "120101", "post": "党员"}),
        )
        .await;
    assert!(m.status.is_success(), "{}", m.text);
    node(&app, "volunteer_after.mjs").await;
    // Small wishes: posted by the community, claimed and delivered, confirmed by the resident.
    node(&app, "wishes.mjs").await;
    // Officials report to residents, who rate the report and a promise once it is done.
    node(&app, "reports.mjs").await;
    // A civilised-rating campaign, stage by stage, the server's clock moved past each stage's
    // end in between: nominated and reviewed, voted, published and objected to, awarded.
    node(&app, "ratings.mjs").await;
    let stage_end = |column: &'static str| {
        let app = &app;
        async move {
            let mut conn = app.app.db.read().await.unwrap();
            let sql = format!("SELECT {column} FROM rating_campaigns WHERE title = '花园路社区2026年度文明个人评选'");
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *conn).await.unwrap()
        }
    };
    app.clock.set_ms(stage_end("nominations_close_ms").await + 60_000);
    node(&app, "ratings_vote.mjs").await;
    app.clock.set_ms(stage_end("vote_closes_at_ms").await + 60_000);
    node(&app, "ratings_publicity.mjs").await;
    app.clock.set_ms(stage_end("publicity_ends_at_ms").await + 60_000);
    node(&app, "ratings_award.mjs").await;
}

/// Two-factor sign-in (enrolment with a QR code, the code at each sign-in, staff turning it
/// on) and the security auditor's log, on a server with the default setting that asks
/// administrators and auditors for a second factor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_factor_and_the_audit_log_in_a_browser() {
    let app = spawn_app_with_settings(|s| s.two_factor_roles = wuzhi_app::Settings::default().two_factor_roles).await;
    // The browser computes codes from the real time, so the server's clock follows it.
    let clock = app.clock.clone();
    let follow = tokio::spawn(async move {
        loop {
            clock.set_ms(wuzhi_app::Clock::now_ms(&wuzhi_app::SystemClock));
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    node(&app, "account.mjs").await;
    follow.abort();
}

/// Runs one of `ui/tests/` against the app; fails with its output unless every check passed.
async fn node(app: &TestApp, script: &str) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let shots = format!("{root}/target/ui-screenshots");
    let base = app.base.clone();
    let script_path = format!("tests/{script}");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .args([&script_path, &base, &shots])
            .current_dir(format!("{root}/ui"))
            .output()
            .expect("node (Node.js 20+) runs the browser tests")
    })
    .await
    .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{script}: browser checks failed (needs /usr/bin/chromium):\n{text}");
    assert!(text.contains("all browser checks passed"), "{text}");
}
