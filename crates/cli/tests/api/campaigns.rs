//! Civilised-rating campaigns (issue 19, 文明评选) over HTTP: a community's committee opens a
//! 文明家庭 campaign, residents nominate themselves and a neighbour (who consents first), the
//! committee reviews, residents vote once each (the database refuses a second vote even when
//! they come at once), the winner is published and objected to, the objection is answered,
//! the award credits the household's points account, and the honours board shows it to
//! anyone without signing in.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wuzhi_app::archives::demo::{Rng, id_number};

const COMMUNITY: &str = "120101001001";
const GRID: &str = "120101001001001";
const GRID2: &str = "120101001001002";
const DAY_MS: i64 = 86_400_000;

fn ok(r: &Reply) -> &Value {
    assert!(r.status.is_success(), "{} {}", r.status, r.text);
    &r.body
}

fn refused(r: &Reply) -> (StatusCode, Option<&str>) {
    (r.status, r.body["error"]["field"].as_str())
}

fn nomination<'a>(c: &'a Value, name: &str) -> &'a Value {
    c["nominations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["shown_name"] == name)
        .unwrap_or_else(|| panic!("{name}: {c}"))
}

/// The two demo residents' own archive records, each in a household of its own, linked to
/// their accounts as a resident links theirs (by their identity number and their phone).
async fn households(app: &TestApp) {
    let mut r = Rng::new(7);
    let (a, b) = (id_number(&mut r, "120101", 1962, true), id_number(&mut r, "120101", 1971, false));
    let admin = app.login("admin").await;
    let csv = format!(
        "ref,grid_code,name,id_number,phone,residence,household_ref,relation,tags\n\
         H1,{GRID},王建国,{a},13800000011,registered,HH-1,head,\n\
         H2,{GRID2},李秀英,{b},13800000012,registered,HH-2,head,\n"
    );
    ok(&app.post_text(&admin, "/api/archives/import?kind=people", &csv).await);
    for (user, id) in [("resident", a), ("resident2", b)] {
        ok(&app.post(&app.login(user).await, "/api/me/archives/claim", json!({"id_number": id})).await);
    }
}

