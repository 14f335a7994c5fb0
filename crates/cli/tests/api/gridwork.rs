//! Grid work (issue 14) over HTTP: a steward's day (registered, on the roster, a patrol with
//! its track and findings, a quick record, their own week), a grid worker's day (the visit
//! plan from the archives' care groups, a visit that updates the archives with its source and
//! raises a case, a fix on the spot), a community's day (the roster, notes reviewed and turned
//! into cases, overdue visits, the indicators), a key task sent to every grid of a street and
//! rolled up against figures counted by hand, replays of every queued write, and the
//! keeping of tracks.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wuzhi_app::archives::demo::{Rng, id_number};

const GRID: &str = "120101001001001";
const GRID2: &str = "120101001001002";
const VILLAGE: &str = "120101001001";
const STREET: &str = "120101001";
/// 2026-03-02 09:00 in Beijing: two months after visit plans began counting (2026-01-01).
const START: i64 = 1_772_413_200_000;
const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

async fn count(t: &TestApp, sql: &str) -> i64 {
    let mut conn = t.app.db.read().await.unwrap();
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut *conn).await.unwrap()
}

fn field_of(r: &Reply) -> String {
    r.body["error"]["details"][0]["field"].as_str().or(r.body["error"]["field"].as_str()).unwrap_or("").to_owned()
}

/// Two households of GRID from the archives: 1-101 where an old man lives alone, 1-102 with
/// a disabled woman and her son. Returns (household key of 1-101, of 1-102, the son's id).
async fn households(t: &TestApp) -> (String, String, i64) {
    let admin = t.login("admin").await;
    let mut r = Rng::new(7);
    let (a, b, c) = (
        id_number(&mut r, "120101", 1938, true),
        id_number(&mut r, "120101", 1960, false),
        id_number(&mut r, "120101", 1990, true),
    );
    let (x, y) = point_in(&t.app, GRID).await;
    let imports = [
        (
            "buildings",
            format!("ref,grid_code,address,kind,floors,lat,lon\nB1,{GRID},花园路8号,residential,6,{y},{x}\n"),
        ),
        ("houses", "ref,building_ref,number,use\nH1,B1,1-101,自住\nH2,B1,1-102,自住\n".to_owned()),
        (
            "people",
            format!(
                "ref,house_ref,household_ref,name,id_number,phone,residence,tags\n\
                 P1,H1,A,王德顺,{a},13800000021,registered,living_alone;very_old\n\
                 P2,H2,B,刘桂兰,{b},13800000022,registered,disabled\n\
                 P3,H2,B,刘强,{c},13800000023,registered,\n"
            ),
        ),
    ];
    for (kind, csv) in imports {
        let r = t.post_text(&admin, &format!("/api/archives/import?kind={kind}"), &csv).await;
        assert_eq!(r.status, StatusCode::OK, "{kind}: {}", r.text);
    }
    let mut conn = t.app.db.read().await.unwrap();
    let house = |r: &'static str| sqlx::query_scalar::<_, i64>("SELECT id FROM archive_houses WHERE ref = $1").bind(r);
    let h1 = house("H1").fetch_one(&mut *conn).await.unwrap();
    let h2 = house("H2").fetch_one(&mut *conn).await.unwrap();
    let son = sqlx::query_scalar::<_, i64>("SELECT id FROM archive_people WHERE ref = 'P3'")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    (format!("{h1}:A"), format!("{h2}:B"), son)
}

