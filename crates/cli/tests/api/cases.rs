//! The case hub over HTTP: each role's part of the closed loop, returns and assignment,
//! extensions, hotline intake by address, fixing on the spot, idempotent retries, merging,
//! and refusals that change nothing.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use wuzhi_app::Clock;

/// A point inside a grid: the mean of its polygon's vertices (the demo grids are convex
/// enough for that).
pub async fn point_in(app: &TestApp, s: &Session, grid: &str) -> (f64, f64) {
    let g = app.get(s, &format!("/api/territories/{grid}?geometry=true")).await.body;
    let ring = g["geometry"]["coordinates"][0][0].as_array().unwrap().clone();
    let n = (ring.len() - 1) as f64;
    let x = ring[..ring.len() - 1].iter().map(|p| p[0].as_f64().unwrap()).sum::<f64>() / n;
    let y = ring[..ring.len() - 1].iter().map(|p| p[1].as_f64().unwrap()).sum::<f64>() / n;
    (x, y)
}

async fn act(app: &TestApp, s: &Session, id: i64, body: Value) -> Reply {
    app.post(s, &format!("/api/cases/{id}/actions"), body).await
}

fn kinds(case: &Value) -> Vec<String> {
    case["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_residents_report_goes_round_the_whole_loop() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let report = json!({"channel": "app", "kind": "report", "subject": "楼下垃圾堆积", "description": "花园路小区门口垃圾三天无人清理，气味很大。",
        "category": "E0102", "lon": x, "lat": y, "idempotency_key": "phone-42-1"});
    let r = app.post(&resident, "/api/cases", report.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["status"], "reported");
    assert_eq!(r.body["territory_code"], "120101001001001");
    assert_eq!(r.body["actions"], json!(["comment"]));
    // A retried submission returns the same case.
    let again = app.post(&resident, "/api/cases", report).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["id"], id);

    let dispatcher = app.login("dispatcher").await;
    let seen = app.get(&dispatcher, &format!("/api/cases/{id}")).await.body;
    assert!(seen["actions"].as_array().unwrap().contains(&json!("file")));
    assert_eq!(seen["category_code"], "E0102", "the reporter's suggestion");
    let r = act(&app, &dispatcher, id, json!({"action": "file"})).await;
    assert_eq!(r.body["status"], "filed", "{}", r.text);
    assert_eq!(r.body["category_code"], "E0102");
    // Dispatch by the rules: 暴露垃圾 is the street office's on its own township.
    let r = act(&app, &dispatcher, id, json!({"action": "dispatch"})).await;
    assert_eq!(r.body["status"], "dispatched", "{}", r.text);
    assert_eq!(r.body["owner_org_id"], app.org_id("120101001", "劝业场街道办事处").await);
    // Handling before accepting is refused and changes nothing.
    let commander = app.login("commander").await;
    let early = act(&app, &commander, id, json!({"action": "handle", "result": "已清理"})).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert_eq!(early.body["error"]["field"], "action");
    // Only the owning unit accepts.
    assert_eq!(act(&app, &dispatcher, id, json!({"action": "accept"})).await.status, StatusCode::FORBIDDEN);
    let r = act(&app, &commander, id, json!({"action": "accept"})).await;
    assert_eq!(r.body["status"], "handling", "{}", r.text);
    let r = act(&app, &commander, id, json!({"action": "handle", "result": "已清运垃圾"})).await;
    assert_eq!(r.body["status"], "handled");
    // The grid worker checks on site and sends it back once.
    let gw = app.login("gridworker").await;
    let r = act(&app, &gw, id, json!({"action": "rework", "reason": "墙角仍有垃圾"})).await;
    assert_eq!((r.body["status"].as_str(), r.body["reworks"].as_i64()), (Some("handling"), Some(1)));
    act(&app, &commander, id, json!({"action": "handle", "result": "已彻底清理并消毒"})).await;
    let r = act(&app, &gw, id, json!({"action": "verify", "note": "现场核查合格"})).await;
    assert_eq!(r.body["status"], "closed", "{}", r.text);
    // The resident rates it, once.
    let mine = app.get(&resident, &format!("/api/cases/{id}")).await.body;
    assert!(mine["actions"].as_array().unwrap().contains(&json!("rate")));
    let r = act(&app, &resident, id, json!({"action": "rate", "satisfaction": "satisfied", "text": "处理及时"})).await;
    assert_eq!(r.body["satisfaction"], "satisfied");
    assert_eq!(
        act(&app, &resident, id, json!({"action": "rate", "satisfaction": "dissatisfied"})).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        kinds(&r.body),
        ["reported", "filed", "dispatched", "accepted", "handled", "reworked", "handled", "verified", "rated"]
    );
    // The reporter follows it in "my cases".
    let list = app.get(&resident, "/api/cases").await.body;
    assert_eq!(list.as_array().unwrap().iter().filter(|c| c["id"] == id).count(), 1);
    // Every row is still the replay of its timeline.
    assert_projections_replay(&app).await;
}

