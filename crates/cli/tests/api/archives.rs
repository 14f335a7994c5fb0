//! The base archives (issue 13): imports that name every bad row and write nothing; reads
//! that are masked unless the reader's role, territory and a stated purpose allow, with every
//! clear read in the audit chain and in the person's own view; special groups hidden from
//! all but their own staff; no identity number in plain text in the database, an export or
//! the server's log; a person's correction and deletion requests end to end; retention, key
//! rotation, links from cases and the map's layers.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wuzhi_app::archives::demo::{Rng, id_number};

const GRID: &str = "120101001001001";
const GRID2: &str = "120101001001002";

/// Two valid identity numbers of 和平区 people, born 1940 and 1985.
fn ids() -> (String, String, String) {
    let mut r = Rng::new(42);
    (
        id_number(&mut r, "120101", 1940, true),
        id_number(&mut r, "120101", 1985, false),
        id_number(&mut r, "120101", 1990, true),
    )
}

/// Imports three known people into grid 1 (the first has the demo resident's phone) and
/// returns their archive ids.
async fn known_people(t: &TestApp) -> (i64, i64, i64) {
    let (a, b, c) = ids();
    let admin = t.login("admin").await;
    let csv = format!(
        "ref,grid_code,name,id_number,phone,residence,tags\n\
         K1,{GRID},王建国,{a},13800000011,registered,living_alone;very_old\n\
         K2,{GRID},李秀英,{b},13900000002,resident,severe_mental_illness\n\
         K3,{GRID2},张伟,{c},,floating,\n"
    );
    let r = t.post_text(&admin, "/api/archives/import?kind=people", &csv).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["created"], 3);
    let mut conn = t.app.db.read().await.unwrap();
    let id = |r: &'static str| sqlx::query_scalar::<_, i64>("SELECT id FROM archive_people WHERE ref = $1").bind(r);
    (
        id("K1").fetch_one(&mut *conn).await.unwrap(),
        id("K2").fetch_one(&mut *conn).await.unwrap(),
        id("K3").fetch_one(&mut *conn).await.unwrap(),
    )
}