/// Registers the demo steward and grid worker in GRID and puts the steward on today's
/// roster, as the community does.
async fn register_people(t: &TestApp) -> (i64, i64) {
    let community = t.login("community").await;
    let steward = t.person_id("steward").await;
    let gw = t.person_id("gridworker").await;
    let r = t
        .post(
            &community,
            "/api/gridwork/members",
            json!({"person_id": steward, "grid_code": GRID, "kind": "steward", "team": "花园路红袖标队"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let member = r.body["id"].as_i64().unwrap();
    let again = t
        .post(&community, "/api/gridwork/members", json!({"person_id": steward, "grid_code": GRID, "kind": "steward"}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    let r = t
        .post(&community, "/api/gridwork/members", json!({"person_id": gw, "grid_code": GRID, "kind": "grid_worker"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t
        .post(
            &community,
            "/api/gridwork/duties",
            json!({"grid_code": GRID, "person_id": steward, "starts_ms": START - HOUR, "ends_ms": START + 7 * HOUR, "note": "早班"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (member, r.body["id"].as_i64().unwrap())
}

#[tokio::test]
async fn a_stewards_day() {
    let t = spawn_app_at(START).await;
    register_people(&t).await;
    let steward = t.login("steward").await;
    let community = t.login("community").await;

    // Who is on duty shows in the grid's roster, which anyone who reads the grid's work sees.
    let r = t.get(&steward, &format!("/api/gridwork/roster/{GRID}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["members"].as_array().unwrap().len(), 2, "{}", r.text);
    let on = r.body["on_duty_now"].as_array().unwrap();
    assert_eq!(on.len(), 1);
    assert_eq!(on[0]["person_id"], steward.person_id);
    // A duty longer than a day, or for someone not of the grid, is refused by field.
    let r = t
        .post(&community, "/api/gridwork/duties", json!({"grid_code": GRID, "person_id": steward.person_id, "starts_ms": START, "ends_ms": START + 25 * HOUR}))
        .await;
    assert_eq!((r.status, field_of(&r).as_str()), (StatusCode::BAD_REQUEST, "ends_ms"), "{}", r.text);
    let outsider = t.person_id("resident").await;
    let r = t
        .post(
            &community,
            "/api/gridwork/duties",
            json!({"grid_code": GRID, "person_id": outsider, "starts_ms": START, "ends_ms": START + HOUR}),
        )
        .await;
    assert_eq!((r.status, field_of(&r).as_str()), (StatusCode::BAD_REQUEST, "person_id"), "{}", r.text);
    // The steward cannot register people or put them on duty.
    let r = t
        .post(&steward, "/api/gridwork/members", json!({"person_id": outsider, "grid_code": GRID, "kind": "volunteer"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The community gives the grid a patrol plan with a route; a route that is not a line is refused.
    let (x, y) = point_in(&t.app, GRID).await;
    let route = json!({"type": "LineString", "coordinates": [[x, y], [x + 0.0005, y]]});
    let r = t
        .post(&community, "/api/gridwork/plans", json!({"grid_code": GRID, "name": "早巡", "every_days": 1, "places": ["花园路8号楼道", "消防通道"], "route": route}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let plan = r.body["id"].as_i64().unwrap();
    let r = t
        .post(
            &community,
            "/api/gridwork/plans",
            json!({"grid_code": GRID, "name": "x", "every_days": 1, "route": {"type": "Point", "coordinates": [x, y]}}),
        )
        .await;
    assert_eq!((r.status, field_of(&r).as_str()), (StatusCode::BAD_REQUEST, "route"), "{}", r.text);
    assert_eq!(t.get(&steward, &format!("/api/gridwork/plans/{GRID}")).await.body[0]["places"][1], "消防通道");

    // The patrol starts on the phone; the queue sends it twice, and one patrol is recorded.
    let start = json!({"grid_code": GRID, "plan_id": plan, "idempotency_key": "steward-patrol-1", "started_at_ms": START - 60_000});
    let r = t.post(&steward, "/api/gridwork/patrols", start.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let patrol = r.body["id"].as_i64().unwrap();
    let r = t.post(&steward, "/api/gridwork/patrols", start).await;
    assert_eq!((r.status, r.body["id"].as_i64()), (StatusCode::OK, Some(patrol)));
    // One patrol at a time; not in another grid.
    let r = t.post(&steward, "/api/gridwork/patrols", json!({"grid_code": GRID})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(
        t.post(&steward, "/api/gridwork/patrols", json!({"grid_code": GRID2})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(t.get(&steward, "/api/gridwork/patrols/running").await.body["id"], patrol);

    // The track: uploads with their sequence number, a repeated one stored once; a point
    // outside the patrol's time or off the earth is named.
    let pts = |from: i64, n: i64| -> Vec<Value> {
        (0..n).map(|i| json!({"at_ms": from + i * 30_000, "lat": y + i as f64 * 1e-5, "lon": x})).collect()
    };
    t.clock.advance_ms(10 * 60_000);
    let up = json!({"seq": 0, "points": pts(START, 10)});
    let r = t.post(&steward, &format!("/api/gridwork/patrols/{patrol}/track"), up.clone()).await;
    assert_eq!((r.status, r.body["stored"].as_bool()), (StatusCode::OK, Some(true)), "{}", r.text);
    let r = t.post(&steward, &format!("/api/gridwork/patrols/{patrol}/track"), up).await;
    assert_eq!((r.status, r.body["stored"].as_bool()), (StatusCode::OK, Some(false)), "{}", r.text);
    let bad = json!({"seq": 1, "points": [{"at_ms": START, "lat": 95.0, "lon": x}]});
    let r = t.post(&steward, &format!("/api/gridwork/patrols/{patrol}/track"), bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("points[0]"), "{}", r.text);
    let late = json!({"seq": 1, "points": [{"at_ms": START + DAY, "lat": y, "lon": x}]});
    assert_eq!(
        t.post(&steward, &format!("/api/gridwork/patrols/{patrol}/track"), late).await.status,
        StatusCode::BAD_REQUEST
    );
    let r = t
        .post(
            &steward,
            &format!("/api/gridwork/patrols/{patrol}/track"),
            json!({"seq": 1, "points": pts(START + 300_000, 5)}),
        )
        .await;
    assert_eq!(r.body["stored"], true, "{}", r.text);
    // Nobody else adds to it.
    let gw = t.login("gridworker").await;
    assert_eq!(
        t.post(&gw, &format!("/api/gridwork/patrols/{patrol}/track"), json!({"seq": 9, "points": pts(START, 1)}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // A finding on the patrol is a case of the grid, linked to the patrol, sent twice and made once.
    let finding = json!({"channel": "grid", "kind": "report", "subject": "楼道堆放杂物", "description": "8号楼一单元楼道堆满纸箱，堵塞消防通道",
        "lon": x, "lat": y, "idempotency_key": "steward-finding-1"});
    let r = t.post(&steward, &format!("/api/gridwork/patrols/{patrol}/findings"), finding.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let case = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["channel"], "grid");
    let r = t.post(&steward, &format!("/api/gridwork/patrols/{patrol}/findings"), finding).await;
    assert_eq!((r.status, r.body["id"].as_i64()), (StatusCode::OK, Some(case)));
    assert_eq!(count(&t, &format!("SELECT COUNT(*) FROM gridwork_findings WHERE patrol_id = {patrol}")).await, 1);

    // A quick record of a worry, sent twice, kept once.
    let note = json!({"kind": "worry", "text": "3楼独居老人这两天没开灯，邻居担心", "lat": y, "lon": x, "idempotency_key": "steward-note-1"});
    let r = t.post(&steward, "/api/gridwork/notes", note.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["grid_code"], GRID, "located from its point");
    let n1 = r.body["id"].as_i64().unwrap();
    assert_eq!(t.post(&steward, "/api/gridwork/notes", note).await.status, StatusCode::OK);
    let r = t.post(&steward, "/api/gridwork/notes", json!({"kind": "rumour", "text": "x", "grid_code": GRID})).await;
    assert_eq!((r.status, field_of(&r).as_str()), (StatusCode::BAD_REQUEST, "kind"));

    // The patrol ends (twice: once).
    t.clock.advance_ms(50 * 60_000);
    // (Sessions end after 30 idle minutes: sign in again.)
    let (steward, community, gw) = (t.login("steward").await, t.login("community").await, t.login("gridworker").await);
    let r = t
        .post(&steward, &format!("/api/gridwork/patrols/{patrol}/end"), json!({"note": "一切正常，楼道杂物已上报"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ended = r.body["ended_at_ms"].as_i64().unwrap();
    assert_eq!(r.body["points"], 15);
    assert!(r.body["length_m"].as_f64().unwrap() > 10.0, "{}", r.text);
    assert_eq!(r.body["findings"], 1);
    assert_eq!(r.body["finding_list"][0]["case_id"], case, "{}", r.text);
    t.clock.advance_ms(60_000);
    let r = t.post(&steward, &format!("/api/gridwork/patrols/{patrol}/end"), json!({})).await;
    assert_eq!(r.body["ended_at_ms"].as_i64(), Some(ended));
    assert!(t.get(&steward, "/api/gridwork/patrols/running").await.body.is_null());

    // Their track is theirs and their supervisor's: the supervisor's read is audited; the
    // grid worker beside them, who does not supervise, does not see it.
    assert_eq!(
        t.get(&steward, &format!("/api/gridwork/patrols/{patrol}/track")).await.body.as_array().unwrap().len(),
        15
    );
    let r = t.get(&community, &format!("/api/gridwork/patrols/{patrol}/track")).await;
    assert_eq!(r.body.as_array().map(Vec::len), Some(15), "{}", r.text);
    assert_eq!(t.get(&gw, &format!("/api/gridwork/patrols/{patrol}/track")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM audit_log WHERE action = 'gridwork.track_read'").await, 1);
    // The list of patrols carries no track and no ranking.
    let r = t.get(&community, &format!("/api/gridwork/patrols?territory={VILLAGE}")).await;
    let list = r.body.as_array().expect(&r.text);
    assert_eq!(list.len(), 1);
    assert!(list[0].get("track").is_none());

    // Their own week.
    let r = t.get(&steward, "/api/gridwork/me/week").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["patrols"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["findings"], 1);
    assert_eq!(r.body["notes"][0]["id"], n1);
    assert_eq!(r.body["grids"][0]["team"], "花园路红袖标队");
    assert_eq!(r.body["duties"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_grid_workers_day() {
    let t = spawn_app_at(START).await;
    let (a, b, son) = households(&t).await;
    register_people(&t).await;
    let gw = t.login("gridworker").await;
    let steward = t.login("steward").await;

    // The visit plan comes from the care groups and the default rules: the old man living
    // alone weekly, the disabled woman's household monthly; neither visited since the plan
    // began, so both are overdue, the one due first first.
    let r = t.get(&gw, &format!("/api/gridwork/visit-plan?territory={GRID}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let plan = r.body.as_array().unwrap();
    assert_eq!(plan.len(), 2, "{}", r.text);
    assert_eq!((plan[0]["household_key"].as_str(), plan[0]["every_days"].as_i64()), (Some(a.as_str()), Some(7)));
    assert_eq!((plan[1]["household_key"].as_str(), plan[1]["every_days"].as_i64()), (Some(b.as_str()), Some(30)));
    assert_eq!(plan[0]["due_ms"], 1_767_196_800_000i64 + 7 * DAY);
    assert!(plan.iter().all(|p| p["overdue"] == true));
    // Names are masked in the plan.
    assert!(!r.text.contains("王德顺"), "{}", r.text);
    // The steward may not read the archives, so has no plan of names and tags.
    assert_eq!(
        t.get(&steward, &format!("/api/gridwork/visit-plan?territory={GRID}")).await.status,
        StatusCode::FORBIDDEN
    );

    // A visit to the disabled woman's household: the son has moved out (the archives learn
    // it, with the visit as its source); she needs help with her wheelchair ramp (a case, at
    // once). The phone's queue sends it twice.
    let son_version = t.get(&gw, &format!("/api/archives/people/{son}")).await.body["version"].as_i64().unwrap();
    let visit = json!({"household_key": b, "way": "home", "outcome": "needs_help", "found": "儿子已搬走，老人独自居住",
        "needs": "单元门口没有坡道，轮椅出不了门", "raise_case": true, "at_ms": START - 2 * HOUR,
        "updates": [{"archive_person_id": son, "changes": {"version": son_version, "moved_out": "2026-02-20"}}], "idempotency_key": "gw-visit-1"});
    let r = t.post(&gw, "/api/gridwork/visits", visit.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let v = r.body["id"].as_i64().unwrap();
    let case = r.body["case_id"].as_i64().expect(&r.text);
    let r = t.post(&gw, "/api/gridwork/visits", visit).await;
    assert_eq!((r.status, r.body["id"].as_i64(), r.body["case_id"].as_i64()), (StatusCode::OK, Some(v), Some(case)));
    assert_eq!(count(&t, "SELECT COUNT(*) FROM gridwork_visits").await, 1);
    assert_eq!(count(&t, &format!("SELECT COUNT(*) FROM cases WHERE id = {case} AND channel = 'grid'")).await, 1);
    let h = t.get(&gw, &format!("/api/archives/history/person/{son}")).await;
    let changes = h.body.as_array().expect(&h.text);
    assert!(
        changes.iter().any(|c| c["field"] == "moved_out" && c["source"] == format!("gridwork.visit:{v}")),
        "{}",
        h.text
    );
    // A visit whose update is refused changes nothing: no visit, no case, no archive change.
    let before = count(&t, "SELECT COUNT(*) FROM archive_changes").await;
    let r = t
        .post(&gw, "/api/gridwork/visits", json!({"household_key": a, "way": "home", "outcome": "well", "needs": "x", "raise_case": true,
            "updates": [{"archive_person_id": son, "changes": {"version": son_version + 1, "moved_out": "not-a-day"}}]}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("moved_out"), "{}", r.text);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM gridwork_visits").await, 1);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM archive_changes").await, before);
    // Bad words by field.
    let r = t.post(&gw, "/api/gridwork/visits", json!({"household_key": a, "way": "fax", "outcome": "well"})).await;
    assert_eq!((r.status, field_of(&r).as_str()), (StatusCode::BAD_REQUEST, "way"));
    let r = t
        .post(
            &gw,
            "/api/gridwork/visits",
            json!({"household_key": a, "way": "home", "outcome": "well", "raise_case": true}),
        )
        .await;
    assert_eq!((r.status, field_of(&r).as_str()), (StatusCode::BAD_REQUEST, "needs"));
    // The grid worker of the next grid may not visit this one's households.
    let gw2 = t.login("gridworker2").await;
    assert_eq!(
        t.post(&gw2, "/api/gridwork/visits", json!({"household_key": a, "way": "home", "outcome": "well"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // A photo only with consent, and only an image.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xff\xff?\0\x05\xfe\x02\xfe\xa7\x35\x81\x84\0\0\0\0IEND\xaeB`\x82";
    let send = |q: &str| {
        t.client
            .post(format!("{}/api/gridwork/visits/{v}/photo{q}", t.base))
            .header("cookie", &gw.cookie)
            .header("x-csrf-token", &gw.csrf)
            .header("content-type", "image/png")
            .body(png.to_vec())
            .send()
    };
    let r = into_reply(send("").await.unwrap()).await;
    assert_eq!((r.status, field_of(&r).as_str()), (StatusCode::BAD_REQUEST, "consent"), "{}", r.text);
    let r = into_reply(send("?consent=true").await.unwrap()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["has_photo"], true, "{}", r.text);
    let photo = t
        .client
        .get(format!("{}/api/gridwork/visits/{v}/photo", t.base))
        .header("cookie", &gw.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(photo.status(), StatusCode::OK);
    assert_eq!(photo.bytes().await.unwrap().as_ref(), png.as_ref());
    let other = t
        .client
        .get(format!("{}/api/gridwork/visits/{v}/photo", t.base))
        .header("cookie", &gw2.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);

    // After the visit, only the old man's household is overdue.
    let r = t.get(&gw, &format!("/api/gridwork/visit-plan?territory={GRID}&overdue=true")).await;
    let keys: Vec<&str> = r.body.as_array().unwrap().iter().map(|p| p["household_key"].as_str().unwrap()).collect();
    assert_eq!(keys, vec![a.as_str()], "{}", r.text);
    let r = t.get(&gw, &format!("/api/gridwork/households/{b}/visits")).await;
    assert_eq!(r.body.as_array().map(Vec::len), Some(1), "{}", r.text);

    // On a patrol, a fix on the spot: the case opens and closes at once and counts as self-fixed.
    let (x, y) = point_in(&t.app, GRID).await;
    let p = t.post(&gw, "/api/gridwork/patrols", json!({"grid_code": GRID, "idempotency_key": "gw-patrol-1"})).await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.text);
    let patrol = p.body["id"].as_i64().unwrap();
    let r = t
        .post(&gw, &format!("/api/gridwork/patrols/{patrol}/findings"), json!({"channel": "grid", "kind": "report", "subject": "小广告",
            "description": "电线杆上贴满小广告", "category": "E0201", "lon": x, "lat": y, "fixed_on_spot": "已当场清除"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["status"], "closed");
    t.clock.advance_ms(HOUR);
    let gw = t.login("gridworker").await;
    assert_eq!(t.post(&gw, &format!("/api/gridwork/patrols/{patrol}/end"), json!({})).await.status, StatusCode::OK);

    // Today's indicators of the grid: one patrol in one grid of one, one finding fixed on
    // the spot of one (the visit's case is a need, not a finding), two households due, one
    // visited.
    let r = t.get(&gw, &format!("/api/gridwork/indicators?territory={GRID}&from=2026-03-02&to=2026-03-02")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let c = &r.body["counts"];
    assert_eq!(
        (c["grids"].as_i64(), c["grids_patrolled"].as_i64(), c["patrols"].as_i64()),
        (Some(1), Some(1), Some(1)),
        "{}",
        r.text
    );
    assert_eq!((c["households_due"].as_i64(), c["households_visited"].as_i64()), (Some(2), Some(1)), "{}", r.text);
    assert_eq!(c["needs_raised"], 1, "{}", r.text);
    assert_eq!(r.body["rates"]["visit_rate"], 0.5, "{}", r.text);
}

#[tokio::test]
async fn a_communitys_day() {
    let t = spawn_app_at(START).await;
    let (_, b, _) = households(&t).await;
    let (member, duty) = register_people(&t).await;
    let community = t.login("community").await;
    let steward = t.login("steward").await;
    let gw = t.login("gridworker").await;

    // Notes from the grid: the steward sees their own, the community all of its grids'.
    let n1 = t
        .post(
            &steward,
            "/api/gridwork/notes",
            json!({"kind": "hazard", "text": "花园路8号外墙瓷砖松动", "grid_code": GRID}),
        )
        .await;
    assert_eq!(n1.status, StatusCode::CREATED, "{}", n1.text);
    let n2 = t
        .post(&gw, "/api/gridwork/notes", json!({"kind": "need", "text": "1-102想申请居家养老服务", "grid_code": GRID}))
        .await;
    assert_eq!(n2.status, StatusCode::CREATED, "{}", n2.text);
    let (n1, n2) = (n1.body["id"].as_i64().unwrap(), n2.body["id"].as_i64().unwrap());
    assert_eq!(t.get(&steward, "/api/gridwork/notes").await.body.as_array().unwrap().len(), 1);
    let r = t.get(&community, &format!("/api/gridwork/notes?territory={VILLAGE}&open=true")).await;
    assert_eq!(r.body.as_array().map(Vec::len), Some(2), "{}", r.text);
    // The steward cannot mark a note reviewed; the community turns the hazard into a case
    // and marks the need as seen.
    let r = t.post(&steward, &format!("/api/gridwork/notes/{n1}/review"), json!({"action": "reviewed"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = t.post(&steward, &format!("/api/gridwork/notes/{n2}/review"), json!({"action": "case"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another's note: {}", r.text);
    let r = t
        .post(&community, &format!("/api/gridwork/notes/{n1}/review"), json!({"action": "case", "category": "E0201"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "case");
    let case = r.body["case_id"].as_i64().expect(&r.text);
    let c = t.get(&community, &format!("/api/cases/{case}")).await;
    assert_eq!(c.body["subject"].as_str().map(|s| s.contains("瓷砖")), Some(true), "{}", c.text);
    let r = t.post(&community, &format!("/api/gridwork/notes/{n1}/review"), json!({"action": "case"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "a note becomes a case once: {}", r.text);
    let r = t
        .post(
            &community,
            &format!("/api/gridwork/notes/{n2}/review"),
            json!({"action": "reviewed", "note": "已转居家养老服务站"}),
        )
        .await;
    assert_eq!(r.body["status"], "reviewed", "{}", r.text);
    assert!(
        t.get(&community, &format!("/api/gridwork/notes?territory={VILLAGE}&open=true"))
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Visit rules: the community makes the disabled monthly visit fortnightly; a special
    // group is refused by field.
    let r = t.get(&community, &format!("/api/gridwork/rules/{VILLAGE}")).await;
    assert!(r.body["from_territory"].is_null(), "the defaults: {}", r.text);
    let mut rules: Vec<Value> = r.body["rules"].as_array().unwrap().clone();
    for rule in &mut rules {
        if rule["tag"] == "disabled" {
            rule["every_days"] = json!(14);
        }
    }
    let r = t
        .call(
            Some(&community),
            Method::PUT,
            &format!("/api/gridwork/rules/{VILLAGE}"),
            Some(Value::Array(rules.clone())),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["from_territory"], VILLAGE);
    let bad = json!([{"tag": "community_correction", "every_days": 7}]);
    let r = t.call(Some(&community), Method::PUT, &format!("/api/gridwork/rules/{VILLAGE}"), Some(bad)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("special group"), "{}", r.text);
    // The grid inherits its community's rules: the disabled household is now due a
    // fortnight after the plan began.
    let r = t.get(&community, &format!("/api/gridwork/visit-plan?territory={VILLAGE}&overdue=true")).await;
    let p = r.body.as_array().expect(&r.text).iter().find(|p| p["household_key"] == b.as_str()).unwrap().clone();
    assert_eq!((p["every_days"].as_i64(), p["due_ms"].as_i64()), (Some(14), Some(1_767_196_800_000 + 14 * DAY)));

    // The roster over a week; a duty removed; a member's registration ended.
    let r = t.get(&community, &format!("/api/gridwork/roster/{VILLAGE}?from=2026-03-02&to=2026-03-08")).await;
    assert_eq!(r.body["duties"].as_array().map(Vec::len), Some(1), "{}", r.text);
    assert_eq!(
        t.call(Some(&community), Method::DELETE, &format!("/api/gridwork/duties/{duty}"), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.call(Some(&community), Method::DELETE, &format!("/api/gridwork/members/{member}"), None).await.status,
        StatusCode::NO_CONTENT
    );
    let r = t.get(&community, &format!("/api/gridwork/roster/{VILLAGE}")).await;
    assert_eq!(
        (r.body["duties"].as_array().map(Vec::len), r.body["members"].as_array().map(Vec::len)),
        (Some(0), Some(1)),
        "{}",
        r.text
    );
    // The community's breakdown by grid, as JSON and as CSV, counts and rates only.
    let r = t
        .get(
            &community,
            &format!("/api/gridwork/indicators/breakdown?territory={VILLAGE}&from=2026-03-01&to=2026-03-02"),
        )
        .await;
    let rows = r.body.as_array().expect(&r.text);
    assert!(rows.iter().any(|x| x["territory_code"] == GRID && x["counts"]["notes"] == 2), "{}", r.text);
    let r = t.get(&community, &format!("/api/gridwork/indicators/breakdown?territory={VILLAGE}&format=csv")).await;
    assert!(r.text.starts_with('\u{feff}') && r.text.contains(GRID), "{}", r.text);
    assert!(
        !r.text.contains("gridworker") && !r.text.contains("小巷管家"),
        "no one's name in the breakdown: {}",
        r.text
    );
    // Another community sees none of it.
    let r = t.get(&community, "/api/gridwork/indicators?territory=120101001002").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// A street's task to every grid: the roll-up at the street and at each community against
/// figures counted by hand from what the grids reported.
#[tokio::test]
async fn a_key_task_reaches_every_grid_and_rolls_up_as_counted_by_hand() {
    let t = spawn_app_at(START).await;
    let commander = t.login("commander").await;
    let community = t.login("community").await;
    let gw = t.login("gridworker").await;
    let gw2 = t.login("gridworker2").await;
    let grids: Vec<String> =
        t.app.locator().grid_codes().into_iter().filter(|g| g.starts_with(STREET)).map(str::to_owned).collect();
    let villages: std::collections::BTreeSet<String> = grids.iter().map(|g| g[..12].to_owned()).collect();
    assert!(
        grids.len() > villages.len() && villages.len() > 1,
        "{} grids in {} communities",
        grids.len(),
        villages.len()
    );
    let in_village = grids.iter().filter(|g| g.starts_with(VILLAGE)).count() as i64;

    let task = json!({"title": "燃气安全入户排查", "description": "冬季燃气安全", "checklist": ["燃气表具", "软管老化", "报警器"],
        "territory_code": STREET, "level": "grid", "deadline_ms": START + 2 * DAY});
    // A grid worker cannot send tasks; a checklist with a repeated item is refused.
    assert_eq!(t.post(&gw, "/api/gridwork/tasks", task.clone()).await.status, StatusCode::FORBIDDEN);
    let mut twice = task.clone();
    twice["checklist"] = json!(["燃气表具", "燃气表具"]);
    let r = t.post(&commander, "/api/gridwork/tasks", twice).await;
    assert_eq!((r.status, field_of(&r).starts_with("checklist")), (StatusCode::BAD_REQUEST, true), "{}", r.text);
    let r = t.post(&commander, "/api/gridwork/tasks", task).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["shares"], grids.len() as i64);
    // Every grid has its share, owned by its community's committee.
    assert_eq!(
        count(&t, &format!("SELECT COUNT(*) FROM gridwork_shares WHERE task_id = {id}")).await,
        grids.len() as i64
    );
    assert_eq!(
        count(&t, &format!("SELECT COUNT(*) FROM work_heads WHERE kind = 'gridwork.task' AND owner_org_id IS NULL"))
            .await,
        0
    );

    // Grid 1 answers all three items (2 problems found on the hoses, one made a case) and
    // completes; grid 2 answers one item and is still in progress.
    let mine = t.get(&gw, "/api/gridwork/shares/mine").await;
    let s1 = mine.body.as_array().expect(&mine.text).iter().find(|s| s["territory_code"] == GRID).unwrap().clone();
    let s1id = s1["id"].as_i64().unwrap();
    let step = |s: &Session, id: i64, body: Value| {
        let s = s.clone();
        let t = &t;
        async move { t.post(&s, &format!("/api/gridwork/shares/{id}/actions"), body).await }
    };
    let r = step(&gw, s1id, json!({"version": s1["version"], "action": "complete"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "not before every item is answered: {}", r.text);
    let mut v = s1["version"].as_i64().unwrap();
    for (item, state, found) in [(0, "checked", 0), (1, "checked", 2), (2, "not_applicable", 0)] {
        let body = json!({"version": v, "action": "progress", "item": item, "state": state, "found": found, "note": if state == "not_applicable" { "未安装报警器" } else { "" }});
        let r = step(&gw, s1id, body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        v = r.body["version"].as_i64().unwrap();
    }
    let stale = step(&gw, s1id, json!({"version": v - 1, "action": "complete"})).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text);
    let (x, y) = point_in(&t.app, GRID).await;
    let r = t
        .post(
            &gw,
            &format!("/api/gridwork/shares/{s1id}/cases?item=1"),
            json!({"channel": "grid", "kind": "report", "subject": "燃气软管老化",
            "description": "1-101燃气软管开裂", "lon": x, "lat": y, "idempotency_key": "task-case-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let task_case = r.body["id"].as_i64().unwrap();
    let r = step(&gw, s1id, json!({"version": v, "action": "complete"})).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("done")), "{}", r.text);
    let mine2 = t.get(&gw2, "/api/gridwork/shares/mine").await;
    let s2 = mine2.body.as_array().unwrap().iter().find(|s| s["territory_code"] == GRID2).unwrap().clone();
    let r = step(
        &gw2,
        s2["id"].as_i64().unwrap(),
        json!({"version": s2["version"], "action": "progress", "item": 0, "state": "checked", "found": 1}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Grid worker 2 cannot answer grid 1's share.
    assert_eq!(
        step(&gw2, s1id, json!({"version": v + 1, "action": "return", "reason": "x"})).await.status,
        StatusCode::NOT_FOUND
    );

    // By hand: the street has every grid's share, one done on time, items 3 + 1, found 2 + 1,
    // one case; its community 花园路 carries all of that; every other community has nothing done.
    let r = t.get(&commander, &format!("/api/gridwork/tasks/{id}/rollup")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let total = &r.body["total"];
    assert_eq!(total["shares"], grids.len() as i64);
    assert_eq!(
        (total["done"].as_i64(), total["done_on_time"].as_i64(), total["overdue"].as_i64()),
        (Some(1), Some(1), Some(0))
    );
    assert_eq!((total["items_done"].as_i64(), total["items_total"].as_i64()), (Some(4), Some(3 * grids.len() as i64)));
    assert_eq!((total["found"].as_i64(), total["cases"].as_i64()), (Some(3), Some(1)));
    let children = r.body["children"].as_array().unwrap();
    assert_eq!(children.len(), villages.len());
    for c in children {
        let code = c["territory_code"].as_str().unwrap();
        let n = grids.iter().filter(|g| g.starts_with(code)).count() as i64;
        assert_eq!(c["shares"], n, "{code}");
        let expect = if code == VILLAGE { (1, 4, 3, 1) } else { (0, 0, 0, 0) };
        assert_eq!(
            (
                c["done"].as_i64().unwrap(),
                c["items_done"].as_i64().unwrap(),
                c["found"].as_i64().unwrap(),
                c["cases"].as_i64().unwrap()
            ),
            expect,
            "{code}"
        );
    }
    // One level down, the community sees its grids, and only its part of the task.
    let r = t.get(&community, &format!("/api/gridwork/tasks/{id}/rollup")).await;
    assert_eq!(r.body["total"]["shares"], in_village, "{}", r.text);
    let g1 = r.body["children"].as_array().unwrap().iter().find(|c| c["territory_code"] == GRID).unwrap().clone();
    assert_eq!((g1["done"].as_i64(), g1["items_done"].as_i64(), g1["found"].as_i64()), (Some(1), Some(3), Some(2)));
    let r = t.get(&community, &format!("/api/gridwork/tasks/{id}/rollup?under={STREET}")).await;
    assert_eq!(r.body["total"]["shares"], in_village, "a community cannot widen its view: {}", r.text);
    assert_eq!(r.body["total"]["shares"], in_village);

    // The street commander summons departments on the problem found (the case hub's 吹哨).
    assert_eq!(
        t.post(&commander, &format!("/api/cases/{task_case}/actions"), json!({"action": "file", "category": "E0501"}))
            .await
            .status,
        StatusCode::OK
    );
    let cmc = t.org_id("120101", "和平区城市管理委员会").await;
    let r = t
        .post(
            &commander,
            &format!("/api/cases/{task_case}/actions"),
            json!({"action": "summon", "org_ids": [cmc], "hours": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(t.get(&commander, &format!("/api/gridwork/shares/{s1id}")).await.body["cases"], json!([task_case]));

    // An hour before the deadline the communities' staff are reminded; after it, the open
    // shares are overdue and the done one is not.
    t.clock.set_ms(START + 2 * DAY - 30 * 60_000);
    wuzhi_app::sweep::run_once(&t.app).await.unwrap();
    let community = t.login("community").await;
    let r = t.get(&community, "/api/me/notifications").await;
    assert!(r.text.contains("燃气安全入户排查"), "{}", r.text);
    t.clock.set_ms(START + 2 * DAY + 60_000);
    wuzhi_app::sweep::run_once(&t.app).await.unwrap();
    let (commander, gw2) = (t.login("commander").await, t.login("gridworker2").await);
    let r = t.get(&commander, &format!("/api/gridwork/tasks/{id}/rollup")).await;
    assert_eq!(r.body["total"]["overdue"], grids.len() as i64 - 1, "{}", r.text);
    assert_eq!(r.body["total"]["done_on_time"], 1);
    let r = t.get(&gw2, &format!("/api/gridwork/shares/{}", s2["id"])).await;
    assert_eq!(r.body["overdue"], true, "{}", r.text);
    assert_projections_replay(&t).await;
}

/// Tracks are kept 30 days, then deleted (the patrol's record stays); a patrol left running
/// is ended after 12 hours by the keeping pass, not by the person.
#[tokio::test]
async fn tracks_are_kept_thirty_days_and_forgotten_patrols_end() {
    let t = spawn_app_at(START).await;
    let gw = t.login("gridworker").await;
    let (x, y) = point_in(&t.app, GRID).await;
    let p = t.post(&gw, "/api/gridwork/patrols", json!({"grid_code": GRID})).await;
    let id = p.body["id"].as_i64().unwrap();
    t.clock.advance_ms(60_000);
    let r = t.post(&gw, &format!("/api/gridwork/patrols/{id}/track"), json!({"seq": 0, "points": [{"at_ms": START + 1000, "lat": y, "lon": x}, {"at_ms": START + 31_000, "lat": y + 1e-4, "lon": x}]})).await;
    assert_eq!(r.body["stored"], true, "{}", r.text);
    // Left running: after 12 hours the keeping pass ends it at its twelfth hour.
    t.clock.advance_ms(13 * HOUR);
    let gw = t.login("gridworker").await;
    let k = wuzhi_app::gridwork::keep_once(&t.app).await.unwrap();
    assert_eq!((k.patrols_ended, k.tracks_deleted), (1, 0));
    let r = t.get(&gw, &format!("/api/gridwork/patrols/{id}")).await;
    assert_eq!(r.body["ended_at_ms"], START + 12 * HOUR, "{}", r.text);
    assert_eq!(r.body["ended_by_system"], true);
    assert_eq!(t.get(&gw, &format!("/api/gridwork/patrols/{id}/track")).await.body.as_array().map(Vec::len), Some(2));
    // Thirty days on, the track is gone; the patrol and its length stay.
    t.clock.advance_ms(30 * DAY);
    let gw = t.login("gridworker").await;
    let k = wuzhi_app::gridwork::keep_once(&t.app).await.unwrap();
    assert_eq!(k.tracks_deleted, 1);
    assert_eq!(count(&t, &format!("SELECT COUNT(*) FROM gridwork_track_chunks WHERE patrol_id = {id}")).await, 0);
    let r = t.get(&gw, &format!("/api/gridwork/patrols/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["length_m"].as_f64().unwrap() > 5.0, "{}", r.text);
    assert_eq!(r.body["track_deleted"], true, "{}", r.text);
    assert!(t.get(&gw, &format!("/api/gridwork/patrols/{id}/track")).await.body.as_array().unwrap().is_empty());
    // Once more: nothing left to do.
    assert_eq!(wuzhi_app::gridwork::keep_once(&t.app).await.unwrap(), wuzhi_app::gridwork::Kept::default());
}

/// `wuzhi demo`'s grid work, made through the use cases: rosters, plans, this morning's
/// patrols with tracks and findings, notes, visits and a street task under way; once.
#[tokio::test]
async fn the_demo_grid_work_is_alive() {
    let t = spawn_app().await;
    assert!(wuzhi_app::archives::demo::seed(&t.app, "120101001001", 2, 6).await.unwrap() > 0);
    let made = wuzhi_app::gridwork::demo::seed(&t.app).await.unwrap();
    assert!(made > 20, "{made}");
    assert_eq!(wuzhi_app::gridwork::demo::seed(&t.app).await.unwrap(), 0, "seeded once");
    let community = t.login("community").await;
    let r = t.get(&community, &format!("/api/gridwork/indicators?territory={VILLAGE}")).await;
    let c = &r.body["counts"];
    assert_eq!(
        (c["patrols"].as_i64(), c["found"].as_i64(), c["fixed_on_spot"].as_i64()),
        (Some(2), Some(2), Some(1)),
        "{}",
        r.text
    );
    // Grid 1's two notes and grid 2's; the visit's need is counted as a need, not a finding.
    assert_eq!(
        (c["visits"].as_i64(), c["notes"].as_i64(), c["needs_raised"].as_i64()),
        (Some(3), Some(3), Some(1)),
        "{}",
        r.text
    );
    assert_eq!(c["shares_done_on_time"], 1, "{}", r.text);
    let roster = t.get(&community, &format!("/api/gridwork/roster/{GRID}")).await;
    assert_eq!(roster.body["members"].as_array().map(Vec::len), Some(2), "{}", roster.text);
    let patrols = t.get(&community, &format!("/api/gridwork/patrols?territory={GRID}")).await;
    assert!(
        patrols.body.as_array().unwrap().iter().all(|p| p["points"].as_i64().unwrap() > 50 && p["running"] == false),
        "{}",
        patrols.text
    );
}

/// A city task reaches every grid of the city (here the test city's district), each share
/// owned by its community, and the city's roll-up sums them by district.
#[tokio::test]
async fn a_city_task_reaches_every_grid() {
    let t = spawn_app_at(START).await;
    let leader = t.login("city_leader").await;
    let grids = t.app.locator().grid_codes().count() as i64;
    assert!(grids > 100, "{grids} grids");
    let r = t
        .post(
            &leader,
            "/api/gridwork/tasks",
            json!({"title": "人口信息核查", "checklist": ["实有人口", "出租房屋"],
            "territory_code": "120000", "level": "grid", "deadline_ms": START + 7 * DAY}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["shares"], grids);
    let id = r.body["id"].as_i64().unwrap();
    let every =
        count(&t, &format!("SELECT COUNT(DISTINCT territory_code) FROM gridwork_shares WHERE task_id = {id}")).await;
    assert_eq!(every, grids, "one share for every grid");
    let r = t.get(&leader, &format!("/api/gridwork/tasks/{id}/rollup")).await;
    assert_eq!(
        (r.body["total"]["shares"].as_i64(), r.body["total"]["done"].as_i64()),
        (Some(grids), Some(0)),
        "{}",
        r.text
    );
    let by_district: i64 = r.body["children"].as_array().unwrap().iter().map(|c| c["shares"].as_i64().unwrap()).sum();
    assert_eq!(by_district, grids);
    assert!(r.body["children"].as_array().unwrap().iter().all(|c| c["territory_code"].as_str().unwrap().len() == 6));
    // Every grid worker of the city finds their share among their own.
    let gw = t.login("gridworker2").await;
    let mine = t.get(&gw, "/api/gridwork/shares/mine").await;
    assert!(
        mine.body.as_array().unwrap().iter().any(|s| s["task_id"] == id && s["territory_code"] == GRID2),
        "{}",
        mine.text
    );
}