#[tokio::test]
async fn three_returns_then_the_centre_assigns_and_extensions_need_approval() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001002").await;
    let r2 = app.login("resident2").await;
    let id = app
        .post(&r2, "/api/cases", json!({"channel": "app", "kind": "request", "subject": "井盖缺失", "description": "路口雨水井盖丢失，很危险。", "lon": x, "lat": y}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let dispatcher = app.login("dispatcher").await;
    let bad = act(&app, &dispatcher, id, json!({"action": "file", "category": "E01"})).await;
    assert_eq!(bad.body["error"]["field"], "category", "a class is not a leaf: {}", bad.text);
    act(&app, &dispatcher, id, json!({"action": "file", "category": "C0103"})).await;
    let handler = app.login("handler").await;
    let cmc = app.org_id("120101", "和平区城市管理委员会").await;
    for i in 0..3 {
        let d = act(&app, &dispatcher, id, json!({"action": "dispatch"})).await;
        assert_eq!(d.body["owner_org_id"], cmc, "round {i}: {}", d.text);
        let no_reason = act(&app, &handler, id, json!({"action": "return", "reason": " "})).await;
        assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
        let r = act(&app, &handler, id, json!({"action": "return", "reason": "属水务部门职责"})).await;
        assert_eq!(r.body["status"], "filed");
    }
    let refused = act(&app, &dispatcher, id, json!({"action": "dispatch"})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body["error"]["reason"].as_str().unwrap().contains("must assign an owner"));
    let r = act(&app, &dispatcher, id, json!({"action": "dispatch", "org_id": cmc, "assign": true})).await;
    assert_eq!(r.body["status"], "dispatched", "{}", r.text);
    let r = act(&app, &handler, id, json!({"action": "accept"})).await;
    let due = r.body["due_at_ms"].as_i64().unwrap();
    let r = act(&app, &handler, id, json!({"action": "request_extension", "working_days": 2, "reason": "需采购井盖"}))
        .await;
    assert!(r.body["extension_until_ms"].as_i64().unwrap() > due);
    // The handler cannot approve their own extension; the dispatcher can.
    assert_eq!(
        act(&app, &handler, id, json!({"action": "decide_extension", "granted": true})).await.status,
        StatusCode::FORBIDDEN
    );
    let r = act(&app, &dispatcher, id, json!({"action": "decide_extension", "granted": true, "note": "同意"})).await;
    assert!(r.body["due_at_ms"].as_i64().unwrap() > due);
    act(&app, &handler, id, json!({"action": "handle", "result": "已更换井盖"})).await;
    // The reporter may verify their own case.
    let r = act(&app, &r2, id, json!({"action": "verify"})).await;
    assert_eq!(r.body["status"], "closed", "{}", r.text);
    assert_eq!(r.body["returns"], 0);
    // Every row is still the replay of its timeline.
    assert_projections_replay(&app).await;
}

#[tokio::test]
async fn hotline_calls_are_located_by_address_and_the_caller_is_protected() {
    let app = spawn_app().await;
    let dispatcher = app.login("dispatcher").await;
    let call = json!({"channel": "hotline", "kind": "complaint", "subject": "夜间施工噪音", "description": "每晚十一点后仍在施工。",
        "address": "和平区劝业场街道花园路社区滨江道附近", "reporter_name": "张三", "reporter_phone": "13912345678"});
    let r = app.post(&dispatcher, "/api/cases", call.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["territory_code"], "120101001001", "the community named in the address");
    assert_eq!(r.body["reporter"]["phone"], "139****5678");
    assert_eq!(r.body["reporter"]["name"], "张*");
    let nowhere = app
        .post(
            &dispatcher,
            "/api/cases",
            json!({"channel": "hotline", "kind": "complaint", "subject": "x", "description": "y", "address": "火星"}),
        )
        .await;
    assert_eq!(nowhere.body["error"]["field"], "address");
    // A resident cannot take hotline calls.
    let resident = app.login("resident").await;
    assert_eq!(app.post(&resident, "/api/cases", call).await.status, StatusCode::FORBIDDEN);
    // The community worker sees it masked and may not reveal; the dispatcher may, audited.
    let cw = app.login("community").await;
    assert_eq!(app.get(&cw, &format!("/api/cases/{id}")).await.body["reporter"]["phone"], "139****5678");
    let full = app.get(&dispatcher, &format!("/api/cases/{id}?reveal=true")).await;
    assert_eq!(full.body["reporter"]["phone"], "13912345678");
    let log = app.get(&app.login("auditor").await, "/api/audit?limit=1000").await.body;
    assert!(log.as_array().unwrap().iter().any(|e| e["action"] == "read_personal_data"
        && e["object_type"] == "case"
        && e["object_id"] == id.to_string()));
}

#[tokio::test]
async fn grid_workers_fix_on_the_spot_but_only_in_their_own_grid() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let (x2, y2) = point_in(&app, &admin, "120101001001002").await;
    let gw = app.login("gridworker").await;
    let r = app
        .post(&gw, "/api/cases", json!({"channel": "grid", "kind": "report", "subject": "小广告", "description": "电线杆上张贴小广告", "category": "E0201",
            "lon": x, "lat": y, "fixed_on_spot": "已当场清除"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["status"], "closed");
    assert_eq!(kinds(&r.body), ["reported", "filed", "dispatched", "accepted", "handled", "verified"]);
    let outside = app
        .post(
            &gw,
            "/api/cases",
            json!({"channel": "grid", "kind": "report", "subject": "x", "description": "y", "lon": x2, "lat": y2}),
        )
        .await;
    assert_eq!(outside.status, StatusCode::FORBIDDEN);
    let no_cat = app.post(&gw, "/api/cases", json!({"channel": "grid", "kind": "report", "subject": "x", "description": "y", "lon": x, "lat": y, "fixed_on_spot": "done"})).await;
    assert_eq!(no_cat.body["error"]["field"], "category");
    // Every row is still the replay of its timeline.
    assert_projections_replay(&app).await;
}

#[tokio::test]
async fn duplicates_merge_into_a_main_case_and_bad_input_is_named() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let mk = |subject: &str| json!({"channel": "app", "kind": "report", "subject": subject, "description": "自来水管爆裂，路面积水", "lon": x, "lat": y});
    let main = app.post(&resident, "/api/cases", mk("水管爆裂")).await.body["id"].as_i64().unwrap();
    let dup = app.post(&resident, "/api/cases", mk("路口水管爆了")).await.body["id"].as_i64().unwrap();
    let dispatcher = app.login("dispatcher").await;
    let r = act(&app, &dispatcher, dup, json!({"action": "merge", "into": main})).await;
    assert_eq!(r.body["status"], "merged", "{}", r.text);
    assert_eq!(r.body["merged_into"], main);
    let m = app.get(&dispatcher, &format!("/api/cases/{main}")).await.body;
    assert_eq!(kinds(&m), ["reported", "commented"]);
    assert_eq!(
        act(&app, &dispatcher, main, json!({"action": "merge", "into": main})).await.body["error"]["field"],
        "into"
    );
    assert_eq!(act(&app, &dispatcher, main, json!({"action": "fly"})).await.status, StatusCode::BAD_REQUEST);
    for (body, field) in [
        (json!({"channel": "app", "kind": "rumour", "subject": "x", "description": "y", "lon": x, "lat": y}), "kind"),
        (json!({"channel": "app", "kind": "report", "subject": "", "description": "y", "lon": x, "lat": y}), "subject"),
        (json!({"channel": "app", "kind": "report", "subject": "x", "description": "y", "lon": x}), "lat"),
        (
            json!({"channel": "app", "kind": "report", "subject": "x", "description": "y", "lon": 116.4, "lat": 39.9}),
            "lon",
        ),
        (
            json!({"channel": "app", "kind": "report", "subject": "x", "description": "y", "lon": x, "lat": y, "category": "ZZ"}),
            "category",
        ),
        (
            json!({"channel": "fax", "kind": "report", "subject": "x", "description": "y", "lon": x, "lat": y}),
            "channel",
        ),
    ] {
        let r = app.post(&resident, "/api/cases", body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}: {}", r.text);
        assert_eq!(r.body["error"]["field"], field, "{}", r.text);
    }
    // Every row is still the replay of its timeline.
    assert_projections_replay(&app).await;
}

#[tokio::test]
async fn lists_show_each_role_only_its_cases() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x1, y1) = point_in(&app, &admin, "120101001001001").await;
    let (x2, y2) = point_in(&app, &admin, "120101001001002").await;
    let r1 = app.login("resident").await;
    let r2 = app.login("resident2").await;
    let c1 = app
        .post(
            &r1,
            "/api/cases",
            json!({"channel": "app", "kind": "report", "subject": "一", "description": "一", "lon": x1, "lat": y1}),
        )
        .await
        .body["id"]
        .clone();
    let c2 = app
        .post(
            &r2,
            "/api/cases",
            json!({"channel": "app", "kind": "report", "subject": "二", "description": "二", "lon": x2, "lat": y2}),
        )
        .await
        .body["id"]
        .clone();
    let ids = |v: Value| -> Vec<Value> { v.as_array().unwrap().iter().map(|c| c["id"].clone()).collect() };
    let map = app.get(&app.login("district_leader").await, "/api/kpi/open-per-grid").await.body;
    assert_eq!(map, json!([{"code": "120101001001001", "open": 1}, {"code": "120101001001002", "open": 1}]));
    assert_eq!(
        app.get(&app.login("gridworker").await, "/api/kpi/open-per-grid").await.body,
        json!([{"code": "120101001001001", "open": 1}])
    );
    assert_eq!(ids(app.get(&r1, "/api/cases").await.body), vec![c1.clone()]);
    assert_eq!(ids(app.get(&app.login("gridworker").await, "/api/cases").await.body), vec![c1.clone()]);
    assert_eq!(ids(app.get(&app.login("gridworker2").await, "/api/cases").await.body), vec![c2.clone()]);
    assert_eq!(ids(app.get(&app.login("community").await, "/api/cases").await.body), vec![c2.clone(), c1.clone()]);
    assert_eq!(ids(app.get(&app.login("dispatcher").await, "/api/cases?status=reported").await.body), vec![c2, c1]);
    assert_eq!(app.get(&r1, "/api/cases?status=nonsense").await.body["error"]["field"], "status");
    let cats = app.get(&r1, "/api/categories").await.body;
    let leaf = cats.as_array().unwrap().iter().find(|c| c["code"] == "E0502").unwrap();
    assert_eq!(
        (leaf["accept_limit"].as_str(), leaf["emergency"].as_bool(), leaf["leaf"].as_bool()),
        (Some("30m"), Some(true), Some(true))
    );
}

