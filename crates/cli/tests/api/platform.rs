//! Health, metrics, the OpenAPI document and its offline page, organisations and people
//! administration, and the shape of every error.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn health_metrics_and_api_docs_are_served_without_internet() {
    let app = spawn_app().await;
    let h = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(h["status"], "ok");
    assert!(h["grids_indexed"].as_u64().unwrap() > 100);
    let doc: Value =
        app.client.get(format!("{}/api/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/territories"]["get"].is_object());
    let page = app.client.get(format!("{}/api/docs/", app.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("https://"), "the page loads nothing from outside");
    for asset in ["swagger-ui.css", "swagger-ui-bundle.js", "swagger-initializer.js"] {
        let r = app.client.get(format!("{}/api/docs/{asset}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{asset}");
    }
    let init = app
        .client
        .get(format!("{}/api/docs/swagger-initializer.js", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("/api/openapi.json"));
    let s = app.login("admin").await;
    app.get(&s, "/api/territories").await;
    let m = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(m.contains("http_requests_total"), "{m}");
    assert!(m.contains("route=\"/api/territories\""), "{m}");
    assert!(m.contains("http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn every_error_is_json_with_a_code_and_the_field() {
    let app = spawn_app().await;
    let s = app.login("admin").await;
    let missing = app.post(&s, "/api/organisations", json!({"kind": "department", "territory_code": "120101"})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body["error"]["code"], "invalid_input");
    assert_eq!(missing.body["error"]["field"], "name", "{}", missing.text);
    let wrong_type =
        app.post(&s, "/api/organisations", json!({"name": 5, "kind": "department", "territory_code": "120101"})).await;
    assert_eq!(wrong_type.body["error"]["code"], "invalid_input");
    let bad_kind = app
        .post(&s, "/api/organisations", json!({"name": "某局", "kind": "ministry", "territory_code": "120101"}))
        .await;
    assert_eq!(bad_kind.body["error"]["field"], "kind");
    assert!(bad_kind.body["error"]["reason"].as_str().unwrap().contains("party_organisation"));
    let bad_code = app
        .post(&s, "/api/organisations", json!({"name": "某局", "kind": "department", "territory_code": "12x"}))
        .await;
    assert_eq!(bad_code.body["error"]["field"], "territory_code");
    let limit = app.get(&s, "/api/territories?limit=5000").await;
    assert_eq!(limit.body["error"]["field"], "limit");
    let level = app.get(&s, "/api/territories?level=province").await;
    assert_eq!(level.body["error"]["field"], "level");
    // Errors axum raises itself are JSON too.
    let wrong_method = app.call(Some(&s), Method::PUT, "/api/territories", None).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.body["error"]["code"], "method_not_allowed");
    let no_type = app.client.post(format!("{}/api/session", app.base)).body("{}").send().await.unwrap();
    let no_type = into_reply(no_type).await;
    assert_eq!(no_type.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_type.body["error"]["code"], "invalid_input", "{}", no_type.text);
    // A body over the limit.
    let big = app.post_text(&s, "/api/territories/import?format=csv", &"x".repeat(65 * 1024 * 1024)).await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(big.body["error"]["code"], "payload_too_large", "{}", big.text);
    let nothing = app.get(&s, "/api/no/such/thing").await;
    assert_eq!(nothing.status, StatusCode::NOT_FOUND);
    assert_eq!(nothing.body["error"]["code"], "not_found");
    let not_json = app
        .client
        .post(format!("{}/api/session", app.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let r = into_reply(not_json).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"]["code"], "invalid_input");
}

#[tokio::test]
async fn administrators_manage_organisations_people_and_memberships() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let org = app
        .post(
            &admin,
            "/api/organisations",
            json!({"name": "花园路社区志愿服务队", "kind": "volunteer_team", "territory_code": "120101001001"}),
        )
        .await;
    assert_eq!(org.status, StatusCode::CREATED, "{}", org.text);
    let org_id = org.body["id"].as_i64().unwrap();
    let dup = app
        .post(
            &admin,
            "/api/organisations",
            json!({"name": "花园路社区志愿服务队", "kind": "volunteer_team", "territory_code": "120101001001"}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.body["error"]["field"], "name");
    let wrong_parent = app
        .post(
            &admin,
            "/api/organisations",
            json!({"name": "子队", "kind": "volunteer_team", "territory_code": "120101002", "parent_id": org_id}),
        )
        .await;
    assert_eq!(wrong_parent.body["error"]["field"], "parent_id");

    let security = app.login("security").await;
    let p = app
        .post(
            &security,
            "/api/people",
            json!({"name": "赵志愿", "phone": "139 0000 1234", "home_territory": "120101001001002", "username": "zhao", "password": "a long enough password"}),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.text);
    assert_eq!(p.body["phone"], "139****1234");
    let pid = p.body["id"].as_i64().unwrap();
    let taken = app.post(&security, "/api/people", json!({"name": "重名", "home_territory": "120101001001002", "username": "zhao", "password": "a long enough password"})).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(taken.body["error"]["field"], "username");
    let bad_phone = app
        .post(&security, "/api/people", json!({"name": "某人", "home_territory": "120101001001002", "phone": "12345"}))
        .await;
    assert_eq!(bad_phone.body["error"]["field"], "phone");
    let before = app.get(&security, "/api/people?limit=1000").await.body.as_array().unwrap().len();
    assert_eq!(before, 16, "the fifteen demo people and 赵志愿");

    // A volunteer post outside the team's territory is refused; inside it works and gives
    // the role at once.
    let outside = app.post(&security, "/api/memberships", json!({"person_id": pid, "organisation_id": org_id, "role": "steward", "scope_code": "120101002001", "post": "队员"})).await;
    assert_eq!(outside.body["error"]["field"], "scope_code");
    let bad_role = app.post(&security, "/api/memberships", json!({"person_id": pid, "organisation_id": org_id, "role": "mayor", "scope_code": "120101001001", "post": "队员"})).await;
    assert_eq!(bad_role.body["error"]["field"], "role");
    let m = app.post(&security, "/api/memberships", json!({"person_id": pid, "organisation_id": org_id, "role": "steward", "scope_code": "120101001001", "post": "队员"})).await;
    assert_eq!(m.status, StatusCode::CREATED, "{}", m.text);
    let zhao = app.try_login("zhao", "a long enough password").await;
    assert_eq!(zhao.status, StatusCode::OK);
    let zs = Session {
        cookie: zhao.headers.get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().into(),
        csrf: zhao.body["csrf_token"].as_str().unwrap().into(),
        person_id: pid,
    };
    let grids =
        app.get(&security, "/api/territories?level=grid&parent=120101001001").await.body["total"].as_i64().unwrap();
    assert!(grids >= 2);
    assert_eq!(
        app.get(&zs, "/api/territories?level=grid").await.body["total"],
        grids,
        "a steward of 花园路社区 sees its grids"
    );
    assert_eq!(app.get(&zs, "/api/territories?level=village").await.body["total"], 1);
    // Ending the post takes the role away on the next request.
    let mid = m.body["id"].as_i64().unwrap();
    assert_eq!(
        app.call(Some(&security), Method::DELETE, &format!("/api/memberships/{mid}"), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&zs, "/api/territories").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.call(Some(&security), Method::DELETE, &format!("/api/memberships/{mid}"), None).await.status,
        StatusCode::NOT_FOUND
    );

    // A community worker registers residents of their own community only.
    let cw = app.login("community").await;
    let ok = app.post(&cw, "/api/people", json!({"name": "钱居民", "home_territory": "120101001001001"})).await;
    assert_eq!(ok.status, StatusCode::CREATED);
    let no = app.post(&cw, "/api/people", json!({"name": "孙居民", "home_territory": "120101002001"})).await;
    assert_eq!(no.status, StatusCode::FORBIDDEN);
    assert_eq!(app.post(&cw, "/api/memberships", json!({"person_id": pid, "organisation_id": org_id, "role": "admin", "scope_code": "120101001001", "post": "x"})).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn administrators_edit_people_and_disable_or_reset_accounts() {
    let app = spawn_app().await;
    let security = app.login("security").await;
    let r2 = app.person_id("resident2").await;
    let s = app.login("resident2").await;
    let edited = app
        .call(
            Some(&security),
            Method::PATCH,
            &format!("/api/people/{r2}"),
            Some(json!({"phone": "13912345678", "home_territory": "120101001001001"})),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
    assert_eq!(edited.body["phone"], "139****5678");
    assert_eq!(edited.body["home_territory"], "120101001001001");
    assert_eq!(edited.body["name"], "花园路另一居民");
    let bad = app
        .call(
            Some(&security),
            Method::PATCH,
            &format!("/api/people/{r2}"),
            Some(json!({"home_territory": "120101001001999"})),
        )
        .await;
    assert_eq!(bad.body["error"]["field"], "home_territory");
    let empty = app.post(&security, &format!("/api/people/{r2}/account"), json!({})).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    let off = app.post(&security, &format!("/api/people/{r2}/account"), json!({"disabled": true})).await;
    assert_eq!(off.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&s, "/api/me").await.status, StatusCode::UNAUTHORIZED, "sessions end");
    assert_eq!(app.try_login("resident2", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    let on = app
        .post(
            &security,
            &format!("/api/people/{r2}/account"),
            json!({"disabled": false, "password": "reset by the security, 2026"}),
        )
        .await;
    assert_eq!(on.status, StatusCode::NO_CONTENT);
    assert_eq!(app.try_login("resident2", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.try_login("resident2", "reset by the security, 2026").await.status, StatusCode::OK);
    let log = app.get(&app.login("auditor").await, "/api/audit?limit=1000").await.body;
    let n = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "manage_account" && e["object_id"] == r2.to_string())
        .count();
    assert_eq!(n, 2);
}

#[test]
fn the_classifier_trains_and_evaluates_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!("wuzhi-classify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/complaints/messages_sample.csv");
    let model = dir.join("model.json");
    let model = model.to_str().unwrap();
    let (ok, out, err) = crate::helpers::wuzhi(&["classify", "train", "--input", input, "--model", model], "");
    assert!(ok, "{err}");
    assert!(out.contains("cv_macro_f1: ") && out.contains("城乡建设") && out.contains("precision"), "{out}");
    let (ok, out, err) = crate::helpers::wuzhi(&["classify", "eval", "--input", input, "--model", model], "");
    assert!(ok, "{err}");
    let figure = |name: &str| -> f64 {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("{name} in {out}"))
            .parse()
            .unwrap()
    };
    // On the messages it was trained on, nearly all are right.
    assert!(figure("accuracy") > 0.95 && figure("macro_f1") > 0.9, "{out}");
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "subject,detail\nx,y\n").unwrap();
    let (ok, _, err) =
        crate::helpers::wuzhi(&["classify", "eval", "--input", bad.to_str().unwrap(), "--model", model], "");
    assert!(!ok && err.contains("no `label` column"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What `wuzhi demo` seeds, as it seeds it (the whole city): every step runs — the
/// synthetic archives of the whole district once failed on a point that six decimals moved
/// into the neighbouring grid —, the pages have something to show, and a second start seeds
/// nothing again.
#[tokio::test]
async fn the_demo_command_seeds_the_whole_city_once() {
    let db = fresh_db().await;
    let (app, _clock) = open_app(&db.url).await;
    assert!(wuzhi_app::demo::seed_all(&app, None).await.unwrap());
    let mut conn = app.db.read().await.unwrap();
    let mut count = async |sql: &str| -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut *conn).await.unwrap()
    };
    assert!(count("SELECT COUNT(*) FROM archive_people").await > 10_000);
    assert!(count("SELECT COUNT(*) FROM gridwork_patrols").await > 0);
    assert_eq!(count("SELECT COUNT(*) FROM volunteer_activities WHERE state = 'open'").await, 2);
    assert_eq!(count("SELECT COUNT(*) FROM volunteer_signups").await, 1);
    assert_eq!(count("SELECT COUNT(*) FROM small_wishes WHERE state = 'open'").await, 1);
    assert_eq!(count("SELECT COUNT(*) FROM points_items").await, 3);
    drop(conn);
    assert!(!wuzhi_app::demo::seed_all(&app, None).await.unwrap(), "seeded once");
    db.drop_postgres();
}
