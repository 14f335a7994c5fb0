//! The work-item core as the case hub uses it: each defect that a reading of the code found
//! (issue 11) pinned by a test that failed before the fix — fixing on the spot by roles that
//! do not fix things, an escalation sweep that stalled behind cases it never escalates,
//! what the public sees, supports of cases one may not see, and spreadsheet formulas in
//! exports.

use crate::cases::point_in;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn act(app: &TestApp, s: &Session, id: i64, body: Value) -> Reply {
    app.post(s, &format!("/api/cases/{id}/actions"), body).await
}

async fn count_cases(app: &TestApp, s: &Session) -> usize {
    app.get(s, "/api/cases?limit=1000").await.body.as_array().unwrap().len()
}

/// Reading found that anyone who may read the grid could fix on the spot, so a steward or a
/// district leader could create cases filed, verified and closed on time at once.
#[tokio::test]
async fn only_grid_workers_fix_on_the_spot() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let fix = json!({"channel": "grid", "kind": "report", "subject": "小广告", "description": "电线杆上张贴小广告",
        "category": "E0201", "lon": x, "lat": y, "fixed_on_spot": "已当场清除"});
    let dispatcher = app.login("dispatcher").await;
    let before = count_cases(&app, &dispatcher).await;
    for who in ["steward", "district_leader", "community"] {
        let s = app.login(who).await;
        let r = app.post(&s, "/api/cases", fix.clone()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}: {}", r.text);
    }
    assert_eq!(count_cases(&app, &dispatcher).await, before, "a refused request writes nothing");
    let gw = app.login("gridworker").await;
    let r = app.post(&gw, "/api/cases", fix).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::CREATED, Some("closed")), "{}", r.text);
    // A steward still reports what they find, for others to handle.
    let steward = app.login("steward").await;
    let found = json!({"channel": "grid", "kind": "report", "subject": "井盖缺失", "description": "人行道井盖缺失",
        "lon": x, "lat": y});
    let r = app.post(&steward, "/api/cases", found).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::CREATED, Some("reported")));
    // Every row is still the replay of its timeline.
    assert_projections_replay(&app).await;
}

/// Reading found that the sweep took the 500 oldest overdue cases, including ones it never
/// escalates (not yet filed), so escalation stopped once 500 of those existed.
#[tokio::test]
async fn the_sweep_escalates_behind_any_number_of_cases_it_cannot_escalate() {
    const WEDNESDAY_10AM: i64 = 20_782 * 86_400_000 + 2 * 3_600_000;
    let app = spawn_app_at(WEDNESDAY_10AM).await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let report = |n: usize| {
        json!({"channel": "app", "kind": "report", "subject": format!("垃圾 {n}"),
        "description": "路边垃圾", "category": "E0102", "lon": x, "lat": y})
    };
    // 501 reports nobody files: overdue for filing, never escalated by the sweep.
    for n in 0..501 {
        assert_eq!(app.post(&resident, "/api/cases", report(n)).await.status, StatusCode::CREATED);
    }
    app.clock.advance_ms(60_000);
    let id = app.post(&resident, "/api/cases", report(501)).await.body["id"].as_i64().unwrap();
    let dispatcher = app.login("dispatcher").await;
    act(&app, &dispatcher, id, json!({"action": "file"})).await;
    assert_eq!(act(&app, &dispatcher, id, json!({"action": "dispatch"})).await.status, StatusCode::OK);
    // Thursday noon: everything is overdue, the dispatched case by more than a working day.
    app.clock.set_ms(WEDNESDAY_10AM + 26 * 3_600_000);
    let mut total = wuzhi_app::sweep::Outcome::default();
    for _ in 0..3 {
        let o = wuzhi_app::sweep::run_once(&app.app).await.unwrap();
        total.marked_overdue += o.marked_overdue;
        total.escalated += o.escalated;
    }
    assert_eq!(total.marked_overdue, 502, "every open case is marked, filed or not");
    assert_eq!(total.escalated, 1, "the one case that can be escalated is");
    let dispatcher = app.login("dispatcher").await;
    let c = app.get(&dispatcher, &format!("/api/cases/{id}")).await.body;
    assert_eq!(c["owner_org_id"], app.org_id("120101", "和平区社会治理中心").await);
    // Every row is still the replay of its timeline.
    assert_projections_replay(&app).await;
}