/// Wednesday 2026-11-25 10:00 in Tianjin (02:00 UTC): a working morning.
const WEDNESDAY_10AM: i64 = 20_782 * 86_400_000 + 2 * 3_600_000;

#[tokio::test]
async fn the_sweep_warns_marks_overdue_and_escalates() {
    let app = spawn_app_at(WEDNESDAY_10AM).await;
    assert_eq!(wuzhi_domain::calendar::format_local(WEDNESDAY_10AM), "2026-11-25T10:00:00+08:00");
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let id = app
        .post(&resident, "/api/cases", json!({"channel": "app", "kind": "report", "subject": "暴露垃圾", "description": "路边垃圾", "category": "E0102", "lon": x, "lat": y}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let dispatcher = app.login("dispatcher").await;
    act(&app, &dispatcher, id, json!({"action": "file", "category": "E0102"})).await;
    let d = act(&app, &dispatcher, id, json!({"action": "dispatch"})).await;
    assert_eq!(d.body["due_at"], "2026-11-25T11:00:00+08:00", "accept within one working hour");
    let sweep = |app: &TestApp| {
        let a = app.app.clone();
        async move { wuzhi_app::sweep::run_once(&a).await.unwrap() }
    };
    app.clock.advance_ms(30 * 60_000);
    let o = sweep(&app).await;
    assert_eq!((o.warned, o.marked_overdue, o.escalated), (1, 0, 0));
    assert_eq!(sweep(&app).await.warned, 0, "warned once per stage");
    app.clock.advance_ms(60 * 60_000);
    let o = sweep(&app).await;
    assert_eq!((o.marked_overdue, o.escalated), (1, 0));
    let dispatcher = app.login("dispatcher").await; // idle for an hour and a half
    let c = app.get(&dispatcher, &format!("/api/cases/{id}")).await.body;
    assert_eq!(c["overdue"], true);
    assert_eq!(kinds(&c).last().unwrap(), "marked_overdue");
    assert_eq!(sweep(&app).await, wuzhi_app::sweep::Outcome::default(), "nothing more until a working day passes");
    // Thursday noon: overdue by more than a working day, so up to the district centre.
    app.clock.set_ms(WEDNESDAY_10AM + 26 * 3_600_000);
    let o = sweep(&app).await;
    assert_eq!(o.escalated, 1);
    let dispatcher = app.login("dispatcher").await; // a day later: the old session has expired
    let c = app.get(&dispatcher, &format!("/api/cases/{id}")).await.body;
    assert_eq!(c["owner_org_id"], app.org_id("120101", "和平区社会治理中心").await);
    assert_eq!((c["status"].as_str(), c["overdue"].as_bool()), (Some("dispatched"), Some(false)));
    // The street office's staff were warned; the commander's inbox has it.
    let commander = app.login("commander").await;
    let inbox = app.get(&commander, "/api/me/notifications").await.body;
    assert!(inbox.as_array().unwrap().iter().any(|n| n["kind"] == "due_soon" && n["case_id"] == id), "{inbox}");
    // Every row is still the replay of its timeline.
    assert_projections_replay(&app).await;
}

#[tokio::test]
async fn the_outbox_notifies_each_person_once_even_with_two_workers() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let dispatcher = app.login("dispatcher").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let id = app
            .post(&resident, "/api/cases", json!({"channel": "app", "kind": "report", "subject": format!("垃圾{i}"), "description": "d", "category": "E0102", "lon": x, "lat": y}))
            .await
            .body["id"]
            .as_i64()
            .unwrap();
        act(&app, &dispatcher, id, json!({"action": "file", "category": "E0102"})).await;
        act(&app, &dispatcher, id, json!({"action": "dispatch"})).await;
        ids.push(id);
    }
    let (a, b) = (app.app.clone(), app.app.clone());
    let (o1, o2) =
        tokio::join!(async move { wuzhi_app::notify::run_once(&a, "server-a").await.unwrap() }, async move {
            wuzhi_app::notify::run_once(&b, "server-b").await.unwrap()
        });
    assert_eq!(o1.processed + o2.processed, 15, "5 reports, 5 filings, 5 dispatches");
    assert_eq!(wuzhi_app::notify::run_once(&app.app, "server-a").await.unwrap().processed, 0);
    let mine = app.get(&resident, "/api/me/notifications?limit=100").await.body;
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 10, "filed and dispatched, for each of five cases");
    let commander = app.login("commander").await;
    let theirs = app.get(&commander, "/api/me/notifications?unread=true").await.body;
    let theirs = theirs.as_array().unwrap();
    assert_eq!(theirs.len(), 5);
    assert!(theirs.iter().all(|n| n["kind"] == "dispatched"));
    let first = theirs[0]["id"].as_i64().unwrap();
    assert_eq!(
        app.post(&commander, &format!("/api/me/notifications/{first}/read"), json!({})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&commander, "/api/me/notifications?unread=true").await.body.as_array().unwrap().len(), 4);
    // Someone else's message cannot be marked.
    assert_eq!(
        app.post(&resident, &format!("/api/me/notifications/{first}/read"), json!({})).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn indicators_match_a_fixture_computed_by_hand() {
    let app = spawn_app_at(WEDNESDAY_10AM).await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let dispatcher = app.login("dispatcher").await;
    let commander = app.login("commander").await;
    let gw = app.login("gridworker").await;
    let min = 60_000;
    let mut ids = Vec::new();
    for s in ["A", "B", "C", "D", "E"] {
        let r = app
            .post(&resident, "/api/cases", json!({"channel": "app", "kind": "report", "subject": s, "description": "d", "category": "E0102", "lon": x, "lat": y}))
            .await;
        ids.push(r.body["id"].as_i64().unwrap());
    }
    let [a, b, c, d, e] = ids[..] else { unreachable!() };
    app.clock.advance_ms(5 * min);
    for id in [a, b, c, e] {
        act(&app, &dispatcher, id, json!({"action": "file", "category": "E0102"})).await;
        act(&app, &dispatcher, id, json!({"action": "dispatch"})).await;
    }
    app.clock.advance_ms(5 * min); // 10:10
    act(&app, &commander, b, json!({"action": "return", "reason": "先退回"})).await;
    act(&app, &dispatcher, b, json!({"action": "dispatch"})).await;
    for id in [a, b, c, e] {
        let r = act(&app, &commander, id, json!({"action": "accept"})).await;
        assert_eq!(r.body["status"], "handling", "{}", r.text);
    }
    act(&app, &dispatcher, e, json!({"action": "park", "reason": "待年度资金"})).await;
    act(&app, &commander, a, json!({"action": "handle", "result": "ok"})).await;
    act(&app, &commander, b, json!({"action": "handle", "result": "ok"})).await;
    app.clock.advance_ms(10 * min); // 10:20: A closes 15 minutes after filing
    act(&app, &gw, a, json!({"action": "verify"})).await;
    act(&app, &gw, b, json!({"action": "rework", "reason": "不彻底"})).await;
    act(&app, &commander, b, json!({"action": "handle", "result": "ok"})).await;
    app.clock.advance_ms(10 * min); // 10:30: B closes 25 minutes after filing
    let r = act(&app, &gw, b, json!({"action": "verify"})).await;
    assert_eq!(r.body["status"], "closed");
    let resident = app.login("resident").await; // half an hour after reporting
    act(&app, &resident, a, json!({"action": "rate", "satisfaction": "satisfied"})).await;
    act(&app, &resident, b, json!({"action": "rate", "satisfaction": "dissatisfied"})).await;
    app.clock.set_ms(WEDNESDAY_10AM + 120 * min); // 12:00: D is filed an hour late
    // Idle for an hour and a half: signed in again.
    let (dispatcher, commander) = (app.login("dispatcher").await, app.login("commander").await);
    act(&app, &dispatcher, d, json!({"action": "file", "category": "E0102"})).await;
    act(&app, &dispatcher, d, json!({"action": "dispatch"})).await;
    act(&app, &commander, d, json!({"action": "accept"})).await;

    let dl = app.login("district_leader").await;
    let k = app.get(&dl, "/api/kpi?territory=120101&from=2026-11-25&to=2026-11-26").await;
    assert_eq!(k.status, StatusCode::OK, "{}", k.text);
    let i = &k.body["indicators"];
    let counts: Vec<i64> = [
        "filed",
        "filed_on_time",
        "should_close",
        "closed",
        "closed_on_time",
        "closed_late",
        "reworked",
        "dispatches",
        "returns",
        "rated",
        "satisfied",
    ]
    .iter()
    .map(|f| i[*f].as_i64().unwrap())
    .collect();
    // Five filed, D late; A, B closed; C and D due by Thursday's end; E parked; B reworked
    // and returned once; six dispatches; two ratings, one satisfied.
    assert_eq!(counts, vec![5, 4, 4, 2, 2, 0, 1, 6, 1, 2, 1], "{i}");
    assert_eq!(i["closing_rate"], 0.5);
    assert_eq!(i["on_time_closing_rate"], 0.5);
    assert_eq!(i["late_closing_rate"], 0.0);
    assert_eq!(i["rework_rate"], 0.25);
    assert_eq!(i["on_time_filing_rate"], 0.8);
    assert_eq!(i["accurate_dispatch_rate"], 0.8333);
    assert_eq!(i["satisfaction_rate"], 0.5);
    assert_eq!(i["mean_handling_hours"], 0.33, "(15 + 25) / 2 minutes");
    assert_eq!(i["p90_handling_hours"], 0.42, "25 minutes");
    // The roll-ups the district figures came from agree with a rebuild from the cases.
    let mut tx = app.app.db.write().await.unwrap();
    wuzhi_store::rollup::rebuild(&mut tx).await.unwrap();
    wuzhi_store::commit(tx).await.unwrap();
    let again = app.get(&dl, "/api/kpi?territory=120101&from=2026-11-25&to=2026-11-26").await;
    assert_eq!(again.body["indicators"], k.body["indicators"]);
    // The period is the cohort filed in it.
    let before = app.get(&dl, "/api/kpi?territory=120101&from=2026-11-01&to=2026-11-24").await.body;
    assert_eq!(before["indicators"]["filed"], 0);
    let org = app.org_id("120101001", "劝业场街道办事处").await;
    let by_org = app.get(&dl, "/api/kpi/ranking?by=org&territory=120101&from=2026-11-25&to=2026-11-26").await.body;
    assert_eq!(by_org[0]["key"], org.to_string());
    assert_eq!(by_org[0]["name"], "劝业场街道办事处");
    assert_eq!(by_org[0]["indicators"]["closed"], 2);
    let by_t =
        app.get(&dl, "/api/kpi/ranking?by=township&from=2026-11-25&to=2026-11-26&sort=satisfaction_rate").await.body;
    assert_eq!((by_t[0]["rank"].as_i64(), by_t[0]["name"].as_str()), (Some(1), Some("劝业场街道")));
    let csv = app
        .client
        .get(format!("{}/api/kpi/ranking?by=township&from=2026-11-25&to=2026-11-26&format=csv", app.base))
        .header("cookie", &dl.cookie)
        .send()
        .await
        .unwrap();
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("\u{feff}名次,编码,名称,立案数"), "{csv}");
    assert!(
        csv.contains("1,120101001,劝业场街道,5,4,4,2,2,0,1,6,1,2,1,0.5000,0.5000,0.0000,0.2500,0.8333,0.5000"),
        "{csv}"
    );
    let xlsx = app
        .client
        .get(format!("{}/api/kpi/ranking?by=org&from=2026-11-25&to=2026-11-26&format=xlsx", app.base))
        .header("cookie", &dl.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.headers()["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert_eq!(&xlsx.bytes().await.unwrap()[..2], b"PK", "a zip container");
    // A grid worker evaluates only their grid.
    let gw = app.login("gridworker").await;
    assert_eq!(app.get(&gw, "/api/kpi?territory=120101").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&gw, "/api/kpi?territory=120101001001001&from=2026-11-25&to=2026-11-26").await.body["indicators"]["filed"],
        5
    );
    assert_eq!(app.get(&dl, "/api/kpi/ranking?by=planet").await.body["error"]["field"], "by");
    assert_eq!(app.get(&dl, "/api/kpi?from=2026-13-01").await.body["error"]["field"], "from");
    // Every row is still the replay of its timeline.
    assert_projections_replay(&app).await;
}

async fn device_post(app: &TestApp, id: i64, secret: &str, ts: i64, body: &Value) -> Reply {
    let text = body.to_string();
    let sig = wuzhi_app::cases::devices::sign(secret, ts, text.as_bytes());
    let r = app
        .client
        .post(format!("{}/api/devices/{id}/events", app.base))
        .header("x-wuzhi-timestamp", ts.to_string())
        .header("x-wuzhi-signature", format!("sha256={sig}"))
        .header("content-type", "application/json")
        .body(text)
        .send()
        .await
        .unwrap();
    into_reply(r).await
}

#[tokio::test]
async fn sensors_report_through_a_signed_webhook() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let d =
        app.post(&admin, "/api/devices", json!({"name": "劝业场街道积水监测点1", "territory_code": "120101001"})).await;
    assert_eq!(d.status, StatusCode::CREATED, "{}", d.text);
    let (id, secret) = (d.body["id"].as_i64().unwrap(), d.body["secret"].as_str().unwrap().to_owned());
    assert_eq!(app.get(&admin, "/api/devices").await.body[0].get("secret"), None, "the key is shown once");
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    // A grid of the next township (小白楼街道), outside the device's territory.
    let other = app.get(&admin, "/api/territories?level=grid&after=120101002&limit=1").await.body;
    let other = other["items"][0]["code"].as_str().unwrap().to_owned();
    assert!(other.starts_with("120101002"), "{other}");
    let (ox, oy) = point_in(&app, &admin, &other).await;
    let now = app.clock.now_ms();
    let event = json!({"event_id": "w-17", "subject": "路面积水超过20厘米", "description": "水位传感器报警", "category": "E0507", "lon": x, "lat": y});
    let r = device_post(&app, id, &secret, now, &event).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["channel"], "sensor");
    assert_eq!(r.body["timeline"][0]["actor_id"], Value::Null);
    let again = device_post(&app, id, &secret, now + 1000, &event).await;
    assert_eq!((again.status, again.body["id"].clone()), (StatusCode::OK, r.body["id"].clone()));
    let wrong_key = device_post(&app, id, "not the key", now, &event).await;
    assert_eq!(
        (wrong_key.status, wrong_key.body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_signature"))
    );
    let stale = device_post(&app, id, &secret, now - 10 * 60_000, &event).await;
    assert!(stale.body["error"]["message"].as_str().unwrap().contains("five minutes"), "{}", stale.text);
    assert_eq!(device_post(&app, id + 100, &secret, now, &event).await.status, StatusCode::UNAUTHORIZED);
    let outside = device_post(
        &app,
        id,
        &secret,
        now,
        &json!({"event_id": "w-18", "subject": "s", "description": "d", "lon": ox, "lat": oy}),
    )
    .await;
    assert_eq!(outside.body["error"]["field"], "lon", "{}", outside.text);
    // Tampering with the body after signing is caught.
    let sig = wuzhi_app::cases::devices::sign(&secret, now, event.to_string().as_bytes());
    let tampered = app
        .client
        .post(format!("{}/api/devices/{id}/events", app.base))
        .header("x-wuzhi-timestamp", now.to_string())
        .header("x-wuzhi-signature", format!("sha256={sig}"))
        .body(event.to_string().replace("20厘米", "2厘米"))
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), StatusCode::UNAUTHORIZED);
    let resident = app.login("resident").await;
    let r = app
        .post(
            &resident,
            "/api/cases",
            json!({"channel": "sensor", "kind": "report", "subject": "s", "description": "d", "lon": x, "lat": y}),
        )
        .await;
    assert_eq!(r.body["error"]["field"], "channel");
    assert_eq!(
        app.call(Some(&admin), reqwest::Method::DELETE, &format!("/api/devices/{id}"), None).await.status,
        StatusCode::NO_CONTENT
    );
    let revoked = device_post(
        &app,
        id,
        &secret,
        now,
        &json!({"event_id": "w-19", "subject": "s", "description": "d", "lon": x, "lat": y}),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    // Every row is still the replay of its timeline.
    assert_projections_replay(&app).await;
}

