//! Two-factor sign-in (TOTP): required for the three administrators — system, security,
//! audit — (the default
//! setting, which these tests keep), optional for staff; a code is accepted once, a wrong one
//! counts as a failed sign-in, a challenge runs out and is used once, the secret is sealed,
//! and a lost phone is reset by someone who may manage the account or at the console.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashMap;
use wuzhi_app::Clock;
use wuzhi_app::second_factor::code_at;

async fn spawn_with_two_factor() -> TestApp {
    let app = spawn_app_with_settings(|s| s.two_factor_roles = wuzhi_app::Settings::default().two_factor_roles).await;
    use wuzhi_domain::Role;
    assert_eq!(
        app.app.settings.two_factor_roles,
        [Role::Admin, Role::SecurityAdmin, Role::Auditor],
        "the default asks the three administrators for a second factor"
    );
    app
}

fn code(app: &TestApp, secret: &str) -> String {
    code_at(secret, app.clock.now_ms()).expect("a base32 secret")
}

/// A code that is not the one valid now (nor in the steps beside it).
fn wrong_code(app: &TestApp, secret: &str) -> String {
    let near: Vec<String> =
        [-30_000, 0, 30_000].iter().map(|d| code_at(secret, app.clock.now_ms() + d).unwrap()).collect();
    (0..).map(|i: u32| format!("{:06}", (i * 7919) % 1_000_000)).find(|c| !near.contains(c)).unwrap()
}

fn session_of(r: &Reply) -> Session {
    let set = r.headers.get("set-cookie").expect("cookie").to_str().unwrap().to_owned();
    Session {
        cookie: set.split(';').next().unwrap().to_owned(),
        csrf: r.body["csrf_token"].as_str().unwrap().to_owned(),
        person_id: r.body["person_id"].as_i64().unwrap(),
    }
}

async fn answer(app: &TestApp, challenge: &str, code: &str) -> Reply {
    app.call(
        None,
        reqwest::Method::POST,
        "/api/session/second-factor",
        Some(json!({"challenge": challenge, "code": code})),
    )
    .await
}

/// Signs in with the password and, when asked, the second factor (enrolling when the account
/// has none); the secrets learnt are kept in `secrets`. Each such sign-in moves the clock on
/// by one step, since a code is accepted once.
async fn sign_in(app: &TestApp, username: &str, secrets: &mut HashMap<String, String>) -> Session {
    let r = app.try_login(username, PASSWORD).await;
    if r.status == StatusCode::OK {
        return session_of(&r);
    }
    assert_eq!(r.status, StatusCode::ACCEPTED, "{username}: {}", r.text);
    if r.body["second_factor"] == "enrol" {
        secrets.insert(username.into(), r.body["secret"].as_str().unwrap().into());
    }
    app.clock.advance_ms(30_000);
    let c = code(app, &secrets[username]);
    let done = answer(app, r.body["challenge"].as_str().unwrap(), &c).await;
    assert_eq!(done.status, StatusCode::OK, "{username}: {}", done.text);
    session_of(&done)
}