/// Reading found that the public Open311 list showed cases of every channel, anonymous and
/// hotline ones included, at their exact points, and that only unbroken runs of digits were
/// masked in their texts.
#[tokio::test]
async fn the_public_sees_only_public_cases_coarsely_and_masked() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let mk = |subject: &str, extra: Value| {
        let mut b = json!({"channel": "app", "kind": "report", "subject": subject,
            "description": "楼道堆物，联系 138 0013 8000 或 wang.li@example.com", "category": "E0102", "lon": x, "lat": y});
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };
    let open = app.post(&resident, "/api/cases", mk("公开的", json!({}))).await.body["id"].as_i64().unwrap();
    let anon =
        app.post(&resident, "/api/cases", mk("匿名的", json!({"anonymous": true}))).await.body["id"].as_i64().unwrap();
    let private =
        app.post(&resident, "/api/cases", mk("不公开的", json!({"public": false}))).await.body["id"].as_i64().unwrap();
    let dispatcher = app.login("dispatcher").await;
    let call = json!({"channel": "hotline", "kind": "complaint", "subject": "热线来电", "description": "噪音",
        "address": "和平区劝业场街道花园路社区", "reporter_name": "张三", "reporter_phone": "13912345678"});
    let hotline = app.post(&dispatcher, "/api/cases", call).await.body["id"].as_i64().unwrap();

    let list = app.call(None, reqwest::Method::GET, "/open311/v2/requests.json", None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let ids: Vec<i64> =
        list.body.as_array().unwrap().iter().map(|r| r["service_request_id"].as_i64().unwrap()).collect();
    assert!(ids.contains(&open), "{ids:?}");
    for hidden in [anon, private, hotline] {
        assert!(!ids.contains(&hidden), "case {hidden} is not public: {ids:?}");
        let one = app.call(None, reqwest::Method::GET, &format!("/open311/v2/requests/{hidden}.json"), None).await;
        assert_eq!(one.status, StatusCode::NOT_FOUND);
    }
    let r = list.body.as_array().unwrap().iter().find(|r| r["service_request_id"] == open).unwrap().clone();
    assert_eq!(r["description"], "楼道堆物，联系 138****8000 或 w******@example.com");
    let lat = r["lat"].as_f64().unwrap();
    assert_eq!(lat, (y * 1000.0).round() / 1000.0, "to about 100 m");
    assert_ne!(lat, y);

    // Staff still read every case in full.
    let c = app.get(&dispatcher, &format!("/api/cases/{anon}")).await;
    assert_eq!(c.status, StatusCode::OK);
}

/// Reading found that looking up similar cases for a draft checked no permission, and that
/// a resident could support any case by its id.
#[tokio::test]
async fn residents_find_and_support_only_what_they_may_see() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let dispatcher = app.login("dispatcher").await;
    // A hotline call about a burst water main: not public, and not the resident's.
    let call = json!({"channel": "hotline", "kind": "complaint", "subject": "自来水管爆裂", "description": "自来水管爆裂，路面大量积水",
        "address": "和平区劝业场街道花园路社区", "reporter_name": "张三", "reporter_phone": "13912345678"});
    let hotline = app.post(&dispatcher, "/api/cases", call).await.body["id"].as_i64().unwrap();
    let neighbour = app.login("gridworker").await;
    let public = json!({"channel": "grid", "kind": "report", "subject": "自来水管爆裂", "description": "自来水管爆裂，路面大量积水",
        "lon": x, "lat": y});
    let seen = app.post(&neighbour, "/api/cases", public).await.body["id"].as_i64().unwrap();

    let resident = app.login("resident").await;
    let draft = json!({"subject": "水管爆了", "detail": "自来水管爆裂，路面积水", "lon": x, "lat": y});
    let r = app.post(&resident, "/api/cases/similar", draft.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ids: Vec<i64> = r.body.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert!(ids.contains(&seen), "{ids:?}");
    assert!(!ids.contains(&hotline), "a hotline case is not shown to a resident: {ids:?}");
    // The dispatcher, who may read both, sees both.
    let r = app.post(&dispatcher, "/api/cases/similar", draft).await;
    let ids: Vec<i64> = r.body.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert!(ids.contains(&seen) && ids.contains(&hotline), "{ids:?}");
    // Not signed in: no look-up at all.
    let anon = app.call(None, reqwest::Method::POST, "/api/cases/similar", Some(json!({"subject": "水管"}))).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);

    let support = |id: i64| (format!("/api/cases/{id}/support"), json!({}));
    let (path, body) = support(seen);
    assert_eq!(app.post(&resident, &path, body).await.status, StatusCode::OK);
    let (path, body) = support(hotline);
    let refused = app.post(&resident, &path, body).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let c = app.get(&dispatcher, &format!("/api/cases/{hotline}/similar")).await;
    assert_eq!(c.status, StatusCode::OK);
}