pub async fn upload(app: &TestApp, s: &Session, case: i64, name: &str, content_type: &str, bytes: Vec<u8>) -> Reply {
    let r = app
        .client
        .post(format!("{}/api/cases/{case}/attachments?name={name}", app.base))
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    into_reply(r).await
}

/// A valid 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D,
    0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

#[tokio::test]
async fn photos_are_checked_stored_by_content_and_shown_only_to_case_readers() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let id = app
        .post(&resident, "/api/cases", json!({"channel": "app", "kind": "report", "subject": "井盖破损", "description": "见照片", "lon": x, "lat": y}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let up = upload(&app, &resident, id, "photo.png", "image/png", PNG.to_vec()).await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.text);
    let sha = up.body["sha256"].as_str().unwrap().to_owned();
    if app.db.url.starts_with("postgres") {
        // In the database, where every app server reads it.
        let mut conn = app.app.db.read().await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stored_files WHERE sha256 = $1")
            .bind(&sha)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(n, 1, "stored under its hash");
    } else {
        assert!(app.db.dir.join("files").join(&sha[..2]).join(&sha).exists(), "stored under its hash");
    }
    let again = upload(&app, &resident, id, "same.png", "image/png", PNG.to_vec()).await;
    assert_eq!(again.body["sha256"], sha.as_str());
    let gw = app.login("gridworker").await;
    let got = app
        .client
        .get(format!("{}{}", app.base, up.body["url"].as_str().unwrap()))
        .header("cookie", &gw.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.headers()["x-content-type-options"], "nosniff");
    assert_eq!(got.bytes().await.unwrap().as_ref(), PNG);
    let other = app.login("resident2").await;
    let denied = app.get(&other, up.body["url"].as_str().unwrap()).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&gw, &format!("/api/cases/{id}/attachments")).await.body.as_array().unwrap().len(), 2);
    let c = app.get(&resident, &format!("/api/cases/{id}")).await.body;
    assert_eq!(kinds(&c), ["reported", "attached", "attached"]);
    // Wrong or unknown types and oversized files are refused with the reason.
    let lie = upload(&app, &resident, id, "x.jpg", "image/jpeg", PNG.to_vec()).await;
    assert_eq!((lie.status, lie.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("content_type")));
    let text = upload(&app, &resident, id, "x.txt", "text/plain", b"hello".to_vec()).await;
    assert_eq!(text.body["error"]["field"], "content_type");
    let mut big = vec![0xFF, 0xD8, 0xFF];
    big.resize(10 * 1024 * 1024 + 1, 0);
    let big = upload(&app, &resident, id, "big.jpg", "image/jpeg", big).await;
    assert_eq!(big.body["error"]["field"], "body", "{}", big.text);
    assert_eq!(upload(&app, &other, id, "x.png", "image/png", PNG.to_vec()).await.status, StatusCode::FORBIDDEN);
    // Every row is still the replay of its timeline.
    assert_projections_replay(&app).await;
}

