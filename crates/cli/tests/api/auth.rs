//! Sign-in, lockout, sessions, CSRF, API tokens, password change.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn login_sets_a_hardened_cookie_and_me_shows_the_grants() {
    let app = spawn_app().await;
    let r = app.try_login("gridworker", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK);
    let cookie = r.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("wuzhi_session="));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP without a TLS proxy: {cookie}");
    let s = app.login("gridworker").await;
    let me = app.get(&s, "/api/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["grants"][0]["role"], "grid_worker");
    assert_eq!(me.body["grants"][0]["scope"], "120101001001001");
    assert_eq!(me.body["grants"].as_array().unwrap().len(), 1);
    assert_eq!(me.body["person"]["phone"], "13800000008", "one's own phone is shown in full");
}

#[tokio::test]
async fn cookie_is_secure_behind_a_tls_proxy() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(format!("{}/api/session", app.base))
        .header("x-forwarded-proto", "https")
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("set-cookie").unwrap().to_str().unwrap().contains("; Secure"));
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_until_the_lockout_passes() {
    let app = spawn_app().await;
    let unknown = app.try_login("nobody", PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.body["error"]["code"], "bad_credentials");
    for i in 1..=4 {
        let r = app.try_login("community", "wrong password!").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let fifth = app.try_login("community", "wrong password!").await;
    assert_eq!(fifth.status, StatusCode::LOCKED);
    assert_eq!(fifth.body["error"]["code"], "account_locked");
    // Even the right password is refused while locked.
    assert_eq!(app.try_login("community", PASSWORD).await.status, StatusCode::LOCKED);
    app.clock.advance_ms(15 * 60 * 1000 + 1);
    assert_eq!(app.try_login("community", PASSWORD).await.status, StatusCode::OK);
}

#[tokio::test]
async fn state_changes_need_the_csrf_token_with_a_cookie() {
    let app = spawn_app().await;
    let s = app.login("admin").await;
    let body = json!({"name": "测试志愿服务队", "kind": "volunteer_team", "territory_code": "120101"});
    let r = app
        .client
        .post(format!("{}/api/organisations", app.base))
        .header("cookie", &s.cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    let r = into_reply(r).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["error"]["code"], "csrf_failed");
    let wrong = Session { csrf: "0".repeat(64), ..s.clone() };
    assert_eq!(app.post(&wrong, "/api/organisations", body.clone()).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.post(&s, "/api/organisations", body).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let s = app.login("dispatcher").await;
    let r = app.call(Some(&s), Method::DELETE, "/api/session", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.headers.get("set-cookie").unwrap().to_str().unwrap().contains("Max-Age=0"));
    let after = app.get(&s, "/api/me").await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.body["error"]["code"], "unauthenticated");
}

#[tokio::test]
async fn sessions_expire() {
    let app = spawn_app().await;
    let s = app.login("dispatcher").await;
    app.clock.advance_ms(12 * 3600 * 1000 + 1);
    assert_eq!(app.get(&s, "/api/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn api_tokens_authenticate_machine_clients_until_revoked() {
    let app = spawn_app().await;
    let s = app.login("dispatcher").await;
    let created = app.post(&s, "/api/me/tokens", json!({"name": "hotline bridge"})).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let token = created.body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("wzt_"));
    let with_token = |t: String| {
        let c = app.client.clone();
        let url = format!("{}/api/territories?level=district", app.base);
        async move { into_reply(c.get(url).bearer_auth(t).send().await.unwrap()).await }
    };
    let r = with_token(token.clone()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["total"], 1);
    // A token needs no CSRF header for writes: it is not sent by a browser on its own.
    let listed = app.get(&s, "/api/me/tokens").await;
    assert_eq!(listed.body[0]["name"], "hotline bridge");
    assert!(listed.text.find(&token).is_none(), "the token is shown only once");
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(
        app.call(Some(&s), Method::DELETE, &format!("/api/me/tokens/{id}"), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(with_token(token).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(with_token("wzt_forged".into()).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn password_change_checks_the_old_one_and_ends_other_sessions() {
    let app = spawn_app().await;
    let s1 = app.login("handler").await;
    let s2 = app.login("handler").await;
    let bad = app
        .post(
            &s1,
            "/api/me/password",
            json!({"current_password": "nope nope nope", "new_password": "A new long password 2026"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["error"]["field"], "current_password");
    let short = app.post(&s1, "/api/me/password", json!({"current_password": PASSWORD, "new_password": "short"})).await;
    assert_eq!(short.body["error"]["field"], "new_password");
    let ok = app
        .post(
            &s1,
            "/api/me/password",
            json!({"current_password": PASSWORD, "new_password": "A new long password 2026"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&s1, "/api/me").await.status, StatusCode::OK, "this session stays");
    assert_eq!(app.get(&s2, "/api/me").await.status, StatusCode::UNAUTHORIZED, "the other ends");
    assert_eq!(app.try_login("handler", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.try_login("handler", "A new long password 2026").await.status, StatusCode::OK);
}

/// Reading found argon2 without a bound on the sign-in endpoint, which anyone may call:
/// each computation takes about 19 MiB. A flood now waits for a few cores or is refused
/// with 429; nothing fails with a server error, and a real sign-in still works after it.
#[tokio::test]
async fn a_flood_of_sign_ins_is_bounded() {
    // Behind a proxy the servers trust: the flood comes from one address, the administrator
    // from another.
    let app = spawn_app_with_settings(|s| s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let attempts = (0..300).map(|i| {
        let app = &app;
        async move { sign_in_from(app, "203.0.113.7", &format!("nobody{i}"), "wrong password").await.status }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    let wrong = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let locked = statuses.iter().filter(|s| **s == StatusCode::LOCKED).count();
    assert_eq!(refused + wrong + locked, 300, "{statuses:?}");
    assert!(refused + locked > 0, "some of 300 sign-ins at once are turned away");
    assert!(wrong >= 2, "as many as there are cores go through");
    assert!(wrong <= 30, "no more than the source's limit are ever checked ({wrong})");
    // The flooding address is locked whatever the username; the administrator, elsewhere, is not.
    assert_eq!(sign_in_from(&app, "203.0.113.7", "admin", PASSWORD).await.status, StatusCode::LOCKED);
    assert_eq!(sign_in_from(&app, "198.51.100.20", "admin", PASSWORD).await.status, StatusCode::OK);
}

/// A sign-in sent through the trusted proxy on behalf of `from`.
pub async fn sign_in_from(app: &TestApp, from: &str, username: &str, password: &str) -> Reply {
    let body = serde_json::json!({"username": username, "password": password}).to_string();
    let r = app
        .client
        .post(format!("{}/api/session", app.base))
        .header("content-type", "application/json")
        .header("x-forwarded-for", from)
        .body(body)
        .send()
        .await
        .unwrap();
    into_reply(r).await
}