/// A resident's subject that begins like a spreadsheet formula is exported as text.
#[tokio::test]
async fn exported_cells_never_become_formulas() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    for subject in ["=HYPERLINK(\"http://evil\",\"点我\")", "+1+1", "@SUM(A1)", "-2+3"] {
        let body =
            json!({"channel": "app", "kind": "report", "subject": subject, "description": "x", "lon": x, "lat": y});
        assert_eq!(app.post(&resident, "/api/cases", body).await.status, StatusCode::CREATED);
    }
    let dispatcher = app.login("dispatcher").await;
    let r = app.get(&dispatcher, "/api/cases/export?format=csv").await;
    assert_eq!(r.status, StatusCode::OK);
    let mut rdr = csv::Reader::from_reader(r.text.trim_start_matches('\u{feff}').as_bytes());
    let subjects: Vec<String> = rdr.records().map(|rec| rec.unwrap()[3].to_owned()).collect();
    for s in ["'=HYPERLINK(\"http://evil\",\"点我\")", "'+1+1", "'@SUM(A1)", "'-2+3"] {
        assert!(subjects.iter().any(|x| x == s), "{s} in {subjects:?}");
    }
    for s in &subjects {
        assert!(!s.starts_with(['=', '+', '-', '@']), "{s}");
    }
}

/// Reading found three rules for "a city administrator": managing categories over the city,
/// managing people over the city (which a community-staff post over the whole city also
/// gives) and reading the audit log over the city. One predicate now: the administrator's
/// post over a city.
#[tokio::test]
async fn a_city_administrator_is_one_rule() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let security = app.login("security").await;
    let p = app
        .post(
            &security,
            "/api/people",
            json!({"name": "钱某", "home_territory": "120101001001001", "username": "qian",
            "password": "a long enough password"}),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.text);
    let org = app.org_id("120000", "天津市社会治理指挥中心").await;
    let m = app
        .post(
            &security,
            "/api/memberships",
            json!({"person_id": p.body["id"], "organisation_id": org,
            "role": "community_staff", "scope_code": "120000", "post": "联络员"}),
        )
        .await;
    assert_eq!(m.status, StatusCode::CREATED, "{}", m.text);
    let r = app.try_login("qian", "a long enough password").await;
    let qian = Session {
        cookie: r.headers.get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().into(),
        csrf: r.body["csrf_token"].as_str().unwrap().into(),
        person_id: r.body["person_id"].as_i64().unwrap(),
    };
    for (path, body) in [
        ("/api/open311/keys", json!({"name": "越权"})),
        ("/api/webhooks", json!({"url": "http://127.0.0.1:9/hook", "topics": "*"})),
        ("/api/search/rebuild", json!({})),
    ] {
        let r = app.post(&qian, path, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text);
    }
    assert_eq!(app.get(&qian, "/api/audit").await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&qian, "/api/open311/keys").await.status, StatusCode::FORBIDDEN);
    // The administrator may do each.
    assert_eq!(app.post(&admin, "/api/open311/keys", json!({"name": "热线"})).await.status, StatusCode::CREATED);
    // The audit log is the auditor's, not the administrator's nor the security
    // administrator's (三员分立); the security administrator keeps no setting.
    assert_eq!(app.get(&admin, "/api/audit").await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&security, "/api/audit").await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.post(&security, "/api/open311/keys", json!({"name": "越权"})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&app.login("auditor").await, "/api/audit").await.status, StatusCode::OK);
}

