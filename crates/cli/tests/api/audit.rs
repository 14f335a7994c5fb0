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
    exec(&app, "UPDATE audit_log SET detail = '{\"by_level\":{}}' WHERE seq = 1").await;
    let (ok, _, err) = wuzhi(&["audit", "verify", "--database-url", &app.db.url], "");
    assert!(!ok);
    assert!(err.contains("entry 1 was edited"), "{err}");
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
