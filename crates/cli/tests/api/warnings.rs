//! Risk early warning (issue 15): the rules the database itself keeps (one open warning per
//! rule and key, each evidence case once, one detector lease at a time); warnings raised live
//! from reports made through the API — a sensitive phrase fast-tracked at intake and told to
//! the leaders at once, a repeated caller whose one warning grows, a spike against the
//! baseline of imported history and a usual day that raises none — their lifecycle with its
//! timeline, the map layer and the digest, parameters and lexicon edited by administrators
//! only, two servers that raise one warning once, and the replay command.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use wuzhi_store::warnings::{self as w, NewWarning};

const GRID: &str = "120101001001001";
const GRID2: &str = "120101001001002";
/// 2026-11-03 10:00 Beijing time, a Tuesday.
const START: i64 = 1_793_671_200_000;
const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;

async fn count(t: &TestApp, sql: &str) -> i64 {
    let mut conn = t.app.db.read().await.unwrap();
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut *conn).await.unwrap()
}

async fn detect(t: &TestApp) -> wuzhi_app::warnings::Pass {
    wuzhi_app::warnings::run_once(&t.app, "server-a").await.unwrap()
}

async fn warnings_of(t: &TestApp, s: &Session, q: &str) -> Vec<Value> {
    let r = t.get(s, &format!("/api/warnings{q}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body.as_array().unwrap().clone()
}

async fn report(
    t: &TestApp,
    s: &Session,
    grid: &str,
    subject: &str,
    description: &str,
    category: Option<&str>,
) -> Value {
    let (x, y) = point_in(&t.app, grid).await;
    let mut body =
        json!({"channel": "app", "kind": "report", "subject": subject, "description": description, "lon": x, "lat": y});
    if let Some(c) = category {
        body["category"] = json!(c);
    }
    let r = t.post(s, "/api/cases", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body
}

async fn call(t: &TestApp, s: &Session, grid: &str, phone: &str, subject: &str, category: &str) -> Value {
    let (x, y) = point_in(&t.app, grid).await;
    let body = json!({"channel": "hotline", "kind": "complaint", "subject": subject, "description": subject,
        "lon": x, "lat": y, "reporter_name": "来电人", "reporter_phone": phone, "category": category});
    let r = t.post(s, "/api/cases", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body
}

#[tokio::test]
async fn a_sensitive_report_is_fast_tracked_raised_red_told_to_the_leaders_and_handled_to_its_end() {
    let t = spawn_app_at(START).await;
    let resident = t.login("resident").await;
    let case = report(&t, &resident, GRID, "楼道里燃气泄漏", "三楼楼道里燃气泄漏，味道很大，请尽快来人", None).await;
    assert_eq!(case["priority"], "emergency", "flagged at intake: {case}");
    // An ordinary report is not.
    let plain = report(&t, &resident, GRID, "路灯不亮", "小区门口路灯坏了，检查后没有火灾隐患", None).await;
    assert!(plain["priority"].is_null() || plain["priority"] == "normal", "{plain}");
    let pass = detect(&t).await;
    let community = t.login("community").await;
    let ws = warnings_of(&t, &community, "").await;
    assert!(pass.held && pass.raised == 1, "{pass:?} {ws:#?}");
    let keys: Vec<(&str, &str)> =
        ws.iter().map(|w| (w["rule"].as_str().unwrap(), w["key"].as_str().unwrap())).collect();
    assert_eq!(ws.len(), 1, "{keys:?}");
    let wv = &ws[0];
    assert_eq!(
        (wv["rule"].as_str(), wv["level"].as_str(), wv["status"].as_str()),
        (Some("sensitive"), Some("red"), Some("new"))
    );
    assert!(wv["reason"].as_str().unwrap().contains("燃气泄漏"), "{wv}");
    assert!(wv["territory_name"].as_str().unwrap().starts_with("和平区 劝业场街道"), "{wv}");
    let id = wv["id"].as_i64().unwrap();
    // Red: the leaders up to the city hear at once, through the outbox.
    wuzhi_app::notify::run_once(&t.app, "n").await.unwrap();
    for who in ["community", "commander", "district_leader", "city_leader"] {
        let s = t.login(who).await;
        let inbox = t.get(&s, "/api/me/notifications").await.body;
        assert!(
            inbox
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["kind"] == "warnings.raised" && n["body"].as_str().unwrap().contains("红色预警")),
            "{who}: {inbox}"
        );
    }
    // A second pass raises nothing again.
    assert_eq!(detect(&t).await.raised, 0);
    // Not for a grid worker's or a resident's eyes.
    let gw = t.login("gridworker").await;
    assert_eq!(t.get(&gw, &format!("/api/warnings/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.get(&resident, "/api/warnings").await.status, StatusCode::FORBIDDEN);
    // The case's page knows its warning.
    let of = t.get(&community, &format!("/api/cases/{}/warnings", case["id"])).await;
    assert_eq!(of.body[0]["id"], id, "{}", of.text);

    // The lifecycle: acknowledged, assigned to a unit with a deadline, resolved with a reason.
    let page = t.get(&community, &format!("/api/warnings/{id}")).await.body;
    assert_eq!(page["evidence"][0]["id"], case["id"]);
    assert_eq!(page["warning"]["actions"], json!(["acknowledge", "assign", "resolve", "dismiss"]));
    let stale = t
        .post(&community, &format!("/api/warnings/{id}/actions"), json!({"version": 0, "action": "acknowledge"}))
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let v = page["warning"]["version"].as_i64().unwrap();
    let r = t
        .post(
            &community,
            &format!("/api/warnings/{id}/actions"),
            json!({"version": v, "action": "acknowledge", "note": "已电话联系燃气公司"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let unit = t.org_id("120101", "和平区城市管理委员会").await;
    let v = r.body["warning"]["version"].as_i64().unwrap();
    // The units it may go to: its community's, street's, district's and city's, nearest first.
    let units = t.get(&community, &format!("/api/warnings/{id}/units")).await.body;
    let names: Vec<&str> = units.as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names[0], "花园路社区居委会", "{names:?}");
    assert!(names.contains(&"和平区城市管理委员会") && names.contains(&"天津市社会治理指挥中心"), "{names:?}");
    let elsewhere = count(
        &t,
        "SELECT MIN(id) FROM organisations WHERE kind = 'community_committee' AND territory_code <> '120101001001'",
    )
    .await;
    assert!(!units.as_array().unwrap().iter().any(|u| u["id"] == elsewhere));
    let wrong = json!({"version": v, "action": "assign", "org_id": elsewhere, "due_ms": START + DAY});
    let r = t.post(&community, &format!("/api/warnings/{id}/actions"), wrong).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("org_id")), "{}", r.text);
    let past = json!({"version": v, "action": "assign", "org_id": unit, "due_ms": START - 1});
    let bad = t.post(&community, &format!("/api/warnings/{id}/actions"), past).await;
    assert_eq!(
        (bad.status, bad.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("due")),
        "{}",
        bad.text
    );
    let r = t
        .post(
            &community,
            &format!("/api/warnings/{id}/actions"),
            json!({"version": v, "action": "assign", "org_id": unit, "due_ms": START + DAY}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.body["warning"]["status"].as_str(), r.body["warning"]["unit_name"].as_str()),
        (Some("assigned"), Some("和平区城市管理委员会"))
    );
    // The unit hears of it and, as the assigned unit, may resolve it.
    wuzhi_app::notify::run_once(&t.app, "n").await.unwrap();
    let handler = t.login("handler").await;
    let inbox = t.get(&handler, "/api/me/notifications").await.body;
    assert!(inbox.as_array().unwrap().iter().any(|n| n["kind"] == "warnings.assigned"), "{inbox}");
    let hv = t.get(&handler, &format!("/api/warnings/{id}")).await;
    assert_eq!(hv.body["warning"]["actions"], json!(["resolve"]), "{}", hv.text);
    let v = hv.body["warning"]["version"].as_i64().unwrap();
    let empty = t
        .post(
            &handler,
            &format!("/api/warnings/{id}/actions"),
            json!({"version": v, "action": "resolve", "reason": " "}),
        )
        .await;
    assert_eq!(empty.body["error"]["field"], "reason", "{}", empty.text);
    let r = t
        .post(
            &handler,
            &format!("/api/warnings/{id}/actions"),
            json!({"version": v, "action": "resolve", "reason": "燃气公司关阀检修，已排除泄漏"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.body["warning"]["status"].as_str(), r.body["warning"]["open"].as_bool()),
        (Some("resolved"), Some(false))
    );
    let kinds: Vec<&str> = r.body["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["raised", "acknowledged", "assigned", "resolved"]);
    let names: Vec<Value> = r.body["timeline"].as_array().unwrap().iter().map(|e| e["actor_name"].clone()).collect();
    assert_eq!(names, [Value::Null, json!("花园路社区工作者"), json!("花园路社区工作者"), json!("和平区城管委承办人")]);
    assert!(warnings_of(&t, &community, "").await.is_empty(), "no longer open");
    assert_eq!(warnings_of(&t, &community, "?status=resolved").await.len(), 1);
    // A new report of the same matter after it ended raises a new warning.
    t.clock.advance_ms(10 * MIN);
    report(&t, &resident, GRID, "又闻到燃气泄漏", "燃气泄漏的味道又出现了", None).await;
    let pass = detect(&t).await;
    let ws = warnings_of(&t, &community, "").await;
    let keys: Vec<(&str, &str)> =
        ws.iter().map(|w| (w["rule"].as_str().unwrap(), w["key"].as_str().unwrap())).collect();
    assert_eq!(pass.raised, 1, "{keys:?}");
    assert_projections_replay(&t).await;
}

#[tokio::test]
async fn a_repeated_caller_raises_one_warning_that_grows_and_the_map_and_digest_show_it() {
    let t = spawn_app_at(START).await;
    // The detectors run from the start, as on a server.
    detect(&t).await;
    // Three calls in a week from one phone about the same unpaid heating: a repeat.
    for _ in 0..3 {
        let dispatcher = t.login("dispatcher").await;
        call(&t, &dispatcher, GRID, "13912345678", "暖气不热，多次反映未解决", "H010208").await;
        t.clock.advance_ms(2 * DAY);
    }
    let dispatcher = t.login("dispatcher").await;
    // Another caller about the same: not the same person.
    call(&t, &dispatcher, GRID2, "13800138000", "暖气不热", "H010208").await;
    let pass = detect(&t).await;
    assert_eq!(pass.raised, 1, "{pass:?}");
    let leader = t.login("district_leader").await;
    let ws = warnings_of(&t, &leader, "?rule=repeat").await;
    assert_eq!(ws.len(), 1);
    assert_eq!((ws[0]["observed"].as_i64(), ws[0]["cases"].as_i64()), (Some(3), Some(3)), "{}", ws[0]);
    assert!(ws[0]["reason"].as_str().unwrap().starts_with("同一电话"), "{}", ws[0]);
    assert!(!ws[0]["key"].as_str().unwrap().contains("13912345678"), "no phone in the key");
    // The fourth call grows the same warning.
    call(&t, &dispatcher, GRID, "139 1234 5678", "暖气还是不热", "H010208").await;
    let pass = detect(&t).await;
    assert_eq!((pass.raised, pass.grown), (0, 1), "{pass:?}");
    let ws = warnings_of(&t, &leader, "?rule=repeat").await;
    assert_eq!((ws.len(), ws[0]["cases"].as_i64()), (1, Some(4)));
    assert_eq!(count(&t, "SELECT COUNT(*) FROM warnings").await, 1);
    // The map layer colours the street holding it; the digest counts it.
    let layer = t.get(&leader, "/api/warnings/layer?under=120101").await;
    assert_eq!(layer.status, StatusCode::OK, "{}", layer.text);
    assert_eq!(layer.body, json!([{"code": "120101001", "level": ws[0]["level"], "open": 1, "red": 0, "orange": 0}]));
    let d = t.get(&leader, "/api/warnings/digest").await.body;
    assert_eq!((d["raised"].as_i64(), d["by_rule"]["repeat"].as_i64()), (Some(1), Some(1)), "{d}");
    // Bad filters name the field.
    let r = t.get(&leader, "/api/warnings?level=purple").await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("level")));
    // The daily digest: once a day after 08:00, to the leaders of a territory with yellow and
    // blue warnings.
    t.clock.set_ms(START + 7 * DAY - 2 * 3_600_000 + 30 * MIN);
    let told = wuzhi_app::warnings::digest_once(&t.app).await.unwrap();
    assert_eq!(told, 5, "the community, street, district, command centre and city");
    assert_eq!(wuzhi_app::warnings::digest_once(&t.app).await.unwrap(), 0, "once a day");
    let leader = t.login("district_leader").await;
    let inbox = t.get(&leader, "/api/me/notifications").await.body;
    let digest = inbox.as_array().unwrap().iter().find(|n| n["kind"] == "warnings.digest").expect("digest");
    assert!(digest["body"].as_str().unwrap().contains("蓝色预警 1 条"), "{digest}");
}

/// History: one water-supply case every second day in GRID for three weeks, imported.
fn history() -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["external_id", "subject", "category", "territory", "created_at", "status", "closed_at"]).unwrap();
    for i in 0..11 {
        let at = START - (21 - 2 * i) * DAY;
        let day = wuzhi_domain::calendar::format_local(at);
        let (d, time) = day.split_once('T').unwrap();
        let closed = wuzhi_domain::calendar::format_local(at + DAY);
        let (cd, ct) = closed.split_once('T').unwrap();
        w.write_record([
            format!("W{i}"),
            "自来水水压低".into(),
            "H010216".into(),
            GRID.into(),
            format!("{d} {}", &time[..5]),
            "closed".into(),
            format!("{cd} {}", &ct[..5]),
        ])
        .unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

#[tokio::test]
async fn a_spike_against_the_baseline_is_raised_and_a_usual_day_is_not() {
    let t = spawn_app_at(START).await;
    let admin = t.login("admin").await;
    let r = t.post_text(&admin, "/api/cases/import", &history()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let dispatcher = t.login("dispatcher").await;
    // A usual day: one call about water in GRID2, one in GRID.
    call(&t, &dispatcher, GRID, "13900000001", "自来水停水", "H010216").await;
    t.clock.advance_ms(20 * MIN);
    call(&t, &dispatcher, GRID2, "13900000002", "自来水停水", "H010216").await;
    let pass = detect(&t).await;
    assert!(pass.warmed && pass.observed == 2, "{pass:?}");
    assert_eq!(pass.raised, 0, "a usual day raises nothing");
    // A burst: six households of GRID within the hour.
    for i in 0..6 {
        t.clock.advance_ms(8 * MIN);
        call(&t, &dispatcher, GRID, &format!("1390000010{i}"), "整栋楼停水了", "H010216").await;
    }
    let pass = detect(&t).await;
    assert!(pass.raised >= 1, "{pass:?}");
    let leader = t.login("district_leader").await;
    let ws = warnings_of(&t, &leader, "?rule=spike").await;
    let grid_hour: Vec<&Value> = ws
        .iter()
        .filter(|w| w["key"].as_str().unwrap().starts_with(&format!("{GRID}/")) && w["window_ms"] == 3_600_000)
        .collect();
    assert!(!grid_hour.is_empty(), "{ws:?}");
    let w0 = grid_hour[0];
    assert!(w0["observed"].as_i64().unwrap() >= 3 && w0["expected"].as_f64().unwrap() < 0.5, "{w0}");
    assert!(w0["reason"].as_str().unwrap().contains("预计"), "{w0}");
    // Its page charts observed against expected.
    let page = t.get(&leader, &format!("/api/warnings/{}", w0["id"])).await.body;
    assert!(!page["points"].as_array().unwrap().is_empty(), "{page}");
    assert!(page["evidence"].as_array().unwrap().len() >= 3);
    // GRID2 had no burst.
    assert!(!ws.iter().any(|w| w["key"].as_str().unwrap().starts_with(GRID2)), "{ws:?}");
}

#[tokio::test]
async fn two_servers_raise_one_warning_once() {
    let t = spawn_app_at(START).await;
    let (b, b_clock) = open_app(&t.db.url).await;
    b_clock.set_ms(START);
    let resident = t.login("resident").await;
    report(&t, &resident, GRID, "有人要跳楼", "楼顶有人说不想活了要跳楼", None).await;
    // Both servers pass at once: one holds the detectors, the other waits.
    let (pa, pb) = tokio::join!(wuzhi_app::warnings::run_once(&t.app, "a"), wuzhi_app::warnings::run_once(&b, "b"));
    let (pa, pb) = (pa.unwrap(), pb.unwrap());
    assert!(pa.held != pb.held, "{pa:?} {pb:?}");
    assert_eq!(pa.raised + pb.raised, 1);
    // The holder stops; after its lease lapses the other takes over from its cursor and raises
    // nothing twice, but what comes next.
    let (other, other_name, holder, holder_name) =
        if pa.held { (b.clone(), "b", t.app.clone(), "a") } else { (t.app.clone(), "a", b.clone(), "b") };
    t.clock.advance_ms(31_000);
    b_clock.set_ms(START + 31_000);
    let taken = wuzhi_app::warnings::run_once(&other, other_name).await.unwrap();
    assert!(taken.held && taken.warmed && taken.raised == 0, "{taken:?}");
    report(&t, &resident, GRID2, "集体上访", "明天要组织集体上访", None).await;
    let again = wuzhi_app::warnings::run_once(&other, other_name).await.unwrap();
    assert_eq!(again.raised, 1, "{again:?}");
    let waits = wuzhi_app::warnings::run_once(&holder, holder_name).await.unwrap();
    assert_eq!(waits, wuzhi_app::warnings::Pass::default(), "the first waits now");
    assert_eq!(count(&t, "SELECT COUNT(*) FROM warnings").await, 2);
}

#[tokio::test]
async fn only_administrators_edit_parameters_and_lexicon_and_detectors_follow() {
    let t = spawn_app_at(START).await;
    let admin = t.login("admin").await;
    let community = t.login("community").await;
    let rules = t.get(&admin, "/api/warnings/rules").await;
    assert_eq!(rules.status, StatusCode::OK, "{}", rules.text);
    let mut params = rules.body[0]["params"].clone();
    assert_eq!(params["spike"]["min_count"], 3);
    params["spike"]["max_p"] = json!(0.0);
    let bad = t.call(Some(&admin), reqwest::Method::PUT, "/api/warnings/rules/120101", Some(params.clone())).await;
    assert_eq!(
        (bad.status, bad.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("spike.max_p")),
        "{}",
        bad.text
    );
    params["spike"]["max_p"] = json!(1e-5);
    let denied =
        t.call(Some(&community), reqwest::Method::PUT, "/api/warnings/rules/120101", Some(params.clone())).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let ok = t.call(Some(&admin), reqwest::Method::PUT, "/api/warnings/rules/120101", Some(params.clone())).await;
    assert_eq!((ok.status, ok.body["version"].as_i64()), (StatusCode::OK, Some(1)), "{}", ok.text);
    let unknown =
        t.call(Some(&admin), reqwest::Method::PUT, "/api/warnings/rules/120101", Some(json!({"spike": {}}))).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text);
    // A phrase the city adds flags the next report; a community cannot add one.
    let item = json!({"phrase": "高空抛物", "class": "safety", "level": "orange"});
    assert_eq!(
        t.call(Some(&community), reqwest::Method::PUT, "/api/warnings/lexicon", Some(item.clone())).await.status,
        StatusCode::FORBIDDEN
    );
    let bad = t
        .call(
            Some(&admin),
            reqwest::Method::PUT,
            "/api/warnings/lexicon",
            Some(json!({"phrase": "抛", "class": "safety", "level": "orange"})),
        )
        .await;
    assert_eq!(bad.body["error"]["field"], "phrase", "{}", bad.text);
    assert_eq!(
        t.call(Some(&admin), reqwest::Method::PUT, "/api/warnings/lexicon", Some(item)).await.status,
        StatusCode::OK
    );
    t.clock.advance_ms(6_000);
    let resident = t.login("resident").await;
    let c = report(&t, &resident, GRID, "楼上高空抛物", "有人从楼上高空抛物砸到车", None).await;
    assert_eq!(c["priority"], "urgent", "{c}");
    let pass = detect(&t).await;
    assert_eq!(pass.raised, 1, "{pass:?}");
    let ws = warnings_of(&t, &community, "").await;
    assert_eq!(
        (ws[0]["rule"].as_str(), ws[0]["level"].as_str(), ws[0]["detail"].as_str()),
        (Some("sensitive"), Some("orange"), Some("高空抛物"))
    );
    // Orange: the leaders up to the district hear, not the city.
    wuzhi_app::notify::run_once(&t.app, "n").await.unwrap();
    let city = t.login("city_leader").await;
    let inbox = t.get(&city, "/api/me/notifications").await.body;
    assert!(!inbox.as_array().unwrap().iter().any(|n| n["kind"] == "warnings.raised"), "{inbox}");
    let district = t.login("district_leader").await;
    let inbox = t.get(&district, "/api/me/notifications").await.body;
    assert!(inbox.as_array().unwrap().iter().any(|n| n["kind"] == "warnings.raised"), "{inbox}");
    assert_eq!(
        t.call(Some(&admin), reqwest::Method::DELETE, "/api/warnings/rules/120101", None).await.status,
        StatusCode::NO_CONTENT
    );
}

fn new<'a>(key: &'a str, now: i64) -> NewWarning<'a> {
    NewWarning {
        rule: "spike",
        key,
        level: "blue",
        territory: "120101001001001",
        category: Some("H01"),
        detail: "",
        status: "new",
        observed: 3,
        expected: 0.004,
        window_ms: 3_600_000,
        p: Some(1.2e-8),
        rule_version: 0,
        first_case_at_ms: now - 600_000,
        now_ms: now,
    }
}

#[tokio::test]
async fn the_database_keeps_one_open_warning_per_key_each_case_once_and_one_detector() {
    let app = spawn_app().await;
    let now = app.app.now_ms();
    let mut tx = app.app.db.write().await.unwrap();
    let first = w::insert(&mut tx, &new("120101001001001/H01/1h", now)).await.unwrap();
    assert!(first.is_some());
    // A second raise of the same rule and key, as a second server would try: refused by the index.
    assert_eq!(w::insert(&mut tx, &new("120101001001001/H01/1h", now)).await.unwrap(), None);
    // Another key is another warning.
    assert!(w::insert(&mut tx, &new("120101001001002/H01/1h", now)).await.unwrap().is_some());
    let id = first.unwrap();
    assert_eq!(w::add_cases(&mut tx, id, &[(1, now - 600_000), (2, now - 300_000), (3, now)]).await.unwrap(), 3);
    assert_eq!(
        w::add_cases(&mut tx, id, &[(2, now - 300_000), (3, now), (4, now)]).await.unwrap(),
        1,
        "each case once"
    );
    w::update_evidence(&mut tx, id, 4, 0.004, Some(1e-10), now - 900_000, now).await.unwrap();
    // Once it has ended, the same key may raise a new warning.
    w::set_projection(&mut tx, id, "resolved", false, "blue", None, now).await.unwrap();
    assert!(w::insert(&mut tx, &new("120101001001001/H01/1h", now)).await.unwrap().is_some());
    let cases = w::cases(&mut tx, id, 100).await.unwrap();
    assert_eq!(cases.iter().map(|c| c.0).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    assert_eq!(w::points(&mut tx, id).await.unwrap(), vec![(now, 4, 0.004)]);
    // One detector at a time: server A holds the lease, B is refused until it lapses.
    let a = w::take_lease(&mut tx, "a", now, now + 30_000).await.unwrap().expect("free lease");
    assert_eq!((a.cursor_ms, a.cursor_id), (0, 0));
    assert!(w::take_lease(&mut tx, "b", now + 1_000, now + 31_000).await.unwrap().is_none());
    assert!(w::advance(&mut tx, "a", (now, 17)).await.unwrap());
    assert!(!w::advance(&mut tx, "b", (now, 18)).await.unwrap(), "only the holder moves the cursor");
    let b = w::take_lease(&mut tx, "b", now + 30_001, now + 60_000).await.unwrap().expect("lapsed lease");
    assert_eq!((b.cursor_ms, b.cursor_id), (now, 17));
    assert!(!w::advance(&mut tx, "a", (now, 19)).await.unwrap(), "a lapsed holder no longer moves it");
    // The digest of a day is claimed once.
    assert!(w::claim_digest(&mut tx, 20_000).await.unwrap());
    assert!(!w::claim_digest(&mut tx, 20_000).await.unwrap());
    // Parameters per territory keep a version.
    assert_eq!(w::set_rules(&mut tx, "120101", "{}", None, now).await.unwrap(), 1);
    assert_eq!(w::set_rules(&mut tx, "120101", "{}", None, now).await.unwrap(), 2);
    assert_eq!(
        w::put_lexicon(&mut tx, "燃气泄漏", "safety", "red", "[]", true, None, now).await.unwrap(),
        w::put_lexicon(&mut tx, "燃气泄漏", "safety", "orange", "[]", true, None, now).await.unwrap()
    );
    let lexicon = w::lexicon(&mut tx).await.unwrap();
    assert_eq!(lexicon.iter().find(|e| e.phrase == "燃气泄漏").unwrap().level, "orange");
    wuzhi_store::commit(tx).await.unwrap();
}

#[test]
fn the_replay_command_runs_the_detectors_over_a_csv_and_names_bad_rows() {
    let dir = std::env::temp_dir().join(format!("wuzhi-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = dir.join("cases.csv");
    let out = dir.join("warnings.csv");
    std::fs::write(
        &cases,
        format!(
            "external_id,subject,description,category,territory,created_at,reporter_phone\n\
             A1,暖气不热,家里暖气不热,H010208,{GRID},2026-11-02 09:00,13912345678\n\
             A2,暖气还是不热,暖气不热第二次反映,H010208,{GRID},2026-11-04 09:00,13912345678\n\
             A3,暖气不热,第三次反映暖气,H010208,{GRID},2026-11-06 09:00,139-1234-5678\n\
             B1,有人要跳楼,楼顶有人说不想活了,,{GRID2},2026-11-06 10:00,13800000000\n\
             C1,路灯不亮,门口路灯坏了,,{GRID2},2026-11-06 11:00,\n"
        ),
    )
    .unwrap();
    let (ok, stdout, stderr) = wuzhi(
        &["warnings", "replay", "--cases", cases.to_str().unwrap(), "--out", out.to_str().unwrap(), "--districts", "1"],
        "",
    );
    assert!(ok, "{stdout}{stderr}");
    assert!(stderr.contains("replayed 5 cases"), "{stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("rule,level,territory,category,first_case_at,raised_at,case_ids"));
    let rows: Vec<&str> = lines.collect();
    assert!(
        rows.contains(&format!("repeat,blue,{GRID},H01,2026-11-02 09:00:00,2026-11-06 09:00:00,A1;A2;A3").as_str()),
        "{text}"
    );
    assert!(
        rows.contains(&format!("sensitive,red,{GRID2},,2026-11-06 10:00:00,2026-11-06 10:00:00,B1").as_str()),
        "{text}"
    );
    assert_eq!(rows.len(), 2, "{text}");
    // A bad row is named by line and field, and nothing is written.
    std::fs::write(
        &cases,
        "external_id,subject,territory,created_at\nX,停水,999999,2026-11-02 09:00\nY,停水,120101001001001,昨天\n",
    )
    .unwrap();
    std::fs::remove_file(&out).unwrap();
    let (ok, _, stderr) = wuzhi(
        &["warnings", "replay", "--cases", cases.to_str().unwrap(), "--out", out.to_str().unwrap(), "--districts", "1"],
        "",
    );
    assert!(!ok);
    assert!(stderr.contains("line 2") && stderr.contains("territory"), "{stderr}");
    assert!(stderr.contains("line 3") && stderr.contains("created_at"), "{stderr}");
    assert!(!out.exists());
    // Another city's own territories, from a file as `territory import` reads it.
    let territories = dir.join("territories.csv");
    std::fs::write(
        &territories,
        "code,name,level,parent_code\n110000,北京市,city,\n110101,东城区,district,110000\n\
         110101001,东华门街道,township,110101\n110101001001,多福巷社区,village,110101001\n",
    )
    .unwrap();
    std::fs::write(&cases, "external_id,subject,description,territory,created_at\nX1,有人要跳楼,楼顶有人说不想活了,110101001001,2026-11-06 10:00\n").unwrap();
    let (ok, _, stderr) = wuzhi(
        &[
            "warnings",
            "replay",
            "--cases",
            cases.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--territories",
            territories.to_str().unwrap(),
        ],
        "",
    );
    assert!(ok, "{stderr}");
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("sensitive,red,110101001001,,2026-11-06 10:00:00,2026-11-06 10:00:00,X1")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
