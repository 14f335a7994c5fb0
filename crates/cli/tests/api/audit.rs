//! The audit log: every change and every reveal is recorded, the chain verifies, and an
//! edited, deleted or inserted entry is found by `wuzhi audit verify`.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

async fn exec(app: &TestApp, sql: &str) {
    let mut conn = app.app.db.read().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut *conn).await.unwrap();
}

#[tokio::test]
async fn changes_are_audited_and_the_chain_verifies() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let org = app
        .post(
            &admin,
            "/api/organisations",
            json!({"name": "和平区网格化管理中心", "kind": "command_centre", "territory_code": "120101"}),
        )
        .await;
    let log = app.get(&app.login("auditor").await, "/api/audit?limit=1000").await;
    assert_eq!(log.status, StatusCode::OK);
    let entries = log.body.as_array().unwrap();
    let created = entries
        .iter()
        .find(|e| e["action"] == "create_organisation" && e["object_id"] == org.body["id"].to_string())
        .unwrap();
    assert_eq!(created["actor_id"], admin.person_id);
    assert_eq!(created["detail"]["territory"], "120101");
    assert!(entries.iter().any(|e| e["action"] == "login" && e["object_id"] == admin.person_id.to_string()));
    // A district leader is not a city administrator.
    let dl = app.login("district_leader").await;
    assert_eq!(app.get(&dl, "/api/audit").await.status, StatusCode::FORBIDDEN);
    let (ok, out, err) = wuzhi(&["audit", "verify", "--database-url", &app.db.url], "");
    assert!(ok, "{err}");
    let n = entries.len() + 1; // and the audit read itself is not an entry, but the login of dl is
    assert!(out.starts_with("audit chain intact: "), "{out}");
    let counted: usize = out.split_whitespace().nth(3).unwrap().parse().unwrap();
    assert!(counted >= n, "{counted} >= {n}");
}

#[tokio::test]
async fn an_edited_entry_is_detected() {
    let app = spawn_app().await;
    let auditor = app.login("auditor").await;
    let intact = app.get(&auditor, "/api/audit/verify").await;
    assert_eq!((intact.status, intact.body["intact"].as_bool()), (StatusCode::OK, Some(true)), "{}", intact.text);
    exec(&app, "UPDATE audit_log SET detail = '{\"by_level\":{}}' WHERE seq = 1").await;
    let (ok, _, err) = wuzhi(&["audit", "verify", "--database-url", &app.db.url], "");
    assert!(!ok);
    assert!(err.contains("entry 1 was edited"), "{err}");
    // The auditor's page says the same.
    let r = app.get(&auditor, "/api/audit/verify").await;
    assert_eq!((r.body["intact"].as_bool(), r.body["broken_at_seq"].as_i64()), (Some(false), Some(1)), "{}", r.text);
    assert!(r.body["reason"].as_str().unwrap().contains("entry 1 was edited"));
    let admin = app.login("admin").await;
    assert_eq!(app.get(&admin, "/api/audit/verify").await.status, StatusCode::FORBIDDEN);
}

/// The auditor reads back from the newest entry, page by page, with the actors' names.
#[tokio::test]
async fn the_auditor_reads_the_newest_entries_first_with_names() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let auditor = app.login("auditor").await;
    let all = app.get(&auditor, "/api/audit?limit=1000").await.body.as_array().unwrap().clone();
    let newest = app.get(&auditor, &format!("/api/audit?before={}&limit=3", i64::MAX)).await;
    let page = newest.body.as_array().unwrap();
    let seqs: Vec<i64> = page.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    let last = all.last().unwrap()["seq"].as_i64().unwrap();
    assert_eq!(seqs, vec![last, last - 1, last - 2], "newest first");
    let back = app.get(&auditor, &format!("/api/audit?before={}&limit=3", last - 2)).await;
    assert_eq!(back.body[0]["seq"].as_i64(), Some(last - 3), "the next page goes on from the last one seen");
    // The administrator's sign-in names the administrator.
    let login = page
        .iter()
        .chain(all.iter())
        .find(|e| e["action"] == "login" && e["object_id"] == admin.person_id.to_string())
        .unwrap();
    assert_eq!(login["actor_name"], serde_json::Value::Null, "a sign-in is recorded by the system");
    let mine = app
        .post(
            &admin,
            "/api/organisations",
            json!({"name": "审计测试办公室", "kind": "admin_office", "territory_code": "120101"}),
        )
        .await;
    assert_eq!(mine.status, StatusCode::CREATED);
    let top = app.get(&auditor, &format!("/api/audit?before={}&limit=1", i64::MAX)).await;
    assert_eq!(top.body[0]["action"], "create_organisation");
    assert_eq!(top.body[0]["actor_name"], "系统管理员", "{}", top.text);
}

#[tokio::test]
async fn a_deleted_entry_is_detected() {
    let app = spawn_app().await;
    exec(&app, "DELETE FROM audit_log WHERE seq = 3").await;
    let (ok, _, err) = wuzhi(&["audit", "verify", "--database-url", &app.db.url], "");
    assert!(!ok);
    assert!(err.contains("entry 3 is missing"), "{err}");
}

#[tokio::test]
async fn an_inserted_entry_is_detected() {
    let app = spawn_app().await;
    // A forged entry appended past the head, with a hash that is right for its content.
    let mut conn = app.app.db.read().await.unwrap();
    let (seq, prev) = wuzhi_store::audit::head(&mut conn).await.unwrap();
    drop(conn);
    let seq = seq + 1;
    let hash = wuzhi_domain::audit::entry_hash(seq, 1, Some(1), "login", "person", "1", "{}", &prev);
    exec(
        &app,
        &format!("INSERT INTO audit_log (seq, at_ms, actor_id, action, object_type, object_id, detail, prev_hash, hash) VALUES ({seq}, 1, 1, 'login', 'person', '1', '{{}}', '{prev}', '{hash}')"),
    )
    .await;
    let (ok, _, err) = wuzhi(&["audit", "verify", "--database-url", &app.db.url], "");
    assert!(!ok);
    assert!(err.contains("inserted after the head"), "{err}");
}