/// Reading found that outbox rows, notifications, webhook deliveries and expired sessions
/// were never deleted. Each now has a documented period (`wuzhi_app::retention`).
#[tokio::test]
async fn delivery_rows_are_kept_for_their_period_and_then_deleted() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let report = json!({"channel": "app", "kind": "report", "subject": "路灯不亮", "description": "北门路灯不亮", "lon": x, "lat": y});
    let id = app.post(&resident, "/api/cases", report.clone()).await.body["id"].as_i64().unwrap();
    let dispatcher = app.login("dispatcher").await;
    let filed = act(&app, &dispatcher, id, json!({"action": "file", "category": "C0108"})).await;
    assert_eq!(filed.status, StatusCode::OK, "{}", filed.text);
    let count = |table: &'static str| {
        let app = &app;
        async move {
            let mut conn = app.app.db.read().await.unwrap();
            let sql = format!("SELECT COUNT(*) FROM {table}");
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *conn).await.unwrap()
        }
    };
    // The outbox processed into notifications (the reporter hears the case is filed).
    wuzhi_app::notify::run_once(&app.app, "w").await.unwrap();
    let notes = count("notifications").await;
    assert!(notes >= 1);
    let (outbox, sessions) = (count("outbox").await, count("sessions").await);
    assert!(outbox >= 2 && sessions >= 3);
    assert_eq!(wuzhi_app::retention::run_once(&app.app).await.unwrap(), wuzhi_app::retention::Outcome::default());

    // 31 days on: sessions have expired and processed outbox rows have gone; a row not yet
    // processed stays, whatever its age.
    app.clock.advance_ms(31 * 86_400_000);
    let fresh = app.login("resident").await;
    assert_eq!(app.post(&fresh, "/api/cases", report).await.status, StatusCode::CREATED);
    let o = wuzhi_app::retention::run_once(&app.app).await.unwrap();
    assert_eq!(o.outbox as i64, outbox, "{o:?}");
    assert_eq!(o.sessions as i64, sessions, "{o:?}");
    assert_eq!(count("outbox").await, 1, "the unprocessed row stays");
    assert_eq!(count("sessions").await, 1, "the live session stays");
    assert_eq!(count("notifications").await, notes, "unread notifications stay a year");
    // A year on, every notification of the first case has gone too.
    app.clock.advance_ms(366 * 86_400_000);
    let o = wuzhi_app::retention::run_once(&app.app).await.unwrap();
    assert_eq!(o.notifications as i64, notes, "{o:?}");
    assert_eq!(count("outbox").await, 1, "still unprocessed, still kept");
}