#[tokio::test]
async fn a_street_commander_summons_departments_who_check_in_and_handle_it_jointly() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let id = app
        .post(&resident, "/api/cases", json!({"channel": "app", "kind": "report", "subject": "道路塌陷积水", "description": "路面塌陷，水管可能破裂", "lon": x, "lat": y}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let commander = app.login("commander").await;
    act(&app, &commander, id, json!({"action": "file", "category": "E0501"})).await;
    let cmc = app.org_id("120101", "和平区城市管理委员会").await;
    let water = app.org_id("120101", "和平区水务局").await;
    let r = act(&app, &commander, id, json!({"action": "summon", "org_ids": [cmc, water], "hours": 1})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["summoned"].as_array().unwrap().len(), 2);
    // The summoned department's handler now sees the case and reports in for their unit only.
    let handler = app.login("handler").await;
    let seen = app.get(&handler, &format!("/api/cases/{id}")).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(seen.body["actions"].as_array().unwrap().contains(&json!("check_in")));
    assert_eq!(
        act(&app, &handler, id, json!({"action": "check_in", "org_id": water})).await.status,
        StatusCode::FORBIDDEN
    );
    let r = act(&app, &handler, id, json!({"action": "check_in", "org_id": cmc})).await;
    let me = r.body["summoned"].as_array().unwrap().iter().find(|s| s["org"] == cmc).unwrap().clone();
    assert!(me["checked_in_ms"].is_i64(), "{me}");
    assert_eq!(
        act(&app, &handler, id, json!({"action": "check_in", "org_id": cmc})).await.status,
        StatusCode::CONFLICT
    );
    let r = act(&app, &commander, id, json!({"action": "assign_joint", "lead": cmc, "cooperating": [water]})).await;
    assert_eq!((r.body["status"].as_str(), r.body["owner_org_id"].as_i64()), (Some("dispatched"), Some(cmc)));
    assert_eq!(r.body["cooperating"], json!([water]));
    assert_eq!(act(&app, &handler, id, json!({"action": "accept"})).await.body["status"], "handling");
    // A grid worker cannot summon.
    let gw = app.login("gridworker").await;
    assert_eq!(act(&app, &gw, id, json!({"action": "summon", "org_ids": [cmc]})).await.status, StatusCode::FORBIDDEN);
    // Every row is still the replay of its timeline.
    assert_projections_replay(&app).await;
}

#[tokio::test]
async fn historical_cases_import_all_or_nothing_and_export_without_personal_data() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    // Real messages from the government message-board data as the historical cases.
    let sample = include_str!("../../../../data/complaints/messages_sample.csv");
    let mut rdr = csv::Reader::from_reader(sample.as_bytes());
    let msgs: Vec<(String, String, String)> = rdr
        .records()
        .take(3)
        .map(|r| r.unwrap())
        .map(|r| (r[0].to_owned(), r[1].to_owned(), r[2].to_owned()))
        .collect();
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record([
        "external_id",
        "kind",
        "subject",
        "description",
        "category",
        "lon",
        "lat",
        "address",
        "created_at",
        "status",
        "closed_at",
        "satisfaction",
    ])
    .unwrap();
    w.write_record([
        &msgs[0].0,
        "complaint",
        &msgs[0].1,
        &msgs[0].2,
        "E0102",
        &x.to_string(),
        &y.to_string(),
        "",
        "2026-11-20 09:00",
        "closed",
        "2026-11-20 15:30",
        "satisfied",
    ])
    .unwrap();
    w.write_record([
        &msgs[1].0,
        "request",
        &msgs[1].1,
        &msgs[1].2,
        "",
        "",
        "",
        "和平区劝业场街道花园路社区",
        "2026-11-21 10:00:00",
        "open",
        "",
        "",
    ])
    .unwrap();
    w.write_record([
        &msgs[2].0,
        "consultation",
        &msgs[2].1,
        &msgs[2].2,
        "H010101",
        "",
        "",
        "劝业场街道",
        "2026-11-22T08:15",
        "closed",
        "2026-11-29 08:15",
        "",
    ])
    .unwrap();
    let good = String::from_utf8(w.into_inner().unwrap()).unwrap();
    let r = app.post_text(&admin, "/api/cases/import", &good).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({"imported": 3, "skipped": 0}));
    assert_eq!(
        app.post_text(&admin, "/api/cases/import", &good).await.body,
        json!({"imported": 0, "skipped": 3}),
        "re-import skips"
    );
    let bad = "external_id,kind,subject,created_at,status,address\n\
               a1,rumour,标题,2026-11-20 09:00,open,花园路社区\n\
               a2,request,标题,yesterday,open,花园路社区\n\
               a3,request,标题,2026-11-20 09:00,open,花园路社区\n";
    let r = app.post_text(&admin, "/api/cases/import", bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let d = r.body["error"]["details"].as_array().unwrap();
    assert_eq!((d[0]["location"].as_str(), d[0]["field"].as_str()), (Some("line 2"), Some("kind")));
    assert_eq!((d[1]["location"].as_str(), d[1]["field"].as_str()), (Some("line 3"), Some("created_at")));
    assert_eq!(d.len(), 2);
    let dispatcher = app.login("dispatcher").await;
    let all = app.get(&dispatcher, "/api/cases?limit=100").await.body;
    assert_eq!(all.as_array().unwrap().len(), 3, "the valid row a3 of the bad file was not imported");
    // The timeline starts with a real event that carries the history as recorded elsewhere.
    let c = app.get(&dispatcher, &format!("/api/cases/{}", all[0]["id"])).await.body;
    assert_eq!(kinds(&c), ["imported"]);
    assert!(c["timeline"][0]["data"]["history"]["external_id"].is_string(), "{c}");
    let closed = all
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject"] == msgs[0].1.chars().take(100).collect::<String>())
        .unwrap();
    assert_eq!((closed["status"].as_str(), closed["satisfaction"].as_str()), (Some("closed"), Some("satisfied")));
    // Exports: CSV and Excel of every visible case, GeoJSON of those with a point.
    let csv = app
        .client
        .get(format!("{}/api/cases/export?format=csv", app.base))
        .header("cookie", &dispatcher.cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("\u{feff}id,channel,kind,subject,category_code"));
    assert_eq!(csv.lines().count(), 4);
    assert!(csv.contains("2026-11-20T09:00:00+08:00"));
    let gj: Value = app
        .client
        .get(format!("{}/api/cases/export?format=geojson", app.base))
        .header("cookie", &dispatcher.cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(gj["features"].as_array().unwrap().len(), 1);
    assert_eq!(gj["features"][0]["geometry"]["type"], "Point");
    let xlsx = app
        .client
        .get(format!("{}/api/cases/export?format=xlsx", app.base))
        .header("cookie", &dispatcher.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(&xlsx.bytes().await.unwrap()[..2], b"PK");
    assert_eq!(app.get(&dispatcher, "/api/cases/export?format=pdf").await.body["error"]["field"], "format");
    let gw = app.login("gridworker").await;
    assert_eq!(app.post_text(&gw, "/api/cases/import", &good).await.status, StatusCode::FORBIDDEN);
    // Every row is still the replay of its timeline.
    assert_projections_replay(&app).await;
}

/// A receiver for webhook calls that records them and answers with a settable status.
async fn receiver() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>>,
    std::sync::Arc<std::sync::atomic::AtomicU16>,
) {
    use std::sync::atomic::{AtomicU16, Ordering};
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>> = Arc::default();
    let status = Arc::new(AtomicU16::new(200));
    let (s2, st2) = (seen.clone(), status.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let (seen, status) = (s2.clone(), st2.clone());
            async move {
                seen.lock().unwrap().push((headers, body));
                axum::http::StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen, status)
}

#[tokio::test]
async fn webhooks_are_signed_retried_with_back_off_and_dead_lettered() {
    use std::sync::atomic::Ordering;
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (url, seen, status) = receiver().await;
    let w = app.post(&admin, "/api/webhooks", json!({"url": url, "topics": "case.reported,case.filed"})).await;
    assert_eq!(w.status, StatusCode::CREATED, "{}", w.text);
    let (hook, secret) = (w.body["id"].as_i64().unwrap(), w.body["secret"].as_str().unwrap().to_owned());
    assert_eq!(
        app.post(&admin, "/api/webhooks", json!({"url": "ftp://x", "topics": "*"})).await.body["error"]["field"],
        "url"
    );
    for bad in ["parcel.arrived", "case.", "case.Filed", ""] {
        let r = app.post(&admin, "/api/webhooks", json!({"url": url, "topics": bad})).await;
        assert_eq!(
            (r.status, r.body["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("topics")),
            "{bad}: {}",
            r.text
        );
    }
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let id = app
        .post(
            &resident,
            "/api/cases",
            json!({"channel": "app", "kind": "report", "subject": "噪音", "description": "d", "lon": x, "lat": y}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    wuzhi_app::notify::run_once(&app.app, "a").await.unwrap();
    // Two servers deliver at once: each delivery goes out once.
    let client = reqwest::Client::new();
    let (a, b, c1, c2) = (app.app.clone(), app.app.clone(), client.clone(), client.clone());
    let (o1, o2) =
        tokio::join!(async move { wuzhi_app::webhooks::run_once(&a, "server-a", &c1).await.unwrap() }, async move {
            wuzhi_app::webhooks::run_once(&b, "server-b", &c2).await.unwrap()
        });
    assert_eq!(o1.delivered + o2.delivered, 1);
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (headers, body) = &got[0];
    assert_eq!(headers["x-wuzhi-event"], "case.reported");
    let ts: i64 = headers["x-wuzhi-timestamp"].to_str().unwrap().parse().unwrap();
    let want = format!("sha256={}", wuzhi_app::cases::devices::sign(&secret, ts, body.as_bytes()));
    assert_eq!(headers["x-wuzhi-signature"].to_str().unwrap(), want);
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["event"]["case_id"], id);
    // The receiver fails: retried with back-off, then dead-lettered.
    status.store(503, Ordering::SeqCst);
    let dispatcher = app.login("dispatcher").await;
    act(&app, &dispatcher, id, json!({"action": "file", "category": "E0102"})).await;
    wuzhi_app::notify::run_once(&app.app, "a").await.unwrap();
    let mut attempts = 0;
    for _ in 0..8 {
        let o = wuzhi_app::webhooks::run_once(&app.app, "a", &client).await.unwrap();
        attempts += o.failed + o.dead;
        assert_eq!(
            wuzhi_app::webhooks::run_once(&app.app, "a", &client).await.unwrap(),
            Default::default(),
            "not due again yet"
        );
        app.clock.advance_ms(wuzhi_app::webhooks::backoff_ms(8));
    }
    assert_eq!(attempts, 8);
    let admin = app.login("admin").await; // hours later
    let d = app.get(&admin, &format!("/api/webhooks/{hook}/deliveries")).await.body;
    let filed = d.as_array().unwrap().iter().find(|x| x["topic"] == "case.filed").unwrap();
    assert_eq!((filed["status"].as_str(), filed["attempts"].as_i64()), (Some("dead"), Some(8)));
    assert_eq!(filed["last_error"], "HTTP 503");
    assert_eq!(seen.lock().unwrap().len(), 9);
    let gw = app.login("gridworker").await;
    assert_eq!(app.get(&gw, "/api/webhooks").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn residents_registered_with_a_committee_cannot_act_for_it() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001002").await;
    let r2 = app.login("resident2").await;
    let id = app
        .post(&r2, "/api/cases", json!({"channel": "app", "kind": "dispute", "subject": "物业不修漏水", "description": "楼上漏水，物业拖延不修", "lon": x, "lat": y}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let dispatcher = app.login("dispatcher").await;
    act(&app, &dispatcher, id, json!({"action": "file", "category": "H011003"})).await;
    let committee = app.org_id("120101001001", "花园路社区居委会").await;
    let d = act(&app, &dispatcher, id, json!({"action": "dispatch", "org_id": committee})).await;
    assert_eq!(d.body["owner_org_id"], committee, "{}", d.text);
    // The other resident is registered with the same committee, but is not its staff.
    let resident = app.login("resident").await;
    assert_eq!(app.get(&resident, &format!("/api/cases/{id}")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(act(&app, &resident, id, json!({"action": "accept"})).await.status, StatusCode::FORBIDDEN);
    assert!(app.get(&resident, "/api/cases").await.body.as_array().unwrap().is_empty());
    let staff = app.login("community").await;
    assert_eq!(act(&app, &staff, id, json!({"action": "accept"})).await.body["status"], "handling");
}

#[tokio::test]
async fn a_disabled_accounts_api_tokens_stop_working() {
    let app = spawn_app().await;
    let security = app.login("security").await;
    let d = app.login("dispatcher").await;
    let token =
        app.post(&d, "/api/me/tokens", json!({"name": "bridge"})).await.body["token"].as_str().unwrap().to_owned();
    let me = |t: String| {
        let (c, url) = (app.client.clone(), format!("{}/api/me", app.base));
        async move { c.get(url).bearer_auth(t).send().await.unwrap().status() }
    };
    assert_eq!(me(token.clone()).await, StatusCode::OK);
    let pid = app.person_id("dispatcher").await;
    app.post(&security, &format!("/api/people/{pid}/account"), json!({"disabled": true})).await;
    assert_eq!(me(token).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_map_counts_open_and_overdue_cases_per_grid() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let r = app
        .post(&resident, "/api/cases", json!({"channel": "app", "kind": "report", "subject": "垃圾堆积", "description": "门口垃圾无人清理", "category": "E0102", "lon": x, "lat": y}))
        .await;
    let id = r.body["id"].as_i64().unwrap();
    let dispatcher = app.login("dispatcher").await;
    assert_eq!(act(&app, &dispatcher, id, json!({"action": "file"})).await.status, StatusCode::OK);
    let grid = json!([{"code": "120101001001001", "open": 1}]);
    assert_eq!(app.get(&dispatcher, "/api/kpi/open-per-grid").await.body, grid);
    assert_eq!(app.get(&dispatcher, "/api/kpi/open-per-grid?overdue=true").await.body, json!([]));
    // A month on, the filed case is past its due time.
    app.clock.advance_ms(30 * 86_400_000);
    let dispatcher = app.login("dispatcher").await;
    assert_eq!(app.get(&dispatcher, "/api/kpi/open-per-grid?overdue=true").await.body, grid);
    let gw2 = app.login("gridworker2").await;
    assert_eq!(app.get(&gw2, "/api/kpi/open-per-grid?overdue=true").await.body, json!([]), "another grid's worker");
}

/// Big exports run as background jobs (issue 20: long work out of the request): the request
/// answers at once; asking again for the same gives the job under way and for another is a
/// conflict; a worker writes the file in chunks; only the asker downloads it, byte for byte
/// what the export inside a request gives; it is kept seven days, the job ninety.
#[tokio::test]
async fn big_exports_run_as_background_jobs_for_their_asker_only() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let imported = crate::text::import_history(&app, &admin).await;
    let dispatcher = app.login("dispatcher").await;
    let closed = app.get(&dispatcher, "/api/cases?status=closed&limit=1000").await.body.as_array().unwrap().len();
    assert!(closed >= imported, "{closed} closed, {imported} imported");
    let fetch = |url: String, s: &Session| {
        let req = app.client.get(format!("{}{url}", app.base)).header("cookie", &s.cookie);
        async move {
            let r = req.send().await.unwrap();
            (
                r.status(),
                r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()),
                r.bytes().await.unwrap(),
            )
        }
    };
    for format in ["csv", "geojson", "xlsx"] {
        let r = app.post(&dispatcher, "/api/cases/exports", json!({"format": format, "status": "closed"})).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        assert_eq!((r.body["state"].as_str(), r.body["kind"].as_str()), (Some("queued"), Some("cases.export")));
        let id = r.body["id"].as_i64().unwrap();
        let again = app.post(&dispatcher, "/api/cases/exports", json!({"format": format, "status": "closed"})).await;
        assert_eq!((again.status, again.body["id"].as_i64()), (StatusCode::ACCEPTED, Some(id)), "{}", again.text);
        let other = app.post(&dispatcher, "/api/cases/exports", json!({"format": format})).await;
        assert_eq!(
            (other.status, other.body["error"]["field"].as_str()),
            (StatusCode::CONFLICT, Some("job")),
            "{}",
            other.text
        );
        // Not before it is done.
        assert_eq!(fetch(format!("/api/jobs/{id}/file"), &dispatcher).await.0, StatusCode::NOT_FOUND);
        assert_eq!(wuzhi_app::jobs::run_once(&app.app, "test-worker").await.unwrap(), Some(id));
        let job = app.get(&dispatcher, &format!("/api/jobs/{id}")).await.body;
        assert_eq!((job["state"].as_str(), job["progress"].as_f64()), (Some("done"), Some(1.0)), "{job}");
        assert_eq!(job["result"]["rows"].as_u64(), Some(closed as u64), "{job}");
        let url = job["result"]["url"].as_str().unwrap().to_owned();
        assert_eq!(url, format!("/api/jobs/{id}/file"));
        let (status, kind, file) = fetch(url.clone(), &dispatcher).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(job["result"]["size_bytes"].as_u64(), Some(file.len() as u64));
        let (_, sync_kind, sync) = fetch(format!("/api/cases/export?format={format}&status=closed"), &dispatcher).await;
        assert_eq!(kind, sync_kind);
        match format {
            "xlsx" => {
                // A workbook with a header row and a row per case, the cells as the CSV's.
                use calamine::Reader;
                let mut book = calamine::Xlsx::new(std::io::Cursor::new(file.to_vec())).unwrap();
                let sheet = book.worksheet_range("案件").unwrap();
                assert_eq!(sheet.height(), closed + 1);
                assert_eq!(sheet.get((0, 0)).unwrap().to_string(), "id");
                assert_eq!(sheet.get((0, 3)).unwrap().to_string(), "subject");
            }
            "geojson" => {
                let (a, b): (Value, Value) =
                    (serde_json::from_slice(&file).unwrap(), serde_json::from_slice(&sync).unwrap());
                assert_eq!(a, b);
            }
            _ => {
                assert_eq!(file, sync, "the background file is the export a request gives");
                assert_eq!(String::from_utf8_lossy(&file).lines().count(), closed + 1);
            }
        }
        // The asker's only: not another person's, nor the administrator's, who sees the job.
        for who in ["admin", "commander"] {
            let s = app.login(who).await;
            assert_eq!(fetch(url.clone(), &s).await.0, StatusCode::NOT_FOUND, "{who}");
        }
        assert_eq!(app.get(&admin, &format!("/api/jobs/{id}")).await.status, StatusCode::OK);
    }
    // What a grid worker exports is what they may read (the cases of their grid), with the
    // posts they hold when the job runs.
    let gw = app.login("gridworker").await;
    let id = app.post(&gw, "/api/cases/exports", json!({"format": "csv"})).await.body["id"].as_i64().unwrap();
    wuzhi_app::jobs::run_once(&app.app, "test-worker").await.unwrap();
    let mine = app.get(&gw, &format!("/api/jobs/{id}")).await.body;
    let visible = app.get(&gw, "/api/cases?limit=1000").await.body.as_array().unwrap().len();
    assert_eq!(mine["result"]["rows"].as_u64(), Some(visible as u64), "{mine}");
    // A bad filter is named before anything is queued.
    let bad = app.post(&dispatcher, "/api/cases/exports", json!({"format": "pdf"})).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("format")));
    let bad = app.post(&dispatcher, "/api/cases/exports", json!({"format": "csv", "territory": "12x"})).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("territory")));
    // Seven days on, the file is gone and the job still says what it was.
    assert_eq!(fetch(format!("/api/jobs/{id}/file"), &gw).await.0, StatusCode::OK);
    app.clock.advance_ms((wuzhi_app::retention::JOB_FILE_DAYS * 86_400_000) + 1);
    wuzhi_app::retention::run_once(&app.app).await.unwrap();
    let gw = app.login("gridworker").await;
    assert_eq!(fetch(format!("/api/jobs/{id}/file"), &gw).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&gw, &format!("/api/jobs/{id}")).await.body["state"], "done");
}