#[tokio::test]
async fn a_household_campaign_runs_from_nomination_to_award_and_credits_the_households_points() {
    let app = spawn_app().await;
    households(&app).await;
    let staff = app.login("community").await;
    let resident = app.login("resident").await;
    let resident2 = app.login("resident2").await;
    let steward = app.login("steward").await;
    let outsider = app.login("handler").await;
    let now = app.app.now_ms();
    let rule = ok(&app
        .post(
            &staff,
            "/api/points/rules",
            json!({"territory_code": COMMUNITY, "code": "civilised_family",
            "name": "文明家庭", "points": 50}),
        )
        .await)["id"]
        .as_i64()
        .unwrap();
    let campaign = json!({"territory_code": COMMUNITY, "kind": "household", "honour": "文明家庭",
        "title": "2026年度花园路社区文明家庭评选", "criteria": "爱国守法、孝老爱亲、邻里和睦、热心公益",
        "places": 1, "nominations_close_ms": now + 3 * DAY_MS, "vote_days": 2, "publicity_days": 5, "rule_id": rule});

    // Named refusals; a resident runs no campaign; a community campaign is a street's.
    let mut bad = campaign.clone();
    bad["places"] = json!(0);
    assert_eq!(
        refused(&app.post(&staff, "/api/rating-campaigns", bad).await),
        (StatusCode::BAD_REQUEST, Some("places"))
    );
    let mut bad = campaign.clone();
    bad["kind"] = json!("community");
    bad["rule_id"] = json!(null);
    assert_eq!(
        refused(&app.post(&staff, "/api/rating-campaigns", bad).await),
        (StatusCode::BAD_REQUEST, Some("territory_code"))
    );
    let mut bad = campaign.clone();
    bad["nominations_close_ms"] = json!(now - 1);
    assert_eq!(
        refused(&app.post(&staff, "/api/rating-campaigns", bad).await),
        (StatusCode::BAD_REQUEST, Some("nominations_close_ms"))
    );
    assert_eq!(app.post(&resident, "/api/rating-campaigns", campaign.clone()).await.status, StatusCode::FORBIDDEN);
    let c = app.post(&staff, "/api/rating-campaigns", campaign).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let cid = c.body["id"].as_i64().unwrap();
    assert_eq!((c.body["stage"].as_str(), c.body["points"].as_i64()), (Some("nominating"), Some(50)));

    // Residents see it in their district's list and may nominate; someone of the district
    // who does not live in the community may not.
    let listed = app.get(&resident, "/api/rating-campaigns").await;
    let mine = listed.body.as_array().unwrap().iter().find(|x| x["id"] == cid).expect(&listed.text);
    assert_eq!((mine["resident"].as_bool(), mine["may_nominate"].as_bool()), (Some(true), Some(true)));
    let deeds = json!({"by": "self", "deeds": "照顾瘫痪老母亲十年，楼道卫生常年包干"});
    assert_eq!(
        app.post(&outsider, &format!("/api/rating-campaigns/{cid}/nominations"), deeds.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    // The steward's record is in no household of the archives, so no household to nominate.
    assert_eq!(
        refused(&app.post(&steward, &format!("/api/rating-campaigns/{cid}/nominations"), deeds.clone()).await),
        (StatusCode::BAD_REQUEST, Some("nominee"))
    );
    // Deeds run to 2,000 characters, no more.
    let long = json!({"by": "self", "deeds": "热".repeat(2001)});
    let r = app.post(&resident, &format!("/api/rating-campaigns/{cid}/nominations"), long).await;
    assert_eq!(refused(&r), (StatusCode::BAD_REQUEST, Some("deeds")));
    let deeds = json!({"by": "self", "deeds": format!("照顾瘫痪老母亲十年，楼道卫生常年包干。{}", "邻里有事必到场。".repeat(30))});
    let r = app.post(&resident, &format!("/api/rating-campaigns/{cid}/nominations"), deeds.clone()).await;
    let mine = nomination(ok(&r), "花园路居民家庭").clone();
    assert_eq!((mine["standing"].as_str(), mine["mine"].as_bool()), (Some("submitted"), Some(true)));
    let r = app.post(&resident, &format!("/api/rating-campaigns/{cid}/nominations"), deeds).await;
    assert_eq!(refused(&r), (StatusCode::CONFLICT, Some("nominee")), "a household stands once");

    // A neighbour, named by the phone of their account, consents before anyone sees it.
    let r = app
        .post(
            &resident,
            &format!("/api/rating-campaigns/{cid}/nominations"),
            json!({"by": "neighbour", "nominee_phone": "13900009999", "nominee_name": "花园路另一居民", "deeds": "x"}),
        )
        .await;
    assert_eq!(refused(&r), (StatusCode::BAD_REQUEST, Some("nominee_phone")));
    // A phone alone names nobody, and a phone with another name matches nobody: the answer
    // never tells whose phone it is.
    let path = format!("/api/rating-campaigns/{cid}/nominations");
    let r = app.post(&resident, &path, json!({"by": "neighbour", "nominee_phone": "13800000012", "deeds": "x"})).await;
    assert_eq!(refused(&r), (StatusCode::BAD_REQUEST, Some("nominee_name")));
    let r = app
        .post(
            &resident,
            &path,
            json!({"by": "neighbour", "nominee_phone": "13800000012", "nominee_name": "王某", "deeds": "x"}),
        )
        .await;
    assert_eq!(refused(&r), (StatusCode::BAD_REQUEST, Some("nominee_phone")));
    let r = app
        .post(
            &resident,
            &format!("/api/rating-campaigns/{cid}/nominations"),
            json!({"by": "neighbour", "nominee_phone": "13800000012", "nominee_name": "花园路另一居民", "deeds": "义务为楼里老人代购买药，调解邻里纠纷"}),
        )
        .await;
    let theirs = nomination(ok(&r), "花园路另一居民家庭").clone();
    assert_eq!(theirs["standing"], "awaiting_consent");
    let n2 = theirs["id"].as_i64().unwrap();
    let seen = app.get(&steward, &format!("/api/rating-campaigns/{cid}")).await;
    assert_eq!(seen.body["nominations"], json!([]), "nothing is public before consent and review: {}", seen.text);
    let c2 = app.get(&resident2, &format!("/api/rating-campaigns/{cid}")).await;
    assert_eq!(nomination(&c2.body, "花园路另一居民家庭")["may_consent"], true);
    assert_eq!(
        app.post(&resident, &format!("/api/rating-nominations/{n2}/consent"), json!({"agree": true})).await.status,
        StatusCode::NOT_FOUND,
        "only the nominee consents"
    );
    ok(&app.post(&resident2, &format!("/api/rating-nominations/{n2}/consent"), json!({"agree": true})).await);

    // The vote opens once nominations have closed and every nomination is reviewed.
    let r = app.post(&staff, &format!("/api/rating-campaigns/{cid}/voting"), json!({})).await;
    assert_eq!(refused(&r), (StatusCode::CONFLICT, Some("stage")));
    app.clock.advance_ms(3 * DAY_MS);
    let staff = app.login("community").await;
    let r = app.post(&staff, &format!("/api/rating-campaigns/{cid}/voting"), json!({})).await;
    assert_eq!(refused(&r), (StatusCode::CONFLICT, Some("nominations")));
    let n1 = mine["id"].as_i64().unwrap();
    let r = app.post(&staff, &format!("/api/rating-nominations/{n1}/review"), json!({"accept": false})).await;
    assert_eq!(refused(&r), (StatusCode::BAD_REQUEST, Some("note")), "a rejection says why");
    for n in [n1, n2] {
        ok(&app.post(&staff, &format!("/api/rating-nominations/{n}/review"), json!({"accept": true})).await);
    }
    let v = app.post(&staff, &format!("/api/rating-campaigns/{cid}/voting"), json!({})).await;
    assert_eq!(ok(&v)["stage"], "voting");

    // One vote per resident and campaign; ten at once from one person count once.
    let (resident, resident2, steward) =
        (app.login("resident").await, app.login("resident2").await, app.login("steward").await);
    assert_eq!(
        app.post(
            &app.login("handler").await,
            &format!("/api/rating-campaigns/{cid}/votes"),
            json!({"nomination_id": n1})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let path = format!("/api/rating-campaigns/{cid}/votes");
    let at_once =
        futures_util::future::join_all((0..10).map(|_| app.post(&steward, &path, json!({"nomination_id": n1})))).await;
    let counted = at_once.iter().filter(|r| r.status == StatusCode::OK).count();
    assert_eq!(counted, 1, "{:?}", at_once.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(at_once.iter().all(|r| r.status == StatusCode::OK || r.status == StatusCode::CONFLICT));
    ok(&app.post(&resident, &path, json!({"nomination_id": n2})).await);
    let v = app.post(&resident2, &path, json!({"nomination_id": n1})).await;
    assert_eq!((v.body["voters"].as_i64(), v.body["i_voted"].as_bool()), (Some(3), Some(true)));
    assert!(v.body["nominations"].as_array().unwrap().iter().all(|n| n["votes"].is_null()), "no tally while voting");
    assert_eq!(
        refused(&app.post(&resident2, &path, json!({"nomination_id": n2})).await),
        (StatusCode::CONFLICT, Some("campaign"))
    );
    {
        // The database itself refuses a second vote, and keeps no link from voter to choice.
        let mut conn = app.app.db.write().await.unwrap();
        let dup = sqlx::query("INSERT INTO rating_voters (campaign_id, person_id) VALUES ($1, $2)")
            .bind(cid)
            .bind(resident2.person_id)
            .execute(&mut *conn)
            .await;
        assert!(dup.is_err(), "a second vote row is refused by the primary key");
    }

    // The vote closes when due; the most voted is published (公示) and may be objected to.
    assert_eq!(
        refused(&app.post(&staff, &format!("/api/rating-campaigns/{cid}/publicity"), json!({})).await).0,
        StatusCode::CONFLICT
    );
    app.clock.advance_ms(2 * DAY_MS);
    let (staff, resident, resident2) =
        (app.login("community").await, app.login("resident").await, app.login("resident2").await);
    let p = app.post(&staff, &format!("/api/rating-campaigns/{cid}/publicity"), json!({})).await;
    let winner = nomination(ok(&p), "花园路居民家庭");
    assert_eq!((winner["standing"].as_str(), winner["votes"].as_i64()), (Some("proposed"), Some(2)));
    assert_eq!(nomination(&p.body, "花园路另一居民家庭")["standing"], "accepted");
    let r = app.post(&resident, &format!("/api/rating-nominations/{n1}/objections"), json!({"reason": "x"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "not to one's own: {}", r.text);
    let r = app
        .post(
            &resident2,
            &format!("/api/rating-nominations/{n1}/objections"),
            json!({"reason": "其家中曾长期占用楼道堆放杂物"}),
        )
        .await;
    ok(&r);
    let r = app.post(&staff, &format!("/api/rating-campaigns/{cid}/award"), json!({})).await;
    assert_eq!(refused(&r), (StatusCode::CONFLICT, Some("stage")), "not before the publicity period ends");
    app.clock.advance_ms(5 * DAY_MS);
    let (staff, resident, resident2, steward) = (
        app.login("community").await,
        app.login("resident").await,
        app.login("resident2").await,
        app.login("steward").await,
    );
    let r = app.post(&staff, &format!("/api/rating-campaigns/{cid}/award"), json!({})).await;
    assert_eq!(refused(&r), (StatusCode::CONFLICT, Some("objections")));
    let c = app.get(&staff, &format!("/api/rating-campaigns/{cid}")).await;
    let o = &nomination(&c.body, "花园路居民家庭")["objections"][0];
    assert_eq!(
        (o["reason"].as_str(), o["objector_name"].as_str()),
        (Some("其家中曾长期占用楼道堆放杂物"), Some("花园路另一居民"))
    );
    let oid = o["id"].as_i64().unwrap();
    ok(&app
        .post(
            &staff,
            &format!("/api/rating-objections/{oid}/answer"),
            json!({"upheld": false, "answer": "经入户核实，杂物已于今年3月清理"}),
        )
        .await);
    let public = app.get(&steward, &format!("/api/rating-campaigns/{cid}")).await;
    let o = &nomination(&public.body, "花园路居民家庭")["objections"][0];
    assert_eq!(
        (o["reason"].clone(), o["objector_name"].clone()),
        (Value::Null, Value::Null),
        "the objector stays private"
    );
    assert_eq!(o["answer"], "经入户核实，杂物已于今年3月清理");
    let a = app.post(&staff, &format!("/api/rating-campaigns/{cid}/award"), json!({})).await;
    assert_eq!(ok(&a)["stage"], "awarded");
    assert_eq!(nomination(&a.body, "花园路居民家庭")["standing"], "awarded");

    // The household's account holds the points, readable by its members, and only once.
    let h = app.get(&resident, "/api/points/me/household").await;
    assert_eq!((h.body["kind"].as_str(), h.body["balance"].as_i64()), (Some("household"), Some(50)), "{}", h.text);
    assert_eq!(h.body["name"], "花园路居民家庭");
    assert!(app.get(&resident2, "/api/points/me/household").await.body.is_null());
    let acc = h.body["id"].as_i64().unwrap();
    assert_eq!(app.get(&resident2, &format!("/api/points/accounts/{acc}")).await.status, StatusCode::NOT_FOUND);
    let st = app.get(&resident, &format!("/api/points/accounts/{acc}/statement")).await;
    assert_eq!(st.body[0]["change"], 50, "{}", st.text);
    let verified = app.app.clone();
    assert!(wuzhi_app::virtue::verify(&verified).await.unwrap().broken.is_none());

    // The honours board, without signing in.
    let board = app.call(None, Method::GET, &format!("/api/honours?territory={COMMUNITY}"), None).await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.text);
    let first = &board.body[0];
    assert_eq!((first["name"].as_str(), first["honour"].as_str()), (Some("花园路居民家庭"), Some("文明家庭")));
    assert_eq!(board.body.as_array().unwrap().len(), 1);
    let inbox = app.get(&resident, "/api/me/notifications").await;
    assert!(inbox.text.contains("获评“文明家庭”"), "{}", inbox.text);
}

#[tokio::test]
async fn a_tie_shares_the_last_place_and_an_upheld_objection_strikes_a_winner() {
    let app = spawn_app().await;
    let commander = app.login("commander").await;
    let now = app.app.now_ms();
    // The street's commander runs a 最美志愿者 campaign and nominates two residents himself.
    let c = app
        .post(
            &commander,
            "/api/rating-campaigns",
            json!({"territory_code": "120101001", "kind": "person", "honour": "最美志愿者",
            "title": "劝业场街道最美志愿者评选", "criteria": "志愿服务时长与群众口碑", "places": 1,
            "nominations_close_ms": now + DAY_MS, "vote_days": 1, "publicity_days": 1}),
        )
        .await;
    let cid = ok(&c)["id"].as_i64().unwrap();
    let people = [app.person_id("steward").await, app.person_id("gridworker2").await];
    for p in people {
        let r = app
            .post(
                &commander,
                &format!("/api/rating-campaigns/{cid}/nominations"),
                json!({"by": "committee", "nominee_person_id": p, "deeds": "常年参与小巷巡查"}),
            )
            .await;
        ok(&r);
    }
    let outside = app.person_id("handler").await;
    let r = app
        .post(
            &commander,
            &format!("/api/rating-campaigns/{cid}/nominations"),
            json!({"by": "committee", "nominee_person_id": outside, "deeds": "x"}),
        )
        .await;
    assert_eq!(refused(&r), (StatusCode::BAD_REQUEST, Some("nominee_person_id")), "nominees live in the territory");
    let view = app.get(&commander, &format!("/api/rating-campaigns/{cid}")).await;
    let ids: Vec<i64> =
        view.body["nominations"].as_array().unwrap().iter().map(|n| n["id"].as_i64().unwrap()).collect();
    for user in ["steward", "gridworker2"] {
        let s = app.login(user).await;
        let mine = app.get(&s, &format!("/api/rating-campaigns/{cid}")).await;
        let n =
            mine.body["nominations"].as_array().unwrap().iter().find(|n| n["mine"] == true).expect(&mine.text).clone();
        ok(&app.post(&s, &format!("/api/rating-nominations/{}/consent", n["id"]), json!({"agree": true})).await);
    }
    app.clock.advance_ms(DAY_MS);
    let commander = app.login("commander").await;
    for n in &ids {
        ok(&app
            .post(
                &commander,
                &format!("/api/rating-nominations/{n}/review"),
                json!({"accept": true, "note": "事迹属实"}),
            )
            .await);
    }
    ok(&app.post(&commander, &format!("/api/rating-campaigns/{cid}/voting"), json!({})).await);
    for (user, pick) in [("resident", ids[0]), ("resident2", ids[1])] {
        let s = app.login(user).await;
        ok(&app.post(&s, &format!("/api/rating-campaigns/{cid}/votes"), json!({"nomination_id": pick})).await);
    }
    app.clock.advance_ms(DAY_MS);
    let commander = app.login("commander").await;
    let p = app.post(&commander, &format!("/api/rating-campaigns/{cid}/publicity"), json!({})).await;
    let standings: Vec<&str> =
        ok(&p)["nominations"].as_array().unwrap().iter().map(|n| n["standing"].as_str().unwrap()).collect();
    assert_eq!(standings, ["proposed", "proposed"], "one vote each: the tie shares the one place");
    let resident = app.login("resident").await;
    ok(&app
        .post(&resident, &format!("/api/rating-nominations/{}/objections", ids[1]), json!({"reason": "服务时长有虚报"}))
        .await);
    let c = app.get(&commander, &format!("/api/rating-campaigns/{cid}")).await;
    let oid = c.body["nominations"][1]["objections"][0]["id"].as_i64().unwrap();
    let r = app
        .post(&commander, &format!("/api/rating-objections/{oid}/answer"), json!({"upheld": true, "answer": ""}))
        .await;
    assert_eq!(refused(&r), (StatusCode::BAD_REQUEST, Some("answer")));
    ok(&app
        .post(
            &commander,
            &format!("/api/rating-objections/{oid}/answer"),
            json!({"upheld": true, "answer": "经核查，时长记录有误"}),
        )
        .await);
    let r = app
        .post(&commander, &format!("/api/rating-objections/{oid}/answer"), json!({"upheld": false, "answer": "x"}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "answered once");
    app.clock.advance_ms(DAY_MS);
    let commander = app.login("commander").await;
    let a = app.post(&commander, &format!("/api/rating-campaigns/{cid}/award"), json!({})).await;
    let standings: Vec<&str> =
        ok(&a)["nominations"].as_array().unwrap().iter().map(|n| n["standing"].as_str().unwrap()).collect();
    assert_eq!(standings, ["awarded", "struck"]);
    let board = app.call(None, Method::GET, "/api/honours", None).await;
    let names: Vec<&str> = board.body.as_array().unwrap().iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["花园路小巷管家"], "{}", board.text);
}
