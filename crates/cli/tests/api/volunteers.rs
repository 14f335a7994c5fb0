//! Volunteer service (issue 19, 志愿服务) over HTTP: a practice station publishes an activity,
//! volunteers sign up (approved by the organiser, never past the capacity even when they
//! come at once), the organiser — never the volunteer — confirms at the activity who served
//! and for how long, the verified hours earn points from the community's fund, the record
//! prints as a certificate whose number anyone can check; alley stewards are volunteers too.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const COMMUNITY: &str = "120101001001";
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

fn id(r: &Reply) -> i64 {
    assert!(r.status.is_success(), "{} {}", r.status, r.text);
    r.body["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_volunteer_signs_up_serves_and_gets_verified_hours_points_and_a_certificate() {
    let app = spawn_app().await;
    let staff = app.login("community").await;
    let resident = app.login("resident").await;
    let resident_id = resident.person_id;
    let station = app.org_id(COMMUNITY, "花园路社区新时代文明实践站").await;
    let now = app.app.now_ms();

    // One registers with skills; a team must be a volunteer team.
    let r = app
        .post(&resident, "/api/volunteers/me", json!({"skills": "急救，心理疏导、急救", "team_org_id": station}))
        .await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("team_org_id")));
    let r = app.post(&resident, "/api/volunteers/me", json!({"skills": "急救，心理疏导、急救"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["skills"], json!(["急救", "心理疏导"]));

    // Points for verified hours: 10 an hour, published for 2 days.
    let rule = id(&app
        .post(&staff, "/api/points/rules", json!({"territory_code": COMMUNITY, "code": "volunteer_hour", "name": "志愿服务每小时", "points": 10, "publicity_days": 2}))
        .await);

    // The station publishes an activity in two days, 2 hours, 2 places, approval needed.
    let starts = now + 2 * DAY_MS;
    let activity = json!({"organiser_org_id": station, "title": "关爱独居老人上门服务", "description": "为独居老人打扫、陪伴聊天",
        "place": "花园路社区党群服务中心", "starts_at_ms": starts, "ends_at_ms": starts + 2 * HOUR_MS, "capacity": 2,
        "skills": "陪伴、保洁", "approval": true, "rule_id": rule});
    // Named refusals: an activity ends after it starts; the street's commander organises but
    // does not commit the community's points; a grid worker organises nothing.
    let mut bad = activity.clone();
    bad["ends_at_ms"] = json!(starts);
    let r = app.post(&staff, "/api/volunteer-activities", bad).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("ends_at_ms")));
    let commander = app.login("commander").await;
    assert_eq!(app.post(&commander, "/api/volunteer-activities", activity.clone()).await.status, StatusCode::FORBIDDEN);
    let gridworker = app.login("gridworker").await;
    assert_eq!(
        app.post(&gridworker, "/api/volunteer-activities", activity.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    let a = app.post(&staff, "/api/volunteer-activities", activity).await;
    let a_id = id(&a);
    assert_eq!(
        (a.body["places_left"].as_i64(), a.body["organiser_name"].as_str()),
        (Some(2), Some("花园路社区新时代文明实践站"))
    );

    // Residents find it (their home district's activities) and sign up; the sign-up waits.
    let listed = app.get(&resident, "/api/volunteer-activities").await;
    assert!(listed.body.as_array().unwrap().iter().any(|x| x["id"] == a_id), "{}", listed.text);
    let mine =
        app.post(&resident, &format!("/api/volunteer-activities/{a_id}/signups"), json!({"note": "下午有空"})).await;
    assert_eq!((mine.status, mine.body["state"].as_str()), (StatusCode::CREATED, Some("applied")), "{}", mine.text);
    let mine_id = mine.body["id"].as_i64().unwrap();
    let again = app.post(&resident, &format!("/api/volunteer-activities/{a_id}/signups"), json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "one sign-up per person: {}", again.text);

    // Three more residents want the two places; the steward, resident2 and gridworker2.
    let others = ["resident2", "steward", "gridworker2"];
    let mut signups = vec![];
    for u in others {
        let s = app.login(u).await;
        signups.push(id(&app.post(&s, &format!("/api/volunteer-activities/{a_id}/signups"), json!({})).await));
    }
    // Declining needs a reason; a resident decides nothing.
    let r =
        app.post(&staff, &format!("/api/volunteer-signups/{}/decision", signups[2]), json!({"accept": false})).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("reason")));
    assert_eq!(
        app.post(&resident, &format!("/api/volunteer-signups/{}/decision", signups[0]), json!({"accept": true}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    for s in [mine_id, signups[0]] {
        let r = app.post(&staff, &format!("/api/volunteer-signups/{s}/decision"), json!({"accept": true})).await;
        assert_eq!((r.status, r.body["state"].as_str()), (StatusCode::OK, Some("accepted")), "{}", r.text);
    }
    let r = app.post(&staff, &format!("/api/volunteer-signups/{}/decision", signups[1]), json!({"accept": true})).await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::CONFLICT, Some("activity")),
        "full: {}",
        r.text
    );
    let r = app
        .post(
            &staff,
            &format!("/api/volunteer-signups/{}/decision", signups[2]),
            json!({"accept": false, "reason": "名额已满"}),
        )
        .await;
    assert_eq!(r.body["state"], "declined");
    let inbox = app.get(&app.login("gridworker2").await, "/api/me/notifications").await;
    assert!(inbox.text.contains("名额已满"), "the declined volunteer is told: {}", inbox.text);

    // resident2 withdraws, so the waiting steward gets the place.
    let r2 = app.login("resident2").await;
    let w = app.post(&r2, &format!("/api/volunteer-activities/{a_id}/withdrawal"), json!({})).await;
    assert_eq!(w.body["state"], "withdrawn", "{}", w.text);
    let r = app.post(&staff, &format!("/api/volunteer-signups/{}/decision", signups[1]), json!({"accept": true})).await;
    assert_eq!(r.body["state"], "accepted", "{}", r.text);
    let detail = app.get(&staff, &format!("/api/volunteer-activities/{a_id}")).await;
    assert_eq!(detail.body["activity"]["places_left"], 0);
    assert_eq!(detail.body["signups"].as_array().unwrap().len(), 4, "the organiser sees every sign-up");
    assert_eq!(app.get(&resident, &format!("/api/volunteer-activities/{a_id}")).await.body["signups"], json!([]));

    // Attendance is confirmed at the activity, not before.
    let served = json!({"served": [{"signup_id": mine_id, "minutes": 90}, {"signup_id": signups[1], "minutes": 120}]});
    let r = app.post(&staff, &format!("/api/volunteer-activities/{a_id}/attendance"), served.clone()).await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("activity")),
        "{}",
        r.text
    );
    app.clock.advance_ms(2 * DAY_MS + HOUR_MS);
    let staff = app.login("community").await;
    let resident = app.login("resident").await;
    // A line past the activity's length is named, and nothing of the batch is kept.
    let r = app
        .post(
            &staff,
            &format!("/api/volunteer-activities/{a_id}/attendance"),
            json!({"served": [{"signup_id": mine_id, "minutes": 90}, {"signup_id": signups[1], "minutes": 121}]}),
        )
        .await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("served[1].minutes")));
    // A volunteer never confirms their own attendance (the resident organises nothing).
    let r = app
        .post(
            &resident,
            &format!("/api/volunteer-activities/{a_id}/attendance"),
            json!({"served": [{"signup_id": mine_id, "minutes": 90}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.post(&staff, &format!("/api/volunteer-activities/{a_id}/attendance"), served.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["points"], 15 + 20, "whole half hours at 10 an hour: 1.5 h → 15, 2 h → 20");
    let again = app.post(&staff, &format!("/api/volunteer-activities/{a_id}/attendance"), served).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "confirmed once: {}", again.text);

    // The verified hours are in the record; the points are pending through the rule's
    // publicity; the volunteer is told.
    let rec = app.get(&resident, "/api/volunteers/me").await.body;
    assert_eq!(
        (rec["minutes"].as_i64(), rec["hours"].as_str(), rec["activities"].as_i64()),
        (Some(90), Some("1.5"), Some(1))
    );
    assert_eq!(rec["services"][0]["signup"]["minutes"], 90);
    let points = app.get(&resident, "/api/points/me").await.body;
    assert_eq!((points["pending_in"].as_i64(), points["available"].as_i64()), (Some(15), Some(0)), "{points}");
    let inbox = app.get(&resident, "/api/me/notifications").await;
    assert!(inbox.text.contains("1.5 小时已核实"), "{}", inbox.text);

    // The certificate's number checks out without signing in, with the name masked; a
    // changed digit does not.
    let number = rec["certificate"].as_str().unwrap().to_owned();
    let check = app.call(None, reqwest::Method::GET, &format!("/api/volunteer-certificates/{number}"), None).await;
    assert_eq!(check.status, StatusCode::OK, "{}", check.text);
    assert_eq!((check.body["hours"].as_str(), check.body["name"].as_str()), (Some("1.5"), Some("花****")));
    let forged = number.replacen(&format!("-{}-", resident_id), &format!("-{}-", resident_id + 1), 1);
    let r = app.call(None, reqwest::Method::GET, &format!("/api/volunteer-certificates/{forged}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Organisers read a volunteer's record of their territory; another resident does not.
    assert_eq!(app.get(&staff, &format!("/api/volunteers/{resident_id}")).await.body["minutes"], 90);
    assert_eq!(
        app.get(&app.login("resident2").await, &format!("/api/volunteers/{resident_id}")).await.status,
        StatusCode::NOT_FOUND
    );

    // Completed: attendance is final; the ledger still holds.
    let c = app.post(&staff, &format!("/api/volunteer-activities/{a_id}/closing"), json!({"completed": true})).await;
    assert_eq!(c.body["state"], "completed", "{}", c.text);
    let late = app
        .post(
            &staff,
            &format!("/api/volunteer-activities/{a_id}/attendance"),
            json!({"served": [{"signup_id": signups[0], "minutes": 30}]}),
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    app.clock.advance_ms(2 * DAY_MS);
    wuzhi_app::virtue::settle_once(&app.app).await.unwrap();
    let resident = app.login("resident").await;
    assert_eq!(app.get(&resident, "/api/points/me").await.body["available"], 15);
    assert_eq!(wuzhi_app::virtue::verify(&app.app).await.unwrap().broken, None);
}

#[tokio::test]
async fn places_are_never_overfilled_when_volunteers_come_at_once_and_stewards_are_volunteers() {
    let app = spawn_app().await;
    let staff = app.login("community").await;
    let station = app.org_id(COMMUNITY, "花园路社区新时代文明实践站").await;
    let starts = app.app.now_ms() + DAY_MS;
    // Instant sign-up: a free place is taken at once; three places for seven people.
    let a_id = id(&app
        .post(
            &staff,
            "/api/volunteer-activities",
            json!({"organiser_org_id": station, "title": "垃圾分类引导", "place": "花园路小区东门",
            "starts_at_ms": starts, "ends_at_ms": starts + HOUR_MS, "capacity": 3}),
        )
        .await);
    let users = ["resident", "resident2", "steward", "gridworker", "handler", "community", "commander"];
    let mut sessions = vec![];
    for u in users {
        sessions.push(app.login(u).await);
    }
    let path = format!("/api/volunteer-activities/{a_id}/signups");
    let replies = futures_util::future::join_all(sessions.iter().map(|s| app.post(s, &path, json!({})))).await;
    let won = replies.iter().filter(|r| r.status == StatusCode::CREATED).count();
    let full = replies.iter().filter(|r| r.status == StatusCode::CONFLICT).count();
    assert_eq!((won, full), (3, 4), "{:?}", replies.iter().map(|r| &r.text).collect::<Vec<_>>());
    assert!(replies.iter().filter(|r| r.status == StatusCode::CREATED).all(|r| r.body["state"] == "accepted"));
    let detail = app.get(&staff, &format!("/api/volunteer-activities/{a_id}")).await.body;
    assert_eq!(detail["activity"]["places_left"], 0);
    assert_eq!(detail["signups"].as_array().unwrap().len(), 3);

    // Cancelling tells who signed up; no attendance can follow.
    let r = app.post(&staff, &format!("/api/volunteer-activities/{a_id}/closing"), json!({"completed": false})).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("reason")));
    let r = app
        .post(
            &staff,
            &format!("/api/volunteer-activities/{a_id}/closing"),
            json!({"completed": false, "reason": "大风天气"}),
        )
        .await;
    assert_eq!(r.body["state"], "cancelled", "{}", r.text);
    let winner = replies.iter().position(|r| r.status == StatusCode::CREATED).unwrap();
    let inbox = app.get(&sessions[winner], "/api/me/notifications").await;
    assert!(inbox.text.contains("大风天气"), "{}", inbox.text);

    // Even an organiser who served does not confirm their own hours: someone else does.
    let b_id = id(&app
        .post(
            &staff,
            "/api/volunteer-activities",
            json!({"organiser_org_id": station, "title": "文明交通劝导", "place": "花园路口",
            "starts_at_ms": starts + HOUR_MS, "ends_at_ms": starts + 2 * HOUR_MS, "capacity": 5}),
        )
        .await);
    let own = id(&app.post(&staff, &format!("/api/volunteer-activities/{b_id}/signups"), json!({})).await);
    app.clock.advance_ms(DAY_MS + HOUR_MS);
    let staff = app.login("community").await;
    let r = app
        .post(
            &staff,
            &format!("/api/volunteer-activities/{b_id}/attendance"),
            json!({"served": [{"signup_id": own, "minutes": 60}]}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("served[0].signup_id")),
        "{}",
        r.text
    );
    // The database refuses it too, whatever the application says.
    let mut conn = app.app.db.write().await.unwrap();
    let direct = sqlx::query("UPDATE volunteer_signups SET minutes = 60, confirmed_by = person_id WHERE id = $1")
        .bind(own)
        .execute(&mut *conn)
        .await;
    assert!(direct.is_err(), "ck_volunteer_not_self_confirmed");
    drop(conn);
    let commander = app.login("commander").await;
    let r = app
        .post(
            &commander,
            &format!("/api/volunteer-activities/{b_id}/attendance"),
            json!({"served": [{"signup_id": own, "minutes": 60}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "the street's commander confirms: {}", r.text);
    assert_eq!(r.body["points"], 0, "an activity without a rule earns hours, not points");

    // An alley steward put on a grid is a volunteer from then on.
    let gw2 = app.person_id("gridworker2").await;
    let staff = app.login("community").await;
    let gw2s = app.login("gridworker2").await;
    let before = app.get(&gw2s, "/api/volunteers/me").await.body;
    assert_eq!(before["volunteer"], Value::Null, "{before}");
    let r = app
        .post(
            &staff,
            "/api/gridwork/members",
            json!({"person_id": gw2, "grid_code": "120101001001002", "kind": "steward", "team": "花园路红袖标"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let after = app.get(&gw2s, "/api/volunteers/me").await.body;
    assert_eq!(after["volunteer"]["person_id"], gw2, "{after}");
}

#[tokio::test]
async fn a_party_member_registers_where_they_live_and_their_service_is_counted_there() {
    let app = spawn_app().await;
    let resident = app.login("resident").await;
    let resident_id = resident.person_id;
    // Not a party member yet: nothing to register.
    let r = app.post(&resident, "/api/party-reports/me", json!({"posts": ["care"]})).await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("party_org_id")),
        "{}",
        r.text
    );
    // The security administrator records the resident's post in a party organisation.
    let security = app.login("security").await;
    let committee = app.org_id("120101", "中共天津市和平区委员会").await;
    let m = app
        .post(&security, "/api/memberships", json!({"person_id": resident_id, "organisation_id": committee, "role": "resident", "scope_code": "120101", "post": "党员"}))
        .await;
    assert!(m.status.is_success(), "{}", m.text);
    let mine = app.get(&resident, "/api/party-reports/me").await.body;
    assert_eq!(mine["organisations"][0]["name"], "中共天津市和平区委员会", "{mine}");
    assert_eq!((mine["report"].clone(), mine["home_community"].as_str()), (Value::Null, Some(COMMUNITY)));

    let r = app.post(&resident, "/api/party-reports/me", json!({"posts": ["dancing"]})).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("posts")));
    let r = app.post(&resident, "/api/party-reports/me", json!({"posts": ["care", "policy"]})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        (r.body["posts"].clone(), r.body["community_code"].as_str()),
        (json!(["policy", "care"]), Some(COMMUNITY))
    );

    // The community's organisers see who registered; a grid worker does not; the street's
    // commander does.
    let staff = app.login("community").await;
    let path = format!("/api/party-reports?community={COMMUNITY}");
    let list = app.get(&staff, &path).await;
    assert_eq!(
        (list.body.as_array().map(Vec::len), list.body[0]["minutes"].as_i64()),
        (Some(1), Some(0)),
        "{}",
        list.text
    );
    assert_eq!(app.get(&app.login("gridworker").await, &path).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&app.login("commander").await, &path).await.status, StatusCode::OK);

    // They serve like every volunteer: an hour confirmed by the organiser counts here.
    let station = app.org_id(COMMUNITY, "花园路社区新时代文明实践站").await;
    let starts = app.app.now_ms() + DAY_MS;
    let a = id(&app
        .post(
            &staff,
            "/api/volunteer-activities",
            json!({"organiser_org_id": station, "title": "党员先锋岗：楼道清理", "place": "花园路3号楼",
            "starts_at_ms": starts, "ends_at_ms": starts + 2 * HOUR_MS, "capacity": 10}),
        )
        .await);
    let s = id(&app.post(&resident, &format!("/api/volunteer-activities/{a}/signups"), json!({})).await);
    app.clock.advance_ms(DAY_MS + HOUR_MS);
    let staff = app.login("community").await;
    let resident = app.login("resident").await;
    let r = app
        .post(
            &staff,
            &format!("/api/volunteer-activities/{a}/attendance"),
            json!({"served": [{"signup_id": s, "minutes": 60}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let list = app.get(&staff, &path).await.body;
    assert_eq!(
        (list[0]["minutes"].as_i64(), list[0]["hours"].as_str(), list[0]["activities"].as_i64()),
        (Some(60), Some("1"), Some(1))
    );

    // Changing posts keeps what was counted; one registration stays in force.
    let r = app.post(&resident, "/api/party-reports/me", json!({"posts": ["safety"]})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let list = app.get(&staff, &path).await.body;
    assert_eq!(
        (list.as_array().map(Vec::len), list[0]["posts"].clone(), list[0]["minutes"].as_i64()),
        (Some(1), json!(["safety"]), Some(60))
    );
    // Leaving ends it.
    let r = app.call(Some(&resident), reqwest::Method::DELETE, "/api/party-reports/me", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&staff, &path).await.body, json!([]));
    let r = app.call(Some(&resident), reqwest::Method::DELETE, "/api/party-reports/me", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_small_wish_is_posted_with_consent_claimed_once_fulfilled_confirmed_and_its_giver_thanked() {
    let app = spawn_app().await;
    let staff = app.login("community").await;
    let beneficiary = app.person_id("resident2").await;
    let wish = json!({"territory_code": "120101001001002", "title": "为独居老人添置一台电暖器", "description": "老人家中取暖设备损坏，希望添置一台小型电暖器",
        "value_yuan": 200, "beneficiary_person_id": beneficiary, "consent": "12月5日入户走访时本人同意发布"});
    // Named refusals: a small wish is small; consent is recorded; the resident lives there;
    // a grid worker posts nothing.
    for (field, value) in [
        ("value_yuan", json!(5000)),
        ("consent", json!("")),
        ("beneficiary_person_id", json!(app.person_id("handler").await)),
    ] {
        let mut bad = wish.clone();
        bad[field] = value;
        let r = app.post(&staff, "/api/wishes", bad).await;
        assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{}", r.text);
    }
    assert_eq!(
        app.post(&app.login("gridworker").await, "/api/wishes", wish.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    let posted = app.post(&staff, "/api/wishes", wish).await;
    let w = id(&posted);
    assert_eq!(posted.body["beneficiary"]["name"], "花园路另一居民", "the staff see whose wish it is");

    // The public reads the wish, never whose it is or how they consented.
    let resident = app.login("resident").await;
    let listed = app.get(&resident, "/api/wishes").await.body;
    let seen = listed.as_array().unwrap().iter().find(|x| x["id"] == w).cloned().unwrap();
    assert_eq!(
        (seen["beneficiary"].clone(), seen["consent"].clone(), seen["state"].as_str()),
        (Value::Null, Value::Null, Some("open"))
    );
    assert!(!seen.to_string().contains("花园路另一居民"), "{seen}");

    // The resident whose wish it is does not claim it; three givers at once get one wish.
    let own = app.login("resident2").await;
    let r = app.post(&own, &format!("/api/wishes/{w}/claim"), json!({})).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("wish")));
    let givers = [resident.clone(), app.login("steward").await, app.login("gridworker").await];
    let names = ["花园路居民", "花园路小巷管家", "花园路第1网格网格员"];
    let path = format!("/api/wishes/{w}/claim");
    let replies =
        futures_util::future::join_all(givers.iter().map(|s| app.post(s, &path, json!({"thank_publicly": true}))))
            .await;
    let won: Vec<usize> = (0..3).filter(|i| replies[*i].status == StatusCode::OK).collect();
    assert_eq!(won.len(), 1, "{:?}", replies.iter().map(|r| &r.text).collect::<Vec<_>>());
    assert!(replies.iter().filter(|r| r.status != StatusCode::OK).all(|r| r.status == StatusCode::CONFLICT));
    let (giver, loser) = (&givers[won[0]], &givers[(won[0] + 1) % 3]);

    // Only the giver fulfils it, with evidence; the community and the resident are told.
    let r = app.post(loser, &format!("/api/wishes/{w}/fulfilment"), json!({"evidence": "送到了"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.post(giver, &format!("/api/wishes/{w}/fulfilment"), json!({"evidence": " "})).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("evidence")));
    let r = app
        .post(giver, &format!("/api/wishes/{w}/fulfilment"), json!({"evidence": "12月6日已送到老人家中并试用"}))
        .await;
    assert_eq!(r.body["state"], "fulfilled", "{}", r.text);
    assert!(app.get(&own, "/api/me/notifications").await.text.contains("请确认"));

    // The resident confirms with thanks; the giver is thanked, by name in public as asked.
    let r = app.post(loser, &format!("/api/wishes/{w}/confirmation"), json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = app.post(&own, &format!("/api/wishes/{w}/confirmation"), json!({"thanks": "谢谢好心人，屋里暖和了"})).await;
    assert_eq!(r.body["state"], "confirmed", "{}", r.text);
    assert!(app.get(giver, "/api/me/notifications").await.text.contains("已确认实现"));
    let public = app.get(loser, &format!("/api/wishes/{w}")).await.body;
    let giver_name = json!(names[won[0]]);
    assert_eq!(
        (public["giver"].clone(), public["thanks"].as_str(), public["evidence"].clone()),
        (giver_name, Some("谢谢好心人，屋里暖和了"), Value::Null),
        "{public}"
    );
    let again = app.post(&own, &format!("/api/wishes/{w}/confirmation"), json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // A second wish: a giver gives for an organisation only where they hold a post, may let
    // it go, and is told when the community withdraws it; withdrawn wishes leave the list.
    let w2 = id(&app
        .post(&staff, "/api/wishes", json!({"territory_code": "120101001001", "title": "为困难家庭孩子购买冬季校服", "value_yuan": 150, "consent": "家长书面同意"}))
        .await);
    let committee = app.org_id("120101", "中共天津市和平区委员会").await;
    let r = app.post(&resident, &format!("/api/wishes/{w2}/claim"), json!({"org_id": committee})).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("org_id")));
    let station = app.org_id(COMMUNITY, "花园路社区居委会").await;
    let r = app.post(&staff, &format!("/api/wishes/{w2}/claim"), json!({"org_id": station})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(app.post(&staff, &format!("/api/wishes/{w2}/release"), json!({})).await.body["state"], "open");
    assert_eq!(app.post(&resident, &format!("/api/wishes/{w2}/claim"), json!({})).await.status, StatusCode::OK);
    assert_eq!(app.post(&resident, &format!("/api/wishes/{w2}/claim"), json!({})).await.status, StatusCode::CONFLICT);
    let r = app.post(&staff, &format!("/api/wishes/{w2}/withdrawal"), json!({"reason": "家庭已获民政救助"})).await;
    assert_eq!(r.body["state"], "withdrawn", "{}", r.text);
    assert!(app.get(&resident, "/api/me/notifications").await.text.contains("家庭已获民政救助"));
    let listed = app.get(&resident, "/api/wishes").await.body;
    assert!(listed.as_array().unwrap().iter().all(|x| x["id"] != w2), "{listed}");
    let mine = app.get(&resident, "/api/wishes?mine=true").await.body;
    assert!(mine.as_array().unwrap().iter().any(|x| x["id"] == w2 && x["state"] == "withdrawn"), "{mine}");
}

#[tokio::test]
async fn an_officials_report_is_rated_once_by_each_resident_of_its_territory_and_counted_anonymously() {
    let app = spawn_app().await;
    let commander = app.login("commander").await;
    let now = app.app.now_ms();
    let street = "120101001";
    let report = json!({"territory_code": street, "title": "劝业场街道2026年向居民汇报", "way": "meeting", "held_at_ms": now - HOUR_MS,
        "place": "劝业场街道党群服务中心", "done": "今年完成老旧小区改造3个，新增停车位120个，12345诉求按期办结率97%",
        "commitments": [{"text": "年底前完成花园路3号楼加装电梯", "due_ms": now + 30 * DAY_MS}, {"text": "12月内修复小区路灯", "due_ms": now + 2 * DAY_MS}]});
    let mut bad = report.clone();
    bad["way"] = json!("party");
    let r = app.post(&commander, "/api/official-reports", bad).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("way")));
    let mut bad = report.clone();
    bad["commitments"][1]["due_ms"] = json!(now - 2 * HOUR_MS);
    let r = app.post(&commander, "/api/official-reports", bad).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("commitments[1].due_ms")));
    // A community's worker does not report for the street; a grid worker reports nothing.
    assert_eq!(
        app.post(&app.login("community").await, "/api/official-reports", report.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(&app.login("gridworker").await, "/api/official-reports", report.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    let created = app.post(&commander, "/api/official-reports", report).await;
    let rep = id(&created);
    let (lamps, lift) = (
        created.body["commitments"][1]["id"].as_i64().unwrap(),
        created.body["commitments"][0]["id"].as_i64().unwrap(),
    );

    // The street's residents see it and may rate it once; too few ratings show only a count.
    let resident = app.login("resident").await;
    let mine = app.get(&resident, "/api/official-reports").await.body;
    assert_eq!((mine[0]["id"].as_i64(), mine[0]["may_rate"].as_bool()), (Some(rep), Some(true)), "{mine}");
    let path = format!("/api/official-reports/{rep}/rating");
    let r = app.post(&resident, &path, json!({"score": 6})).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("score")));
    let r = app.post(&resident, &path, json!({"score": 5})).await;
    assert_eq!(
        (r.body["ratings"]["count"].as_i64(), r.body["ratings"]["mean"].clone()),
        (Some(1), Value::Null),
        "{}",
        r.text
    );
    assert_eq!(app.post(&resident, &path, json!({"score": 1})).await.status, StatusCode::CONFLICT, "once");
    for (u, score) in [("resident2", 4), ("steward", 2)] {
        let r = app.post(&app.login(u).await, &path, json!({"score": score})).await;
        assert_eq!(r.status, StatusCode::OK, "{u}: {}", r.text);
    }
    // The official does not rate their own report; someone living outside the street cannot.
    assert_eq!(app.post(&commander, &path, json!({"score": 5})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.post(&app.login("handler").await, &path, json!({"score": 5})).await.status, StatusCode::FORBIDDEN);
    let seen = app.get(&resident, &format!("/api/official-reports/{rep}")).await.body;
    assert_eq!(seen["ratings"], json!({"count": 3, "mean": 3.67, "satisfied_share": 0.667}), "{seen}");
    assert_eq!((seen["i_rated"].as_bool(), seen["may_rate"].as_bool()), (Some(true), Some(false)));

    // Anonymous by construction: who rated and how many gave each score are kept apart.
    let mut conn = app.app.db.read().await.unwrap();
    let linked: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM official_scores WHERE subject = 'report' AND subject_id = $1")
            .bind(rep)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(linked, 3, "three scores, each a count (5, 4, 2), none with a person");
    drop(conn);

    // A commitment is rated once it is done or due; its progress is the official's to record.
    let c_path = format!("/api/official-commitments/{lamps}/rating");
    assert_eq!(app.post(&resident, &c_path, json!({"score": 4})).await.status, StatusCode::CONFLICT);
    let p = app.post(&resident, &format!("/api/official-commitments/{lamps}/progress"), json!({"progress": 100})).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = app
        .post(
            &commander,
            &format!("/api/official-commitments/{lamps}/progress"),
            json!({"progress": 100, "note": "12月3日全部修复"}),
        )
        .await;
    assert_eq!(p.body["progress"], 100, "{}", p.text);
    let r = app.post(&resident, &c_path, json!({"score": 4})).await;
    assert_eq!((r.status, r.body["ratings"]["count"].as_i64()), (StatusCode::OK, Some(1)), "{}", r.text);
    assert_eq!(
        app.post(&resident, &format!("/api/official-commitments/{lift}/rating"), json!({"score": 4})).await.status,
        StatusCode::CONFLICT
    );

    // The ratings stand in the street's evaluation; after the rating closes nobody rates.
    let leader = app.login("district_leader").await;
    let s = app.get(&leader, &format!("/api/official-reports/satisfaction?territory={street}")).await.body;
    assert_eq!(
        (s["reports"]["count"].as_i64(), s["reports"]["mean"].as_f64(), s["commitments"]["count"].as_i64()),
        (Some(3), Some(3.67), Some(1)),
        "{s}"
    );
    assert_eq!(
        app.get(&resident, &format!("/api/official-reports/satisfaction?territory={street}")).await.status,
        StatusCode::FORBIDDEN
    );
    app.clock.advance_ms(31 * DAY_MS);
    let gw = app.login("gridworker").await;
    assert_eq!(app.post(&gw, &path, json!({"score": 3})).await.status, StatusCode::CONFLICT, "the rating has closed");
}