async fn count(t: &TestApp, table: &str) -> i64 {
    let mut conn = t.app.db.read().await.unwrap();
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

fn problems(r: &Reply) -> Vec<(String, String, String)> {
    r.body["error"]["details"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .map(|d| {
            (
                d["location"].as_str().unwrap().to_owned(),
                d["field"].as_str().unwrap().to_owned(),
                d["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn imports_name_every_bad_row_and_write_nothing() {
    let t = spawn_app().await;
    let admin = t.login("admin").await;
    let (good, other, _) = ids();
    let mut wrong = good.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    let csv = format!(
        "ref,grid_code,name,id_number,residence\n\
         A1,{GRID},王一,{good},registered\n\
         A2,{GRID},王二,{wrong},registered\n\
         A3,120101001001999,王三,{other},registered\n\
         A4,{GRID},王四,{good},tourist\n\
         A5,{GRID},王五,{good},resident\n"
    );
    let r = t.post_text(&admin, "/api/archives/import?kind=people", &csv).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let p = problems(&r);
    let has =
        |line: &str, field: &str, reason: &str| p.iter().any(|x| x.0 == line && x.1 == field && x.2.contains(reason));
    assert!(has("line 3", "id_number", "wrong check digit"), "{p:?}");
    assert!(has("line 4", "grid_code", "is not a grid"), "{p:?}");
    assert!(has("line 5", "residence", "is not one of"), "{p:?}");
    assert!(has("line 6", "id_number", "the same as line 2"), "{p:?}");
    // No error quotes an identity number.
    assert!(!r.text.contains(&good) && !r.text.contains(&wrong), "{}", r.text);
    assert_eq!(count(&t, "archive_people").await, 0, "nothing was imported");

    // A house whose stated grid is not its building's; a building whose point is elsewhere.
    let b = format!("ref,grid_code,address,kind,floors\nBX,{GRID},花园路1号,residential,6\n");
    assert_eq!(t.post_text(&admin, "/api/archives/import?kind=buildings", &b).await.status, StatusCode::OK);
    let h = format!("ref,building_ref,number,use,grid_code\nHX,BX,1-101,出租,{GRID2}\nHY,BZ,1-102,own,\n");
    let r = t.post_text(&admin, "/api/archives/import?kind=houses", &h).await;
    let p = problems(&r);
    assert!(
        p.iter().any(|x| x.0 == "line 2" && x.1 == "grid_code" && x.2.contains(&format!("is in grid {GRID}"))),
        "{p:?}"
    );
    assert!(p.iter().any(|x| x.0 == "line 3" && x.1 == "building_ref"), "{p:?}");
    let far = format!("ref,grid_code,address,kind,lat,lon\nBY,{GRID},远处,residential,39.9,116.4\n");
    let r = t.post_text(&admin, "/api/archives/import?kind=buildings", &far).await;
    assert!(problems(&r).iter().any(|x| x.1 == "lon" && x.2.contains("outside every grid")), "{}", r.text);
    // A preview checks and writes nothing.
    let ok = format!("ref,building_ref,number,use\nHX,BX,1-101,出租\n");
    let r = t.post_text(&admin, "/api/archives/import?kind=houses&dry_run=true", &ok).await;
    assert_eq!(
        (r.status, r.body["created"].as_i64(), r.body["dry_run"].as_bool()),
        (StatusCode::OK, Some(1), Some(true))
    );
    assert_eq!(count(&t, "archive_houses").await, 0);

    // Plates, credit codes and component codes are checked too.
    let v = format!("plate,grid_code\n津A12345,{GRID}\n津AI2345,{GRID}\n津A12345,{GRID}\n");
    let p = problems(&t.post_text(&admin, "/api/archives/import?kind=vehicles", &v).await);
    assert!(
        p.iter().any(|x| x.0 == "line 3" && x.1 == "plate")
            && p.iter().any(|x| x.0 == "line 4" && x.2.contains("line 2")),
        "{p:?}"
    );
    let c = format!("code,name,grid_code\n1201010901000001,井盖,{GRID}\n1202010101000001,井盖,{GRID}\n");
    let p = problems(&t.post_text(&admin, "/api/archives/import?kind=components", &c).await);
    assert!(p.iter().any(|x| x.0 == "line 2" && x.2.contains("major class")), "{p:?}");
    assert!(p.iter().any(|x| x.0 == "line 3" && x.2.contains("registered in 120201")), "{p:?}");

    // Community staff import only into their community.
    let community = t.login("community").await;
    let outside = "ref,grid_code,name,residence,sex\nZ1,120101001002001,赵一,registered,男\n";
    let p = problems(&t.post_text(&community, "/api/archives/import?kind=people", outside).await);
    assert!(p.iter().any(|x| x.1 == "grid_code" && x.2.contains("may not import")), "{p:?}");
    let steward = t.login("steward").await;
    assert_eq!(t.post_text(&steward, "/api/archives/import?kind=people", outside).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_excel_file_imports_like_a_csv_and_a_known_person_is_merged() {
    let t = spawn_app().await;
    let admin = t.login("admin").await;
    let (a, _, _) = ids();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, h) in ["ref", "grid_code", "name", "id_number", "residence", "tags"].iter().enumerate() {
        sheet.write_string(0, col as u16, *h).unwrap();
    }
    for (col, v) in ["X1", GRID, "王建国", a.as_str(), "户籍", "独居老人"].iter().enumerate() {
        sheet.write_string(1, col as u16, *v).unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();
    let r = t
        .client
        .post(format!("{}/api/archives/import?kind=people&format=xlsx", t.base))
        .header("cookie", &admin.cookie)
        .header("x-csrf-token", &admin.csrf)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let r = into_reply(r).await;
    assert_eq!((r.status, r.body["created"].as_i64()), (StatusCode::OK, Some(1)), "{}", r.text);
    // The same identity number again, now in grid 2 as floating: merged into one record.
    let csv = format!("ref,grid_code,name,id_number,residence,tags\nX2,{GRID2},王建国,{a},floating,低保/特困\n");
    let r = t.post_text(&admin, "/api/archives/import?kind=people", &csv).await;
    assert_eq!((r.body["created"].as_i64(), r.body["merged"].as_i64()), (Some(0), Some(1)), "{}", r.text);
    assert_eq!(count(&t, "archive_people").await, 1);
    let s = t.login("dispatcher").await;
    let p = t.post(&s, "/api/archives/lookup", json!({"id_number": a})).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!((p.body["grid_code"].as_str(), p.body["residence"].as_str()), (Some(GRID2), Some("floating")));
    assert_eq!(p.body["care_tags"], json!(["living_alone", "low_income"]));
    let id = p.body["id"].as_i64().unwrap();
    let h = t.get(&s, &format!("/api/archives/history/person/{id}")).await;
    let fields: Vec<&str> = h.body.as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert!(
        fields.contains(&"grid_code") && fields.contains(&"residence") && fields.contains(&"care_tags"),
        "{fields:?}"
    );
}

#[tokio::test]
async fn reads_are_masked_unless_role_territory_and_purpose_allow_and_every_clear_read_is_audited() {
    let t = spawn_app().await;
    let (k1, k2, k3) = known_people(&t).await;
    let (a, b, _) = ids();
    let gw = t.login("gridworker").await;
    let gw2 = t.login("gridworker2").await;
    let steward = t.login("steward").await;
    let leader = t.login("city_leader").await;
    let community = t.login("community").await;
    let resident2 = t.login("resident2").await;

    // Without a purpose: masked for the grid's worker.
    let p = t.get(&gw, &format!("/api/archives/people/{k1}")).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!(p.body["name"], "王**");
    assert_eq!(p.body["id_number"].as_str().unwrap(), wuzhi_domain::mask::id_number(&a));
    assert_eq!(p.body["clear"], json!([]));
    assert_eq!(p.body["care_tags"], json!(["living_alone", "very_old"]));
    assert!(p.body["special_tags"].is_null());
    // With a purpose: in clear, and audited.
    let reason = "入户走访核实独居老人情况";
    let path = format!("/api/archives/people/{k1}?purpose_kind=reason&purpose={}", urlencode(reason));
    let p = t.get(&gw, &path).await;
    assert_eq!(
        (p.body["id_number"].as_str(), p.body["phone"].as_str()),
        (Some(a.as_str()), Some("13800000011")),
        "{}",
        p.text
    );
    // Outside the territory, or a role without the archives: nothing.
    for s in [&gw2, &steward, &resident2] {
        assert_eq!(t.get(s, &path).await.status, StatusCode::FORBIDDEN);
        let r = t.post(s, "/api/archives/lookup", json!({"id_number": a})).await;
        assert!(matches!(r.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN), "{}", r.text);
        assert!(!r.text.contains(&a[..10]));
    }
    // A leader reads masked only, purpose or not.
    let l = t.get(&leader, &path).await;
    assert_eq!(l.body["id_number"].as_str().unwrap(), wuzhi_domain::mask::id_number(&a), "{}", l.text);
    // A bad purpose is refused, naming the field.
    let bad = t.get(&gw, &format!("/api/archives/people/{k1}?purpose_kind=reason&purpose=x")).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("purpose")));
    let bad = t.get(&gw, &format!("/api/archives/people/{k1}?purpose_kind=case&purpose=999999")).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("purpose")));

    // Special groups: never for the grid worker; for the community's staff with a purpose.
    let p = t.get(&gw, &format!("/api/archives/people/{k2}?purpose_kind=reason&purpose={}", urlencode(reason))).await;
    assert!(p.body["special_tags"].is_null(), "{}", p.text);
    let p = t.get(&community, &format!("/api/archives/people/{k2}")).await;
    assert!(p.body["special_tags"].is_null());
    let p = t
        .get(
            &community,
            &format!("/api/archives/people/{k2}?purpose_kind=reason&purpose={}", urlencode("精神障碍患者随访")),
        )
        .await;
    assert_eq!(p.body["special_tags"], json!(["severe_mental_illness"]), "{}", p.text);
    assert_eq!(p.body["id_number"].as_str(), Some(b.as_str()));

    // A case as purpose: one the reader may open.
    let resident = t.login("resident").await;
    let (x, y) = point_in(&t.app, GRID).await;
    let case = t
        .post(&resident, "/api/cases", json!({"channel": "app", "kind": "request", "subject": "独居老人家中漏水", "description": "楼上漏水", "lon": x, "lat": y}))
        .await;
    let case_id = case.body["id"].as_i64().expect(&case.text);
    let p = t.get(&gw, &format!("/api/archives/people/{k1}?purpose_kind=case&purpose={case_id}")).await;
    assert_eq!(p.body["id_number"].as_str(), Some(a.as_str()), "{}", p.text);
    let p = t.get(&gw2, &format!("/api/archives/people/{k3}?purpose_kind=case&purpose={case_id}")).await;
    assert_eq!(
        p.body["error"]["field"].as_str(),
        Some("purpose"),
        "grid 2's worker may not open grid 1's case: {}",
        p.text
    );

    // Every clear read is in the audit chain, with its fields and purpose, and the chain holds.
    let mut conn = t.app.db.read().await.unwrap();
    let entries: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT actor_id, object_id, detail FROM audit_log WHERE action = 'archives.read_personal' ORDER BY seq",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    assert_eq!(entries.len(), 4, "{entries:?}");
    assert!(entries.iter().all(|e| !e.2.contains(&a) && !e.2.contains(&b)), "no value in the audit detail");
    assert!(entries[0].2.contains(reason) && entries[0].2.contains("id_number"), "{entries:?}");
    assert!(wuzhi_app::audit::verify(&t.app).await.unwrap().is_ok(), "the audit chain holds");

    // Households and the export: masked.
    let h = t.get(&gw, &format!("/api/archives/grids/{GRID}/households")).await;
    assert!(!h.text.contains(&a) && h.text.contains("王**"), "{}", h.text);
    assert_eq!(t.get(&gw2, &format!("/api/archives/grids/{GRID}/households")).await.status, StatusCode::FORBIDDEN);
    let e = t.get(&community, &format!("/api/archives/grids/{GRID}/export")).await;
    assert_eq!(e.status, StatusCode::OK);
    assert!(!e.text.contains(&a) && !e.text.contains(&b) && !e.text.contains("13800000011"), "{}", e.text);
    assert!(e.text.contains(&wuzhi_domain::mask::id_number(&a)), "{}", e.text);
    // Search is within one's territory and masked.
    let f = t.get(&gw, &format!("/api/archives/search?q={}", urlencode("王"))).await;
    assert_eq!(f.body["people"].as_array().map(Vec::len), Some(1), "{}", f.text);
    let f = t.get(&gw2, &format!("/api/archives/search?q={}", urlencode("王"))).await;
    assert_eq!(f.body["people"].as_array().map(Vec::len), Some(0), "{}", f.text);
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[tokio::test]
async fn many_reads_in_a_short_time_warn_the_data_protection_officer() {
    let t = spawn_app_with_settings(|s| s.bulk_read_threshold = 3).await;
    let (k1, k2, k3) = known_people(&t).await;
    let s = t.login("dispatcher").await;
    let dpo = t.login("dpo").await;
    for id in [k1, k2] {
        let r = t
            .get(
                &s,
                &format!("/api/archives/people/{id}?purpose_kind=reason&purpose={}", urlencode("热线来电核实身份")),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    assert!(!t.get(&dpo, "/api/me/notifications").await.text.contains("archives.bulk_read"));
    t.get(&s, &format!("/api/archives/people/{k3}?purpose_kind=reason&purpose={}", urlencode("热线来电核实身份")))
        .await;
    let n = t.get(&dpo, "/api/me/notifications").await.text;
    assert!(n.contains("archives.bulk_read"), "{n}");
}

#[tokio::test]
async fn a_person_sees_their_record_and_who_read_it_and_corrections_and_deletions_run_end_to_end() {
    let t = spawn_app().await;
    let (k1, _, _) = known_people(&t).await;
    let (a, b, _) = ids();
    let resident = t.login("resident").await;
    // Someone else's number, or a typo: the same answer, nothing learnt.
    let r1 = t.post(&resident, "/api/me/archives/claim", json!({"id_number": b})).await;
    let r2 = t.post(&resident, "/api/me/archives/claim", json!({"id_number": "11010519491231002X"})).await;
    assert_eq!((r1.status, r2.status), (StatusCode::BAD_REQUEST, StatusCode::BAD_REQUEST));
    assert_eq!(r1.body["error"], r2.body["error"]);
    let r = t.post(&resident, "/api/me/archives/claim", json!({"id_number": a})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["id_number"].as_str(), Some(a.as_str()), "one's own record in clear");
    // A grid worker reads it with a purpose; the person sees who, when and why.
    let gw = t.login("gridworker").await;
    t.get(&gw, &format!("/api/archives/people/{k1}?purpose_kind=reason&purpose={}", urlencode("核实独居老人情况")))
        .await;
    let mine = t.get(&resident, "/api/me/archives").await;
    let reads = &mine.body[0]["reads"];
    assert_eq!(reads.as_array().map(Vec::len), Some(1), "{}", mine.text);
    assert_eq!(reads[0]["by"], "花园路第1网格网格员");
    assert!(reads[0]["purpose"].as_str().unwrap().contains("核实独居老人情况"));

    // A correction: submitted, seen by the community's staff, answered.
    let r = t
        .post(
            &resident,
            "/api/archives/requests",
            json!({"archive_person_id": k1, "kind": "correction", "field": "residence", "detail": "我已是户籍人口"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["actions"], json!([]), "the requester cannot answer their own request");
    let rid = r.body["id"].as_i64().unwrap();
    let community = t.login("community").await;
    let list = t.get(&community, "/api/archives/requests?open=true").await;
    let row = list.body.as_array().unwrap().iter().find(|x| x["id"] == rid).expect(&list.text).clone();
    assert_eq!(row["actions"], json!(["answer", "refuse"]));
    let gw2 = t.login("gridworker2").await;
    assert_eq!(t.get(&gw2, &format!("/api/archives/requests/{rid}")).await.status, StatusCode::NOT_FOUND);
    let v = row["version"].as_i64().unwrap();
    let done = t
        .post(
            &community,
            &format!("/api/archives/requests/{rid}/answer"),
            json!({"version": v, "text": "已核实并更正"}),
        )
        .await;
    assert_eq!(done.body["status"], "done", "{}", done.text);
    let again = t
        .post(&community, &format!("/api/archives/requests/{rid}/answer"), json!({"version": v, "text": "again"}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // A deletion: answered, the record is erased (its blind index too).
    let r = t
        .post(
            &resident,
            "/api/archives/requests",
            json!({"archive_person_id": k1, "kind": "deletion", "detail": "我已搬离本社区"}),
        )
        .await;
    let (rid, v) = (r.body["id"].as_i64().unwrap(), r.body["version"].as_i64().unwrap());
    let done = t
        .post(&community, &format!("/api/archives/requests/{rid}/answer"), json!({"version": v, "text": "已删除"}))
        .await;
    assert_eq!(done.body["status"], "done", "{}", done.text);
    let p = t.get(&community, &format!("/api/archives/people/{k1}")).await;
    assert_eq!((p.body["anonymised"].as_bool(), p.body["id_number"].as_str()), (Some(true), None), "{}", p.text);
    let dispatcher = t.login("dispatcher").await;
    assert_eq!(
        t.post(&dispatcher, "/api/archives/lookup", json!({"id_number": a})).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(t.get(&resident, "/api/me/archives").await.body.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn an_unanswered_request_is_marked_overdue_by_the_one_sweep() {
    let start = 1_767_225_600_000; // 2026-01-01 08:00 China time
    let t = spawn_app_at(start).await;
    let (k1, _, _) = known_people(&t).await;
    let (a, _, _) = ids();
    let resident = t.login("resident").await;
    t.post(&resident, "/api/me/archives/claim", json!({"id_number": a})).await;
    let r = t
        .post(
            &resident,
            "/api/archives/requests",
            json!({"archive_person_id": k1, "kind": "deletion", "detail": "请删除"}),
        )
        .await;
    let rid = r.body["id"].as_i64().expect(&r.text);
    let due = r.body["due_at_ms"].as_i64().unwrap();
    assert!(due > start + 15 * 86_400_000, "15 working days span more than 15 days: {due}");
    t.clock.set_ms(due + 1);
    let o = wuzhi_app::sweep::run_once(&t.app).await.unwrap();
    assert!(o.marked_overdue >= 1, "{o:?}");
    let community = t.login("community").await;
    let v = t.get(&community, &format!("/api/archives/requests/{rid}")).await;
    assert_eq!(v.body["overdue"], true, "{}", v.text);
    assert!(v.body["timeline"].as_array().unwrap().iter().any(|e| e["kind"] == "marked_overdue"));
}

#[tokio::test]
async fn no_identity_number_is_stored_in_plain_text_and_keys_rotate() {
    let t = spawn_app().await;
    let (k1, _, _) = known_people(&t).await;
    let (a, b, c) = ids();
    let community = t.login("community").await;
    // A change sealed in the history too.
    let p = t.get(&community, &format!("/api/archives/people/{k1}")).await;
    let v = p.body["version"].as_i64().unwrap();
    let r = t
        .call(
            Some(&community),
            Method::PATCH,
            &format!("/api/archives/people/{k1}"),
            Some(json!({"version": v, "phone": "13912345678"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let h = t.get(&community, &format!("/api/archives/history/person/{k1}")).await;
    assert_eq!(h.body[0]["old"], "138****0011", "{}", h.text);
    for needle in [a.as_str(), b.as_str(), c.as_str(), "13912345678", "13900000002"] {
        assert!(!database_holds(&t, needle).await, "{needle} is in the database in plain text");
    }
    // Rotation: a new key, everything re-sealed, and readable with the new key alone.
    let old = t.app.settings.vault.clone();
    let rotated = std::sync::Arc::new(old.with_new_key());
    let (app2, _) = open_app_with(&t.db.url, rotated.clone()).await;
    let r = wuzhi_app::archives::keep::reseal_all(&app2).await.unwrap();
    assert!(r.rows >= 3, "{r:?}");
    assert_eq!(
        wuzhi_app::archives::keep::reseal_all(&app2).await.unwrap().rows,
        0,
        "nothing is left under the old key"
    );
    let text: String = rotated.to_text().lines().filter(|l| !l.starts_with("key 1 ")).collect::<Vec<_>>().join("\n");
    let new_only = std::sync::Arc::new(wuzhi_app::vault::Vault::parse(&text).unwrap());
    let (app3, _) = open_app_with(&t.db.url, new_only).await;
    let dispatcher = app3.actor(t.person_id("dispatcher").await).await.unwrap();
    let purpose = wuzhi_domain::archives::fields::Purpose::Reason { text: "密钥轮换后核对".into() };
    let p = wuzhi_app::archives::person(&app3, &dispatcher, k1, Some(&purpose)).await.unwrap();
    assert_eq!((p.id_number.as_deref(), p.phone.as_deref()), (Some(a.as_str()), Some("13912345678")));
}

/// Whether any table of the test's database holds `needle` as text.
async fn database_holds(t: &TestApp, needle: &str) -> bool {
    if t.db.url.starts_with("sqlite") {
        // The file and its write-ahead log, byte for byte.
        for suffix in ["", "-wal"] {
            let path = t.db.dir.join(format!("wuzhi.sqlite{suffix}"));
            if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    return true;
                }
            }
        }
        return false;
    }
    let mut conn = t.app.db.read().await.unwrap();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    for table in tables {
        let sql = format!("SELECT COUNT(*) FROM \"{table}\" t WHERE CAST(t AS TEXT) LIKE $1");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(format!("%{needle}%"))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        if n > 0 {
            return true;
        }
    }
    false
}

#[tokio::test]
async fn people_who_moved_out_are_anonymised_when_their_retention_ends() {
    let start = 1_767_225_600_000;
    let t = spawn_app_at(start).await;
    let (k1, k2, _) = known_people(&t).await;
    let community = t.login("community").await;
    for id in [k1, k2] {
        let v = t.get(&community, &format!("/api/archives/people/{id}")).await.body["version"].as_i64().unwrap();
        let r = t
            .call(
                Some(&community),
                Method::PATCH,
                &format!("/api/archives/people/{id}"),
                Some(json!({"version": v, "moved_out": "2026-01-01"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let year = 365 * 86_400_000i64;
    t.clock.set_ms(start + year + 86_400_000 * 2);
    let r = wuzhi_app::archives::keep::retention_once(&t.app).await.unwrap();
    assert_eq!((r.special_erased.clone(), r.anonymised.clone()), (vec![k2], vec![]), "special groups go after a year");
    t.clock.set_ms(start + 3 * year + 86_400_000 * 2);
    let r = wuzhi_app::archives::keep::retention_once(&t.app).await.unwrap();
    assert_eq!(r.anonymised, vec![k1, k2]);
    // Three years on, the session is long gone.
    let community = t.login("community").await;
    let p = t
        .get(
            &community,
            &format!("/api/archives/people/{k1}?purpose_kind=reason&purpose={}", urlencode("留存期满核对")),
        )
        .await;
    assert_eq!(
        (p.body["name"].as_str(), p.body["id_number"].as_str(), p.body["phone"].as_str()),
        (Some("已匿名"), None, None),
        "{}",
        p.text
    );
    let h = t.get(&community, &format!("/api/archives/history/person/{k1}")).await;
    assert!(h.body.as_array().unwrap().iter().all(|c| c["old"].is_null() && c["new"].is_null()), "{}", h.text);
    assert!(wuzhi_app::archives::keep::retention_once(&t.app).await.unwrap().anonymised.is_empty());
}

#[tokio::test]
async fn the_demo_population_fills_the_grids_and_cases_name_buildings_and_components() {
    let t = spawn_app().await;
    let n = wuzhi_app::archives::demo::seed(&t.app, "120101001001", 2, 6).await.unwrap();
    assert!(n > 20, "{n} people");
    let gw = t.login("gridworker").await;
    let h = t.get(&gw, &format!("/api/archives/grids/{GRID}/households")).await;
    let households = h.body.as_array().expect(&h.text);
    assert!(!households.is_empty());
    let members: usize = households.iter().map(|h| h["members"].as_array().unwrap().len()).sum();
    assert!(members >= households.len());
    assert!(households.iter().all(|h| {
        h["members"].as_array().unwrap().iter().all(|m| m["id_number"].as_str().is_none_or(|i| i.contains('*')))
    }));
    // Layers: buildings and components inside the reader's grid only.
    let layer = t.get(&gw, "/api/archives/layers/buildings").await;
    let features = layer.body["features"].as_array().expect(&layer.text);
    assert!(!features.is_empty() && features.iter().all(|f| f["properties"]["grid_code"] == GRID), "{}", layer.text);
    let comps = t.get(&gw, "/api/archives/layers/components").await;
    let comp = comps.body["features"][0]["properties"].clone();
    assert!(comp["owner"].as_str().is_some_and(|o| o.contains("城市管理委员会")), "{comp}");
    // A case names a component (its owner unit is offered for dispatch) and a building (the
    // building's page lists the open case).
    let resident = t.login("resident").await;
    let (x, y) = point_in(&t.app, GRID).await;
    let case = t.post(&resident, "/api/cases", json!({"channel": "app", "kind": "request", "subject": "井盖破损", "description": "路口井盖破了", "lon": x, "lat": y})).await;
    let case_id = case.body["id"].as_i64().expect(&case.text);
    let l = t
        .post(
            &gw,
            &format!("/api/archives/cases/{case_id}/links"),
            json!({"record": "component", "record_id": comp["id"]}),
        )
        .await;
    assert_eq!(l.status, StatusCode::OK, "{}", l.text);
    assert!(l.body["owner_org_id"].is_i64() && l.body["owner_org_name"] == comp["owner"]);
    let building = features[0]["properties"]["id"].as_i64().unwrap();
    assert_eq!(
        t.post(
            &gw,
            &format!("/api/archives/cases/{case_id}/links"),
            json!({"record": "building", "record_id": building})
        )
        .await
        .status,
        StatusCode::OK
    );
    let again = t
        .post(
            &gw,
            &format!("/api/archives/cases/{case_id}/links"),
            json!({"record": "building", "record_id": building}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let page = t.get(&gw, &format!("/api/archives/buildings/{building}")).await;
    assert_eq!(page.body["open_items"][0]["id"].as_i64(), Some(case_id), "{}", page.text);
    assert!(!page.body["houses"].as_array().unwrap().is_empty());
    let links = t.get(&gw, &format!("/api/archives/cases/{case_id}/links")).await;
    assert_eq!(links.body.as_array().map(Vec::len), Some(2));
    let gw2 = t.login("gridworker2").await;
    assert_eq!(t.get(&gw2, &format!("/api/archives/buildings/{building}")).await.status, StatusCode::FORBIDDEN);
    // A component's state from the field, with history.
    let c = t.get(&gw, &format!("/api/archives/components/{}", comp["id"])).await;
    let r = t
        .call(
            Some(&gw),
            Method::PATCH,
            &format!("/api/archives/components/{}", comp["id"]),
            Some(json!({"version": c.body["version"], "state": "破损"})),
        )
        .await;
    assert_eq!(r.body["state"], "damaged", "{}", r.text);
    let h = t.get(&gw, &format!("/api/archives/history/component/{}", comp["id"])).await;
    assert_eq!(h.body[0]["by"], "花园路第1网格网格员");
}

/// A server process: its log holds no identity number, even at debug level, after imports,
/// clear reads and look-ups.
#[tokio::test]
async fn the_server_log_holds_no_identity_number() {
    let db = fresh_db().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let log = db.dir.join("server.log");
    let out = std::fs::File::create(&log).unwrap();
    let listen = format!("127.0.0.1:{port}");
    let data_dir = db.dir.display().to_string();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_wuzhi"))
        .args(["demo", "--districts", "1", "--listen", &listen, "--database-url", &db.url, "--data-dir", &data_dir])
        .env("RUST_LOG", "debug")
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status() == StatusCode::OK) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let login = client
        .post(format!("{base}/api/session"))
        .json(&json!({"username": "community", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let csrf = login.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_owned();
    let get = |path: String| client.get(format!("{base}{path}")).header("cookie", &cookie).send();
    let h: Value = get(format!("/api/archives/grids/{GRID}/households")).await.unwrap().json().await.unwrap();
    let ids: Vec<i64> = h
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["members"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()))
        .take(5)
        .collect();
    assert!(!ids.is_empty(), "the demo seeded its archives: {h}");
    let mut numbers = Vec::new();
    for id in ids {
        let p: Value =
            get(format!("/api/archives/people/{id}?purpose_kind=reason&purpose=%E5%85%A5%E6%88%B7%E8%B5%B0%E8%AE%BF"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        let n = p["id_number"].as_str().expect("in clear with a purpose").to_owned();
        let r = client
            .post(format!("{base}/api/archives/lookup"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .json(&json!({"id_number": n}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        numbers.push(n);
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("synthetic demo archives imported"), "the log was captured");
    for n in &numbers {
        assert!(!text.contains(n.as_str()), "an identity number is in the server's log");
    }
}
