//! `wuzhi backup` while the server runs and `wuzhi restore` into a new data directory (or an
//! empty PostgreSQL database): the restored city has every row the backup recorded and the
//! same files, its audit chain verifies, nothing written after the backup is in it, and a
//! damaged backup or an occupied target is refused.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_backup_taken_while_serving_restores_into_a_new_data_directory() {
    let t = spawn_app().await;
    let admin = t.login("admin").await;
    let resident = t.login("resident").await;
    let (x, y) = crate::cases::point_in(&t, &admin, "120101001001001").await;
    let report = |subject: &'static str| {
        let (t, resident) = (&t, &resident);
        async move {
            let r = t
                .post(resident, "/api/cases", json!({"channel": "app", "kind": "report", "subject": subject, "description": "d", "lon": x, "lat": y}))
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            r.body["id"].as_i64().unwrap()
        }
    };
    let before = report("井盖缺失").await;
    let photo = crate::cases::upload(&t, &resident, before, "p.png", "image/png", crate::cases::PNG.to_vec()).await;
    assert_eq!(photo.status, StatusCode::CREATED, "{}", photo.text);
    let photo = photo.body["id"].as_i64().unwrap();

    // The backup, with the server running.
    let to = t.db.dir.join("backup");
    let dir = t.db.dir.display().to_string();
    let (ok, out, err) =
        wuzhi(&["backup", "--database-url", &t.db.url, "--data-dir", &dir, "--to", &to.display().to_string()], "");
    assert!(ok, "{out}{err}");
    // On SQLite the photo is a file beside the database; on PostgreSQL it is in the database.
    let files = if t.db.url.starts_with("postgres") { "0 files" } else { "1 files" };
    assert!(out.contains(files), "{out}");
    // Written after it: not in the restored city.
    let after = report("路灯不亮").await;

    let target = fresh_db().await;
    let target_dir = target.dir.display().to_string();
    let from = to.display().to_string();
    let (ok, out, err) =
        wuzhi(&["restore", "--database-url", &target.url, "--data-dir", &target_dir, "--from", &from], "");
    assert!(ok, "{out}{err}");
    assert!(out.contains("audit chain intact"), "{out}");
    // Again into the same place: refused, nothing changed.
    let (ok, _, err) =
        wuzhi(&["restore", "--database-url", &target.url, "--data-dir", &target_dir, "--from", &from], "");
    assert!(!ok && (err.contains("already there") || err.contains("not empty")), "{err}");

    let (app, clock) = open_app_with_files(&target.url, target.dir.join("files")).await;
    let restored = serve(app, clock, target).await;
    let resident2 = restored.login("resident").await;
    let r = restored.get(&resident2, &format!("/api/cases/{before}")).await;
    assert_eq!((r.status, r.body["subject"].as_str()), (StatusCode::OK, Some("井盖缺失")), "{}", r.text);
    assert_eq!(restored.get(&resident2, &format!("/api/cases/{after}")).await.status, StatusCode::NOT_FOUND);
    let bytes = restored
        .client
        .get(format!("{}/api/attachments/{photo}", restored.base))
        .header("cookie", &resident2.cookie)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), crate::cases::PNG, "the photo came back with its case");
    // Every case of the restored city is still the replay of its timeline.
    assert_projections_replay(&restored).await;

    // A damaged backup is refused before anything is written.
    let db_file = ["wuzhi.sqlite", "wuzhi.pgdump"].iter().map(|f| to.join(f)).find(|p| p.exists()).unwrap();
    let mut raw = std::fs::read(&db_file).unwrap();
    let mid = raw.len() / 2;
    raw[mid] ^= 0xff;
    std::fs::write(&db_file, raw).unwrap();
    let other = fresh_db().await;
    let (ok, _, err) = wuzhi(
        &["restore", "--database-url", &other.url, "--data-dir", &other.dir.display().to_string(), "--from", &from],
        "",
    );
    assert!(!ok && err.contains("damaged"), "{err}");
    assert!(!other.dir.join("files").exists(), "nothing was restored from a damaged backup");
}