#[tokio::test]
async fn an_administrator_enrols_at_the_first_sign_in_and_gives_a_code_at_each_after() {
    let app = spawn_with_two_factor().await;
    let r = app.try_login("admin", PASSWORD).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert!(r.headers.get("set-cookie").is_none(), "no session before the second factor");
    assert_eq!(r.body["second_factor"], "enrol");
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    let url = r.body["otpauth_url"].as_str().unwrap();
    assert!(url.starts_with("otpauth://totp/wuzhi:admin?secret=") && url.contains("issuer=wuzhi"), "{url}");
    let challenge = r.body["challenge"].as_str().unwrap().to_owned();

    // Bad and wrong codes are refused, naming the field; nothing is enrolled.
    let bad = answer(&app, &challenge, "12ab56").await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("code")));
    let wrong = answer(&app, &challenge, &wrong_code(&app, &secret)).await;
    assert_eq!((wrong.status, wrong.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("code")));
    // A right code (spaces as an app groups them are fine) enrols and signs in.
    let right = code(&app, &secret);
    let spaced = format!("{} {}", &right[..3], &right[3..]);
    let done = answer(&app, &challenge, &spaced).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let admin = session_of(&done);
    assert_eq!(app.get(&admin, "/api/me/second-factor").await.body, json!({"enrolled": true, "required": true}));
    // The challenge is used once.
    assert_eq!(answer(&app, &challenge, &right).await.status, StatusCode::UNAUTHORIZED);

    // Next time the password alone gives a challenge for a code; the code just used is not
    // accepted again, the next step's is.
    let again = app.try_login("admin", PASSWORD).await;
    assert_eq!((again.status, again.body["second_factor"].as_str()), (StatusCode::ACCEPTED, Some("code")));
    assert!(again.body.get("secret").is_none(), "the secret is shown only at enrolment");
    let ch = again.body["challenge"].as_str().unwrap();
    let reused = answer(&app, ch, &right).await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST, "a code is accepted once: {}", reused.text);
    app.clock.advance_ms(30_000);
    assert_eq!(answer(&app, ch, &code(&app, &secret)).await.status, StatusCode::OK);

    // A challenge runs out after five minutes.
    let late = app.try_login("admin", PASSWORD).await;
    app.clock.advance_ms(5 * 60_000 + 1);
    let r = answer(&app, late.body["challenge"].as_str().unwrap(), &code(&app, &secret)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // The administrator's own second factor cannot be removed: the post requires it.
    app.clock.advance_ms(30_000);
    let r = app
        .call(
            Some(&admin),
            reqwest::Method::DELETE,
            "/api/me/second-factor",
            Some(json!({"code": code(&app, &secret)})),
        )
        .await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("second_factor")));

    // The secret is sealed in the database, not kept as it is.
    let mut conn = app.app.db.read().await.unwrap();
    let stored: Vec<u8> = sqlx::query_scalar("SELECT totp_secret FROM accounts WHERE username = 'admin'")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let raw = totp_rs::Secret::try_from_base32(&secret).unwrap();
    assert!(stored.len() > raw.as_ref().len() && !stored.windows(raw.as_ref().len()).any(|w| w == raw.as_ref()));

    // The auditor sees the enrolment and the refused codes, with no code or secret in them.
    let mut secrets = HashMap::new();
    let auditor = sign_in(&app, "auditor", &mut secrets).await;
    let log = app.get(&auditor, "/api/audit?limit=1000").await;
    let admin_id = app.person_id("admin").await.to_string();
    let of = |action: &str| {
        log.body
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action && e["object_id"] == admin_id.as_str())
            .count()
    };
    assert_eq!(of("enrol_second_factor"), 1);
    assert_eq!(of("second_factor_failed"), 2, "the wrong code and the reused one");
    assert!(!log.text.contains(&secret) && !log.text.contains(&right));
}

#[tokio::test]
async fn wrong_codes_count_as_failed_sign_ins_and_lock_the_account() {
    let app = spawn_with_two_factor().await;
    let mut secrets = HashMap::new();
    sign_in(&app, "admin", &mut secrets).await;
    let secret = secrets["admin"].clone();
    let r = app.try_login("admin", PASSWORD).await;
    let ch = r.body["challenge"].as_str().unwrap().to_owned();
    // The password was the first attempt; four wrong codes make five, the limit.
    for i in 1..=3 {
        let r = answer(&app, &ch, &wrong_code(&app, &secret)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "wrong code {i}");
    }
    let r = answer(&app, &ch, &wrong_code(&app, &secret)).await;
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (StatusCode::LOCKED, Some("account_locked")));
    // Locked: the right code and the right password are refused until the lock runs out.
    app.clock.advance_ms(30_000);
    assert_eq!(answer(&app, &ch, &code(&app, &secret)).await.status, StatusCode::LOCKED);
    assert_eq!(app.try_login("admin", PASSWORD).await.status, StatusCode::LOCKED);
    app.clock.advance_ms(16 * 60_000);
    sign_in(&app, "admin", &mut secrets).await;
}

