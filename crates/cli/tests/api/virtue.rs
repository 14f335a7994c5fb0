//! The points ledger (issue 19, 积分制) over HTTP: points earned by a rule and held through its
//! publicity, spent in the points shop, deducted only by a decision the person may object
//! to, corrected only by reversal, expired by rule; balances never below zero under
//! concurrent spending; `wuzhi points verify` finds a row changed by hand.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const COMMUNITY: &str = "120101001001";
const DAY_MS: i64 = 86_400_000;

async fn me(app: &TestApp, s: &Session) -> Value {
    let r = app.get(s, "/api/points/me").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

#[tokio::test]
async fn points_are_earned_held_spent_objected_to_corrected_and_expired_by_the_rules() {
    let app = spawn_app().await;
    let staff = app.login("community").await;
    let resident = app.login("resident").await;
    let resident_id = app.person_id("resident").await;
    assert_eq!(me(&app, &resident).await, Value::Null, "no account before the first points");

    // An earning rule as data: 5 points an hour of verified service, published for 3 days,
    // valid for a year. Bad input is named; the street's commander reads but keeps no rule.
    let rule = json!({"territory_code": COMMUNITY, "code": "volunteer_hour", "name": "志愿服务每小时", "points": 5, "publicity_days": 3, "valid_days": 365});
    let bad = app
        .post(
            &staff,
            "/api/points/rules",
            json!({"territory_code": COMMUNITY, "code": "x y", "name": "n", "points": 5}),
        )
        .await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("code")));
    let bad = app
        .post(&staff, "/api/points/rules", json!({"territory_code": COMMUNITY, "code": "x", "name": "n", "points": 0}))
        .await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("points")));
    let commander = app.login("commander").await;
    assert_eq!(app.post(&commander, "/api/points/rules", rule.clone()).await.status, StatusCode::FORBIDDEN);
    let r = app.post(&staff, "/api/points/rules", rule.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let rule_id = r.body["id"].as_i64().unwrap();
    assert_eq!(app.post(&staff, "/api/points/rules", rule).await.status, StatusCode::CONFLICT);
    let listed = app.get(&resident, &format!("/api/points/rules?territory={COMMUNITY}")).await;
    assert_eq!(listed.body[0]["code"], "volunteer_hour", "residents read their community's rules: {}", listed.text);

    // The award is pending through the publicity: not yet spendable.
    let award = json!({"person_id": resident_id, "rule_id": rule_id, "reason": "12月4日社区敬老服务1小时", "source": "volunteer:1"});
    assert_eq!(
        app.post(&app.login("gridworker").await, "/api/points/awards", award.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    let r = app.post(&staff, "/api/points/awards", award.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let earned = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["state"], "pending");
    let again = app.post(&staff, "/api/points/awards", award).await;
    assert_eq!(
        (again.status, again.body["error"]["field"].as_str()),
        (StatusCode::CONFLICT, Some("source")),
        "counted once"
    );
    let m = me(&app, &resident).await;
    assert_eq!((m["balance"].as_i64(), m["available"].as_i64(), m["pending_in"].as_i64()), (Some(0), Some(0), Some(5)));
    let account = m["id"].as_i64().unwrap();

    // The shop: nothing can be bought with pending points.
    let item = app
        .post(
            &staff,
            "/api/points/items",
            json!({"territory_code": COMMUNITY, "name": "洗衣液", "price": 3, "stock": 1}),
        )
        .await;
    assert_eq!(item.status, StatusCode::CREATED, "{}", item.text);
    let item_id = item.body["id"].as_i64().unwrap();
    let shop = app.get(&resident, "/api/points/items").await.body;
    assert!(shop.as_array().unwrap().iter().any(|i| i["id"] == item_id), "the resident's community shop: {shop}");
    let redeem = |key: &'static str| {
        let (app, resident) = (&app, &resident);
        async move { app.post(resident, &format!("/api/points/items/{item_id}/redemptions"), json!({"key": key})).await }
    };
    let early = redeem("a").await;
    assert_eq!(
        (early.status, early.body["error"]["field"].as_str()),
        (StatusCode::CONFLICT, Some("points")),
        "{}",
        early.text
    );
    let stock = app.get(&staff, &format!("/api/points/items?territory={COMMUNITY}")).await.body;
    assert_eq!(stock[0]["stock"], 1, "a refused redemption took no stock: {stock}");

    // After the publicity the settle pass posts it; then it is spent, once per request.
    app.clock.advance_ms(3 * DAY_MS + 1);
    assert_eq!(wuzhi_app::virtue::settle_once(&app.app).await.unwrap().posted, 1);
    let (staff, resident) = (app.login("community").await, app.login("resident").await);
    assert_eq!(me(&app, &resident).await["available"], 5);
    let bought = app.post(&resident, &format!("/api/points/items/{item_id}/redemptions"), json!({"key": "b"})).await;
    assert_eq!(bought.status, StatusCode::CREATED, "{}", bought.text);
    let retried = app.post(&resident, &format!("/api/points/items/{item_id}/redemptions"), json!({"key": "b"})).await;
    assert_eq!(retried.body["id"], bought.body["id"], "a retried request is the same redemption");
    let none = app.post(&resident, &format!("/api/points/items/{item_id}/redemptions"), json!({"key": "c"})).await;
    assert_eq!((none.status, none.body["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("item")));
    assert_eq!(me(&app, &resident).await["available"], 2);

    // A deduction only by a recorded decision, held for the objection period; the person
    // objects, so the pass does not post it, and the committee withdraws it.
    let ded = app
        .post(
            &staff,
            "/api/points/deductions",
            json!({"person_id": resident_id, "points": 1, "decision": "居民公约第3条", "reason": "乱扔垃圾经劝阻不改"}),
        )
        .await;
    assert_eq!(ded.status, StatusCode::CREATED, "{}", ded.text);
    let ded_id = ded.body["id"].as_i64().unwrap();
    assert_eq!(me(&app, &resident).await["available"], 1, "pending out counts against what may be spent");
    let too_much = app
        .post(
            &staff,
            "/api/points/deductions",
            json!({"person_id": resident_id, "points": 2, "decision": "居民公约第4条", "reason": "r"}),
        )
        .await;
    assert_eq!((too_much.status, too_much.body["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("points")));
    let neighbour = app.login("resident2").await;
    assert_eq!(
        app.post(&neighbour, &format!("/api/points/transfers/{ded_id}/objection"), json!({"objection": "不是我"}))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "only the person objects"
    );
    let obj = app
        .post(&resident, &format!("/api/points/transfers/{ded_id}/objection"), json!({"objection": "当天我不在小区"}))
        .await;
    assert_eq!(obj.status, StatusCode::OK, "{}", obj.text);
    app.clock.advance_ms(8 * DAY_MS);
    assert_eq!(
        wuzhi_app::virtue::settle_once(&app.app).await.unwrap().posted,
        0,
        "an objected deduction waits for a decision"
    );
    let staff = app.login("community").await;
    let resident = app.login("resident").await;
    let voided = app.post(&staff, &format!("/api/points/transfers/{ded_id}/settlement"), json!({"post": false})).await;
    assert_eq!((voided.status, voided.body["state"].as_str()), (StatusCode::OK, Some("voided")), "{}", voided.text);
    assert_eq!(me(&app, &resident).await["available"], 2);

    // Corrections only by reversal: the earning cannot be reversed while its points are
    // spent; the redemption can (a refund), once.
    let r = app.post(&staff, &format!("/api/points/transfers/{earned}/reversal"), json!({"reason": "误记"})).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("points")), "{}", r.text);
    let bought_id = bought.body["id"].as_i64().unwrap();
    let refund = app
        .post(&staff, &format!("/api/points/transfers/{bought_id}/reversal"), json!({"reason": "商品缺货退回"}))
        .await;
    assert_eq!(refund.status, StatusCode::CREATED, "{}", refund.text);
    let twice =
        app.post(&staff, &format!("/api/points/transfers/{bought_id}/reversal"), json!({"reason": "again"})).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(me(&app, &resident).await["available"], 5);

    // The statement, newest first, with what each did to the account; others' staff and
    // neighbours do not read it.
    let st = app.get(&resident, &format!("/api/points/accounts/{account}/statement")).await.body;
    let changes: Vec<(String, i64)> = st
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["transfer"]["kind"].as_str().unwrap().to_owned(), e["change"].as_i64().unwrap()))
        .collect();
    assert_eq!(changes, [("reverse".into(), 3), ("deduct".into(), -1), ("redeem".into(), -3), ("earn".into(), 5)]);
    let neighbour = app.login("resident2").await;
    assert_eq!(app.get(&neighbour, &format!("/api/points/accounts/{account}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&staff, &format!("/api/points/accounts/{account}")).await.body["balance"], 5);

    // A year on, the earned points expire, the oldest first: 5 earned, 3 of them spent (and
    // refunded): 2 go back to the fund.
    app.clock.advance_ms(366 * DAY_MS);
    assert_eq!(wuzhi_app::virtue::settle_once(&app.app).await.unwrap().expired, 2);
    assert_eq!(wuzhi_app::virtue::settle_once(&app.app).await.unwrap().expired, 0, "once");
    let resident = app.login("resident").await;
    assert_eq!(me(&app, &resident).await["available"], 3);

    // The ledger checks out; a row changed by hand does not.
    let v = wuzhi_app::virtue::verify(&app.app).await.unwrap();
    assert_eq!((v.broken.as_deref(), v.transfers), (None, 5), "{v:?}");
    // The command line checks with the server's keys (the key file beside the data).
    let dir = app.db.dir.display().to_string();
    app.app.settings.vault.write(&app.db.dir.join("keys").join("archive.keys")).unwrap();
    let verify = || wuzhi(&["points", "verify", "--database-url", &app.db.url, "--data-dir", &dir], "");
    let (ok, out, err) = verify();
    assert!(ok && out.contains("points ledger intact: 2 accounts, 5 transfers"), "{out} {err}");
    {
        let mut tx = app.app.db.write().await.unwrap();
        sqlx::query("UPDATE points_transfers SET amount = 50 WHERE id = $1")
            .bind(earned)
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("UPDATE points_accounts SET credits_posted = credits_posted + 45 WHERE id = $1")
            .bind(account)
            .execute(&mut *tx)
            .await
            .unwrap();
        wuzhi_store::commit(tx).await.unwrap();
    }
    let v = wuzhi_app::virtue::verify(&app.app).await.unwrap();
    assert_eq!(
        v.broken,
        Some(format!("transfer {earned} does not match its seal: it was changed outside wuzhi")),
        "{v:?}"
    );
    let (ok, _, err) = verify();
    assert!(!ok && err.contains(&format!("transfer {earned} does not match its seal")), "{err}");
    // Counters changed alone are found too.
    {
        let mut tx = app.app.db.write().await.unwrap();
        sqlx::query("UPDATE points_transfers SET amount = 5 WHERE id = $1")
            .bind(earned)
            .execute(&mut *tx)
            .await
            .unwrap();
        wuzhi_store::commit(tx).await.unwrap();
    }
    let v = wuzhi_app::virtue::verify(&app.app).await.unwrap();
    assert!(
        v.broken.as_deref().is_some_and(|b| b.starts_with(&format!("account {account}: stored counters"))),
        "{v:?}"
    );
}

/// 100 redemptions at once against a balance that pays for ten: exactly ten succeed, the
/// balance ends at zero, the stock lost ten, and the ledger checks out.
#[tokio::test]
async fn a_hundred_concurrent_redemptions_against_a_balance_for_ten_give_exactly_ten() {
    let app = spawn_app().await;
    let staff = app.login("community").await;
    let resident_id = app.person_id("resident").await;
    let rule = app
        .post(
            &staff,
            "/api/points/rules",
            json!({"territory_code": COMMUNITY, "code": "report_closed", "name": "随手拍属实", "points": 10}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let r = app
        .post(
            &staff,
            "/api/points/awards",
            json!({"person_id": resident_id, "rule_id": rule, "reason": "随手拍井盖缺失属实"}),
        )
        .await;
    assert_eq!((r.status, r.body["state"].as_str()), (StatusCode::CREATED, Some("posted")), "{}", r.text);
    let item = app
        .post(
            &staff,
            "/api/points/items",
            json!({"territory_code": COMMUNITY, "name": "鸡蛋", "price": 1, "stock": 1000}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let resident = app.login("resident").await;
    let attempts = (0..100).map(|i| {
        let (app, resident) = (&app, &resident);
        async move {
            app.post(resident, &format!("/api/points/items/{item}/redemptions"), json!({"key": format!("k{i}")}))
                .await
                .status
        }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let ok = answers.iter().filter(|s| **s == StatusCode::CREATED).count();
    let refused = answers.iter().filter(|s| **s == StatusCode::CONFLICT).count();
    assert_eq!((ok, refused), (10, 90), "{answers:?}");
    assert_eq!(me(&app, &resident).await["available"], 0);
    let stock = app.get(&staff, &format!("/api/points/items?territory={COMMUNITY}")).await.body;
    assert_eq!(stock[0]["stock"], 990, "the refused ones took no stock: {stock}");
    // A deduction that takes the last points posts when its period ends (the counters move
    // out of pending before they count as posted, so the check never sees it twice).
    let r = app
        .post(
            &staff,
            "/api/points/awards",
            json!({"person_id": resident_id, "rule_id": rule, "reason": "随手拍路灯不亮属实"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let d = app
        .post(
            &staff,
            "/api/points/deductions",
            json!({"person_id": resident_id, "points": 10, "decision": "议事会2026-12-04第2项", "reason": "r"}),
        )
        .await;
    assert_eq!(d.status, StatusCode::CREATED, "{}", d.text);
    app.clock.advance_ms(7 * DAY_MS + 1);
    assert_eq!(wuzhi_app::virtue::settle_once(&app.app).await.unwrap().posted, 1);
    let resident = app.login("resident").await;
    let m = me(&app, &resident).await;
    assert_eq!(
        (m["balance"].as_i64(), m["available"].as_i64(), m["pending_out"].as_i64()),
        (Some(0), Some(0), Some(0)),
        "{m}"
    );
    let v = wuzhi_app::virtue::verify(&app.app).await.unwrap();
    assert_eq!((v.broken, v.transfers), (None, 13));
}

/// A batch of awards is one transaction, all or nothing: each refusal names the award by its
/// place, a source already paid refuses the whole batch, and the fund's counters move once.
#[tokio::test]
async fn a_batch_of_awards_is_all_or_nothing_and_counts_each_source_once() {
    let app = spawn_app().await;
    let staff = app.login("community").await;
    let (resident, gridworker) = (app.person_id("resident").await, app.person_id("gridworker").await);
    let rule = app
        .post(
            &staff,
            "/api/points/rules",
            json!({"territory_code": COMMUNITY, "code": "volunteer_hour", "name": "志愿服务每小时", "points": 3}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let batch = |awards: Value| json!({"rule_id": rule, "reason": "11月志愿服务时长", "awards": awards});
    let r = app
        .post(
            &staff,
            "/api/points/awards/batch",
            batch(json!([{"person_id": resident, "source": "a"}, {"person_id": 999999, "source": "b"}])),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("awards[1].person_id")),
        "{}",
        r.text
    );
    let r = app
        .post(
            &staff,
            "/api/points/awards/batch",
            batch(json!([{"person_id": resident, "source": "a"}, {"person_id": gridworker, "source": "a"}])),
        )
        .await;
    assert_eq!(r.body["error"]["field"], "awards[1].source", "{}", r.text);
    let r = app
        .post(&staff, "/api/points/awards/batch", batch(json!([{"person_id": resident, "source": "vol:11:resident"}, {"person_id": gridworker, "source": "vol:11:gridworker"}])))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["transfer_ids"].as_array().unwrap().len(), 2);
    let again = app
        .post(&staff, "/api/points/awards/batch", batch(json!([{"person_id": resident, "source": "vol:12:resident"}, {"person_id": gridworker, "source": "vol:11:gridworker"}])))
        .await;
    assert_eq!(
        (again.status, again.body["error"]["field"].as_str()),
        (StatusCode::CONFLICT, Some("awards[1].source")),
        "{}",
        again.text
    );
    // Nothing of the refused batch was written: 3 points each, the fund −6.
    let r_me = app.get(&app.login("resident").await, "/api/points/me").await.body;
    let g_me = app.get(&app.login("gridworker").await, "/api/points/me").await.body;
    assert_eq!((r_me["available"].as_i64(), g_me["available"].as_i64()), (Some(3), Some(3)));
    let v = wuzhi_app::virtue::verify(&app.app).await.unwrap();
    assert_eq!((v.broken, v.transfers, v.accounts), (None, 2, 3), "the seals and the counters of a batch check out");
    // A street commander reads points but does not keep them.
    let commander = app.login("commander").await;
    let r =
        app.post(&commander, "/api/points/awards/batch", batch(json!([{"person_id": resident, "source": "x"}]))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
