//! Text intelligence over HTTP: search (with who may see what, index updates through the
//! outbox, rebuilds, and a second server on the same database), the classifier trained on
//! confirmed cases with automatic filing and dispatch, near-duplicates with supports and
//! merging, and hot topics.

use crate::cases::point_in;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const OWN_GRID: &str = "120101001001001";
const OTHER_GRID: &str = "120101001001002";

fn ids(r: &Value) -> Vec<i64> {
    r["hits"].as_array().unwrap().iter().map(|h| h["case"]["id"].as_i64().unwrap()).collect()
}

async fn report(app: &TestApp, s: &Session, subject: &str, detail: &str, at: (f64, f64)) -> i64 {
    let r = app
        .post(
            s,
            "/api/cases",
            json!({"channel": "app", "kind": "report", "subject": subject, "description": detail, "lon": at.0, "lat": at.1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_i64().unwrap()
}

#[tokio::test]
async fn search_finds_chinese_words_in_what_each_person_may_read() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let resident = app.login("resident").await;
    let resident2 = app.login("resident2").await;
    let gw = app.login("gridworker").await;
    let here = point_in(&app, &admin, OWN_GRID).await;
    let there = point_in(&app, &admin, OTHER_GRID).await;
    let tick = || app.clock.advance_ms(60_000);
    let mine = report(
        &app,
        &resident,
        "花园路搅拌站夜间施工噪音扰民",
        "搅拌站每天晚上施工到凌晨，噪音很大，电话13812345678。",
        here,
    )
    .await;
    tick();
    let lamp = report(&app, &resident, "花园路路灯不亮", "路灯坏了一个月，晚上出行不安全。", here).await;
    tick();
    let theirs = report(&app, &resident2, "搅拌站噪音", "隔壁网格的搅拌站也有噪音。", there).await;
    let done = wuzhi_app::text::search::index_once(&app.app).await.unwrap();
    assert!(done.rebuilt, "a new index is built from the cases first");

    // The grid worker finds the case of their grid only; the city administrator both.
    let r = app.get(&gw, "/api/search?q=搅拌站 噪音").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r.body), vec![mine]);
    assert_eq!(r.body["total"], 1);
    let hit = &r.body["hits"][0];
    assert!(hit["subject_html"].as_str().unwrap().contains("<mark>搅拌站</mark>"), "{hit}");
    let snippet = hit["snippet_html"].as_str().unwrap();
    assert!(snippet.contains("<mark>噪音</mark>"), "{snippet}");
    assert!(!snippet.contains("13812345678"), "numbers in passages are masked: {snippet}");
    let all = app.get(&admin, "/api/search?q=搅拌站 噪音").await.body;
    let mut both = ids(&all);
    both.sort();
    assert_eq!(both, vec![mine, theirs]);
    // A resident finds their own reports, not their neighbour's.
    assert_eq!(ids(&app.get(&resident2, "/api/search?q=噪音").await.body), vec![theirs]);
    // A word segmented out of a longer one, filters, and order.
    assert_eq!(ids(&app.get(&admin, "/api/search?q=路灯").await.body), vec![lamp]);
    assert_eq!(app.get(&admin, &format!("/api/search?q=噪音&territory={OTHER_GRID}")).await.body["total"], 1);
    assert_eq!(app.get(&admin, "/api/search?q=噪音&status=closed").await.body["total"], 0);
    assert_eq!(app.get(&admin, "/api/search?q=噪音&channel=hotline").await.body["total"], 0);
    assert_eq!(app.get(&admin, "/api/search?sort=newest").await.body["hits"][0]["case"]["id"], theirs);
    for (q, field) in
        [("sort=best", "sort"), ("status=nope", "status"), ("from=2026-13-01", "from"), ("offset=-1", "offset")]
    {
        let r = app.get(&admin, &format!("/api/search?q=x&{q}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.text);
        assert_eq!(r.body["error"]["field"], field, "{q}: {}", r.text);
    }

    // A comment is found once the outbox is read; so is the case on a second server that
    // shares the database, and a change made through the first.
    let dispatcher = app.login("dispatcher").await;
    let r = app
        .post(
            &dispatcher,
            &format!("/api/cases/{lamp}/actions"),
            json!({"action": "comment", "text": "已联系路灯所抢修"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(app.get(&admin, "/api/search?q=路灯所").await.body["total"], 0, "not before the outbox is read");
    let step = wuzhi_app::text::search::index_once(&app.app).await.unwrap();
    assert!(!step.rebuilt && step.cases >= 1, "{step:?}");
    assert_eq!(ids(&app.get(&admin, "/api/search?q=路灯所").await.body), vec![lamp]);

    let (second, _) = open_app(&app.db.url).await;
    wuzhi_app::text::search::index_once(&second).await.unwrap();
    let admin_actor = second.actor(admin.person_id).await.unwrap();
    let q = |text: &str| wuzhi_app::text::search::SearchParams { q: Some(text.into()), ..Default::default() };
    let found = wuzhi_app::text::search::search(&second, &admin_actor, &q("路灯所")).await.unwrap();
    assert_eq!(found.hits.iter().map(|h| h.case.id).collect::<Vec<_>>(), vec![lamp]);
    let r = app
        .post(
            &dispatcher,
            &format!("/api/cases/{mine}/actions"),
            json!({"action": "comment", "text": "生态环境局已到场检测"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    wuzhi_app::text::search::index_once(&second).await.unwrap();
    let found = wuzhi_app::text::search::search(&second, &admin_actor, &q("生态环境局")).await.unwrap();
    assert_eq!(found.total, 1);

    // A rebuild is asked once, in the database; each server rebuilds on its next pass.
    assert_eq!(app.post(&gw, "/api/search/rebuild", json!(null)).await.status, StatusCode::FORBIDDEN);
    let r = app.post(&admin, "/api/search/rebuild", json!(null)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    for a in [&app.app, &second] {
        let done = wuzhi_app::text::search::index_once(a).await.unwrap();
        assert!(done.rebuilt && done.cases == 3, "{done:?}");
    }
    assert_eq!(ids(&app.get(&admin, "/api/search?q=路灯所").await.body), vec![lamp]);
}

/// The 300 real messages of `data/complaints/messages_sample.csv` as closed cases of the
/// first-level categories their labels name.
pub(crate) async fn import_history(app: &TestApp, admin: &Session) -> usize {
    let cats = app.get(admin, "/api/categories").await.body;
    let code_of = |name: &str| {
        cats.as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name && c["parent_code"] == "H")
            .map(|c| c["code"].clone())
    };
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/complaints/messages_sample.csv");
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "external_id",
        "subject",
        "description",
        "created_at",
        "status",
        "closed_at",
        "category",
        "territory",
    ])
    .unwrap();
    let mut n = 0;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let code = code_of(&rec[3]).unwrap();
        out.write_record([
            &rec[0],
            &rec[1].chars().take(100).collect::<String>(),
            &rec[2],
            "2026-09-01 09:00",
            "closed",
            "2026-09-05 17:00",
            code.as_str().unwrap(),
            OWN_GRID,
        ])
        .unwrap();
        n += 1;
    }
    let text = String::from_utf8(out.into_inner().unwrap()).unwrap();
    let r = app.post_text(admin, "/api/cases/import", &text).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    n
}

/// Trains the classifier as the pages do: the request queues a job and answers at once; a
/// second request meanwhile finds the same job; a worker runs it; the job's result is the new
/// version.
async fn train(app: &TestApp, admin: &Session) -> Value {
    let r = app.post(admin, "/api/classifier/models", json!(null)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!((r.body["state"].as_str(), r.body["kind"].as_str()), (Some("queued"), Some("text.train_classifier")));
    let id = r.body["id"].as_i64().unwrap();
    let again = app.post(admin, "/api/classifier/models", json!(null)).await;
    assert_eq!(again.body["id"].as_i64(), Some(id), "one training at a time: {}", again.text);
    let other = app.login("dispatcher").await;
    assert_eq!(app.get(&other, &format!("/api/jobs/{id}")).await.status, StatusCode::NOT_FOUND, "not theirs");
    assert_eq!(wuzhi_app::jobs::run_once(&app.app, "test-worker").await.unwrap(), Some(id));
    assert_eq!(wuzhi_app::jobs::run_once(&app.app, "test-worker").await.unwrap(), None, "nothing left");
    let job = app.get(admin, &format!("/api/jobs/{id}")).await;
    assert_eq!((job.body["state"].as_str(), job.body["progress"].as_f64()), (Some("done"), Some(1.0)), "{}", job.text);
    job.body["result"].clone()
}

#[tokio::test]
async fn the_classifier_learns_from_confirmed_cases_and_dispatches_when_confident() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let dispatcher = app.login("dispatcher").await;
    let resident = app.login("resident").await;
    // Nothing to learn from yet; nothing suggested.
    let r = app.post(&admin, "/api/classifier/models", json!(null)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.body["error"]["field"], "cases");
    let r = app.post(&resident, "/api/classify", json!({"subject": "路灯不亮"})).await;
    assert_eq!(r.body["model_version"], Value::Null);
    assert_eq!(import_history(&app, &admin).await, 300);

    let m = &train(&app, &admin).await;
    assert_eq!(m["version"], 1);
    assert_eq!(m["examples"], 300);
    // The seven first-level classes (each has at least ten cases).
    assert_eq!(m["labels"], 7);
    assert!(m["macro_f1"].as_f64().unwrap() > 0.4 && m["accuracy"].as_f64().unwrap() > 0.6, "{m}");
    let classes = m["classes"].as_array().unwrap();
    assert_eq!(classes.iter().map(|c| c["support"].as_u64().unwrap()).sum::<u64>(), 300);
    let urban = classes.iter().find(|c| c["name"] == "城乡建设").unwrap();
    assert_eq!(urban["support"], 72);
    assert!(urban["f1"].as_f64().unwrap() > 0.5, "{urban}");
    assert_eq!(m["thresholds"].as_array().unwrap().len(), 7);

    // A suggestion for a text like the urban-construction ones.
    let text = json!({"subject": "投诉小区物业违规收停车费", "detail": "小区物业未经业主同意，利用业主的公摊公共面积向业主收取停车费。"});
    let s = app.post(&resident, "/api/classify", text.clone()).await.body;
    assert_eq!(s["model_version"], 1);
    let top = &s["suggestions"][0];
    assert_eq!(top["name"], "城乡建设", "{s}");
    assert_eq!(top["path"], json!(["热线诉求", "城乡建设"]));
    assert_eq!(top["leaf"], false);
    let conf = top["confidence"].as_f64().unwrap();
    assert!(conf > 0.5, "{s}");
    let r = app.post(&resident, "/api/classify", json!({"subject": " ", "detail": ""})).await;
    assert_eq!((r.status, r.body["error"]["field"].clone()), (StatusCode::BAD_REQUEST, json!("subject")));

    // Only a city administrator sets the threshold, and only from 0.5 to 1.
    assert_eq!(
        app.call(
            Some(&dispatcher),
            reqwest::Method::PUT,
            "/api/classifier/settings",
            Some(json!({"auto_dispatch_threshold": 0.6}))
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let r = app
        .call(
            Some(&admin),
            reqwest::Method::PUT,
            "/api/classifier/settings",
            Some(json!({"auto_dispatch_threshold": 1.5})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("auto_dispatch_threshold"))
    );
    let r = app
        .call(
            Some(&admin),
            reqwest::Method::PUT,
            "/api/classifier/settings",
            Some(json!({"auto_dispatch_threshold": 0.5})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // A report whose own category lies inside the confident prediction is filed and
    // dispatched by the outbox worker; one whose category lies elsewhere waits.
    let here = point_in(&app, &admin, OWN_GRID).await;
    let mk = |category: &str| json!({"channel": "app", "kind": "complaint", "subject": text["subject"], "description": text["detail"], "category": category, "lon": here.0, "lat": here.1});
    let inside = app.post(&resident, "/api/cases", mk("H010101")).await.body["id"].as_i64().unwrap();
    let outside = app.post(&resident, "/api/cases", mk("H050101")).await;
    assert_eq!(outside.status, StatusCode::CREATED, "{}", outside.text);
    let outside = outside.body["id"].as_i64().unwrap();
    let out = wuzhi_app::notify::run_once(&app.app, "test").await.unwrap();
    assert_eq!(out.auto_dispatched, 1, "{out:?}");
    let c = app.get(&dispatcher, &format!("/api/cases/{inside}")).await.body;
    assert_eq!(c["status"], "dispatched", "{c}");
    assert_eq!(c["category_code"], "H010101");
    let filed = c["timeline"].as_array().unwrap().iter().find(|e| e["kind"] == "filed").unwrap();
    assert_eq!(filed["data"]["by"], "model", "{filed}");
    assert_eq!(filed["data"]["model_version"], 1);
    assert_eq!(filed["actor_id"], Value::Null);
    assert_eq!(app.get(&dispatcher, &format!("/api/cases/{outside}")).await.body["status"], "reported");

    // The dispatcher files it themselves (a correction): it joins the training data.
    let r = app
        .post(&dispatcher, &format!("/api/cases/{outside}/actions"), json!({"action": "file", "category": "H010102"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v2 = train(&app, &admin).await;
    assert_eq!((v2["version"].clone(), v2["examples"].clone()), (json!(2), json!(301)), "{v2}");
    let models = app.get(&admin, "/api/classifier/models").await.body;
    assert_eq!(
        models
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["version"].as_i64().unwrap(), m["active"].as_bool().unwrap()))
            .collect::<Vec<_>>(),
        vec![(2, true), (1, false)]
    );
    let r = app.post(&admin, "/api/classifier/models/1/activate", json!(null)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(app.post(&resident, "/api/classify", text).await.body["model_version"], 1);
    assert_eq!(app.post(&admin, "/api/classifier/models/99/activate", json!(null)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&dispatcher, "/api/classifier/models").await.status, StatusCode::FORBIDDEN);
    // Every row is still the replay of its timeline.
    assert_projections_replay(&app).await;
}

#[tokio::test]
async fn duplicates_are_found_nearby_supported_and_merged_and_hot_topics_rise() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let resident = app.login("resident").await;
    let resident2 = app.login("resident2").await;
    let dispatcher = app.login("dispatcher").await;
    let here = point_in(&app, &admin, OWN_GRID).await;
    let first = report(
        &app,
        &resident,
        "丽发新城小区旁搅拌站夜间施工噪音扰民",
        "小区旁边的搅拌站每天晚上施工，噪音大，粉尘多，影响居民休息。",
        here,
    )
    .await;
    report(&app, &resident, "西湖路路灯不亮", "西湖路一段路灯坏了一个月没人修。", here).await;

    // Another resident drafts the same matter 50 m away: warned before submitting.
    let near = (here.0 + 0.0006, here.1);
    let draft = json!({"subject": "投诉丽发新城附近的搅拌站", "detail": "丽发新城小区附近搅拌站夜间作业，噪声扰民，灰尘也很大。", "lon": near.0, "lat": near.1});
    let r = app.post(&resident2, "/api/cases/similar", draft.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let c = r.body.as_array().unwrap();
    assert_eq!(c.len(), 1, "{}", r.text);
    assert_eq!(c[0]["id"], first);
    let d = c[0]["distance_m"].as_f64().unwrap();
    assert!(d > 40.0 && d < 60.0, "{d}");
    assert!(c[0]["similarity"].as_f64().unwrap() >= 0.35);
    assert!(c[0].get("description").is_none() && c[0].get("reporter").is_none(), "only public facts: {}", c[0]);
    // Other words, or far away, are not the same matter.
    let other =
        json!({"subject": "公交站台太远", "detail": "小区到公交站要走二十分钟。", "lon": near.0, "lat": near.1});
    assert_eq!(app.post(&resident2, "/api/cases/similar", other).await.body, json!([]));
    let elsewhere = point_in(&app, &admin, "120101002002001").await;
    let far = json!({"subject": draft["subject"], "detail": draft["detail"], "lon": elsewhere.0, "lat": elsewhere.1});
    assert_eq!(app.post(&resident2, "/api/cases/similar", far).await.body, json!([]));
    for (body, field) in [
        (json!({"subject": "", "detail": ""}), "subject"),
        (json!({"subject": "噪音", "lon": 117.2}), "lat"),
        (json!({"subject": "噪音"}), "lon"),
        (json!({"subject": "噪音", "lon": 1.0, "lat": 1.0}), "lon"),
    ] {
        let r = app.post(&resident2, "/api/cases/similar", body).await;
        assert_eq!((r.status, r.body["error"]["field"].clone()), (StatusCode::BAD_REQUEST, json!(field)), "{}", r.text);
    }

    // "Me too": once per person.
    let r = app.post(&resident2, &format!("/api/cases/{first}/support"), json!(null)).await;
    assert_eq!((r.body["supports"].clone(), r.body["added"].clone()), (json!(1), json!(true)), "{}", r.text);
    let r = app.post(&resident2, &format!("/api/cases/{first}/support"), json!(null)).await;
    assert_eq!((r.body["supports"].clone(), r.body["added"].clone()), (json!(1), json!(false)));
    assert_eq!(app.post(&resident2, "/api/cases/999999/support", json!(null)).await.status, StatusCode::NOT_FOUND);

    // Reported anyway: the dispatcher sees the candidate, and hot topics count both voices.
    let again =
        report(&app, &resident2, draft["subject"].as_str().unwrap(), draft["detail"].as_str().unwrap(), near).await;
    let r = app.get(&dispatcher, &format!("/api/cases/{again}/similar")).await;
    assert_eq!(r.body.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect::<Vec<_>>(), vec![first]);
    let hot = app.get(&dispatcher, "/api/hot-topics?days=7").await;
    assert_eq!(hot.status, StatusCode::OK, "{}", hot.text);
    let top = &hot.body["topics"][0];
    assert_eq!(
        (top["cases"].clone(), top["supports"].clone(), top["heat"].clone()),
        (json!(2), json!(1), json!(3)),
        "{}",
        hot.text
    );
    assert_eq!(top["members"][0]["id"], first, "the most supported first");
    assert!(top["keywords"].as_array().unwrap().iter().any(|k| k == "搅拌站"), "{top}");
    assert_eq!(
        hot.body["topics"].as_array().unwrap().len(),
        1,
        "a single unsupported report is no topic: {}",
        hot.text
    );
    let r = app.get(&dispatcher, "/api/hot-topics?days=0").await;
    assert_eq!((r.status, r.body["error"]["field"].clone()), (StatusCode::BAD_REQUEST, json!("days")));
    assert_eq!(app.get(&resident, "/api/hot-topics").await.status, StatusCode::FORBIDDEN);

    // One action merges the duplicate; merged cases leave the candidates and the topics.
    let r =
        app.post(&dispatcher, &format!("/api/cases/{again}/actions"), json!({"action": "merge", "into": first})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["merged_into"], first);
    let r = app.post(&resident2, "/api/cases/similar", draft).await;
    assert_eq!(r.body.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect::<Vec<_>>(), vec![first]);
    assert_eq!(app.get(&dispatcher, "/api/hot-topics?days=7").await.body["topics"][0]["cases"], 1);
    // Every row is still the replay of its timeline.
    assert_projections_replay(&app).await;
}

/// A job whose server stopped is taken again by another once its claim lapses, and the first
/// server's late word changes nothing; a job whose asker is no longer an administrator fails
/// with the reason.
#[tokio::test]
async fn a_training_whose_server_died_is_taken_again_when_its_claim_lapses() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    assert_eq!(import_history(&app, &admin).await, 300);
    let job = app.post(&admin, "/api/classifier/models", json!(null)).await.body;
    let id = job["id"].as_i64().unwrap();
    // A server claims it and dies.
    let now = wuzhi_app::Clock::now_ms(&*app.clock);
    let mut conn = app.app.db.write().await.unwrap();
    let taken = wuzhi_store::jobs::claim(&mut conn, "dead-server", now, now + 60_000).await.unwrap();
    wuzhi_store::commit(conn).await.unwrap();
    assert_eq!(taken.map(|j| j.id), Some(id));
    assert_eq!(wuzhi_app::jobs::run_once(&app.app, "live-server").await.unwrap(), None, "held by its claim");
    app.clock.advance_ms(61_000);
    assert_eq!(wuzhi_app::jobs::run_once(&app.app, "live-server").await.unwrap(), Some(id), "taken again");
    let done = app.get(&admin, &format!("/api/jobs/{id}")).await.body;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["result"]["version"], 1);
    let mut conn = app.app.db.write().await.unwrap();
    let late = wuzhi_store::jobs::finish(&mut conn, id, "dead-server", Err("late"), now).await.unwrap();
    wuzhi_store::commit(conn).await.unwrap();
    assert!(!late, "the dead server's word changes nothing");
    assert_eq!(app.get(&admin, &format!("/api/jobs/{id}")).await.body["state"], "done");
    let list = app.get(&admin, "/api/jobs").await;
    assert_eq!(list.body[0]["id"].as_i64(), Some(id), "{}", list.text);

    // A job whose servers stop three times over is given up, and frees its kind.
    let job = app.post(&admin, "/api/classifier/models", json!(null)).await.body;
    let crashing = job["id"].as_i64().unwrap();
    for i in 0..3 {
        let now = wuzhi_app::Clock::now_ms(&*app.clock);
        let mut conn = app.app.db.write().await.unwrap();
        let taken = wuzhi_store::jobs::claim(&mut conn, &format!("dying-{i}"), now, now + 60_000).await.unwrap();
        wuzhi_store::commit(conn).await.unwrap();
        assert_eq!(taken.map(|j| j.id), Some(crashing));
        app.clock.advance_ms(61_000);
    }
    assert_eq!(wuzhi_app::jobs::run_once(&app.app, "live-server").await.unwrap(), None);
    let gone = app.get(&admin, &format!("/api/jobs/{crashing}")).await.body;
    assert_eq!(
        (gone["state"].as_str(), gone["error"].as_str()),
        (Some("failed"), Some("its server stopped each time it ran"))
    );

    // Queued by an administrator whose post has ended by the time it runs: it fails, saying
    // why, and makes no version.
    let job = app.post(&admin, "/api/classifier/models", json!(null)).await.body;
    let id = job["id"].as_i64().unwrap();
    let mut conn = app.app.db.write().await.unwrap();
    sqlx::query("UPDATE memberships SET end_ms = $1 WHERE person_id = $2 AND role = 'admin'")
        .bind(wuzhi_app::Clock::now_ms(&*app.clock))
        .bind(admin.person_id)
        .execute(&mut *conn)
        .await
        .unwrap();
    wuzhi_store::commit(conn).await.unwrap();
    app.clock.advance_ms(1);
    assert_eq!(wuzhi_app::jobs::run_once(&app.app, "live-server").await.unwrap(), Some(id));
    let mut conn = app.app.db.read().await.unwrap();
    let row = wuzhi_store::jobs::get(&mut conn, id).await.unwrap().unwrap();
    assert_eq!(row.state, "failed");
    assert!(row.error.as_deref().unwrap_or("").contains("not allowed to train the classifier"), "{:?}", row.error);
    let versions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM text_models").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(versions, 1);
}