#[tokio::test]
async fn staff_may_add_a_second_factor_and_an_administrator_resets_a_lost_one() {
    let app = spawn_with_two_factor().await;
    // Community staff need none, and sign in with the password.
    assert_eq!(app.try_login("community", PASSWORD).await.status, StatusCode::OK);
    let community = app.login("community").await;
    assert_eq!(app.get(&community, "/api/me/second-factor").await.body, json!({"enrolled": false, "required": false}));
    let start = app.post(&community, "/api/me/second-factor", json!({})).await;
    assert_eq!(start.status, StatusCode::CREATED, "{}", start.text);
    let secret = start.body["secret"].as_str().unwrap().to_owned();
    let ch = start.body["challenge"].as_str().unwrap().to_owned();
    // The challenge of an enrolment is not a way to sign in.
    assert_eq!(answer(&app, &ch, &code(&app, &secret)).await.status, StatusCode::UNAUTHORIZED);
    let wrong = app
        .post(&community, "/api/me/second-factor/confirm", json!({"challenge": ch, "code": wrong_code(&app, &secret)}))
        .await;
    assert_eq!((wrong.status, wrong.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("code")));
    let ok = app
        .post(&community, "/api/me/second-factor/confirm", json!({"challenge": ch, "code": code(&app, &secret)}))
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{}", ok.text);
    let twice = app.post(&community, "/api/me/second-factor", json!({})).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    // From now on their sign-in asks for a code.
    let r = app.try_login("community", PASSWORD).await;
    assert_eq!((r.status, r.body["second_factor"].as_str()), (StatusCode::ACCEPTED, Some("code")));
    let mut secrets = HashMap::from([("community".to_owned(), secret.clone())]);
    let community = sign_in(&app, "community", &mut secrets).await;

    // Someone who may not manage the account cannot reset it — the system administrator
    // neither —; the security administrator can, and the person's sessions end.
    let person = app.person_id("community").await;
    let dispatcher = app.login("dispatcher").await;
    let r = app.post(&dispatcher, &format!("/api/people/{person}/account"), json!({"reset_second_factor": true})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let admin = sign_in(&app, "admin", &mut secrets).await;
    let r = app.post(&admin, &format!("/api/people/{person}/account"), json!({"reset_second_factor": true})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let security = sign_in(&app, "security", &mut secrets).await;
    let r = app.post(&security, &format!("/api/people/{person}/account"), json!({"reset_second_factor": true})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(app.get(&community, "/api/me").await.status, StatusCode::UNAUTHORIZED, "their sessions ended");
    assert_eq!(app.try_login("community", PASSWORD).await.status, StatusCode::OK, "the password alone again");

    // Staff remove their own with a current code.
    let community = app.login("community").await;
    let start = app.post(&community, "/api/me/second-factor", json!({})).await;
    let secret = start.body["secret"].as_str().unwrap().to_owned();
    let c = json!({"challenge": start.body["challenge"], "code": code(&app, &secret)});
    assert_eq!(app.post(&community, "/api/me/second-factor/confirm", c).await.status, StatusCode::NO_CONTENT);
    app.clock.advance_ms(30_000);
    let r = app
        .call(
            Some(&community),
            reqwest::Method::DELETE,
            "/api/me/second-factor",
            Some(json!({"code": wrong_code(&app, &secret)})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .call(
            Some(&community),
            reqwest::Method::DELETE,
            "/api/me/second-factor",
            Some(json!({"code": code(&app, &secret)})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(app.try_login("community", PASSWORD).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_console_resets_a_lost_second_factor_of_the_last_administrator() {
    let app = spawn_with_two_factor().await;
    let mut secrets = HashMap::new();
    sign_in(&app, "admin", &mut secrets).await;
    let dir = app.db.dir.display().to_string();
    let (ok, out, err) = wuzhi(
        &["user", "reset-second-factor", "--database-url", &app.db.url, "--data-dir", &dir, "--username", "admin"],
        "",
    );
    assert!(ok, "{out}{err}");
    let r = app.try_login("admin", PASSWORD).await;
    assert_eq!((r.status, r.body["second_factor"].as_str()), (StatusCode::ACCEPTED, Some("enrol")), "{}", r.text);
    let (ok, _, err) = wuzhi(
        &["user", "reset-second-factor", "--database-url", &app.db.url, "--data-dir", &dir, "--username", "nobody"],
        "",
    );
    assert!(!ok && err.contains("nobody"), "{err}");
}