/// Reading found that a return counted against the case's owner at the end, not the unit
/// that returned it: a unit that sent a wrong case back kept a perfect 准确派遣率 and the
/// unit that took it over was charged.
#[tokio::test]
async fn a_return_counts_against_the_unit_that_returned_the_case() {
    let app = spawn_app_at(20_782 * 86_400_000 + 2 * 3_600_000).await; // Wednesday 2026-11-25, 10:00
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let id = app
        .post(
            &resident,
            "/api/cases",
            json!({"channel": "app", "kind": "report", "subject": "占道经营", "description": "路口占道经营",
            "category": "E0102", "lon": x, "lat": y}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let dispatcher = app.login("dispatcher").await;
    let (wrong, right) =
        (app.org_id("120101", "和平区城市管理委员会").await, app.org_id("120101001", "劝业场街道办事处").await);
    act(&app, &dispatcher, id, json!({"action": "file"})).await;
    assert_eq!(act(&app, &dispatcher, id, json!({"action": "dispatch", "org_id": wrong})).await.status, StatusCode::OK);
    let handler = app.login("handler").await;
    let r = act(&app, &handler, id, json!({"action": "return", "reason": "属街道职责"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    act(&app, &dispatcher, id, json!({"action": "dispatch", "org_id": right})).await;
    let commander = app.login("commander").await;
    assert_eq!(act(&app, &commander, id, json!({"action": "accept"})).await.status, StatusCode::OK);

    let day = "2026-11-25";
    let ranking = app.get(&admin, &format!("/api/kpi/ranking?by=org&territory=120101&from={day}&to={day}")).await;
    assert_eq!(ranking.status, StatusCode::OK, "{}", ranking.text);
    let of = |org: i64| {
        ranking.body.as_array().unwrap().iter().find(|r| r["key"] == org.to_string()).cloned().unwrap_or_default()
    };
    let (w, r) = (of(wrong), of(right));
    assert_eq!(
        (w["indicators"]["dispatches"].as_i64(), w["indicators"]["returns"].as_i64()),
        (Some(1), Some(1)),
        "{w}"
    );
    assert_eq!(w["indicators"]["accurate_dispatch_rate"], 0.0);
    assert_eq!(
        (r["indicators"]["dispatches"].as_i64(), r["indicators"]["returns"].as_i64()),
        (Some(1), Some(0)),
        "{r}"
    );
    assert_eq!(r["indicators"]["accurate_dispatch_rate"], 1.0);
    // One unit's own evaluation reads the same.
    let k = app.get(&admin, &format!("/api/kpi?org={wrong}&from={day}&to={day}")).await;
    assert_eq!(k.body["indicators"]["returns"], 1, "{}", k.text);
    // The district's totals are unchanged: two dispatches, one return.
    let d = app.get(&admin, &format!("/api/kpi?territory=120101&from={day}&to={day}")).await.body;
    assert_eq!((d["indicators"]["dispatches"].as_i64(), d["indicators"]["returns"].as_i64()), (Some(2), Some(1)));
    // Every row is still the replay of its timeline.
    assert_projections_replay(&app).await;
}

/// Imported history is public only when the system it comes from published it.
#[tokio::test]
async fn imported_history_is_public_only_when_published() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let csv = "external_id,subject,description,created_at,status,closed_at,address,public\n\
               p1,公开留言,路灯不亮,2026-11-20 09:00,closed,2026-11-21 09:00,花园路社区,true\n\
               p2,内部记录,井盖缺失,2026-11-20 10:00,closed,2026-11-21 10:00,花园路社区,\n";
    let r = app.post_text(&admin, "/api/cases/import", csv).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let list = app
        .call(None, reqwest::Method::GET, "/open311/v2/requests.json?start_date=2026-11-01T00:00:00%2B08:00", None)
        .await;
    let subjects: Vec<String> =
        list.body.as_array().unwrap().iter().map(|r| r["description"].as_str().unwrap_or("").to_owned()).collect();
    assert_eq!(subjects, ["路灯不亮"], "{}", list.text);
    let bad = "external_id,subject,created_at,address,public\nq1,某事,2026-11-20 09:00,花园路社区,maybe\n";
    let r = app.post_text(&admin, "/api/cases/import", bad).await;
    assert_eq!(r.body["error"]["details"][0]["field"], "public", "{}", r.text);
}

/// Reading found that a webhook claim lasted 120 s while one pass sent its deliveries one
/// after another for up to 1,000 s, so another server took the rest while they were still
/// being sent and receivers got them twice. Now a pass sends its claimed deliveries at once,
/// each bounded by the attempt timeout, under a claim that outlasts them: with every request
/// of a pass held open at the receiver and the clock moved on by nearly a timeout, another
/// server's pass finds nothing to take, and each delivery arrives once.
#[tokio::test]
async fn a_webhook_claim_outlasts_the_attempts_it_covers() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    // A receiver that holds every request until told to answer.
    let arrived: Arc<Mutex<Vec<String>>> = Arc::default();
    let answer = Arc::new(tokio::sync::Semaphore::new(0));
    let held = Arc::new(AtomicUsize::new(0));
    let (a2, s2, h2) = (arrived.clone(), answer.clone(), held.clone());
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let (arrived, answer, held) = (a2.clone(), s2.clone(), h2.clone());
            async move {
                arrived.lock().unwrap().push(headers["x-wuzhi-delivery"].to_str().unwrap().to_owned());
                held.fetch_add(1, Ordering::SeqCst);
                answer.acquire().await.unwrap().forget();
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let w = app.post(&admin, "/api/webhooks", json!({"url": url, "topics": "case.reported"})).await;
    assert_eq!(w.status, StatusCode::CREATED, "{}", w.text);
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    const N: usize = 5;
    for i in 0..N {
        let r = app
            .post(
                &resident,
                "/api/cases",
                json!({"channel": "app", "kind": "report", "subject": format!("噪音扰民{i}"), "description": "夜间施工", "lon": x, "lat": y}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    wuzhi_app::notify::run_once(&app.app, "a").await.unwrap();

    let client = reqwest::Client::new();
    let (a, c) = (app.app.clone(), client.clone());
    let first = tokio::spawn(async move { wuzhi_app::webhooks::run_once(&a, "server-a", &c).await.unwrap() });
    // Every delivery of the pass is in flight at once (a pass that sent them one by one would
    // never get here: the first is held).
    let mut waited = 0;
    while held.load(Ordering::SeqCst) < N {
        assert!(
            waited < 600,
            "only {} of {N} deliveries were sent while the first was held",
            held.load(Ordering::SeqCst)
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    // Nearly an attempt's timeout later, another server looks: the claim still holds.
    app.clock.advance_ms(9_999);
    let other = wuzhi_app::webhooks::run_once(&app.app, "server-b", &client).await.unwrap();
    assert_eq!(other, Default::default(), "another server takes nothing that is being sent");
    answer.add_permits(N);
    let done = first.await.unwrap();
    assert_eq!(done.delivered, N);
    let mut ids = arrived.lock().unwrap().clone();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), N, "each delivery arrived once");
    assert_eq!(arrived.lock().unwrap().len(), N);
    // Delivered: nothing is left for anyone.
    app.clock.advance_ms(3_600_000);
    assert_eq!(wuzhi_app::webhooks::run_once(&app.app, "server-b", &client).await.unwrap(), Default::default());
}

/// A database from before the work-item heads (migration 15) gets the head of every case
/// from its row and timeline: the same heads the kernel would have written.
#[tokio::test]
async fn an_older_database_gets_a_head_for_every_case() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let dispatcher = app.login("dispatcher").await;
    let mut ids = Vec::new();
    for subject in ["井盖缺失", "路灯不亮", "噪音扰民"] {
        let r = app
            .post(
                &resident,
                "/api/cases",
                json!({"channel": "app", "kind": "report", "subject": subject, "description": "d", "lon": x, "lat": y}),
            )
            .await;
        ids.push(r.body["id"].as_i64().unwrap());
    }
    assert_eq!(
        act(&app, &dispatcher, ids[1], json!({"action": "file", "category": "E0102"})).await.status,
        StatusCode::OK
    );
    assert_eq!(
        act(&app, &dispatcher, ids[2], json!({"action": "reject", "reason": "重复"})).await.status,
        StatusCode::OK
    );
    app.clock.advance_ms(30 * 86_400_000);
    wuzhi_app::sweep::run_once(&app.app).await.unwrap();
    assert_projections_replay(&app).await;

    // Back to the schema before migration 15 (where an outbox row named its case by
    // `case_id`), then upgrade.
    let mut conn = app.app.db.write().await.unwrap();
    for sql in [
        "UPDATE outbox SET case_id = item_id",
        "DROP TABLE work_heads",
        "ALTER TABLE outbox DROP COLUMN item_kind",
        "ALTER TABLE outbox DROP COLUMN item_id",
        "DELETE FROM wuzhi_migrations WHERE version = 15",
    ] {
        sqlx::query(sql).execute(&mut *conn).await.unwrap();
    }
    wuzhi_store::commit(conn).await.unwrap();
    assert_eq!(wuzhi_store::migrate::run(&app.app.db, app.app.now_ms()).await.unwrap(), 1);
    assert_projections_replay(&app).await;
    // The outbox rows written before name their case by kind and id.
    let mut conn = app.app.db.read().await.unwrap();
    let unnamed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE item_kind IS NULL OR item_id IS NULL")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(unnamed, 0);
    drop(conn);
    // The kernel carries on from the heads it found.
    let dispatcher = app.login("dispatcher").await;
    assert_eq!(
        act(&app, &dispatcher, ids[0], json!({"action": "file", "category": "E0102"})).await.status,
        StatusCode::OK
    );
    assert_projections_replay(&app).await;
}
